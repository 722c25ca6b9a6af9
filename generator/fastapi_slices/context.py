"""The template context of a slice: one typed value, built once per spec, that every slice
template reads (Phoenix builds one `%Schema{}` the same way).

The values are frozen dataclasses of plain data, so that the starter entity's context can be
carried to Copier as JSON (`starter.py`) and read by the same templates there.
"""

from dataclasses import asdict, dataclass, replace
from typing import Any

from fastapi_slices.docs import EntityDocs, entity_docs
from fastapi_slices.errors import SpecError
from fastapi_slices.fields import MAX_LINKS, MAX_VALUES, NUL_FREE_FILTERS, Field, literal
from fastapi_slices.naming import with_article
from fastapi_slices.slice_imports import SliceImports
from fastapi_slices.spec import USER_TARGET, EntitySpec, Migration, ProjectFacts, Target
from fastapi_slices.tables import (
    Column,
    ForeignKey,
    Index,
    LinkTable,
    Table,
    UniqueConstraint,
    build_table,
)


@dataclass(frozen=True)
class EnumMember:
    member: str  # DRAFT
    value: str  # draft


@dataclass(frozen=True)
class QueryParameter:
    """A list endpoint parameter, as the Query schema and the repository print it."""

    name: str  # price_min
    filter: str  # equal, any, min, max or contains: see fields.QUERY_SUFFIXES
    arguments: tuple[str, ...]  # of its pydantic `Field(...)`: default, bounds, description
    annotation: str
    condition: str  # Book.price >= query.price_min
    comment: str  # above the condition, where a reader would stop
    refused: str  # a Python expression of a value it refuses (422)
    too_many: str  # repeated parameters: an expression of more values than it takes


@dataclass(frozen=True)
class ContainsSamples:
    value: str  # a Python literal
    other: str
    text: str  # contained by `value` only, in other letter cases
    wildcards: bool  # `text` holds % and _, which as wildcards would match `other` too


@dataclass(frozen=True)
class FieldContext:
    """What the templates print for one field."""

    name: str
    column: str
    type: str
    optional: bool
    required: bool
    unique: bool
    filterable: bool
    is_ref: bool
    model_annotation: str
    mapped_column: str
    alias: str  # a named Annotated type in the schemas, when the field has constraints
    alias_type: str
    create_annotation: str
    create_default: str | None
    update_annotation: str
    read_annotation: str
    filter_annotation: str
    enum_class: str
    enum_members: tuple[EnumMember, ...]
    payload_expression: str
    sample: str
    other_sample: str
    text_sample: str  # decimals: `sample` as a string of digits ("1.50"); else ""
    refused_texts: str  # decimals: a tuple of strings the field refuses; else ""
    target: Target | None  # refs: the entity referred to
    is_link: bool  # many-to-many (`tags:refs=Tag`): ids in `column`, a table of links
    link_table: str  # many-to-many: the table of links (books_tags), and its columns
    link_column: str  # tag_id
    link_item: str  # one of the rows it links to, in words: tag
    max_links: int  # how many ids one body may give
    self_ref: bool  # refs: to the entity itself
    delete_rule: str  # refs: what deleting the target does (restrict, cascade, set-null)
    delete_action: str  # and in SQL (RESTRICT, CASCADE, SET NULL)
    relationship: str  # refs: the model's `name: Mapped[...] = relationship(...)`
    filters: tuple[str, ...]  # the kinds of its list parameters, when it filters
    filters_by_equality: bool  # ?column=value (any of several, for choices and references)
    query_parameters: tuple[QueryParameter, ...]
    query_sample: str  # `sample` as list filter tests store and send it (decimals as digits)
    equality_samples: tuple[str, str] | None  # two different query samples, when it has two
    range_samples: tuple[str, str] | None  # a lower and a higher query sample, when it has two
    any_samples: tuple[str, ...]  # enums: up to three choices, to filter by several at once
    contains_samples: ContainsSamples | None


@dataclass(frozen=True)
class InvalidCell:
    column: str
    text: str  # a Python expression of the cell


@dataclass(frozen=True)
class SortOption:
    member: str  # TITLE_DESC
    value: str  # -title


@dataclass(frozen=True)
class SliceImportBlocks:
    model: str
    schema: str
    repository: str
    service: str
    routes: str
    migration: str
    factory: str
    tests: str
    tests_import: str
    tests_cli: str


