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
        if not item.is_ref:
            fields.append(item)
            continue
        target = project.entities.get(item.target)
        if item.target == names.pascal:
            raise SpecError(f"{item.token!r}: an entity cannot refer to itself")
        if target is None:
            known = ", ".join(sorted(project.entities)) or "none yet"
            raise SpecError(f"{item.token!r}: unknown entity {item.target!r} (known: {known})")
        targets[item.name] = target
        fields.append(replace(item, target_table=target.table))
    prefix = names.pascal
    contexts = [
        _field_context(item, prefix, targets.get(item.name), owned=spec.owned) for item in fields
    ]
    # Factories of owned rows, or of rows that refer to owned rows, need an owner; services
    # of such rows need the acting user.
    owners_needed = spec.owned or any(target.owned for target in targets.values())
    needs_actor = project.auth and owners_needed
    sorts = ["id", *(item.column for item in fields if item.sortable)]
    if spec.timestamps:
        sorts += ["created_at", "updated_at"]
    entity: dict[str, Any] = {
        **asdict(names),
        "a_title": ("an " if names.title[0] in "AEIOU" else "a ") + names.title.lower(),
        "owned": spec.owned,
        "timestamps": spec.timestamps,
        "needs_actor": needs_actor,
        "owner_param": owners_needed,
        "fields": contexts,
        "refs": [c for c in contexts if c["is_ref"]],
        "ref_params": [f"{item.column}: int" for item in fields if item.is_ref],
        "filters": [c for c in contexts if c["filterable"]],
        "enums": [c for c in contexts if c["type"] == "enum"],
        "constrained": [c for c in contexts if c["alias"]],
        "required": [c for c in contexts if c["required"]],
        # A field and a CSV cell its schema refuses, for the import tests.
        "invalid": next(
            (
                {"column": item.column, "text": item.invalid_cell()}
                for item in fields
                if item.invalid_cell() is not None
            ),
            None,
        ),
        "updatable": [c for c in contexts if not c["is_ref"]],
        "has_unique": any(item.unique for item in fields),
        "sorts": [
            {"member": f"{name.upper()}{suffix}", "value": f"{sign}{name}"}
            for name in sorts
            for sign, suffix in (("", ""), ("-", "_DESC"))
        ],
        "default_sort": "CREATED_AT_DESC" if spec.timestamps else "ID_DESC",
        "foreign_keys": _foreign_keys(names.table, fields, owned=spec.owned),
        # With --owned, `unique` means unique among one owner's rows: a global constraint
        # would tell users which values other users hold.
        "unique_constraints": _unique_constraints(names.table, fields, owned=spec.owned),
        "migration_indexes": _indexes(names.table, fields, owned=spec.owned),
    }
    entity["imports"] = _SliceImports(
        spec, fields, targets, project, needs_actor, owners_needed
    ).all()
    return {"entity": entity}


def _foreign_keys(table: str, fields: list[Field], *, owned: bool) -> list[dict[str, str]]:
    """The table's foreign keys, named by the naming convention."""
    keys = [(item.column, item.target_table, item.ondelete) for item in fields if item.is_ref]
    if owned:
        keys.append(("owner_id", "users", "CASCADE"))
    return [
        {
            "column": column,
            "target": target,
            "ondelete": ondelete,
            "name": f"fk_{table}_{column}_{target}",
        }
        for column, target, ondelete in keys
    ]


def _unique_constraints(table: str, fields: list[Field], *, owned: bool) -> list[dict[str, Any]]:
    """Unique constraints of the table (a unique index covers `unique` with `index`)."""
    found = []
    for item in fields:
        if item.unique and (owned or not item.index):
            columns = ["owner_id", item.column] if owned else [item.column]
            found.append(
                {
                    "columns": columns,
                    "name": f"uq_{table}_{'_'.join(columns)}",
                    "quoted": ", ".join(f'"{column}"' for column in columns),
                }
            )
    return found


def _indexes(table: str, fields: list[Field], *, owned: bool) -> list[dict[str, Any]]:
    indexed = [
        (item.column, item.unique and not owned) for item in fields if item.index or item.is_ref
    ]
    if owned:
        indexed.append(("owner_id", False))
    return [
        {"name": f"ix_{table}_{column}", "column": column, "unique": unique}
        for column, unique in indexed
    ]


