"""What an entity's page in `docs/api/` says: its fields in words, and curl examples that run
as written (a test of this repository runs every page of a grown project against the app).

The examples use the shell variables the rendered README sets (`BASE`, and `TOKEN` in projects
with users) and keep each new row's id in `<ENTITY>_ID`, which the pages of entities that
refer to it use: the pages run in the order the README lists them, which is the order the
entities were made in.
"""

import json
from dataclasses import dataclass
from typing import Any

import inflection

from fastapi_slices.fields import INT32, MAX_LINKS, MAX_VALUES, TEXT_MAX_LENGTH, Field
from fastapi_slices.naming import with_article

_JSON_TYPES = {
    "str": "string",
    "text": "string",
    "email": "string, an e-mail address",
    "url": "string, an http(s) URL",
    "int": "integer",
    "bigint": "integer",
    "float": "number",
    "decimal": 'number, or a string such as "12.50"',
    "bool": "boolean",
    "date": "string, a date: 2026-01-31",
    "datetime": "string, a date and time with its offset: 2026-01-31T09:30:00+01:00",
    "uuid": "string, a UUID",
    "json": "object",
}


@dataclass(frozen=True)
class FieldDoc:
    key: str  # the JSON key
    type: str
    required: str  # "yes", or "no" with what an absent value becomes
    rules: str


@dataclass(frozen=True)
class ParameterDoc:
    names: str  # `price_min`, `price_max`
    meaning: str  # what the rows listed hold


@dataclass(frozen=True)
class EntityDocs:
    """The page's fields and its examples, as shell text ready to print."""

    fields: tuple[FieldDoc, ...]
    id_variable: str  # BOOK_ID
    refs: tuple[str, ...]  # the id variables the examples use, of the entities referred to
    my_id: bool  # a ref names a user: the examples keep the signed-in user's id in MY_ID
    create_body: str  # a single-quoted JSON body, with the refs' variables spliced in
    spare_body: str  # another valid body, distinct in every unique field
    update_body: str
    update_changes: bool  # whether the update changes the row the create made (its ETag)
    parameters: tuple[ParameterDoc, ...]  # the list's filters
    filters: tuple[str, ...]  # `--data-urlencode` arguments of the list example
    sort: str


def id_variable(snake: str) -> str:
    return f"{snake.upper()}_ID"


def entity_docs(fields: tuple[Field, ...], targets: dict[str, str], snake: str) -> EntityDocs:
    """The page of an entity with `fields`, whose refs point at the entities `targets` names
    (by field, in snake_case)."""
    refs = {item.column: _ref_variable(targets[item.name]) for item in fields if item.refers}
    # A tree: the first row has no parent, the spare one is its child.
    first = {column: var for column, var in refs.items() if var != id_variable(snake)}
    updatable = [item for item in fields if not item.refers and not item.unique]
    changed = (updatable or [item for item in fields if not item.refers] or list(fields))[0]
    filters = [item for item in fields if item.filterable]
    sorted_by = [item.column for item in fields if item.sortable]
    return EntityDocs(
        fields=tuple(_field_doc(item) for item in fields),
        id_variable=id_variable(snake),
        refs=tuple(var for var in dict.fromkeys(first.values()) if var != MY_ID),
        my_id=MY_ID in refs.values(),
        create_body=_body(
            {
                item.column: None if item.column not in first and item.refers else item.sample(1)
                for item in fields
            },
            first,
        ),
        spare_body=_body({item.column: item.sample(2) for item in fields}, refs),
        update_body=_body({changed.column: changed.sample(3)}, refs),  # 2 is the spare's
        update_changes=not changed.refers and changed.sample(3) != changed.sample(1),
        parameters=tuple(doc for item in filters for doc in _parameter_docs(item)),
        filters=tuple(_filter_argument(item, refs) for item in filters[:2]),
        sort=f"-{sorted_by[0]}" if sorted_by else "-id",
    )


MY_ID = "MY_ID"


def _ref_variable(target_snake: str) -> str:
    """The shell variable of the id a ref's examples use: the signed-in user's own, for a
    ref to users."""
    return MY_ID if target_snake == "user" else id_variable(target_snake)


def _body(values: dict[str, Any], refs: dict[str, str]) -> str:
    """`values` as JSON in single quotes; each ref's id comes from its shell variable."""
    pieces = []
    for key, value in values.items():
        if key in refs:
            text = "'\"$" + refs[key] + "\"'"  # the id, from its variable
            text = f"[{text}]" if isinstance(value, list) else text  # many-to-many
        else:
            text = json.dumps(value).replace("'", "'\\''")
        pieces.append(f'"{key}": {text}')
    return "'{" + ", ".join(pieces) + "}'"


