"""The field grammar of `gen entity`, and everything the slice templates ask of a field.

A field token is `name:type[?][=value][:modifier[=value]]...`, shell-safe without quotes:

    title:str:max=200:index   price:decimal=10.2:min=0   published_on:date?
    status:enum=draft,published:default=draft   author:ref=Author   extra:json?

`Field.parse` is the only parser; the properties below are the only place that maps a field
type to Python, SQLAlchemy, Alembic and Pydantic spellings, so templates stay free of logic.
"""

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi_slices.errors import SpecError
from fastapi_slices.naming import check_identifier

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
STRING_LENGTHS = {"str": 255, "email": 320, "url": 2083}
# Text has no column length, but a request still may not send more than this (max= changes it).
TEXT_MAX_LENGTH = 65_535


@dataclass(frozen=True)
class FieldType:
    """What one type of the grammar means in each layer."""

    python: str  # annotation in models and Read schemas
    column: str  # SQLAlchemy type in the model ("" lets SQLAlchemy infer it from `python`)
    migration: str  # SQLAlchemy type as written in a migration
    modifiers: frozenset[str]  # which modifiers make sense
    sortable: bool = True
    filterable: bool = True
    takes_value: bool = False  # enum=..., decimal=10.2, ref=Target


_ALL = frozenset({"unique", "index", "default", "min", "max", "filter", "sort"})
_NO_BOUNDS = _ALL - {"min", "max"}
TYPES: dict[str, FieldType] = {
    "str": FieldType("str", "String({length})", "sa.String(length={length})", _ALL),
    "text": FieldType("str", "Text", "sa.Text()", _ALL - {"unique", "index"}, filterable=False),
    "int": FieldType("int", "", "sa.Integer()", _ALL),
    "bigint": FieldType("int", "BigInteger", "sa.BigInteger()", _ALL),
    "float": FieldType("float", "Double", "sa.Double()", _ALL - {"unique"}, filterable=False),
    "decimal": FieldType(
        "Decimal",
        "Numeric({precision}, {scale})",
        "sa.Numeric(precision={precision}, scale={scale})",
        _ALL,
        takes_value=True,
    ),
    "bool": FieldType("bool", "", "sa.Boolean()", _NO_BOUNDS - {"unique"}),
    "date": FieldType("date", "", "sa.Date()", _NO_BOUNDS - {"default"}),
    "datetime": FieldType(
        "datetime", "", "sa.DateTime(timezone=True)", _NO_BOUNDS - {"default"}, filterable=False
    ),
    "uuid": FieldType("UUID", "", "sa.Uuid()", _NO_BOUNDS - {"default"}),
    "json": FieldType(
        "dict[str, Any]",
        "",
        'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")',
        frozenset(),
        sortable=False,
        filterable=False,
    ),
    "email": FieldType("str", "String({length})", "sa.String(length={length})", _ALL),
    "url": FieldType("str", "String({length})", "sa.String(length={length})", _ALL),
    "enum": FieldType(
        "str", "String({length})", "sa.String(length={length})", _NO_BOUNDS, takes_value=True
    ),
    "ref": FieldType(
        "int", "", "sa.Integer()", frozenset({"filter", "sort", "index"}), takes_value=True
    ),
}
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
_FLAGS = ("unique", "index", "filter", "sort")
_VALUED = ("default", "min", "max")
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

    @classmethod
    def parse(cls, token: str) -> "Field":
        """Parse one token, naming the token in any error."""
        parts = token.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise SpecError(f"{token!r}: a field is name:type, e.g. title:str")
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
        if value and not kind.takes_value:
            raise SpecError(f"{token!r}: type {type_name} takes no '=value'")
        found: dict[str, Any] = {
            "name": name,
            "type": type_name,
            "token": token,
            "optional": optional,
        }
        found |= cls._type_value(type_name, value, token)
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
    def _type_value(type_name: str, value: str, token: str) -> dict[str, Any]:
        if type_name == "decimal" and value:
            match = re.fullmatch(r"(\d+)\.(\d+)", value)
            if not match or not 0 <= int(match[2]) <= int(match[1]) <= 38:
                raise SpecError(f"{token!r}: decimal takes precision.scale, e.g. decimal=10.2")
            return {"precision": int(match[1]), "scale": int(match[2])}
        if type_name == "enum":
            choices = tuple(value.split(",")) if value else ()
            if not choices or not all(_ENUM_CHOICE.match(choice) for choice in choices):
                raise SpecError(
                    f"{token!r}: enum takes lower-case choices, e.g. enum=draft,published"
                )
            if len(set(choices)) != len(choices):
                raise SpecError(f"{token!r}: enum choices repeat")
            return {"choices": choices}
        if type_name == "ref":
            if not _PASCAL.match(value):
                raise SpecError(f"{token!r}: ref takes an entity name, e.g. ref=Author")
            return {"target": value}
        return {}

    def _check_values(self) -> None:
        """Check min, max and default against the type, so the generated code compiles."""
        token = self.token
        number_kind = {"int": int, "bigint": int, "float": float, "decimal": Decimal}
        if self.type in number_kind:
            kind = number_kind[self.type]
            low = None if self.min is None else _number(self.min, kind, token)
            high = None if self.max is None else _number(self.max, kind, token)
            limits = INT64 if self.type == "bigint" else INT32
            if self.type in {"int", "bigint"} and any(
                bound is not None and not limits[0] <= bound <= limits[1] for bound in (low, high)
            ):
                raise SpecError(f"{token!r}: bound outside the range of {self.type}")
        elif self.min is not None or self.max is not None:
            low = None if self.min is None else _number(self.min, int, token)
            high = None if self.max is None else _number(self.max, int, token)
            if (low is not None and low < 0) or (high is not None and high < 1):
                raise SpecError(f"{token!r}: lengths must be positive")
            if self.type == "str" and high is not None and high > 10_000:
                raise SpecError(f"{token!r}: str is at most 10000 long; use text")
        else:
            low = high = None
        if low is not None and high is not None and low > high:
            raise SpecError(f"{token!r}: min is greater than max")
        if self.default is not None:
            self._check_default(low, high)

    def _check_default(self, low: Any, high: Any) -> None:
        token, default = self.token, self.default
        assert default is not None
        if self.type == "bool":
            if default not in {"true", "false"}:
                raise SpecError(f"{token!r}: a bool default is true or false")
            return
        if self.type == "enum":
            if default not in self.choices:
                raise SpecError(f"{token!r}: default {default!r} is not one of the choices")
            return
        if self.type in {"int", "bigint", "float", "decimal"}:
            kind = {"int": int, "bigint": int, "float": float, "decimal": Decimal}[self.type]
            value = _number(default, kind, token)
            if (low is not None and value < low) or (high is not None and value > high):
                raise SpecError(f"{token!r}: default is outside min..max")
            if self.type == "decimal":
                exponent = Decimal(default).as_tuple().exponent
                if isinstance(exponent, int) and -exponent > self.scale:
                    raise SpecError(f"{token!r}: default has more than {self.scale} decimals")
            return
        length = len(default)
        if (low is not None and length < low) or length > (high or self.length or length):
            raise SpecError(f"{token!r}: default length is outside min..max")
        if self.type == "email" and "@" not in default:
            raise SpecError(f"{token!r}: default is not an e-mail address")
        if self.type == "url" and not re.match(r"https?://", default):
            raise SpecError(f"{token!r}: default is not an http(s) URL")

    # Names -----------------------------------------------------------------------------

    @property
    def column(self) -> str:
        """The column (and Create/Read key): refs store `<name>_id`."""
        return f"{self.name}_id" if self.type == "ref" else self.name

    @property
    def is_ref(self) -> bool:
        return self.type == "ref"

    @property
    def filterable(self) -> bool:
        """Equality filters: asked for, or implied by an index or a small set of values."""
        kind = TYPES[self.type]
        implied = self.unique or self.index or self.type in {"bool", "enum", "ref"}
        return kind.filterable and (self.filter or implied)

    @property
    def sortable(self) -> bool:
        return TYPES[self.type].sortable and (self.sort or self.unique or self.index)

    @property
    def length(self) -> int | None:
        """Column length of string-like types."""
        if self.type == "enum":
            return max(len(choice) for choice in self.choices)
        if self.type in STRING_LENGTHS:
            return int(self.max) if self.max is not None else STRING_LENGTHS[self.type]
        return None

    @property
    def min_length(self) -> int | None:
        if self.type not in {"str", "text", "email", "url"}:
            return None
        if self.min is not None:
            return int(self.min) or None
        return 1 if self.type == "str" else None

    @property
    def enum_class(self) -> str:
        """`status` of `Book` -> `BookStatus` (the entity name is prefixed by the template)."""
        return "".join(word.capitalize() for word in self.column.split("_"))

    # Spellings ----------------------------------------------------------------------

    def model_annotation(self) -> str:
        python = TYPES[self.type].python
        return f"{python} | None" if self.optional else python

    def column_type(self) -> str:
        template = TYPES[self.type].column
        return template.format(length=self.length, precision=self.precision, scale=self.scale)

    def migration_type(self) -> str:
        template = TYPES[self.type].migration
        return template.format(length=self.length, precision=self.precision, scale=self.scale)

    def read_annotation(self, enum_prefix: str) -> str:
        """The type in the Read schema: stored values are valid, so no validators."""
        python = {"enum": enum_prefix + self.enum_class, "decimal": "JsonDecimal"}.get(
            self.type, TYPES[self.type].python
        )
        return f"{python} | None" if self.optional else python

    def _schema_base(self, enum_prefix: str) -> str:
        base = {
            "enum": enum_prefix + self.enum_class,
            "email": "EmailAddress",
            "url": "HttpUrlStr",
            "datetime": "AwareDatetime",
        }.get(self.type, TYPES[self.type].python)
        # JSON carries these as strings; input schemas are strict about every other type.
        return f"FromString[{base}]" if self.type in {"date", "datetime", "uuid", "enum"} else base

    def input_annotation(self, enum_prefix: str) -> str:
        """The constrained type in Create and Update schemas."""
        base = self._schema_base(enum_prefix)
        constraints = self._constraints()
        if constraints:
            # A decimal is given as a JSON number: JsonNumber documents it with its bounds.
            marker = ", JsonNumber" if self.type == "decimal" else ""
            base = f"Annotated[{base}, Field({', '.join(constraints)}){marker}]"
        return base

    def _constraints(self) -> list[str]:
        found: list[str] = []
        if self.type in {"str", "text", "email", "url"}:
            if self.min_length is not None:
                found.append(f"min_length={self.min_length}")
            if self.type == "text":
                found.append(f"max_length={self.max or TEXT_MAX_LENGTH}")
            elif self.type != "email" or self.max is not None:  # EmailAddress has its own
                found.append(f"max_length={self.length}")
        elif self.type in {"int", "bigint"}:
            limits = INT64 if self.type == "bigint" else INT32
            found += [
                f"ge={self.min if self.min is not None else limits[0]}",
                f"le={self.max if self.max is not None else limits[1]}",
            ]
        elif self.type in {"float", "decimal"}:
            if self.min is not None:
                found.append(f"ge={self._literal_number(self.min)}")
            if self.max is not None:
                found.append(f"le={self._literal_number(self.max)}")
            if self.type == "float":
                found.append("allow_inf_nan=False")
            else:
                found += [f"max_digits={self.precision}", f"decimal_places={self.scale}"]
        elif self.type == "ref":
            found += ["ge=1", f"le={INT32[1]}"]
        return found

    def _literal_number(self, text: str) -> str:
        return f'Decimal("{text}")' if self.type == "decimal" else repr(float(text))

    def default_literal(self, enum_prefix: str) -> str | None:
        """The Python literal of the Create schema default, or None when required."""
        if self.default is None:
            return "None" if self.optional else None
        if self.type == "bool":
            return str(self.default == "true")
        if self.type == "enum":
            return f"{enum_prefix}{self.enum_class}.{self.default.upper()}"
        if self.type in {"int", "bigint"}:
            return str(int(self.default))
        if self.type == "float":
            return repr(float(self.default))
        if self.type == "decimal":
            return f'Decimal("{self.default}")'
        return json.dumps(self.default)

    @property
    def ondelete(self) -> str:
        """A ref blocks deleting its target, or forgets it when optional."""
        return "SET NULL" if self.optional else "RESTRICT"

    def mapped_column(self, *, unique_per_owner: bool = False) -> str:
        """The right-hand side of the model attribute.

        Unique per owner is a constraint of the table (owner_id, column), not of the column.
        """
        arguments = [self.column_type()] if self.column_type() else []
        if self.is_ref:
            arguments.insert(0, f'ForeignKey("{self.target_table}.id", ondelete="{self.ondelete}")')
        if self.unique and not unique_per_owner:
            arguments.append("unique=True")
        if self.index or self.is_ref:
            arguments.append("index=True")
        # With nothing to add, the annotation alone maps the column.
        return f"mapped_column({', '.join(arguments)})" if arguments else ""

    def sample(self, number: int) -> Any:
        """A valid JSON value for tests; samples 1 and 2 differ wherever the type allows."""
        if self.type == "bool":
            return (self.default != "true") if number % 2 else (self.default == "true")
        if self.type == "enum":
            return self.choices[-1] if number % 2 else self.choices[0]
        if self.type in {"int", "bigint", "float", "decimal"}:
            return self._sample_number(number)
        day = 10 + number % 18
        fixed: dict[str, Any] = {
            "date": f"2024-05-{day}",
            "datetime": f"2024-05-{day}T12:30:00Z",
            "json": {"key": f"value {number}"},
            "uuid": f"00000000-0000-4000-8000-{number:012d}",
            "email": f"{self.name.replace('_', '.')}{number}@example.com",
            "url": f"https://example.com/{self.name}/{number}",
        }
        if self.type in fixed:
            return fixed[self.type]
        return self._sample_text(number)

    def _text_parts(self) -> tuple[str, int]:
        """A prefix and a number of digits whose sum fits the length bounds: `name 0001`."""
        longest = self.length or (int(self.max) if self.max is not None else 200)
        prefix = f"{self.name.replace('_', ' ')} "
        digits = max(4, (self.min_length or 0) - len(prefix))
        digits = min(digits, longest)
        return prefix[: max(0, longest - digits)], digits

    def _sample_text(self, number: int) -> str:
        prefix, digits = self._text_parts()
        return f"{prefix}{number:0{digits}d}"

    def _sample_number(self, number: int) -> Any:
        low = Decimal(self.min) if self.min is not None else Decimal(0)
        high = Decimal(self.max) if self.max is not None else low + 1000
        steps = int(high - low)
        value = low + (number % steps if steps > 0 else 0)
        if self.type in {"int", "bigint"}:
            return int(value)
        fraction = Decimal("0.5") if value + 1 <= high else Decimal(0)
        if self.type == "float":
            return float(value + fraction)
        return float((value + fraction).quantize(Decimal(1).scaleb(-self.scale)))

    def invalid_cell(self) -> str | None:
        """A Python expression of a CSV cell the Create schema refuses (None: none is)."""
        refused = {
            "int": "twelve",
            "bigint": "twelve",
            "float": "twelve",
            "decimal": "twelve",
            "bool": "maybe",
            "date": "someday",
            "datetime": "someday",
            "uuid": "not-a-uuid",
            "json": "{not json",
            "email": "not-an-email",
            "url": "not a url",
            "enum": "not_a_choice",
            "ref": "twelve",
        }
        if self.type in refused:
            return json.dumps(refused[self.type])
        if self.length is not None or self.max is not None:
            return f'"x" * {(self.length or int(self.max)) + 1}'
        return None

    def payload_expression(self) -> str:
        """The factory's Python expression for this field: unique values use `number`."""
        if not self.unique:
            return literal(self.sample(1))
        if self.type in {"int", "bigint"}:
            return f"{int(self._sample_number(0))} + number"
        if self.type in {"float", "decimal"}:
            return f"{self._sample_number(0)!r} + number"
        if self.type == "uuid":
            return 'f"00000000-0000-4000-8000-{number:012d}"'
        if self.type == "email":
            return f'f"{self.name.replace("_", ".")}{{number}}@example.com"'
        if self.type == "url":
            return f'f"https://example.com/{self.name}/{{number}}"'
        prefix, digits = self._text_parts()
        return "f" + json.dumps(f"{prefix}{{number:0{digits}d}}")


def literal(value: Any) -> str:
    """A Python literal for a JSON value (tests write payloads as literals)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
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
        return cls(parsed)