# Names the slice's services, factories and tests give to other things (parameters, locals,
# fixtures, the builtins they call): there, a variable holding one row of an entity of such a
# name, or of a name one of its fields has, is `<snake>_row` (`message_row`), as
# `message = Message(...)` would hide the other one. tests/test_names.py keeps the list whole.
TAKEN_NAMES = frozenset(
    {
        "actor",
        "answer",
        "answers",
        "back",
        "before",
        "body",
        "change",
        "changed",
        "child",
        "choice",
        "client",
        "committing",
        "created",
        "current",
        "data",
        "dict",
        "edge",
        "entity_tag",
        "etag",
        "first",
        "found",
        "given",
        "headers",
        "if_match",
        "importer",
        "int",
        "key",
        "kind",
        "linked",
        "list",
        "message",
        "number",
        "other",
        "owner",
        "owner_scope",
        "parent",
        "payload",
        "query",
        "range",
        "read",
        "report",
        "response",
        "root",
        "row",
        "second",
        "self",
        "session",
        "slot",
        "sort",
        "source",
        "statement",
        "stored",
        "str",
        "sum",
        "superuser",
        "superuser_client",
        "text",
        "total",
        "tuple",
        "url",
        "value",
        "wanted",
    }
)


@dataclass(frozen=True)
class EntityContext:
    pascal: str
    snake: str
    var: str  # a variable holding one row: `snake`, unless the slice's code uses that name
    plural: str
    table: str
    kebab_plural: str
    title: str
    title_plural: str
    a_title: str
    owned: bool
    superuser_writes: bool  # shared rows that only superusers create, change or delete
    timestamps: bool
    needs_actor: bool  # services take the acting user
    owner_param: bool  # factories take an owner
    fields: tuple[FieldContext, ...]
    refs: tuple[FieldContext, ...]
    links: tuple[FieldContext, ...]  # many-to-many fields
    link_tables: tuple[LinkTable, ...]  # and their tables
    link_keys: str  # a Python set of their body keys, which no column holds: {"tag_ids"}
    self_refs: tuple[FieldContext, ...]  # a tree: refs to the entity itself
    ref_params: list[str]  # a list, as in JSON: templates add lists to it
    filters: tuple[FieldContext, ...]
    query_parameters: tuple[QueryParameter, ...]  # of every filter, in field order
    unknown_parameter: str  # a parameter no list takes (a client may send it all the same)
    enums: tuple[FieldContext, ...]
    constrained: tuple[FieldContext, ...]
    required: tuple[FieldContext, ...]
    invalid: InvalidCell | None  # a field and a CSV cell its schema refuses
    updatable: tuple[FieldContext, ...]
    has_unique: bool
    sorts: tuple[SortOption, ...]
    default_sort: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...]
    unique_constraints: tuple[UniqueConstraint, ...]
    migration_indexes: tuple[Index, ...]
    imports: SliceImportBlocks
    docs: EntityDocs  # its page in docs/api/


@dataclass(frozen=True)
class SliceContext:
    """Everything a slice template reads, as the names it reads them by."""

    entity: EntityContext
    package_name: str
    auth: bool
    migration: Migration
    spec_json: str
    table: Table  # read by Python (migrations of changes), not by the templates

    def variables(self) -> dict[str, Any]:
        """The template's variables."""
        return {
            "entity": self.entity,
            "package_name": self.package_name,
            "auth": self.auth,
            "migration": self.migration,
            "spec_json": self.spec_json,
        }

    def as_json_data(self) -> dict[str, Any]:
        """The variables as plain data, for a template that cannot run Python (Copier)."""
        return {
            name: asdict(value) if name in {"entity", "migration"} else value
            for name, value in self.variables().items()
        }


def resolve_fields(
    spec: EntitySpec, project: ProjectFacts
) -> tuple[tuple[Field, ...], dict[str, Target]]:
    """The spec's fields, each ref knowing its target's table; and the targets by field."""
    names = spec.names
    fields: list[Field] = []
    targets: dict[str, Target] = {}
    for item in spec.parsed_fields().items:
        if not item.refers:
            fields.append(item)
            continue
        if item.is_link and item.target == names.pascal:
            raise SpecError(f"{item.token!r}: many-to-many to the entity itself is not supported")
        if item.target == names.pascal:  # a tree: the first row has no parent
            if not item.optional:
                raise SpecError(
                    f"{item.token!r}: a ref to the entity itself is optional (the first row "
                    f"refers to none): {item.name}:ref={item.target}?"
                )
            target: Target | None = replace(Target.of(spec), is_self=True)
        elif item.target == USER_TARGET.name and project.auth:
            target = USER_TARGET
        else:
            target = project.entities.get(item.target)
        if target is None:
            known = ", ".join(sorted([*project.entities, *(["User"] if project.auth else [])]))
            raise SpecError(
                f"{item.token!r}: unknown entity {item.target!r} (known: {known or 'none yet'})"
            )
        targets[item.name] = target
        fields.append(replace(item, target_table=target.table))
    return tuple(fields), targets


