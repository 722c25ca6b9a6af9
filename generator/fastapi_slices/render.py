"""Render an entity slice in memory: the same templates Copier renders for the starter."""

from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from fastapi_slices.spec import EntitySpec, ProjectFacts, build_context

PACKAGE_PARENT = Path(__file__).parent.parent  # holds fastapi_slices/, in a checkout or not

# Template names as Copier sees them from the repository root, so that the templates can
# import each other by the same name in both.
TEMPLATE_ROOT = "generator/fastapi_slices/templates/entity"

# Each slice template and where its file goes; `{package}` and the entity's names fill in.
SLICE_FILES = {
    "model.py.jinja": "{package}/models/{snake}.py",
    "schema.py.jinja": "{package}/schemas/{snake}.py",
    "repository.py.jinja": "{package}/repositories/{snake}.py",
    "service.py.jinja": "{package}/services/{snake}.py",
    "routes.py.jinja": "{package}/api/v1/{plural}.py",
    "migration.py.jinja": "alembic/versions/{migration}",
    "factory.py.jinja": "tests/factories/{snake}.py",
    "tests.py.jinja": "tests/api/v1/test_{plural}.py",
    "tests_import.py.jinja": "tests/api/v1/test_{plural}_import.py",
    "spec.json.jinja": ".gen/entities/{snake}.json",
}


def _environment() -> jinja2.Environment:
    # The options Copier renders with, so both give the same bytes.
    return jinja2.Environment(
        loader=jinja2.PrefixLoader({"generator": jinja2.FileSystemLoader(PACKAGE_PARENT)}),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def slice_paths(spec: EntitySpec, package: str) -> dict[str, PurePosixPath]:
    """Where each slice template's file goes in the project."""
    names = spec.names
    assert spec.migration is not None
    return {
        template: PurePosixPath(
            pattern.format(
                package=package,
                snake=names.snake,
                plural=names.plural,
                migration=spec.migration.filename,
            )
        )
        for template, pattern in SLICE_FILES.items()
    }


def render_slice(spec: EntitySpec, project: ProjectFacts) -> dict[PurePosixPath, str]:
    """Every file of the slice, by project-relative path."""
    assert spec.migration is not None
    context: dict[str, Any] = build_context(spec, project)
    context |= {
        "package_name": project.package_name,
        "auth": project.auth,
        "migration": spec.migration.__dict__,
        "spec_json": spec.to_json(),
    }
    environment = _environment()
    return {
        path: environment.get_template(f"{TEMPLATE_ROOT}/{template}").render(context)
        for template, path in slice_paths(spec, project.package_name).items()
    }