def _parameter_docs(item: Field) -> list[ParameterDoc]:
    """The list parameters of a field that filters, grouped as the page lists them."""
    column, kinds = f"`{item.column}`", item.kind.filters
    found: list[ParameterDoc] = []
    if "equal" in kinds:
        found.append(ParameterDoc(f"`{item.column}`", f"{column} is the value"))
    if "any" in kinds:
        values = item.choices[:2] if item.choices else ("1", "2")  # choices, or ids
        repeated = "&".join(f"{item.column}={value}" for value in values)
        most = f"(at most {MAX_VALUES})"
        meaning = f"{column} is one of the values: repeat it, `{repeated}` {most}"
        if item.is_link:
            meaning = f"links to any of the ids: repeat it, `{repeated}` {most}"
        elif len(values) == 1:
            meaning = f"{column} is the value"
        found.append(ParameterDoc(f"`{item.column}`", meaning))
    if "min" in kinds:
        least, most = _BOUNDS.get(item.type, ("at least", "at most"))
        names = f"`{item.column}_min`, `{item.column}_max`"
        found.append(ParameterDoc(names, f"{column} is {least}, {most} the value (inclusive)"))
    if "contains" in kinds:
        meaning = f"{column} contains the text, ignoring case; `%` and `_` are plain characters"
        found.append(ParameterDoc(f"`{item.column}_contains`", meaning))
    return found


_BOUNDS = {"date": ("on or after", "on or before"), "datetime": ("at or after", "at or before")}


def _filter_argument(item: Field, refs: dict[str, str]) -> str:
    """A `--data-urlencode` argument of the list example that finds the row the page's
    create made: a part of its text in capitals, or its value as a lower bound."""
    if item.column in refs:
        return f'--data-urlencode "{item.column}=${refs[item.column]}"'
    value = item.query_sample(1)
    name = item.column
    if "contains" in item.kind.filters:
        name, value = f"{name}_contains", _part(str(value), item.type).upper()
    elif "min" in item.kind.filters:
        name = f"{name}_min"
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    return "--data-urlencode " + _single_quoted(f"{name}={text}")


def _part(text: str, type_name: str) -> str:
    """A part of a sample text worth searching for: a word, the host of a URL."""
    if type_name == "url":
        return text.split("/")[2]
    if type_name == "email":
        return text.partition("@")[0]
    word = text.partition(" ")[0]
    return word if word and word != text else text[: max(1, len(text) // 2)]


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _field_doc(item: Field) -> FieldDoc:
    if item.is_link:
        required = "no, default `[]`"
    elif item.default is not None:
        required = f"no, default `{item.default}`"
    elif item.optional:
        required = "no, default `null`"
    else:
        required = "yes"
    return FieldDoc(item.column, _type_text(item), required, "; ".join(_rules(item)))


def _type_text(item: Field) -> str:
    if item.type == "enum":
        return "one of " + ", ".join(f"`{choice}`" for choice in item.choices)
    if item.is_ref:
        return f"integer, the id of {with_article(item.target)}"
    if item.is_link:
        return f"array of the ids of {inflection.pluralize(item.target)}, each once"
    return _JSON_TYPES[item.type]


_DELETE_RULES = {
    "restrict": "its {target} cannot be deleted while this refers to it (409)",
    "cascade": "deleting its {target} deletes this too",
    "set-null": "deleting its {target} sets this to null",
}


_LINK_DELETE_RULES = {
    "restrict": "a {target} cannot be deleted while this links it (409)",
    "cascade": "deleting a {target} removes its link",
}


def _rules(item: Field) -> list[str]:
    rules: list[str] = []
    if item.kind.bounds == "length":
        longest = item.length or (int(item.max) if item.max is not None else TEXT_MAX_LENGTH)
        if item.type != "email" or item.max is not None:
            rules.append(f"{item.min_length or 0} to {longest:,} characters")
    elif item.kind.bounds == "value" or item.kind.int_range is not None:
        rules += _value_bounds(item)
    elif item.is_ref:
        rules.append(_DELETE_RULES[item.delete_rule].format(target=item.target))
    elif item.is_link:
        rules.append(f"at most {MAX_LINKS}; set all at once (a change replaces them); read by id")
        rules.append(_LINK_DELETE_RULES[item.delete_rule].format(target=item.target))
    flags = {"unique": item.unique, "filters the list": item.filterable}
    return rules + [flag for flag, on in (*flags.items(), ("sorts the list", item.sortable)) if on]


def _value_bounds(item: Field) -> list[str]:
    low, high = item.min, item.max
    if low is not None and high is not None:
        bounds = [f"{low} to {high}"]
    elif low is not None or high is not None:
        bounds = [f">= {low}" if low is not None else f"<= {high}"]
    else:
        bounds = ["32-bit"] if item.kind.int_range == INT32 else []
    if item.type == "decimal":
        bounds.append(f"{item.precision} digits, {item.scale} after the point")
    return bounds
