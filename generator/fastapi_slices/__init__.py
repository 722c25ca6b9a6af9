"""fastapi-slices: a Copier template for layered async FastAPI services and `gen`, its generator."""
