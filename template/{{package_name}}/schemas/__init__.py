"""Request and response bodies (Pydantic); they never import models or repositories."""