def entity_table(spec: EntitySpec, project: ProjectFacts) -> Table:
    fields, _ = resolve_fields(spec, project)
    names = spec.names
    return build_table(
        names.table, names.snake, fields, owned=spec.owned, timestamps=spec.timestamps
    )


def check_spec(
    spec: EntitySpec, project: ProjectFacts
) -> tuple[tuple[Field, ...], dict[str, Target]]:
    """Refuse a spec the project cannot hold; else its resolved fields and their targets."""
    if spec.owned and not project.auth:
        raise SpecError("--owned needs users: this project was rendered without auth")
    if spec.owned and spec.open_writes:
        raise SpecError(
            "--open-writes is for entities that are not --owned: owned rows are written by "
            "their owners"
        )
    if not spec.fields:
        raise SpecError(
            f"entity {spec.name!r} needs a field at least, e.g. gen entity {spec.name} name:str"
        )
    return resolve_fields(spec, project)


def build_context(spec: EntitySpec, project: ProjectFacts) -> SliceContext:
    """The context of a spec's slice; refuses a spec the project cannot hold."""
    fields, targets = check_spec(spec, project)
    if spec.migration is None:
        raise SpecError(f"entity {spec.name!r} has no migration recorded")
    names = spec.names
    prefix = names.pascal
    # Tables more than one foreign key points at: their relationships name their own key.
    pointed_at = [item.target_table for item in fields if item.is_ref]
    pointed_at += ["users"] if spec.owned else []
    shared = {table for table in pointed_at if pointed_at.count(table) > 1}
    contexts = tuple(
        _field_context(
            item, prefix, targets.get(item.name), table=names.table, owned=spec.owned, shared=shared
        )
        for item in fields
    )
    # Factories of owned rows, or of rows that refer to owned rows, need an owner; services
    # of such rows need the acting user.
    owners_needed = spec.owned or any(target.owned for target in targets.values())
    needs_actor = project.auth and owners_needed
    superuser_writes = project.auth and not spec.owned and not spec.open_writes
    sorts = ["id", *(item.column for item in fields if item.sortable)]
    if spec.timestamps:
        sorts += ["created_at", "updated_at"]
    table = build_table(
        names.table, names.snake, fields, owned=spec.owned, timestamps=spec.timestamps
    )
    parameters = tuple(parameter for c in contexts for parameter in c.query_parameters)
    names_taken = {parameter.name for parameter in parameters}
    imports = SliceImports(
        names=names,
        fields=fields,
        targets=targets,
        project=project,
        owned=spec.owned,
        timestamps=spec.timestamps,
        needs_actor=needs_actor,
        owners_needed=owners_needed,
        superuser_writes=superuser_writes,
    )
    invalid = next(
        (
            InvalidCell(item.column, cell)
            for item in fields
            if (cell := item.invalid_cell()) is not None
        ),
        None,
    )
    taken = TAKEN_NAMES | {c.name for c in contexts} | {c.column for c in contexts}
    entity = EntityContext(
        pascal=names.pascal,
        snake=names.snake,
        var=f"{names.snake}_row" if names.snake in taken else names.snake,
        plural=names.plural,
        table=names.table,
        kebab_plural=names.kebab_plural,
        title=names.title,
        title_plural=names.title_plural,
        a_title=with_article(names.title).lower(),
        owned=spec.owned,
        superuser_writes=superuser_writes,
        timestamps=spec.timestamps,
        needs_actor=needs_actor,
        owner_param=owners_needed,
        fields=contexts,
        refs=tuple(c for c in contexts if c.is_ref),
        links=tuple(c for c in contexts if c.is_link),
        link_tables=table.links,
        link_keys="{" + ", ".join(f'"{c.column}"' for c in contexts if c.is_link) + "}",
        self_refs=tuple(c for c in contexts if c.self_ref),
        # A tree's first row has no parent: the factories make none unless asked to.
        ref_params=[
            f"{c.column}: int | None = None" if c.self_ref else f"{c.column}: int"
            for c in contexts
            if c.is_ref
        ]
        + [f"{c.column}: list[int] | None = None" for c in contexts if c.is_link],
        filters=tuple(c for c in contexts if c.filterable),
        query_parameters=_with_first_comments(parameters),
        unknown_parameter=next(name for name in _UNKNOWN if name not in names_taken),
        enums=tuple(c for c in contexts if c.type == "enum"),
        constrained=tuple(c for c in contexts if c.alias),
        required=tuple(c for c in contexts if c.required),
        invalid=invalid,
        updatable=tuple(c for c in contexts if not c.is_ref and not c.is_link),
        has_unique=any(item.unique for item in fields),
        sorts=tuple(
            SortOption(f"{name.upper()}{suffix}", f"{sign}{name}")
            for name in sorts
            for sign, suffix in (("", ""), ("-", "_DESC"))
        ),
        default_sort="CREATED_AT_DESC" if spec.timestamps else "ID_DESC",
        columns=table.columns,
        foreign_keys=table.foreign_keys,
        unique_constraints=table.unique_constraints,
        migration_indexes=table.indexes,
        imports=SliceImportBlocks(**imports.all()),
        docs=entity_docs(fields, {name: t.snake for name, t in targets.items()}, names.snake),
    )
    return SliceContext(
        entity=entity,
        package_name=project.package_name,
        auth=project.auth,
        migration=spec.migration,
        spec_json=spec.to_json(),
        table=table,
    )