def _field_context(
    item: Field, prefix: str, target: Target | None, *, owned: bool
) -> dict[str, Any]:
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
        "mapped_column": item.mapped_column(unique_per_owner=owned),
        "migration_column": f'sa.Column("{item.column}", {item.migration_type()}, '
        f"nullable={item.optional})",
        "alias": alias,
        "alias_type": input_type if alias else "",
        "create_annotation": schema_type + optional,
        "create_default": item.default_literal(prefix),
        "update_annotation": f"{schema_type} | MISSING{optional}",
        "read_annotation": item.read_annotation(prefix),
        # Bounded as the field is: no value its column cannot hold reaches the database.
        "filter_annotation": f"{schema_type} | None",
        "enum_class": f"{prefix}{item.enum_class}" if item.type == "enum" else "",
        "enum_members": [{"member": c.upper(), "value": c} for c in item.choices],
        "payload_expression": item.payload_expression(),
        "sample": literal(item.sample(1)),
        "other_sample": literal(item.sample(2)),
        "target": asdict(target) if target else {},
    }


@dataclass(frozen=True)
class _SliceImports:
    """The import block of each module of a slice, one method a module."""

    spec: EntitySpec
    fields: list[Field]
    targets: dict[str, Target]
    project: ProjectFacts
    needs_actor: bool
    owners_needed: bool

    def all(self) -> dict[str, str]:
        modules = (
            "model",
            "schema",
            "repository",
            "service",
            "routes",
            "migration",
            "factory",
            "tests",
            "tests_import",
        )
        return {module: getattr(self, module)().render() for module in modules}

    @property
    def _own(self) -> str:
        """`app.<layer>.book`-style module prefix of the entity: fill in the layer."""
        return f"{self.project.package_name}.{{}}.{self.spec.names.snake}"

    @property
    def _types(self) -> set[str]:
        return {item.type for item in self.fields}

    def _new(self) -> Imports:
        return Imports(self.project.package_name)

    def model(self) -> Imports:
        package, found = self.project.package_name, self._new()
        found.add("sqlalchemy.orm", "Mapped", "mapped_column")
        found.add(
            f"{package}.models.base", "Base", *(["TimestampMixin"] if self.spec.timestamps else [])
        )
        for item in self.fields:
            if item.column_type():
                found.add("sqlalchemy", item.column_type().split("(")[0])
            if item.is_ref:
                target = self.targets[item.name]
                found.add("sqlalchemy", "ForeignKey").add("sqlalchemy.orm", "relationship")
                found.add(f"{package}.models.{target.snake}", target.name)
        if self.spec.owned:
            found.add("sqlalchemy", "ForeignKey")
            if any(item.unique for item in self.fields):
                found.add("sqlalchemy", "UniqueConstraint")
        return _add_python_types(found, self._types)

    def schema(self) -> Imports:
        common, found = f"{self.project.package_name}.schemas.common", self._new()
        found.add(common, "InputSchema", "Page", "PageQuery", "ReadSchema")
        found.add("enum", "StrEnum").add("pydantic", "MISSING")
        prefix = self.spec.names.pascal
        if any(item.input_annotation(prefix).startswith("Annotated[") for item in self.fields):
            found.add("typing", "Annotated").add("pydantic", "Field")
        if self.spec.timestamps:
            found.add("datetime", "datetime")
        if "email" in self._types:
            found.add(common, "EmailAddress")
        if "decimal" in self._types:
            found.add(common, "JsonDecimal", "JsonNumber")
        if self._types & {"date", "datetime", "uuid", "enum"}:
            found.add(common, "FromString")
        if "datetime" in self._types:
            found.add("pydantic", "AwareDatetime")
        if "url" in self._types:
            found.add(common, "HttpUrlStr")
        return _add_python_types(found, self._types)

    def repository(self) -> Imports:
        pascal, found = self.spec.names.pascal, self._new()
        found.add("sqlalchemy", "ColumnElement")
        found.add(f"{self.project.package_name}.core.repository", "PageResult", "Repository")
        found.add(self._own.format("models"), pascal)
        return found.add(self._own.format("schemas"), f"{pascal}Query")

    def service(self) -> Imports:
        package, pascal, found = self.project.package_name, self.spec.names.pascal, self._new()
        found.add(f"{package}.core.db", "SessionDep")
        found.add(f"{package}.core.exceptions", "NotFoundError")
        found.add(f"{package}.core.repository", "PageResult")
        found.add(self._own.format("models"), pascal)
        found.add(self._own.format("repositories"), f"{pascal}Repository")
        found.add(
            self._own.format("schemas"), f"{pascal}Create", f"{pascal}Query", f"{pascal}Update"
        )
        if self.needs_actor:
            found.add(f"{package}.models.user", "User")
            found.add(f"{package}.services.ownership", "owner_scope")
        if self.targets:
            found.add("typing", "Any").add(f"{package}.core.exceptions", "InvalidInputError")
            found.add(f"{package}.core.csv_import", "Reference")
        if any(target.owned for target in self.targets.values()):
            found.add("functools", "partial")
        for target in self.targets.values():
            found.add(f"{package}.repositories.{target.snake}", f"{target.name}Repository")
        # The CSV import
        found.add("logging").add("collections.abc", "Callable").add("typing", "IO")
        found.add(
            f"{package}.core.csv_import", "CsvImport", "ImportSummary", "Rejection", "read_csv"
        )
        if self.project.auth:
            found.add(f"{package}.models.user", "User")
        return found

    def routes(self) -> Imports:
        package, pascal, found = self.project.package_name, self.spec.names.pascal, self._new()
        found.add("typing", "Annotated")
        found.add("fastapi", "APIRouter", "Depends", "Path", "Query", "status")
        found.add(f"{package}.core.dependencies", "async_dependency")
        found.add(f"{package}.core.problems", "problem_responses")
        found.add(f"{package}.core.repository", "PageResult")
        found.add(self._own.format("models"), pascal)
        found.add(
            self._own.format("schemas"),
            *(f"{pascal}{kind}" for kind in ("Create", "Page", "Query", "Read", "Update")),
        )
        found.add(self._own.format("services"), f"{pascal}Service")
        if self.project.auth:
            found.add(f"{package}.api.deps", "CurrentUser")
        if self.project.auth and not self.needs_actor:
            found.add(f"{package}.api.deps", "get_current_user")
        # The CSV import
        found.add("fastapi", "Request").add(f"{package}.core.config", "SettingsDep")
        found.add(f"{package}.core.csv_import", "CSV_UPLOAD", "RejectionLog", "spooled_text")
        found.add(f"{package}.schemas.common", "ImportReport")
        return found

    def migration(self) -> Imports:
        found = self._new().add("collections.abc", "Sequence").add("sqlalchemy as sa")
        found.add("alembic", "op")
        if "json" in self._types:
            found.add("sqlalchemy.dialects", "postgresql")
        return found

    def factory(self) -> Imports:
        names, found = self.spec.names, self._new()
        found.add("typing", "Any").add("sqlalchemy.ext.asyncio", "AsyncSession")
        if any(item.unique for item in self.fields):
            found.add("itertools", "count")
        found.add(self._own.format("models"), names.pascal)
        found.add(self._own.format("schemas"), f"{names.pascal}Create")
        return self._with_owners_and_targets(found)

    def tests(self) -> Imports:
        names, found = self.spec.names, self._new()
        found.add("httpx", "AsyncClient").add("sqlalchemy.ext.asyncio", "AsyncSession")
        found.add(
            f"tests.factories.{names.snake}", f"create_{names.snake}", f"{names.snake}_payload"
        )
        found.add(self._own.format("schemas"), f"{names.pascal}Sort")
        return self._with_owners_and_targets(found)

    def tests_import(self) -> Imports:
        names, found = self.spec.names, self._new()
        found.add("httpx", "AsyncClient").add("tests.csv_files", "csv_text")
        found.add(f"tests.factories.{names.snake}", f"{names.snake}_payload")
        if self.targets:
            found.add("sqlalchemy.ext.asyncio", "AsyncSession")
            return self._with_owners_and_targets(found)
        return found

    def _with_owners_and_targets(self, found: Imports) -> Imports:
        """Test code creates owners, and the rows an entity refers to."""
        if self.owners_needed:
            found.add(f"{self.project.package_name}.models.user", "User")
        for target in self.targets.values():
            found.add(f"tests.factories.{target.snake}", f"create_{target.snake}")
        return found


def _add_python_types(imports: Imports, types: set[str]) -> Imports:
    """Imports for the Python types of the fields' annotations."""
    for type_name, (module, name) in {
        "date": ("datetime", "date"),
        "datetime": ("datetime", "datetime"),
        "decimal": ("decimal", "Decimal"),
        "uuid": ("uuid", "UUID"),
        "json": ("typing", "Any"),
    }.items():
        if type_name in types:
            imports.add(module, name)
    return imports
