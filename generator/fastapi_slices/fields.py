"""The field grammar of `gen entity`, and everything the slice templates ask of a field.

A field token is `name:type[?][=value][:modifier[=value]]...`, shell-safe without quotes:

    title:str:max=200:index   price:decimal=10.2:min=0   published_on:date?
    status:enum=draft,published:default=draft   author:ref=Author   extra:json?

`Field.parse` is the only parser. What a type means in every layer (Python, SQLAlchemy,
Alembic, Pydantic, test samples, imports, which changes keep its data) is one row of `TYPES`,
so a new type, or a change of one, is made in one place and templates stay free of logic.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

import inflection

from fastapi_slices.errors import SpecError
from fastapi_slices.naming import check_identifier

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
# Text has no column length, but a request still may not send more than this (max= changes it).
TEXT_MAX_LENGTH = 65_535
# A text a list searches for (`_contains`) is a part of a URL: at most this long, or the column.
CONTAINS_MAX_LENGTH = 1_000
# A `.`-prefixed module is one of the generated project's: the package name goes in front.
COMMON = ".schemas.common"


@dataclass(frozen=True)
class FieldType:
    """One type of the grammar, and everything it means in each layer."""

    name: str
    python: str  # annotation in models (and Read schemas, unless `read` says otherwise)
    column: str  # SQLAlchemy type in the model ("" lets SQLAlchemy infer it from `python`)
    migration: str  # SQLAlchemy type as written in a migration
    modifiers: frozenset[str]  # which modifiers make sense
    sample: Callable[["Field", int], Any]  # a valid JSON value for tests, by number
    sortable: bool = True
    # The list endpoint's parameters of a field that filters (see QUERY_SUFFIXES): "equal",
    # "any" (equal to one of several values), "min" and "max" (inclusive), "contains".
    filters: tuple[str, ...] = ("equal",)
    filters_by_default: bool = False  # few distinct values: an equality filter pays
    value: Literal["", "decimal", "enum", "ref"] = ""  # what `type=value` holds
    length: int | None = None  # the column length of a string type, unless max= is given
    bounds: Literal["", "length", "value"] = ""  # what min= and max= bound
    number: type[int] | type[float] | type[Decimal] | None = None  # parses bounds, defaults
    int_range: tuple[int, int] | None = None
    schema: str = ""  # the type in input schemas, when not `python`
    from_string: bool = False  # JSON carries it as a string, which input schemas parse
    read: str = ""  # the type in the Read schema, when not `python`
    python_import: tuple[str, str] | None = None  # what the Python annotation needs
    schema_imports: tuple[tuple[str, str], ...] = ()
    migration_imports: tuple[tuple[str, str], ...] = ()
    invalid: str | None = None  # a CSV cell the Create schema refuses (strings: too long)
    unique_payload: Callable[["Field"], str] | None = None  # a factory expression of `number`
    casts: frozenset[str] = frozenset()  # types a field may become, its data kept
    # A value given on the command line (a backfill): how it is checked, and how a migration
    # writes it as a Python value (`constructor("text")`; "" means a plain literal).
    parse: Callable[[str], Any] | None = None
    constructor: str = ""


def _aware_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("no time zone")
    return value


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _row_id(text: str) -> int:
    value = int(text)
    if not 1 <= value <= INT32[1]:
        raise ValueError("not an id")
    return value


def _day(number: int) -> int:
    return 10 + number % 18


def _unique_date(field: "Field") -> str:
    # Distinct for every `number` a test run reaches, and always a real date.
    return 'f"{2000 + number // 336}-{1 + number // 28 % 12:02d}-{1 + number % 28:02d}"'


def _sample_text(field: "Field", number: int) -> str:
    prefix, digits = field.text_parts()
    return f"{prefix}{number:0{digits}d}"


def _unique_text(field: "Field") -> str:
    prefix, digits = field.text_parts()
    return "f" + json.dumps(f"{prefix}{{number:0{digits}d}}")


def _sample_number(field: "Field", number: int) -> Any:
    low = Decimal(field.min) if field.min is not None else Decimal(0)
    high = Decimal(field.max) if field.max is not None else low + 1000
    if field.type == "decimal":  # and what its digits hold: decimal=4.2 stops at 99.99
        high = min(
            high, Decimal(10) ** (field.precision - field.scale) - Decimal(1).scaleb(-field.scale)
        )
    steps = int(high - low)
    value = low + (number % steps if steps > 0 else 0)
    if field.kind.number is int:
        return int(value)
    fraction = Decimal("0.5") if value + 1 <= high else Decimal(0)
    if field.type == "float":
        return float(value + fraction)
    if field.scale == 0:  # 2, not 2.0: a CSV cell "2.0" has a decimal the column lacks
        return int(value)
    return float((value + fraction).quantize(Decimal(1).scaleb(-field.scale)))


def _unique_number(field: "Field") -> str:
    start = _sample_number(field, 0)
    return f"{start if field.kind.number is int else repr(start)} + number"


def _pattern(text: str) -> Callable[["Field", int], str]:
    """A sample from a pattern with `{name}`, `{dotted}`, `{number...}` and `{day}`."""
    return lambda field, number: text.format(
        name=field.name, dotted=field.name.replace("_", "."), number=number, day=_day(number)
    )


def _unique_pattern(text: str) -> Callable[["Field"], str]:
    """The f-string of a pattern, its names filled in and `{number...}` left to the f-string."""
    return lambda field: (
        "f"
        + json.dumps(
            text.replace("{name}", field.name).replace("{dotted}", field.name.replace("_", "."))
        )
    )


_ALL = frozenset({"unique", "index", "default", "min", "max", "filter", "sort"})
_RANGE = ("equal", "min", "max")
_TEXT = ("equal", "contains")
_NO_BOUNDS = _ALL - {"min", "max"}
_EMAIL = "{dotted}{number}@example.com"
_URL = "https://example.com/{name}/{number}"
_UUID = "00000000-0000-4000-8000-{number:012d}"
_FROM_STRING = ((COMMON, "FromString"),)


def _string(name: str, length: int | None, **options: Any) -> FieldType:
    column = "String({length})" if length else "Text"
    return FieldType(
        name=name,
        python="str",
        column=options.pop("column", column),
        migration=options.pop("migration", "sa.String(length={length})" if length else "sa.Text()"),
        filters=options.pop("filters", _TEXT),
        modifiers=options.pop("modifiers", _ALL),
        sample=options.pop("sample", _sample_text),
        length=length,
        bounds=options.pop("bounds", "length"),
        unique_payload=options.pop("unique_payload", _unique_text),
        **options,
    )


def _checked_string(name: str, length: int, pattern: str, schema: str, invalid: str) -> FieldType:
    """A string the schemas check (an e-mail, a URL): samples from `pattern`."""
    return _string(
        name,
        length,
        sample=_pattern(pattern),
        schema=schema,
        schema_imports=((COMMON, schema),),
        invalid=invalid,
        unique_payload=_unique_pattern(pattern),
        casts=frozenset({"str", "text"}),
    )


def _number_type(name: str, python: str, column: str, migration: str, **options: Any) -> FieldType:
    return FieldType(
        name=name,
        python=python,
        column=column,
        migration=migration,
        sample=_sample_number,
        filters=options.pop("filters", _RANGE),
        bounds="value",
        invalid='"twelve"',
        unique_payload=_unique_number,
        **options,
    )


TYPES: dict[str, FieldType] = {
    row.name: row
    for row in (
        _string("str", 255, casts=frozenset({"text", "email", "url", "enum"})),
        _string(
            "text",
            None,
            modifiers=_ALL - {"unique", "index"},
            filters=("contains",),  # no index to make equality cheap, and rarely wanted
            casts=frozenset({"str", "email", "url"}),
        ),
        _number_type(
            "int",
            "int",
            "",
            "sa.Integer()",
            modifiers=_ALL,
            number=int,
            int_range=INT32,
            casts=frozenset({"bigint", "float", "decimal"}),
        ),
        _number_type(
            "bigint",
            "int",
            "BigInteger",
            "sa.BigInteger()",
            modifiers=_ALL,
            number=int,
            int_range=INT64,
            casts=frozenset({"decimal"}),
        ),
        _number_type(
            "float",
            "float",
            "Double",
            "sa.Double()",
            modifiers=_ALL - {"unique"},
            filters=("min", "max"),  # a float is rarely equal to the decimal a client writes
            number=float,
            casts=frozenset({"decimal"}),
        ),
        _number_type(
            "decimal",
            "Decimal",
            "Numeric({precision}, {scale})",
            "sa.Numeric(precision={precision}, scale={scale})",
            modifiers=_ALL,
            value="decimal",
            number=Decimal,
            read="JsonDecimal",
            python_import=("decimal", "Decimal"),
            constructor="Decimal",
            schema_imports=((COMMON, "JsonDecimal"), (COMMON, "JsonNumber")),
            casts=frozenset({"float"}),
        ),
        FieldType(
            name="bool",
            python="bool",
            column="",
            migration="sa.Boolean()",
            modifiers=_NO_BOUNDS - {"unique"},
            sample=lambda field, number: (
                (field.default != "true") if number % 2 else (field.default == "true")
            ),
            filters_by_default=True,
            invalid='"maybe"',
        ),
        FieldType(
            name="date",
            python="date",
            column="",
            migration="sa.Date()",
            modifiers=_NO_BOUNDS - {"default"},
            sample=_pattern("2024-05-{day}"),
            filters=_RANGE,
            schema="IsoDate",
            from_string=True,
            python_import=("datetime", "date"),
            schema_imports=(*_FROM_STRING, (COMMON, "IsoDate")),
            invalid='"someday"',
            unique_payload=_unique_date,
            parse=date.fromisoformat,
            constructor="date.fromisoformat",
        ),
        FieldType(
            name="datetime",
            python="datetime",
            column="",
            migration="sa.DateTime(timezone=True)",
            modifiers=_NO_BOUNDS - {"default"},
            sample=_pattern("2024-05-{day}T12:30:00Z"),
            filters=_RANGE,
            schema="UtcDatetime",
            from_string=True,
            python_import=("datetime", "datetime"),
            schema_imports=(*_FROM_STRING, (COMMON, "UtcDatetime")),
            invalid='"someday"',
            unique_payload=lambda field: _unique_date(field)[:-1] + 'T12:30:00Z"',
            parse=_aware_datetime,
            constructor="datetime.fromisoformat",
        ),
        FieldType(
            name="uuid",
            python="UUID",
            column="",
            migration="sa.Uuid()",
            modifiers=_NO_BOUNDS - {"default"},
            sample=_pattern(_UUID),
            from_string=True,
            python_import=("uuid", "UUID"),
            schema_imports=_FROM_STRING,
            invalid='"not-a-uuid"',
            unique_payload=_unique_pattern(_UUID),
            parse=UUID,
            constructor="UUID",
        ),
        FieldType(
            name="json",
            python="dict[str, Any]",
            column="",
            migration='sa.JSON().with_variant(postgresql.JSONB(), "postgresql")',
            modifiers=frozenset(),
            sample=lambda field, number: {"key": f"value {number}"},
            sortable=False,
            filters=(),
            schema="JsonObject",
            python_import=("typing", "Any"),
            schema_imports=((COMMON, "JsonObject"),),
            migration_imports=(("sqlalchemy.dialects", "postgresql"),),
            invalid='"{not json"',
            parse=_json_object,
        ),
        _checked_string("email", 320, _EMAIL, "EmailAddress", invalid='"not-an-email"'),
        _checked_string("url", 2083, _URL, "HttpUrlStr", invalid='"not a url"'),
        _string(
            "enum",
            None,
            column="String({length})",
            migration="sa.String(length={length})",
            modifiers=_NO_BOUNDS,
            sample=lambda field, number: field.choices[-1] if number % 2 else field.choices[0],
            bounds="",
            filters=("any",),
            filters_by_default=True,
            value="enum",
            from_string=True,
            schema_imports=_FROM_STRING,
            invalid='"not_a_choice"',
            unique_payload=None,
            casts=frozenset({"str", "text"}),
        ),
        FieldType(
            name="ref",
            python="int",
            column="",
            migration="sa.Integer()",
            modifiers=frozenset({"filter", "sort", "index", "ondelete"}),
            sample=lambda field, number: number,
            filters=("any",),
            filters_by_default=True,
            value="ref",
            invalid='"twelve"',
            parse=_row_id,
        ),
        # Many-to-many: ids in the bodies, a table of links (see `tables.LinkTable`).
        FieldType(
            name="refs",
            python="list[int]",
            column="",
            migration="",
            modifiers=frozenset({"ondelete"}),
            sample=lambda field, number: [number],
            sortable=False,
            filters_by_default=True,
            value="ref",
            schema="list[RowId]",
            schema_imports=((COMMON, "RowId"),),
            filters=("any",),
        ),
    )
}
# Types whose list parameters are free text: the OpenAPI document says they hold no U+0000
# (`NulFree`), which the service refuses everywhere.
NUL_FREE_FILTERS = frozenset({"str", "text"})
# At most this many values of a repeated list parameter (?status=a&status=b).
MAX_VALUES = 100
# At most this many ids in one many-to-many field of a body.
MAX_LINKS = 100
# Names every generated model, schema or list endpoint already uses.
RESERVED_FIELD_NAMES = frozenset(
    {
        "id",
        "owner",
        "owner_id",
        "created_at",
        "updated_at",
        "metadata",
        "registry",
        "limit",
        "offset",
        "sort",
        "query",
        "session",
        "type",
    }
)
# A filter's list parameter is the column and this suffix: ?price_min=10&status=a&status=b.
QUERY_SUFFIXES = {"equal": "", "any": "", "min": "_min", "max": "_max", "contains": "_contains"}
PAGE_PARAMETERS = ("limit", "offset", "sort")  # every list endpoint's own
_FLAGS = ("unique", "index", "filter", "sort")
_VALUED = ("default", "min", "max", "ondelete")
# What deleting the row a ref points at does to the rows that point at it, in the words of
# `ondelete=`, and in SQL.
DELETE_ACTIONS = {"restrict": "RESTRICT", "cascade": "CASCADE", "set-null": "SET NULL"}
_ENUM_CHOICE = re.compile(r"^[a-z][a-z0-9_]*$")
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def _number(text: str, kind: type[int] | type[float] | type[Decimal], token: str) -> Any:
    try:
        return kind(text)
    except (ValueError, InvalidOperation):
        raise SpecError(f"{token!r}: {text!r} is not a valid {kind.__name__}") from None


@dataclass(frozen=True)
class Field:
    """One column of an entity, parsed from a field token."""

    name: str
    type: str
    token: str
    optional: bool = False
    unique: bool = False
    index: bool = False
    filter: bool = False
    sort: bool = False
    default: str | None = None
    min: Any = None
    max: Any = None
    precision: int = 10
    scale: int = 2
    choices: tuple[str, ...] = ()
    target: str = ""  # ref: the PascalCase entity it points to
    target_table: str = ""  # ref: filled in once the target entity is known
    ondelete: str | None = None  # ref: a key of DELETE_ACTIONS, when given

    @classmethod
    def parse(cls, token: str) -> "Field":
        """Parse one token, naming the token in any error."""
        if any(character.isspace() for character in token):
            raise SpecError(
                f"{token!r}: a field holds no spaces; write the fields without quotes, one "
                "argument each: title:str pages:int"
            )
        parts = token.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise SpecError(f"{token!r}: a field is name:type, e.g. title:str")
        if any(part.endswith("?") for part in parts[2:]):
            rest = ":".join(part.removesuffix("?") for part in parts[2:])
            fixed = f"{parts[0]}:{parts[1].removesuffix('?')}?:{rest}"
            raise SpecError(f"{token!r}: '?' (optional) goes right after the type: {fixed}")
        name, type_part, modifiers = parts[0], parts[1], parts[2:]
        check_identifier(name, what=f"{token!r}: field name")
        if name in RESERVED_FIELD_NAMES or name.startswith(("model_", "_")):
            raise SpecError(f"{token!r}: field name {name!r} is reserved")
        type_name, _, value = type_part.partition("=")
        optional = type_name.endswith("?") or value.endswith("?")
        type_name, value = type_name.removesuffix("?"), value.removesuffix("?")
        kind = TYPES.get(type_name)
        if kind is None:
            raise SpecError(
                f"{token!r}: unknown type {type_name!r}; use one of " + ", ".join(TYPES)
            )
        if value and not kind.value:
            raise SpecError(f"{token!r}: type {type_name} takes no '=value'")
        found: dict[str, Any] = {
            "name": name,
            "type": type_name,
            "token": token,
            "optional": optional,
        }
        found |= cls._type_value(kind, value, token)
        for modifier in cls._join_default_value(modifiers):
            key, has_value, argument = modifier.partition("=")
            if key not in _FLAGS + _VALUED:
                raise SpecError(
                    f"{token!r}: unknown modifier {key!r}; use one of "
                    + ", ".join(_FLAGS + _VALUED)
                )
            if key not in kind.modifiers:
                raise SpecError(f"{token!r}: modifier {key!r} does not apply to {type_name}")
            if key in found and key not in {"name", "type", "token", "optional"}:
                raise SpecError(f"{token!r}: modifier {key!r} given twice")
            if (key in _FLAGS) == bool(has_value) or (has_value and not argument):
                shape = f"{key}=VALUE" if key in _VALUED else key
                raise SpecError(f"{token!r}: write the modifier as {shape}")
            found[key] = True if key in _FLAGS else argument
        parsed = cls(**found)
        parsed._check_values()
        return parsed

    @staticmethod
    def _join_default_value(modifiers: list[str]) -> list[str]:
        """Let a default contain ':' (a URL): glue back pieces that are not modifiers."""
        joined: list[str] = []
        for piece in modifiers:
            key = piece.partition("=")[0]
            if joined and joined[-1].startswith("default=") and key not in _FLAGS + _VALUED:
                joined[-1] += ":" + piece
            else:
                joined.append(piece)
        return joined

    @staticmethod
    def _type_value(kind: FieldType, value: str, token: str) -> dict[str, Any]:
        if kind.value == "decimal" and value:
            match = re.fullmatch(r"(\d+)\.(\d+)", value)
            if not match or not 0 <= int(match[2]) <= int(match[1]) <= 38:
                raise SpecError(f"{token!r}: decimal takes precision.scale, e.g. decimal=10.2")
            return {"precision": int(match[1]), "scale": int(match[2])}
        if kind.value == "enum":
            choices = tuple(value.split(",")) if value else ()
            if not choices or not all(_ENUM_CHOICE.match(choice) for choice in choices):
                raise SpecError(
                    f"{token!r}: enum takes lower-case choices, e.g. enum=draft,published"
                )
            if len(set(choices)) != len(choices):
                raise SpecError(f"{token!r}: enum choices repeat")
            return {"choices": choices}
        if kind.value == "ref":
            if not _PASCAL.match(value):
                raise SpecError(f"{token!r}: ref takes an entity name, e.g. ref=Author")
            return {"target": value}
        return {}

    def _check_values(self) -> None:
        """Check min, max and default against the type, so the generated code compiles."""
        token, kind = self.token, self.kind
        low = high = None
        if kind.bounds == "value":
            assert kind.number is not None
            low = None if self.min is None else _number(self.min, kind.number, token)
            high = None if self.max is None else _number(self.max, kind.number, token)
            limits = kind.int_range
            if limits and any(
                bound is not None and not limits[0] <= bound <= limits[1] for bound in (low, high)
            ):
                raise SpecError(f"{token!r}: bound outside the range of {self.type}")
        elif kind.bounds == "length":
            low = None if self.min is None else _number(self.min, int, token)
            high = None if self.max is None else _number(self.max, int, token)
            if (low is not None and low < 0) or (high is not None and high < 1):
                raise SpecError(f"{token!r}: lengths must be positive")
            if self.type == "str" and high is not None and high > 10_000:
                raise SpecError(f"{token!r}: str is at most 10000 long; use text")
        if low is not None and high is not None and low > high:
            raise SpecError(f"{token!r}: min is greater than max")
        if self.default is not None:
            self.check_value(self.default, low, high, what="default")
        if self.ondelete is not None and self.ondelete not in DELETE_ACTIONS:
            choices = ", ".join(DELETE_ACTIONS)
            raise SpecError(f"{token!r}: ondelete is one of {choices}")
        if self.is_link and self.optional:
            raise SpecError(
                f"{token!r}: many-to-many is never null (no links is []): "
                f"{self.name}:refs={self.target}"
            )
        if self.is_link and self.ondelete == "set-null":
            raise SpecError(f"{token!r}: ondelete of refs is restrict or cascade (of the links)")
        if self.ondelete == "set-null" and not self.optional:
            optional = f"{self.name}:ref={self.target}?"
            raise SpecError(f"{token!r}: ondelete=set-null needs an optional ref: {optional}")

    def check_value(self, value: str, low: Any = None, high: Any = None, *, what: str) -> None:
        """Refuse a value (a default, a backfill) that the field cannot hold."""
        token, kind = self.token, self.kind
        if self.type == "bool":
            if value not in {"true", "false"}:
                raise SpecError(f"{token!r}: a bool {what} is true or false")
            return
        if self.type == "enum":
            if value not in self.choices:
                raise SpecError(f"{token!r}: {what} {value!r} is not one of the choices")
            return
        if kind.number is not None:
            number = _number(value, kind.number, token)
            if (low is not None and number < low) or (high is not None and number > high):
                raise SpecError(f"{token!r}: {what} is outside min..max")
            if self.type == "decimal":
                exponent = Decimal(value).as_tuple().exponent
                if isinstance(exponent, int) and -exponent > self.scale:
                    raise SpecError(f"{token!r}: {what} has more than {self.scale} decimals")
            return
        if kind.parse is not None:
            try:
                kind.parse(value)
            except ValueError:
                raise SpecError(f"{token!r}: {what} {value!r} is not a valid {self.type}") from None
            return
        self._check_text(value, low, high, what=what)

    def _check_text(self, value: str, low: Any, high: Any, *, what: str) -> None:
        token = self.token
        length = len(value)
        if (low is not None and length < low) or length > (high or self.length or length):
            raise SpecError(f"{token!r}: {what} length is outside min..max")
        if self.type == "email" and "@" not in value:
            raise SpecError(f"{token!r}: {what} is not an e-mail address")
        if self.type == "url" and not re.match(r"https?://", value):
            raise SpecError(f"{token!r}: {what} is not an http(s) URL")

    # Names -----------------------------------------------------------------------------

    @property
    def kind(self) -> FieldType:
        return TYPES[self.type]

    @property
    def column(self) -> str:
        """The column (and Create/Read key): a ref stores `<name>_id`; many-to-many `tags`
        is the key `tag_ids` (no column: a table of links)."""
        if self.is_link:
            return f"{self.link_column}s"
        return f"{self.name}_id" if self.type == "ref" else self.name

    @property
    def is_ref(self) -> bool:
        """A reference to one row: a foreign key column."""
        return self.type == "ref"

    @property
    def is_link(self) -> bool:
        """References to many rows (`tags:refs=Tag`): a table of links."""
        return self.type == "refs"

    @property
    def refers(self) -> bool:
        """Whether the field names rows of another entity (one or many)."""
        return self.is_ref or self.is_link

    @property
    def link_item(self) -> str:
        """Many-to-many: one of the rows it links to, in words: `tag` for `tags`."""
        return str(inflection.singularize(self.name))

    @property
    def link_column(self) -> str:
        """Many-to-many: the links' column of the target's id, `tag_id` for `tags`."""
        return f"{self.link_item}_id"

    def link_table(self, table: str) -> str:
        """Many-to-many: the table of links of the entity's `table`, `books_tags`."""
        return f"{table}_{self.name}"

    @property
    def filterable(self) -> bool:
        """List filters: asked for, or implied by an index or a small set of values."""
        return bool(self.kind.filters) and (self.filter or self._filters_anyway)

    @property
    def _filters_anyway(self) -> bool:
        return self.unique or self.index or self.kind.filters_by_default

    def query_parameters(self) -> tuple[tuple[str, str], ...]:
        """The list endpoint's parameters of the field, with their filter: (price_min, min)."""
        if not self.filterable:
            return ()
        return tuple((self.column + QUERY_SUFFIXES[kind], kind) for kind in self.kind.filters)

    def check_modifiers_matter(self) -> None:
        """Refuse a modifier that changes nothing, so that a spec says what it does.

        Checked on the tokens a user gives, not on stored specs: a spec written by an older
        gen keeps meaning what it meant.
        """
        if self.filter and self._filters_anyway:
            why = "unique" if self.unique else "index" if self.index else f"every {self.type}"
            raise SpecError(
                f"{self.token!r}: modifier 'filter' changes nothing: {why} filters already"
            )
        if self.sort and (self.unique or self.index):
            why = "unique" if self.unique else "index"
            raise SpecError(f"{self.token!r}: modifier 'sort' changes nothing: {why} sorts already")

    @property
    def sortable(self) -> bool:
        return self.kind.sortable and (self.sort or self.unique or self.index)

    @property
    def length(self) -> int | None:
        """Column length of string-like types."""
        if self.type == "enum":
            return max(len(choice) for choice in self.choices)
        if self.kind.length is not None:
            return int(self.max) if self.max is not None else self.kind.length
        return None

    @property
    def longest_text(self) -> int:
        """The longest value of a string type a request may send."""
        return self.length or (int(self.max) if self.max is not None else TEXT_MAX_LENGTH)

    @property
    def longest_search(self) -> int:
        """The longest text a `_contains` parameter takes."""
        return min(self.longest_text, CONTAINS_MAX_LENGTH)

    @property
    def min_length(self) -> int | None:
        if self.kind.bounds != "length":
            return None
        if self.min is not None:
            return int(self.min) or None
        return 1 if self.type == "str" else None

    @property
    def enum_class(self) -> str:
        """`status` of `Book` -> `BookStatus` (the entity name is prefixed by the template)."""
        return "".join(word.capitalize() for word in self.column.split("_"))

    @property
    def delete_rule(self) -> str:
        """What deleting the target does: as `ondelete=` says; else a required ref blocks it,
        and an optional one forgets the target (many-to-many: blocks it; `cascade` deletes
        the links)."""
        return self.ondelete or ("set-null" if self.optional else "restrict")

    @property
    def delete_action(self) -> str:
        """`delete_rule` in SQL."""
        return DELETE_ACTIONS[self.delete_rule]

    # Spellings ----------------------------------------------------------------------

    def _type_template(self, template: str) -> str:
        return template.format(length=self.length, precision=self.precision, scale=self.scale)

    def model_annotation(self) -> str:
        python = self.kind.python
        return f"{python} | None" if self.optional else python

    def column_type(self) -> str:
        return self._type_template(self.kind.column)

    def migration_type(self) -> str:
        return self._type_template(self.kind.migration)

    def read_annotation(self, enum_prefix: str) -> str:
        """The type in the Read schema: stored values are valid, so no validators."""
        if self.type == "enum":
            python = enum_prefix + self.enum_class
        else:
            python = self.kind.read or self.kind.python
        return f"{python} | None" if self.optional else python

    def _schema_base(self, enum_prefix: str) -> str:
        if self.type == "enum":
            base = enum_prefix + self.enum_class
        else:
            base = self.kind.schema or self.kind.python
        # JSON carries these as strings; input schemas are strict about every other type.
        return f"FromString[{base}]" if self.kind.from_string else base

    def input_annotation(self, enum_prefix: str) -> str:
        """The constrained type in Create and Update schemas."""
        base = self._schema_base(enum_prefix)
        constraints = self._constraints()
        if constraints:
            # A decimal comes as a JSON number or a string of digits: JsonNumber documents
            # both, with the bounds.
            marker = ", JsonNumber" if self.type == "decimal" else ""
            base = f"Annotated[{base}, Field({', '.join(constraints)}){marker}]"
        return base

    def _constraints(self) -> list[str]:
        found: list[str] = []
        kind = self.kind
        if kind.bounds == "length":
            if self.min_length is not None:
                found.append(f"min_length={self.min_length}")
            if self.type == "text":
                found.append(f"max_length={self.max or TEXT_MAX_LENGTH}")
            elif self.type != "email" or self.max is not None:  # EmailAddress has its own
                found.append(f"max_length={self.length}")
        elif kind.int_range is not None:
            found += [
                f"ge={self.min if self.min is not None else kind.int_range[0]}",
                f"le={self.max if self.max is not None else kind.int_range[1]}",
            ]
        elif kind.bounds == "value":
            if self.min is not None:
                found.append(f"ge={self._literal_number(self.min)}")
            if self.max is not None:
                found.append(f"le={self._literal_number(self.max)}")
            if self.type == "float":
                found.append("allow_inf_nan=False")
            else:
                found += [f"max_digits={self.precision}", f"decimal_places={self.scale}"]
        elif self.is_ref:
            found += ["ge=1", f"le={INT32[1]}"]
        elif self.is_link:
            found.append(f"max_length={MAX_LINKS}")
        return found

    def _literal_number(self, text: str) -> str:
        return f'Decimal("{text}")' if self.type == "decimal" else repr(float(text))

    def value_literal(self, value: str, enum_prefix: str = "") -> str:
        """The Python literal of a value given on the command line (a default, a backfill).

        Enum values are members of the schema's enum class, or plain strings without a prefix.
        """
        if self.type == "bool":
            return str(value == "true")
        if self.type == "enum" and enum_prefix:
            return f"{enum_prefix}{self.enum_class}.{value.upper()}"
        if self.kind.number is int:
            return str(int(value))
        if self.type == "float":
            return repr(float(value))
        if self.type == "decimal":
            return f'Decimal("{value}")'
        return json.dumps(value)

    def migration_literal(self, value: str) -> str:
        """A value given on the command line as a migration writes it (no enum classes)."""
        if self.kind.constructor:
            return f"{self.kind.constructor}({json.dumps(value)})"
        if self.kind.parse is not None:  # json objects and ids
            return literal(self.kind.parse(value))
        return self.value_literal(value)

    def default_literal(self, enum_prefix: str) -> str | None:
        """The Python literal of the Create schema default, or None when required."""
        if self.is_link:
            return "Field(default_factory=list)"  # no links
        if self.default is None:
            return "None" if self.optional else None
        return self.value_literal(self.default, enum_prefix)

    def mapped_column(self, *, unique_per_owner: bool = False) -> str:
        """The right-hand side of the model attribute.

        Unique per owner is a constraint of the table (owner_id, column), not of the column.
        """
        arguments = [self.column_type()] if self.column_type() else []
        if self.is_ref:
            key = f'ForeignKey("{self.target_table}.id", ondelete="{self.delete_action}")'
            arguments.insert(0, key)
        if self.unique and not unique_per_owner:
            arguments.append("unique=True")
        if self.index or self.is_ref:
            arguments.append("index=True")
        # With nothing to add, the annotation alone maps the column.
        return f"mapped_column({', '.join(arguments)})" if arguments else ""

    # Test data ------------------------------------------------------------------------

    def sample(self, number: int) -> Any:
        """A valid JSON value for tests; samples 1 and 2 differ wherever the type allows."""
        return self.kind.sample(self, number)

    def decimal_text(self, number: int = 1) -> str:
        """A sample of a decimal as the string of digits a client may send instead: "1.50"."""
        step = Decimal(1).scaleb(-self.scale)
        return format(Decimal(str(self.sample(number))).quantize(step), "f")

    def query_sample(self, number: int) -> Any:
        """A sample as a list filter's tests send it, and store it: decimals as digits, which
        keep their scale (1.0 would be refused by a decimal=4.0)."""
        return self.decimal_text(number) if self.type == "decimal" else self.sample(number)

    def range_samples(self) -> tuple[Any, Any] | None:
        """Two query samples a range tells apart, the lower first; None when the field holds
        one value only (int:min=5:max=5), or has no range."""
        if "min" not in self.kind.filters:
            return None
        values = {self.query_sample(number) for number in (1, 2, 3)}
        if len(values) < 2 and self.kind.number is not None:  # a narrow range: its bounds
            step = Decimal(1).scaleb(-self.scale)
            for bound in (Decimal(text) for text in (self.min, self.max) if text is not None):
                if self.type != "decimal":
                    values.add(self.kind.number(bound))
                elif bound == bound.quantize(step):
                    values.add(format(bound.quantize(step), "f"))
        if len(values) < 2:
            return None
        ordered = sorted(values, key=Decimal if self.type == "decimal" else None)
        return ordered[0], ordered[-1]

    def equality_samples(self) -> tuple[Any, Any] | None:
        """Two different query samples: 1 and 2, else those of a range; None if it has one."""
        first, second = self.query_sample(1), self.query_sample(2)
        return (first, second) if first != second else self.range_samples()

    def contains_samples(self) -> tuple[str, str, str, bool] | None:
        """A value, another, and a text only the first contains, in other letter cases; and
        whether the text holds `%` and `_`, which a wildcard would let match the other value
        too. None when the field is too short for a text the other value lacks."""
        url = self.type == "url"
        core, other_core, text = ("A%25_b", "A0250b", "a%25_B") if url else ("A%_b", "A00b", "a%_B")
        pad = "0" * max(0, (self.min_length or 0) - len(core))
        value, other = pad + core, pad + other_core
        if self.type == "email":
            value, other = f"{value}@example.com", f"{other}@example.com"
        elif url:
            value, other = f"https://example.com/{core}", f"https://example.com/{other_core}"
        if len(value) <= self.longest_text:
            return value, other, text, True
        # A short string: the first character where samples 1 and 2 differ.
        value, other = self.sample(1), self.sample(2)
        text = next((a for a, b in zip(value, other, strict=False) if a != b), "")
        return (value, other, text, False) if text and text not in other else None

    def refused_query(self, kind: str) -> str:
        """A Python expression of a value the list parameter of filter `kind` refuses: beyond
        what the column holds, or not of the type."""
        if kind == "contains":
            return f'"x" * {self.longest_search + 1}'
        if self.kind.bounds == "length":
            return f'"x" * {self.longest_text + 1}'
        if self.kind.int_range is not None:
            return str((int(self.max) if self.max is not None else self.kind.int_range[1]) + 1)
        if self.type == "float":
            return repr(float(self.max) + 1) if self.max is not None else '"inf"'
        if self.type == "decimal":  # a digit more than the column holds
            return f'"{10 ** (self.precision - self.scale)}"'
        if self.refers:
            return "2**31"
        special = {"date": '"2024-02-30"', "datetime": '"0001-01-01T00:00:00+14:00"'}
        return special.get(self.type) or self.kind.invalid or '"?"'

    def refused_decimal_texts(self) -> tuple[str, ...]:
        """Strings a decimal refuses: words, an exponent, NaN, one decimal too many, and a
        minus sign where min >= 0."""
        text = self.decimal_text()
        refused = ["abc", "1e400", "NaN", text + ("5" if self.scale else ".5")]
        if self.min is not None and Decimal(self.min) >= 0:
            refused.append(f"-{text}")
        return tuple(refused)

    def text_parts(self) -> tuple[str, int]:
        """A prefix and a number of digits whose sum fits the length bounds: `name 0001`."""
        longest = self.length or (int(self.max) if self.max is not None else 200)
        prefix = f"{self.name.replace('_', ' ')} "
        digits = max(4, (self.min_length or 0) - len(prefix))
        digits = min(digits, longest)
        return prefix[: max(0, longest - digits)], digits

    def invalid_cell(self) -> str | None:
        """A Python expression of a CSV cell the Create schema refuses (None: none is)."""
        if self.kind.invalid is not None:
            return self.kind.invalid
        if self.length is not None or self.max is not None:
            return f'"x" * {(self.length or int(self.max)) + 1}'
        return None

    def payload_expression(self) -> str:
        """The factory's Python expression for this field: unique values use `number`."""
        if self.unique and self.kind.unique_payload is not None:
            return self.kind.unique_payload(self)
        return literal(self.sample(1))

    def renamed(self, name: str) -> "Field":
        """This field under another name, its token rewritten to match."""
        token = name + self.token[len(self.name) :]
        return replace(self, name=name, token=token)


def literal(value: Any) -> str:
    """A Python literal for a JSON value (tests write payloads as literals)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(literal, value)) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


@dataclass(frozen=True)
class Fields:
    """The ordered fields of one entity, checked as a whole."""

    items: tuple[Field, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, tokens: list[str]) -> "Fields":
        parsed = tuple(Field.parse(token) for token in tokens)
        seen: dict[str, str] = {}
        for item in parsed:
            for name in {item.name, item.column}:
                if name in seen:
                    raise SpecError(f"{item.token!r}: {name!r} clashes with {seen[name]!r}")
                seen[name] = item.token
        # `price` filters with price_min: a field `price_min` that filters would take it too.
        parameters = dict.fromkeys(PAGE_PARAMETERS, "paging")
        for item in parsed:
            for name, _ in item.query_parameters():
                if name in parameters:
                    raise SpecError(
                        f"{item.token!r}: its list parameter {name!r} is taken by "
                        f"{parameters[name]}; rename one of the fields"
                    )
                parameters[name] = repr(item.token)
        return cls(parsed)
