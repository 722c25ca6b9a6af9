"""An entity spec: what the user asked for, as `.gen/entities/<entity>.json` keeps it.

The spec is the source of truth of a slice: the name, the field tokens and the options, the
migrations gen wrote for it, and which generator release last rendered its files. Everything
the slice templates print is derived from it (see `context.py`), so the same spec always
renders the same files.

Versions: 1 (fastapi-slices 0.1 and 0.2) kept no base copy of the slice files and no record of
the generator; 2 adds both (`changes`, `generator`); 3 (0.5) says who may write the rows of an
entity that is not owned (`open_writes`: every user; else superusers only). A spec keeps the
meaning it was written with: reading an older version never changes what it asks for, so
the shared entities of versions 1 and 2, which every user wrote, read as `open_writes`.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from fastapi_slices import __version__
from fastapi_slices.errors import SpecError
from fastapi_slices.fields import Field, Fields
from fastapi_slices.naming import EntityNames

SPEC_VERSION = 3
KNOWN_VERSIONS = frozenset({1, 2, 3})


@dataclass(frozen=True)
class Migration:
    """One migration gen wrote: fixed once written, so re-renders are identical."""

    revision: str
    down_revision: str | None
    created: str  # "2026-11-22 01:53:00+00:00"
    filename: str  # "20261122_0153_create_books_table.py"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    fields: list[str]
    owned: bool = False
    # Rows that are not owned: every signed-in user may write them (else superusers only).
    open_writes: bool = False
    timestamps: bool = True
    plural: str | None = None
    table: str | None = None
    migration: Migration | None = None  # the migration that creates the table
    changes: tuple[Migration, ...] = ()  # migrations that changed it since, oldest first
    generator: str = __version__  # the release of gen that last rendered the slice's files
    version: int = SPEC_VERSION

    @property
    def names(self) -> EntityNames:
        return EntityNames.from_name(
            self.name, plural=self.plural, table=self.table, legacy=self.is_legacy
        )

    def current(self) -> "EntitySpec":
        """This spec as this release writes it, meaning what it meant: an older spec's plural
        and table, when today's rules would name them otherwise, are written down."""
        if not self.is_legacy:
            return replace(self, generator=__version__, version=SPEC_VERSION)
        names = self.names
        today = EntityNames.from_name(self.name)
        return replace(
            self,
            plural=self.plural or (names.plural if names.plural != today.plural else None),
            table=self.table or (names.table if names.table != today.table else None),
            generator=__version__,
            version=SPEC_VERSION,
        )

    def parsed_fields(self) -> Fields:
        return Fields.parse(self.fields)

    def field_named(self, name: str) -> Field:
        for item in self.parsed_fields().items:
            if item.name == name:
                return item
        known = ", ".join(item.name for item in self.parsed_fields().items) or "none"
        raise SpecError(f"{self.name} has no field {name!r} (fields: {known})")

    @property
    def migrations(self) -> tuple[Migration, ...]:
        """Every migration of the entity, oldest first."""
        return ((self.migration,) if self.migration else ()) + self.changes

    @property
    def is_legacy(self) -> bool:
        """Written before gen kept base copies: its files' base must be recovered."""
        return self.version < 2

    def request(self) -> "EntitySpec":
        """What the user asked for, without the record of what gen did about it."""
        return replace(self, migration=None, changes=(), generator="", version=SPEC_VERSION)

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["changes"] = list(data["changes"])
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "EntitySpec":
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") not in KNOWN_VERSIONS:
            raise SpecError("entity spec has an unknown format")
        migration = data.pop("migration", None)
        changes = data.pop("changes", [])
        if data["version"] == 1:
            data["generator"] = ""  # unknown: older releases did not say
        if data["version"] < 3:  # before 0.5, every user wrote the rows of a shared entity
            data["open_writes"] = not data.get("owned", False)
        try:
            return cls(
                **data,
                migration=Migration(**migration) if migration else None,
                changes=tuple(Migration(**change) for change in changes),
            )
        except TypeError as error:
            raise SpecError(f"entity spec is malformed: {error}") from None


@dataclass(frozen=True)
class Target:
    """What an entity needs to know about an entity it refers to."""

    name: str
    snake: str
    table: str
    owned: bool
    kebab_plural: str  # its routes: /api/v1/<kebab_plural>
    is_self: bool = False  # a reference of an entity to itself (a tree)

    @classmethod
    def of(cls, spec: "EntitySpec") -> "Target":
        names = spec.names
        return cls(names.pascal, names.snake, names.table, spec.owned, names.kebab_plural)


# The users of a project with auth: a ref may name them (`reviewer:ref=User`).
USER_TARGET = Target(name="User", snake="user", table="users", owned=False, kebab_plural="users")


@dataclass(frozen=True)
class ProjectFacts:
    """What the slice templates need to know about the project."""

    package_name: str
    auth: bool
    entities: dict[str, Target] = field(default_factory=dict)  # by PascalCase name
