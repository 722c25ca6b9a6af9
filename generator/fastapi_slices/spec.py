"""An entity spec (what the user asked for) and the template context it turns into.

The spec is what `.gen/entities/<name>.json` stores: the name, the field tokens and the
options, plus the migration's identity. Everything the slice templates print is derived from
it here, so the templates hold no logic and the same spec always renders the same files.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from fastapi_slices.errors import SpecError
from fastapi_slices.fields import Field, Fields, literal
from fastapi_slices.imports import Imports
from fastapi_slices.naming import EntityNames

SPEC_VERSION = 1


@dataclass(frozen=True)
class Migration:
    """Who the entity's migration is: fixed once written, so re-renders are identical."""

    revision: str
    down_revision: str | None
    created: str  # "2026-11-22 01:53:00+00:00"
    filename: str  # "20261122_0153_create_books_table.py"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    fields: list[str]
    owned: bool = False
    timestamps: bool = True
    plural: str | None = None
    table: str | None = None
    migration: Migration | None = None
    version: int = SPEC_VERSION

    @property
    def names(self) -> EntityNames:
        return EntityNames.from_name(self.name, plural=self.plural, table=self.table)

    def parsed_fields(self) -> Fields:
        return Fields.parse(self.fields)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "EntitySpec":
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != SPEC_VERSION:
            raise SpecError("entity spec has an unknown format")
        migration = data.pop("migration", None)
        try:
            return cls(**data, migration=Migration(**migration) if migration else None)
        except TypeError as error:
            raise SpecError(f"entity spec is malformed: {error}") from None


@dataclass(frozen=True)
class Target:
    """What an entity needs to know about an entity it refers to."""

    name: str
    snake: str
    table: str
    owned: bool


@dataclass
class ProjectFacts:
    """What the slice templates need to know about the project."""

    package_name: str
    auth: bool
    entities: dict[str, Target] = field(default_factory=dict)  # by PascalCase name


def build_context(spec: EntitySpec, project: ProjectFacts) -> dict[str, Any]:
    """Everything the slice templates print, as plain data (so that Jinja can hold it too)."""
    names = spec.names
    if spec.owned and not project.auth:
        raise SpecError("--owned needs users: this project was rendered without auth")
    fields: list[Field] = []
    targets: dict[str, Target] = {}
    for item in spec.parsed_fields().items:
        if item.is_ref:
            target = project.entities.get(item.target)
            if item.target == names.pascal:
                raise SpecError(f"{item.token!r}: an entity cannot refer to itself")
            if target is None:
                known = ", ".join(sorted(project.entities)) or "none yet"
                raise SpecError(f"{item.token!r}: unknown entity {item.target!r} "
                                f"(known: {known})")
            targets[item.name] = target
            item = replace(item, target_table=target.table)
        fields.append(item)
    prefix = names.pascal
    contexts = [_field_context(item, prefix, targets.get(item.name)) for item in fields]
    needs_actor = project.auth and (spec.owned or any(t.owned for t in targets.values()))
    sorts = ["id", *(item.column for item in fields if item.sortable)]
    if spec.timestamps:
        sorts += ["created_at", "updated_at"]
    entity: dict[str, Any] = {
        **asdict(names),
        "a_title": ("an " if names.title[0] in "AEIOU" else "a ") + names.title.lower(),
        "owned": spec.owned,
        "timestamps": spec.timestamps,
        "needs_actor": needs_actor,
        # Factories of owned rows, or of rows that refer to owned rows, need an owner.
        "owner_param": spec.owned or any(t.owned for t in targets.values()),
        "fields": contexts,
        "refs": [c for c in contexts if c["is_ref"]],
        "ref_params": [f"{item.column}: int" for item in fields if item.is_ref],
        "filters": [c for c in contexts if c["filterable"]],
        "enums": [c for c in contexts if c["type"] == "enum"],
        "constrained": [c for c in contexts if c["alias"]],
        "required": [c for c in contexts if c["required"]],
        "updatable": [c for c in contexts if not c["is_ref"]],
        "has_unique": any(item.unique for item in fields),
        "sorts": [
            {"member": f"{name.upper()}{suffix}", "value": f"{sign}{name}"}
            for name in sorts
            for sign, suffix in (("", ""), ("-", "_DESC"))
        ],
        "default_sort": "CREATED_AT_DESC" if spec.timestamps else "ID_DESC",
        "foreign_keys": _foreign_keys(names.table, fields, owned=spec.owned),
        "unique_columns": [item.column for item in fields if item.unique and not item.index],
        "migration_indexes": _indexes(names.table, fields, owned=spec.owned),
    }
    entity["imports"] = _imports(spec, fields, targets, project, needs_actor)
    return {"entity": entity}


