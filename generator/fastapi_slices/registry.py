"""Syntax-aware edits of the two registries a new entity touches, with libcst.

`models/registry.py` imports each entity model; `api/v1/registry.py` imports each router
module and lists its router in `ROUTERS`. Adding what is there already, or removing what is
not, changes nothing. Lines a user added by hand are kept. The caller formats the result with
ruff, which also sorts the imports.
"""

from collections.abc import Sequence

import libcst as cst

from fastapi_slices.errors import ProjectError

ROUTERS = "ROUTERS"


def _parse(source: str, path: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise ProjectError(
            f"{path}: not valid Python (line {error.raw_line}); fix it first"
        ) from None


def _module_name(node: cst.ImportFrom) -> str:
    if node.module is None or node.relative:
        return ""
    return cst.Module([]).code_for_node(node.module)


def _imports_from(statement: cst.BaseStatement) -> cst.ImportFrom | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.ImportFrom):
            return small
    return None


def _insert_after_imports(
    body: Sequence[cst.BaseStatement], statement: cst.BaseStatement
) -> list[cst.BaseStatement]:
    """`statement` after the last import (or the docstring), with a blank line before."""
    position = 0
    for index, existing in enumerate(body):
        is_docstring = (
            index == 0
            and isinstance(existing, cst.SimpleStatementLine)
            and isinstance(existing.body[0], cst.Expr)
        )
        if (
            _imports_from(existing) is not None
            or is_docstring
            or (
                isinstance(existing, cst.SimpleStatementLine)
                and isinstance(existing.body[0], cst.Import)
            )
        ):
            position = index + 1
    if isinstance(statement, cst.SimpleStatementLine):
        statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
    return [*body[:position], statement, *body[position:]]


def add_model(source: str, path: str, module: str, name: str) -> str:
    """Import `name` from `module` (`from module import name as name`)."""
    tree = _parse(source, path)
    for statement in tree.body:
        node = _imports_from(statement)
        if node is not None and _module_name(node) == module:
            return source
    line = cst.parse_statement(f"from {module} import {name} as {name}\n")
    return tree.with_changes(body=_insert_after_imports(tree.body, line)).code


def remove_model(source: str, path: str, module: str) -> str:
    tree = _parse(source, path)
    body = [
        s
        for s in tree.body
        if not ((node := _imports_from(s)) is not None and _module_name(node) == module)
    ]
    return tree.with_changes(body=body).code


def _routers_list(tree: cst.Module, path: str) -> tuple[int, cst.List]:
    for index, statement in enumerate(tree.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        small = statement.body[0]
        target = (
            small.target
            if isinstance(small, cst.AnnAssign)
            else (small.targets[0].target if isinstance(small, cst.Assign) else None)
        )
        if isinstance(target, cst.Name) and target.value == ROUTERS:
            assert isinstance(small, cst.AnnAssign | cst.Assign)
            if not isinstance(small.value, cst.List):
                raise ProjectError(f"{path}: {ROUTERS} is not a list; restore it as one")
            return index, small.value
    raise ProjectError(f"{path}: no {ROUTERS} list; restore it (see the template)")


def _with_elements(tree: cst.Module, index: int, elements: list[str]) -> cst.Module:
    """The module with ROUTERS holding `elements`, one a line (or `[]`)."""
    text = "[\n" + "".join(f"    {code},\n" for code in elements) + "]" if elements else "[]"
    statement = tree.body[index]
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.AnnAssign | cst.Assign)
    new_small = small.with_changes(value=cst.parse_expression(text))
    new_statement = statement.with_changes(body=[new_small])
    return tree.with_changes(body=[*tree.body[:index], new_statement, *tree.body[index + 1 :]])


def _alias_codes(node: cst.ImportFrom) -> list[str]:
    assert not isinstance(node.names, cst.ImportStar)
    codes = []
    for alias in node.names:
        code = cst.Module([]).code_for_node(alias.name)
        if alias.asname is not None:
            code += " as " + cst.Module([]).code_for_node(alias.asname.name)
        codes.append(code)
    return codes


def _element_codes(routers: cst.List) -> list[str]:
    return [cst.Module([]).code_for_node(element.value) for element in routers.elements]


def add_router(source: str, path: str, package_module: str, module: str) -> str:
    """Import `module` from `package_module` and list `module.router` in ROUTERS."""
    tree = _parse(source, path)
    index, routers = _routers_list(tree, path)
    codes = _element_codes(routers)
    entry = f"{module}.router"
    if entry not in codes:
        tree = _with_elements(tree, index, sorted([*codes, entry]))
    body = list(tree.body)
    for position, statement in enumerate(body):
        node = _imports_from(statement)
        if node is None or _module_name(node) != package_module:
            continue
        if isinstance(node.names, cst.ImportStar):
            return tree.code
        names = _alias_codes(node)
        if module not in names:
            line = f"from {package_module} import {', '.join(sorted([*names, module]))}\n"
            body[position] = cst.parse_statement(line).with_changes(
                leading_lines=statement.leading_lines
            )
        return tree.with_changes(body=body).code
    statement = cst.parse_statement(f"from {package_module} import {module}\n")
    return tree.with_changes(body=_insert_after_imports(body, statement)).code


def remove_router(source: str, path: str, package_module: str, module: str) -> str:
    tree = _parse(source, path)
    index, routers = _routers_list(tree, path)
    codes = [code for code in _element_codes(routers) if code != f"{module}.router"]
    tree = _with_elements(tree, index, codes)
    body: list[cst.BaseStatement] = []
    for statement in tree.body:
        node = _imports_from(statement)
        if (
            node is None
            or _module_name(node) != package_module
            or isinstance(node.names, cst.ImportStar)
        ):
            body.append(statement)
            continue
        names = _alias_codes(node)
        kept = [name for name in names if name != module]
        if kept:
            line = f"from {package_module} import {', '.join(kept)}\n"
            body.append(
                cst.parse_statement(line).with_changes(leading_lines=statement.leading_lines)
            )
    return tree.with_changes(body=body).code
