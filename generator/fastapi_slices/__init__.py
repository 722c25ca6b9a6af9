"""fastapi-slices: a Copier template for layered async FastAPI services and `gen`, its generator."""

# The release: the template and the generator are released together, as git tag v<version>.
__version__ = "0.9.0"