def _foreign_keys(table: str, fields: list[Field], *, owned: bool) -> list[dict[str, str]]:
    """The table's foreign keys, named by the naming convention."""
    keys = [(item.column, item.target_table, item.ondelete) for item in fields if item.is_ref]
    if owned:
        keys.append(("owner_id", "users", "CASCADE"))
    return [
        {"column": column, "target": target, "ondelete": ondelete,
         "name": f"fk_{table}_{column}_{target}"}
        for column, target, ondelete in keys
    ]


def _indexes(table: str, fields: list[Field], *, owned: bool) -> list[dict[str, Any]]:
    indexed = [(item.column, item.unique) for item in fields if item.index or item.is_ref]
    if owned:
        indexed.append(("owner_id", False))
    return [{"name": f"ix_{table}_{column}", "column": column, "unique": unique}
            for column, unique in indexed]


def _field_context(item: Field, prefix: str, target: Target | None) -> dict[str, Any]:
    """What the templates print for one field."""
    input_type = item.input_annotation(prefix)
    alias = f"{prefix}{item.enum_class}" if input_type.startswith("Annotated[") else ""
    optional = " | None" if item.optional else ""
    schema_type = alias or input_type
    return {
        "name": item.name,
        "column": item.column,
        "type": item.type,
        "optional": item.optional,
        "required": item.default_literal(prefix) is None,
        "unique": item.unique,
        "filterable": item.filterable,
        "is_ref": item.is_ref,
        "model_annotation": item.model_annotation(),
        "mapped_column": item.mapped_column(),
        "migration_column": f'sa.Column("{item.column}", {item.migration_type()}, '
        f"nullable={item.optional})",
        "alias": alias,
        "alias_type": input_type if alias else "",
        "create_annotation": schema_type + optional,
        "create_default": item.default_literal(prefix),
        "update_annotation": f"{schema_type} | MISSING{optional}",
        "read_annotation": item.read_annotation(prefix),
        "filter_annotation": f"{item.read_annotation(prefix).removesuffix(' | None')} | None",
        "enum_class": f"{prefix}{item.enum_class}" if item.type == "enum" else "",
        "enum_members": [{"member": c.upper(), "value": c} for c in item.choices],
        "payload_expression": item.payload_expression(),
        "sample": literal(item.sample(1)),
        "other_sample": literal(item.sample(2)),
        "target": asdict(target) if target else {},
    }


