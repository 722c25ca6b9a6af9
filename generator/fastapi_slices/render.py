"""Render an entity slice in memory: the same templates Copier renders for the starter."""

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from fastapi_slices.context import SliceContext

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
    "tests_cli.py.jinja": "tests/cli/test_{plural}_import.py",
    "docs.md.jinja": "docs/api/{kebab_plural}.md",
    "spec.json.jinja": ".gen/entities/{snake}.json",
}
# The files that live with the spec: each change of spec (or of generator) merges into them,
# and gen keeps a copy of what it last wrote (`.gen/base/<entity>/<name>.py`) as the merge's
# base. The migration is history and the spec a record: gen writes each once.
LIVING = tuple(
    template
    for template in SLICE_FILES
    if template not in {"migration.py.jinja", "spec.json.jinja"}
)
BASE_FOLDER = PurePosixPath(".gen/base")


def _environment() -> jinja2.Environment:
    # The options Copier renders with, so both give the same bytes.
    return jinja2.Environment(
        loader=jinja2.PrefixLoader({"generator": jinja2.FileSystemLoader(PACKAGE_PARENT)}),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


_ENVIRONMENT = _environment()


def slice_paths(context: SliceContext) -> dict[str, PurePosixPath]:
    """Where each slice template's file goes in the project."""
    entity = context.entity
    return {
        template: PurePosixPath(
            pattern.format(
                package=context.package_name,
                snake=entity.snake,
                plural=entity.plural,
                kebab_plural=entity.kebab_plural,
                migration=context.migration.filename,
            )
        )
        for template, pattern in SLICE_FILES.items()
    }


def base_path(snake: str, template: str) -> PurePosixPath:
    """Where gen keeps its last rendering of a living slice file: `.gen/base/book/model.py`."""
    return BASE_FOLDER / snake / template.removesuffix(".jinja")


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """One of the entity templates (`drop_migration.py.jinja`...), rendered."""
    return _ENVIRONMENT.get_template(f"{TEMPLATE_ROOT}/{template}").render(variables)


def render_slice(context: SliceContext) -> dict[str, str]:
    """Every file of the slice, by template name."""
    variables = context.variables()
    return {template: render_template(template, variables) for template in SLICE_FILES}
