"""The template's starter entity, Item, and the Jinja file that carries its context.

Copier cannot run our Python, so `templates/entity/starter.jinja` holds the starter's
template context as JSON, written by this module (`python -m fastapi_slices.starter`). A
test fails when the file is out of date, and another proves that `gen entity` writes the
same files as the template.
"""

import json
from pathlib import Path
from typing import Any

from fastapi_slices.context import build_context
from fastapi_slices.spec import EntitySpec, Migration, ProjectFacts

STARTER_FIELDS = [
    "name:str:max=120:unique",
    "description:text?",
    "price:decimal=10.2:min=0:sort",
    "quantity:int:min=0:default=0:sort",
    "is_active:bool:default=true",
]
USERS_REVISION = "0f5e3c2a1b7d"  # the template's users migration
PACKAGE = "__package__"  # stands for the package name until Copier renders the starter
STARTER_JINJA = Path(__file__).parent / "templates" / "entity" / "starter.jinja"


def starter_spec(*, auth: bool) -> EntitySpec:
    return EntitySpec(
        name="Item",
        fields=STARTER_FIELDS,
        owned=auth,
        migration=Migration(
            revision="3c9d4e7f2a10",
            down_revision=USERS_REVISION if auth else None,
            created="2026-11-22 00:01:00+00:00",
            filename="20261122_0001_create_items_table.py",
        ),
    )


def starter_context(*, auth: bool) -> dict[str, Any]:
    # The package name only appears in import lines; starter.jinja fills it in.
    context = build_context(starter_spec(auth=auth), ProjectFacts(package_name=PACKAGE, auth=auth))
    return context.as_json_data()


def render_starter_jinja() -> str:
    # JSON text in raw blocks, parsed by Copier's `from_json` filter: Jinja compiles a text
    # block at once, and the same context as dictionary literals in tens of milliseconds.
    return (
        "{#- Written by `python -m fastapi_slices.starter`: do not edit. The starter entity's\n"
        "    template context, with and without auth; the package name is filled in here. -#}\n"
        + "".join(
            f"{{%- set {name} -%}}{{% raw %}}{json.dumps(starter_context(auth=auth))}"
            "{% endraw %}{%- endset -%}\n"
            for name, auth in (("with_auth", True), ("without_auth", False))
        )
        + "{%- set starter = (with_auth if auth else without_auth)"
        " | replace('" + PACKAGE + "', package_name) | from_json -%}\n"
    )


if __name__ == "__main__":
    STARTER_JINJA.write_text(render_starter_jinja())
    print(f"wrote {STARTER_JINJA}")
