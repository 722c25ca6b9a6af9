"""The import block of each module of a slice: one method a module.

What a field type needs (its Python type, schema helpers, migration types) comes from its row
in `fields.TYPES`; what the slice's options need is decided here.
"""

from dataclasses import dataclass

from fastapi_slices.fields import NUL_FREE_FILTERS, Field
from fastapi_slices.imports import Imports
from fastapi_slices.naming import EntityNames
from fastapi_slices.spec import ProjectFacts, Target

MODULES = (
    "model",
    "schema",
    "repository",
    "service",
    "routes",
    "migration",
    "factory",
    "tests",
    "tests_import",
    "tests_cli",
)


@dataclass(frozen=True)
class SliceImports:
    names: EntityNames
    fields: tuple[Field, ...]
    targets: dict[str, Target]  # by field name
    project: ProjectFacts
    owned: bool
    timestamps: bool
    needs_actor: bool
    owners_needed: bool
    superuser_writes: bool

    def all(self) -> dict[str, str]:
        return {module: getattr(self, module)().render() for module in MODULES}

    @property
    def _own(self) -> str:
        """`app.<layer>.book`-style module prefix of the entity: fill in the layer."""
        return f"{self.project.package_name}.{{}}.{self.names.snake}"

    def _new(self) -> Imports:
        return Imports(self.project.package_name)

    def _module(self, module: str) -> str:
        """A module name of the rows, the project's own ones (`.schemas...`) made absolute."""
        return self.project.package_name + module if module.startswith(".") else module

    def _python_types(self, found: Imports) -> Imports:
        """Imports for the Python types of the fields' annotations."""
        for item in self.fields:
            if item.kind.python_import is not None:
                found.add(*item.kind.python_import)
        return found

    def model(self) -> Imports:
        package, found = self.project.package_name, self._new()
        found.add("sqlalchemy.orm", "Mapped", "mapped_column")
        found.add(
            f"{package}.models.base", "Base", *(["TimestampMixin"] if self.timestamps else [])
        )
        for item in self.fields:
            if item.column_type():
                found.add("sqlalchemy", item.column_type().split("(")[0])
            if item.refers:
                target = self.targets[item.name]
                found.add("sqlalchemy", "ForeignKey").add("sqlalchemy.orm", "relationship")
                if not target.is_self:
                    found.add(f"{package}.models.{target.snake}", target.name)
            if item.is_link:  # its table of links
                found.add("sqlalchemy", "Column", "Table")
        if self.owned:
            found.add("sqlalchemy", "ForeignKey")
            if any(item.unique for item in self.fields):
                found.add("sqlalchemy", "UniqueConstraint")
        return self._python_types(found)

    def schema(self) -> Imports:
        common, found = f"{self.project.package_name}.schemas.common", self._new()
        found.add(common, "InputSchema", "Page", "PageQuery", "ReadSchema")
        found.add("enum", "StrEnum").add("pydantic", "MISSING", "Field")  # Field: the query's
        prefix = self.names.pascal
        if any(item.input_annotation(prefix).startswith("Annotated[") for item in self.fields):
            found.add("typing", "Annotated")
        if self.timestamps:
            found.add("datetime", "datetime")
        for item in self.fields:
            for module, name in item.kind.schema_imports:
                found.add(self._module(module), name)
            if item.filterable and (  # free text in a query
                item.type in NUL_FREE_FILTERS or "contains" in item.kind.filters
            ):
                found.add("typing", "Annotated").add(common, "NulFree")
        return self._python_types(found)

    def repository(self) -> Imports:
        pascal, found = self.names.pascal, self._new()
        found.add("sqlalchemy", "ColumnElement")
        found.add(f"{self.project.package_name}.core.repository", "PageResult", "Repository")
        found.add(self._own.format("models"), pascal)
        for item in self.fields:
            if item.is_link:  # loaded with the rows; and rows linked to any of some ids
                found.add("sqlalchemy.orm", "selectinload")
                found.add(f"{self.project.package_name}.core.repository", "ManyToMany")
                found.add(self._own.format("models"), item.link_table(self.names.table))
                if item.filterable:
                    target = self.targets[item.name]
                    found.add(f"{self.project.package_name}.models.{target.snake}", target.name)
        return found.add(self._own.format("schemas"), f"{pascal}Query", f"{pascal}Read")

    def service(self) -> Imports:
        package, pascal, found = self.project.package_name, self.names.pascal, self._new()
        found.add("sqlalchemy.ext.asyncio", "AsyncSession")
        found.add(f"{package}.core.exceptions", "NotFoundError", "PreconditionFailedError")
        found.add(f"{package}.core.preconditions", "entity_tag", "matches")
        found.add(f"{package}.core.repository", "PageResult")
        found.add(f"{package}.core.unit", "committing")
        found.add(self._own.format("repositories"), f"{pascal}Repository")
        found.add(
            self._own.format("schemas"),
            *(f"{pascal}{kind}" for kind in ("Create", "Query", "Read", "Update")),
        )
        if self.needs_actor:
            found.add(f"{package}.models.user", "User")
            found.add(f"{package}.services.ownership", "owner_scope")
        if self.targets:
            found.add(f"{package}.core.exceptions", "InvalidInputError")
        if any(item.is_ref for item in self.fields):  # checked, and in imports
            found.add("typing", "Any").add(f"{package}.core.csv_import", "Reference")
        for item in self.fields:
            if item.refers:
                target = self.targets[item.name]
                found.add(f"{package}.repositories.{target.snake}", f"{target.name}Repository")
            if item.is_link:  # the ids of the rows it links to
                found.add("collections.abc", "Iterable")
        # The CSV import
        found.add("logging").add("collections.abc", "Callable").add("typing", "IO")
        found.add(f"{package}.core.csv_import", "CsvImport")
        found.add(f"{package}.core.csv_reading", "read_csv")
        found.add(f"{package}.core.csv_report", "ImportReport", "Rejection")
        found.add(f"{package}.core.import_slots", "ImportSlot")
        if self.project.auth:
            found.add(f"{package}.models.user", "User")
        return found

    def routes(self) -> Imports:
        package, pascal, found = self.project.package_name, self.names.pascal, self._new()
        found.add("typing", "Annotated")
        found.add("fastapi", "APIRouter", "Depends", "Path", "Query", "status")
        found.add(f"{package}.core.preconditions", "IfMatch", "TaggedRoute", "etag_response")
        found.add(f"{package}.core.problems", "problem_responses")
        found.add(f"{package}.core.repository", "PageResult")
        found.add(
            self._own.format("schemas"),
            *(f"{pascal}{kind}" for kind in ("Create", "Page", "Query", "Read", "Update")),
        )
        found.add(self._own.format("services"), f"{pascal}Service")
        if self.project.auth:  # each route's service, for the token's user
            found.add(f"{package}.api.deps", "authorized", "require_token")
        else:
            found.add(f"{package}.core.unit", "service_dependency")
        # The CSV import
        found.add(f"{package}.core.config", "SettingsDep")
        found.add(f"{package}.core.csv_report", "IMPORT_RESPONSES", "ImportReport")
        found.add(f"{package}.core.csv_upload", "CSV_REQUEST_BODY", "CsvUpload")
        found.add(f"{package}.core.import_slots", "ImportSlot")
        return found

    def migration(self) -> Imports:
        found = self._new().add("collections.abc", "Sequence").add("sqlalchemy as sa")
        found.add("alembic", "op")
        for item in self.fields:
            for module, name in item.kind.migration_imports:
                found.add(module, name)
        return found

    def factory(self) -> Imports:
        found = self._new()
        found.add("typing", "Any").add("sqlalchemy.ext.asyncio", "AsyncSession")
        if any(item.unique for item in self.fields):
            found.add("itertools", "count")
        found.add(self._own.format("models"), self.names.pascal)
        found.add(self._own.format("schemas"), f"{self.names.pascal}Create")
        for item in self.fields:
            if item.is_link:  # the rows its links name
                target = self.targets[item.name]
                found.add(f"{self.project.package_name}.models.{target.snake}", target.name)
        return self._with_owners_and_targets(found, all_targets=False)

    def tests(self) -> Imports:
        names, found = self.names, self._new()
        found.add("httpx", "AsyncClient").add("sqlalchemy.ext.asyncio", "AsyncSession")
        found.add(
            f"tests.factories.{names.snake}", f"create_{names.snake}", f"{names.snake}_payload"
        )
        found.add(self._own.format("schemas"), f"{names.pascal}Sort")
        if any(item.is_ref or item.sample(1) != item.sample(2) for item in self.fields):
            found.add("asyncio").add("typing", "Any")  # a change, and two at once
        if any(item.type == "json" for item in self.fields):
            found.add("json")  # a body JSON cannot carry (NaN), sent as text
        if self.superuser_writes:  # superusers, and a user whose writes are refused
            found.add("pytest").add(f"{self.project.package_name}.core.config", "Settings")
            found.add(f"{self.project.package_name}.models.user", "User")
            found.add("tests.factories.user", "create_user", "headers_for")
        return self._with_owners_and_targets(found)

    def tests_import(self) -> Imports:
        names, found = self.names, self._new()
        found.add("httpx", "AsyncClient").add("tests.csv_files", "csv_text", "fail_batch")
        found.add(f"tests.factories.{names.snake}", f"{names.snake}_payload")
        # Files that are not UTF-8, and an import an error stops part-way
        found.add("gzip").add("collections.abc", "Callable").add("pytest")
        found.add("fastapi", "FastAPI").add("sqlalchemy.exc", "OperationalError")
        if self.superuser_writes:  # the user of the tests is a superuser
            found.add("sqlalchemy.ext.asyncio", "AsyncSession")
            found.add(f"{self.project.package_name}.models.user", "User")
            found.add("tests.factories.user", "create_user")
        if any(item.is_ref for item in self.fields):  # rows to refer to (links: none)
            found.add("sqlalchemy.ext.asyncio", "AsyncSession")
            if any(item.is_link for item in self.fields):
                found.add("typing", "Any")
            return self._with_owners_and_targets(found, all_targets=False)
        return found

    def tests_cli(self) -> Imports:
        names, found = self.names, self._new()
        found.add("pathlib", "Path").add("pytest").add("sqlalchemy.ext.asyncio", "AsyncSession")
        found.add(self._own.format("models"), names.pascal)
        if any(item.is_ref and self.targets[item.name].owned for item in self.fields):
            # the importer owns them
            found.add(f"{self.project.package_name}.models.user", "User")
        found.add("tests.commands", "count_rows", "run_import")
        if any(item.is_ref for item in self.fields) and any(i.is_link for i in self.fields):
            found.add("typing", "Any")  # the ids of the rows it refers to
        if self.project.auth:  # imports with and without --as
            found.add("tests.commands", "run_command")
        found.add("tests.csv_files", "csv_rows", "csv_text", "fail_batch")
        found.add(self._own.format("schemas"), f"{names.pascal}Create")  # its columns
        found.add(f"tests.factories.{names.snake}", f"{names.snake}_payload")
        for target in self._made_targets():
            found.add(f"tests.factories.{target.snake}", f"create_{target.snake}")
        return found

    def _made_targets(self) -> list[Target]:
        """The entities whose rows factories and imports make: those of refs to other
        entities (a tree's parent and many-to-many links stay empty)."""
        targets = [self.targets[item.name] for item in self.fields if item.is_ref]
        return [target for target in targets if not target.is_self]

    def _with_owners_and_targets(self, found: Imports, *, all_targets: bool = True) -> Imports:
        """Test code creates owners, and the rows an entity refers to; without `all_targets`,
        only those of refs to other entities (factories and imports leave a tree's parent
        and many-to-many links empty)."""
        if self.owners_needed:
            found.add(f"{self.project.package_name}.models.user", "User")
        for target in self.targets.values() if all_targets else self._made_targets():
            found.add(f"tests.factories.{target.snake}", f"create_{target.snake}")
        return found