def _imports(spec: EntitySpec, fields: list[Field], targets: dict[str, Target],
             project: ProjectFacts, needs_actor: bool) -> dict[str, str]:
    """The import block of each generated module."""
    package = project.package_name
    names = spec.names
    types = {item.type for item in fields}

    model = Imports(package).add("sqlalchemy.orm", "Mapped", "mapped_column")
    model.add(f"{package}.models.base", "Base", *(["TimestampMixin"] if spec.timestamps else []))
    for item in fields:
        column_type = item.column_type()
        if column_type:
            model.add("sqlalchemy", column_type.split("(")[0])
        if item.is_ref:
            model.add("sqlalchemy", "ForeignKey").add("sqlalchemy.orm", "relationship")
            target = targets[item.name]
            model.add(f"{package}.models.{target.snake}", target.name)
    if spec.owned:
        model.add("sqlalchemy", "ForeignKey")
    _add_python_types(model, types)

    schema = Imports(package).add(f"{package}.schemas.common", "InputSchema", "Page",
                                  "PageQuery", "ReadSchema")
    schema.add("enum", "StrEnum").add("pydantic", "MISSING")
    if any(item.input_annotation(names.pascal).startswith("Annotated[") for item in fields):
        schema.add("typing", "Annotated").add("pydantic", "Field")
    if spec.timestamps:
        schema.add("datetime", "datetime")
    if "email" in types:
        schema.add("pydantic", "EmailStr")
    if "url" in types:
        schema.add(f"{package}.schemas.common", "HttpUrlStr")
    _add_python_types(schema, types)

    repository = Imports(package).add("sqlalchemy", "ColumnElement")
    repository.add(f"{package}.core.repository", "PageResult", "Repository")
    repository.add(f"{package}.models.{names.snake}", names.pascal)
    repository.add(f"{package}.schemas.{names.snake}", f"{names.pascal}Query")

    service = Imports(package).add(f"{package}.core.db", "SessionDep")
    service.add(f"{package}.core.exceptions", "NotFoundError")
    service.add(f"{package}.core.repository", "PageResult")
    service.add(f"{package}.models.{names.snake}", names.pascal)
    service.add(f"{package}.repositories.{names.snake}", f"{names.pascal}Repository")
    service.add(f"{package}.schemas.{names.snake}", f"{names.pascal}Create",
                f"{names.pascal}Query", f"{names.pascal}Update")
    if needs_actor:
        service.add(f"{package}.models.user", "User")
        service.add(f"{package}.services.ownership", "owner_scope")
    if targets:
        service.add("typing", "Any").add(f"{package}.core.exceptions", "InvalidInputError")
        for target in targets.values():
            service.add(f"{package}.repositories.{target.snake}", f"{target.name}Repository")

    routes = Imports(package).add("typing", "Annotated")
    routes.add("fastapi", "APIRouter", "Depends", "Path", "Query", "status")
    routes.add(f"{package}.core.problems", "problem_responses")
    routes.add(f"{package}.core.repository", "PageResult")
    routes.add(f"{package}.models.{names.snake}", names.pascal)
    routes.add(f"{package}.schemas.{names.snake}", f"{names.pascal}Create",
               f"{names.pascal}Page", f"{names.pascal}Query", f"{names.pascal}Read",
               f"{names.pascal}Update")
    routes.add(f"{package}.services.{names.snake}", f"{names.pascal}Service")
    if project.auth:
        routes.add(f"{package}.api.deps", "get_current_user")
        if needs_actor:
            routes.add(f"{package}.api.deps", "CurrentUser")

    migration = Imports(package).add("collections.abc", "Sequence").add("sqlalchemy as sa")
    migration.add("alembic", "op")
    if "json" in types:
        migration.add("sqlalchemy.dialects", "postgresql")

    factory = Imports(package).add("typing", "Any")
    if any(item.unique for item in fields):
        factory.add("itertools", "count")
    factory.add("sqlalchemy.ext.asyncio", "AsyncSession")
    factory.add(f"{package}.models.{names.snake}", names.pascal)
    factory.add(f"{package}.schemas.{names.snake}", f"{names.pascal}Create")
    if spec.owned or any(t.owned for t in targets.values()):
        factory.add(f"{package}.models.user", "User")
    for target in targets.values():
        factory.add(f"tests.factories.{target.snake}", f"create_{target.snake}")

    tests = Imports(package).add("httpx", "AsyncClient")
    tests.add("sqlalchemy.ext.asyncio", "AsyncSession")
    tests.add(f"tests.factories.{names.snake}", f"create_{names.snake}",
              f"{names.snake}_payload")
    tests.add(f"{package}.schemas.{names.snake}", f"{names.pascal}Sort")
    if spec.owned or any(t.owned for t in targets.values()):
        tests.add(f"{package}.models.user", "User")
    for target in targets.values():
        tests.add(f"tests.factories.{target.snake}", f"create_{target.snake}")

    return {
        "model": model.render(),
        "schema": schema.render(),
        "repository": repository.render(),
        "service": service.render(),
        "routes": routes.render(),
        "migration": migration.render(),
        "factory": factory.render(),
        "tests": tests.render(),
    }


def _add_python_types(imports: Imports, types: set[str]) -> None:
    """Imports for the Python types of the fields' annotations."""
    if "date" in types:
        imports.add("datetime", "date")
    if "datetime" in types:
        imports.add("datetime", "datetime")
    if "decimal" in types:
        imports.add("decimal", "Decimal")
    if "uuid" in types:
        imports.add("uuid", "UUID")
    if "json" in types:
        imports.add("typing", "Any")