def _relationship(item: Field, prefix: str, target: Target, *, table: str, shared: set[str]) -> str:
    """The model attribute of a ref's row (or rows): loaded only when asked (lazy="raise")."""
    if item.is_link:  # in the order of their ids, as reads give them
        link = f'secondary="{item.link_table(table)}", lazy="raise", order_by={target.name}.id'
        return f"{item.name}: Mapped[list[{target.name}]] = relationship({link})"
    annotation = target.name + (" | None" if item.optional else "")
    arguments = ['lazy="raise"']
    if target.is_self:  # the class is not defined yet; `remote_side`: the parent's id
        annotation = f'"{annotation}"'
        arguments.append(f'remote_side="{prefix}.id"')
    if item.target_table in shared:
        arguments.append(f"foreign_keys=[{item.column}]")
    return f"{item.name}: Mapped[{annotation}] = relationship({', '.join(arguments)})"


def _field_context(
    item: Field, prefix: str, target: Target | None, *, table: str, owned: bool, shared: set[str]
) -> FieldContext:
    input_type = item.input_annotation(prefix)
    alias = f"{prefix}{item.enum_class}" if input_type.startswith("Annotated[") else ""
    optional = " | None" if item.optional else ""
    schema_type = alias or input_type
    return FieldContext(
        name=item.name,
        column=item.column,
        type=item.type,
        optional=item.optional,
        required=item.default_literal(prefix) is None,
        unique=item.unique,
        filterable=item.filterable,
        is_ref=item.is_ref,
        model_annotation=item.model_annotation(),
        mapped_column=item.mapped_column(unique_per_owner=owned),
        alias=alias,
        alias_type=input_type if alias else "",
        create_annotation=schema_type + optional,
        create_default=item.default_literal(prefix),
        update_annotation=f"{schema_type} | MISSING{optional}",
        read_annotation=item.read_annotation(prefix),
        filter_annotation=f"{schema_type} | None",
        enum_class=f"{prefix}{item.enum_class}" if item.type == "enum" else "",
        enum_members=tuple(EnumMember(c.upper(), c) for c in item.choices),
        payload_expression=item.payload_expression(),
        sample=literal(item.sample(1)),
        other_sample=literal(item.sample(2)),
        text_sample=literal(item.decimal_text()) if item.type == "decimal" else "",
        refused_texts=literal(item.refused_decimal_texts()) if item.type == "decimal" else "",
        target=target,
        is_link=item.is_link,
        link_table=item.link_table(table) if item.is_link else "",
        link_column=item.link_column if item.is_link else "",
        link_item=item.link_item if item.is_link else "",
        max_links=MAX_LINKS if item.is_link else 0,
        self_ref=target is not None and target.is_self,
        delete_rule=item.delete_rule if item.refers else "",
        delete_action=item.delete_action if item.refers else "",
        relationship=_relationship(item, prefix, target, table=table, shared=shared)
        if target
        else "",
        filters=item.kind.filters if item.filterable else (),
        filters_by_equality=item.filterable and bool({"equal", "any"} & set(item.kind.filters)),
        query_parameters=tuple(
            _query_parameter(item, prefix, name, kind, schema_type)
            for name, kind in item.query_parameters()
        ),
        query_sample=literal(item.query_sample(1)),
        equality_samples=_literals(item.equality_samples()),
        range_samples=_literals(item.range_samples()),
        any_samples=tuple(map(literal, item.choices[:3])),
        contains_samples=(
            ContainsSamples(literal(found[0]), literal(found[1]), literal(found[2]), found[3])
            if "contains" in item.kind.filters and (found := item.contains_samples())
            else None
        ),
    )


