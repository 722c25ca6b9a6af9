"""An entity may be named like a name its own slice's code uses for something else (`Message`,
`Session`, `Response`): where a function holds one of its rows, the variable is `<snake>_row`
if the snake name is taken (`context.TAKEN_NAMES`). This test keeps that list whole: it renders
a slice with every feature that adds code, and finds each name that a function holding a row
also binds or reads."""

import ast

from fastapi_slices.context import TAKEN_NAMES, SliceContext, build_context
from fastapi_slices.errors import SpecError
from fastapi_slices.naming import EntityNames
from fastapi_slices.render import render_slice
from fastapi_slices.spec import EntitySpec, Migration, ProjectFacts, Target

# Owned, a tree, links to a shared entity, a reference to a user: every template branch that
# writes code around a row.
WIDGET = EntitySpec(
    name="Widget",
    fields=[
        "title:str:unique",
        "price:decimal=10.2:filter",
        "parent:ref=Widget?",
        "reviewer:ref=User?",
        "tags:refs=Tag",
        "extra:json?",
        "made_on:date?:filter",
    ],
    owned=True,
    migration=Migration("0123456789ab", None, "2026-12-01 00:00:00+00:00", "widgets.py"),
)
TAG = Target(name="Tag", snake="tag", table="tags", owned=False, kebab_plural="tags")


def names_beside(function: ast.AST, row: str) -> set[str]:
    """The names a function binds or reads (its nested functions aside), if it binds `row`."""
    bound: set[str] = set()
    used: set[str] = set()
    pending = list(ast.iter_child_nodes(function))
    if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = function.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [argument for argument in (arguments.vararg, arguments.kwarg) if argument]
        bound |= {argument.arg for argument in every}
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # a scope of its own, checked on its own
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else used).add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        pending.extend(ast.iter_child_nodes(node))
    return (bound | used) - {row} if row in bound else set()


def could_name_an_entity(name: str) -> bool:
    """Whether gen would take `name` as an entity's snake name (no plurals, no reserved ones)."""
    try:
        names = EntityNames.from_name("".join(word.title() for word in name.split("_")))
    except SpecError:
        return False
    return names.snake == name


def test_taken_names_hold_every_name_beside_a_row_variable() -> None:
    project = ProjectFacts(package_name="app", auth=True, entities={"Tag": TAG})
    context = build_context(WIDGET, project)
    row = context.entity.var
    fields = {f.name for f in context.entity.fields} | {f.column for f in context.entity.fields}
    missing: dict[str, set[str]] = {}
    for template, text in render_slice(context).items():
        if not template.endswith(".py.jinja"):
            continue
        for function in ast.walk(ast.parse(text)):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for name in names_beside(function, row):
                if name in TAKEN_NAMES or "widget" in name or name.startswith("create_"):
                    continue  # taken, the entity's own, or another entity's factory
                if name not in fields and could_name_an_entity(name):
                    missing.setdefault(name, set()).add(f"{template}:{function.name}")
    assert missing == {}, f"add to TAKEN_NAMES: {sorted(missing)}"


def context_of(name: str, fields: list[str]) -> SliceContext:
    """The slice context of a shared entity `name` of a project with users."""
    migration = Migration("0123456789ab", None, "2026-12-01 00:00:00+00:00", "create.py")
    spec = EntitySpec(name=name, fields=fields, migration=migration)
    return build_context(spec, ProjectFacts(package_name="app", auth=True))


def test_a_taken_name_gets_a_row_variable() -> None:
    context = context_of("Message", ["body:text"])
    assert context.entity.var == "message_row"
    service = render_slice(context)["service.py.jinja"]
    assert "message_row = await self.messages.read(MessageRead, message_id" in service


def test_a_field_name_gets_a_row_variable() -> None:
    assert context_of("Reviewer", ["reviewer:ref=User?"]).entity.var == "reviewer_row"