def _literals(pair: tuple[Any, Any] | None) -> tuple[str, str] | None:
    return None if pair is None else (literal(pair[0]), literal(pair[1]))


_FILTERS = {
    "equal": "Only rows holding this value",
    "any": f"Only rows holding one of these: repeat the parameter, at most {MAX_VALUES} times",
    "min": "The lowest value listed, inclusive",
    "max": "The highest value listed, inclusive",
    "contains": "Only rows whose text holds this, ignoring case (SQLite: ASCII letters only)",
}
_TIMES = {
    "date": {"min": "earliest date", "max": "latest date"},
    "datetime": {"min": "earliest time", "max": "latest time"},
}
_OPERATORS = {"equal": "==", "min": ">=", "max": "<="}


def _query_parameter(
    item: Field, model: str, name: str, kind: str, schema_type: str
) -> QueryParameter:
    """A list parameter of `item`: bounded as the field is, so that no value its column
    cannot hold reaches the database."""
    description = _FILTERS[kind]
    if kind in _TIMES.get(item.type, {}):
        description = f"The {_TIMES[item.type][kind]} listed, inclusive"
    column, value = f"{model}.{item.column}", f"query.{name}"
    bounds: tuple[str, ...] = ()
    annotation, refused = f"{schema_type} | None", item.refused_query(kind)
    too_many = ""
    if kind == "any" and item.is_link:  # rows linked to any of them
        bounds, annotation = (f"max_length={MAX_VALUES}",), "list[RowId] | None"
        condition = f"{model}.{item.name}.any({item.target}.id.in_({value}))"
        refused, too_many = f"[{refused}]", f"[1] * {MAX_VALUES + 1}"
    elif kind == "any":
        bounds, annotation = (f"max_length={MAX_VALUES}",), f"list[{schema_type}] | None"
        condition, refused = f"{column}.in_({value})", f"[{refused}]"
        too_many = f"[{literal(item.sample(1))}] * {MAX_VALUES + 1}"
    elif kind == "contains":
        bounds = ("min_length=1", f"max_length={item.longest_search}")
        annotation = "Annotated[str, NulFree] | None"
        condition = f"{column}.icontains({value}, autoescape=True)"
    else:
        condition = f"{column} {_OPERATORS[kind]} {value}"
        if item.type in NUL_FREE_FILTERS:
            annotation = f"Annotated[{schema_type}, NulFree] | None"
    return QueryParameter(
        name=name,
        filter=kind,
        arguments=("default=None", *bounds, f'description="{description}"'),
        annotation=annotation,
        condition=condition,
        comment="",
        refused=refused,
        too_many=too_many,
    )


# Parameters clients send that no list takes: the first no field takes either ("Page" is no
# field's: fields are snake_case).
_UNKNOWN = ("page", "per_page", "Page")
_COMMENTS = {
    "any": "A repeated parameter: rows equal to any of its values",
    "contains": "autoescape: `%` and `_` in the text match themselves, not any characters",
}


def _with_first_comments(parameters: tuple[QueryParameter, ...]) -> tuple[QueryParameter, ...]:
    """The parameters, the first of each kind a reader may wonder about commented."""
    found: list[QueryParameter] = []
    for parameter in parameters:
        first = all(earlier.filter != parameter.filter for earlier in found)
        comment = _COMMENTS.get(parameter.filter, "") if first else ""
        found.append(replace(parameter, comment=comment))
    return tuple(found)
