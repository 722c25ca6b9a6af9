"""A change of an entity's spec, and the migration that makes it in the database.

`SpecChange` pairs the fields of the old and the new spec (renames say which old field a new
one was), refuses what cannot keep the data, and writes the migration's steps: the old
table and the new one (`tables.py`) are compared object by object, so every index, unique
constraint and foreign key named after a column follows it. Alembic's autogenerate would
see a rename as a dropped and an added column, write no backfill and compare server
defaults loosely; the project's `alembic check` still proves the result, against the models,
after every change (the tests run it).

Steps run in `op.batch_alter_table`, which SQLite needs (it copies the table) and other
databases turn into plain ALTERs. Values a table may hold that the new spec refuses are
dealt with before the columns change: rows holding a removed enum choice get the default,
or NULL, or the value given with `--backfill`; a column that becomes required is filled
with its default or the backfill value first.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi_slices.errors import SpecError
from fastapi_slices.fields import Field
from fastapi_slices.imports import Imports
from fastapi_slices.tables import Column, Table

# SQLite has no ALTER for most changes: batch mode copies the table, and must keep ids
# growing (AUTOINCREMENT) as the table was created.
T = TypeVar("T")
BATCH = 'op.batch_alter_table("{table}", table_kwargs={{"sqlite_autoincrement": True}})'


@dataclass(frozen=True)
class FieldChange:
    """One field, before and after (None: added, or removed)."""

    old: Field | None
    new: Field | None

    @property
    def name(self) -> str:
        item = self.new or self.old
        assert item is not None
        return item.name

    def describe(self) -> str:
        """`add pages`, `rename title to heading`, `change pages (int to bigint, required)`."""
        old, new = self.old, self.new
        if old is None:
            return f"add {self.name}"
        if new is None:
            return f"remove {self.name}"
        what = _differences(old, new)
        if old.name != new.name:
            return f"rename {old.name} to {new.name}" + (f" ({what})" if what else "")
        return f"change {self.name} ({what})"


def _spelled_type(item: Field) -> str:
    """The type as the grammar writes it: `decimal=12.2`, `enum=draft,published`."""
    value = {
        "decimal": f"{item.precision}.{item.scale}",
        "enum": ",".join(item.choices),
        "ref": item.target,
    }.get(item.type)
    return f"{item.type}={value}" if value else item.type


def _differences(old: Field, new: Field) -> str:
    """What differs between two fields, in a few words."""
    found = []
    if _spelled_type(old) != _spelled_type(new):
        found.append(f"{_spelled_type(old)} to {_spelled_type(new)}")
    if old.optional != new.optional:
        found.append("optional" if new.optional else "required")
    for option in ("unique", "index", "filter", "sort"):
        if getattr(old, option) != getattr(new, option):
            found.append(option if getattr(new, option) else f"no {option}")
    for option in ("default", "min", "max"):
        if getattr(old, option) != getattr(new, option):
            value = getattr(new, option)
            found.append(f"{option}={value}" if value is not None else f"no {option}")
    if old.is_ref and new.is_ref and old.delete_rule != new.delete_rule:
        found.append(f"ondelete={new.delete_rule}")
    return ", ".join(found)


@dataclass
class _Data:
    """What one direction of the migration does to stored values (columns by new name)."""

    fills: dict[str, str] = field(default_factory=dict)  # NULLs -> a value, then NOT NULL
    remaps: list[tuple[Column, tuple[str, ...], str]] = field(default_factory=list)
    refusals: list[tuple[Column, tuple[str, ...], str]] = field(default_factory=list)
    stays_nullable: set[str] = field(default_factory=set)  # no value is known to fill it
    imports: set[tuple[str, str]] = field(default_factory=set)  # what the values' code needs

    def value(self, item: Field, text: str) -> str:
        """`text` as the migration writes it, remembering the import that needs."""
        if item.kind.constructor and item.kind.python_import is not None:
            self.imports.add(item.kind.python_import)
        return item.migration_literal(text)


@dataclass(frozen=True)
class SpecChange:
    """The fields of an entity before and after a change, and the tables they make."""

    old_table: Table
    new_table: Table
    changes: tuple[FieldChange, ...]  # only the fields that change
    backfills: dict[str, str]  # field name -> a value (as typed) for rows already stored

    @property
    def renamed_columns(self) -> dict[str, str]:
        """Old column name -> new one."""
        return {
            c.old.column: c.new.column
            for c in self.changes
            if c.old is not None and c.new is not None and c.old.column != c.new.column
        }

    @property
    def summary(self) -> str:
        return "; ".join(change.describe() for change in self.changes)

    @property
    def slug(self) -> str:
        """`add_pages_to_books`, `rename_title_to_heading_in_books`, or `change_books`."""
        kinds = {change.describe().split()[0] for change in self.changes}
        table = self.new_table.name
        names = "_".join(change.name for change in self.changes)
        if kinds == {"add"}:
            slug = f"add_{names}_to_{table}"
        elif kinds == {"remove"}:
            slug = f"remove_{names}_from_{table}"
        elif kinds == {"rename"} and len(self.changes) == 1:
            old = self.changes[0].old
            assert old is not None
            slug = f"rename_{old.name}_to_{self.changes[0].name}_in_{table}"
        else:
            slug = f"change_{table}"
        return slug if len(slug) <= 60 else f"change_{table}"[:60]

    def check(self) -> None:
        """Refuse, in one line, every change that could not keep the table's data."""
        for change in self.changes:
            old, new = change.old, change.new
            if new is None:
                continue
            if old is not None:
                _check_kept(old, new)
            if new.is_link:  # no column: no value to fill
                continue
            becomes_required = not new.optional and (old is None or old.optional)
            drops_choices = old is not None and new.type == "enum" and _lost_choices(old, new)
            if (
                (becomes_required or (drops_choices and not new.optional))
                and new.default is None
                and new.name not in self.backfills
            ):
                reason = (
                    "a new required field needs a value for the rows the table may hold"
                    if old is None
                    else "rows may hold no value, or a value it no longer takes"
                )
                raise SpecError(
                    f"{new.token!r}: {reason}: give default=VALUE or --backfill {new.name}=VALUE"
                )
        for name, value in self.backfills.items():
            target = next((c.new for c in self.changes if c.new and c.new.name == name), None)
            if target is None:
                raise SpecError(f"--backfill {name}=...: {name} is not a field that changes")
            target.check_value(value, what="backfill")

    def upgrade(self, found: Imports) -> list[str]:
        data = _Data()
        for change in self.changes:
            old, new = change.old, change.new
            if new is None or new.is_link:
                continue
            value = self.backfills.get(new.name, new.default)
            if not new.optional and (old is None or old.optional):
                assert value is not None  # `check` refused it otherwise
                data.fills[new.column] = data.value(new, value)
            if old is not None and new.type == "enum" and _lost_choices(old, new):
                _remap(data, old, new, value, self.old_table)
        return _steps(self.old_table, self.new_table, self.renamed_columns, data, found)

    def downgrade(self, found: Imports) -> list[str]:
        data = _Data()
        for change in self.changes:
            old, new = change.old, change.new
            if old is None or old.is_link:
                continue
            if not old.optional and (new is None or new.optional):
                if old.default is not None:
                    data.fills[old.column] = data.value(old, old.default)
                elif new is None:
                    # Its values went with the upgrade: the column comes back without them.
                    data.stays_nullable.add(old.column)
                # Else NULLs stored since refuse the old NOT NULL, and the database says so.
            if new is not None and old.type == "enum" and _lost_choices(new, old):
                _remap(data, new, old, old.default, self.new_table)
        back = {after: before for before, after in self.renamed_columns.items()}
        return _steps(self.new_table, self.old_table, back, data, found)


def _lost_choices(old: Field, new: Field) -> bool:
    """Whether the old field may hold values that are not choices of the new enum."""
    return old.type != "enum" or not set(old.choices) <= set(new.choices)


def _remap(data: _Data, old: Field, new: Field, value: str | None, table: Table) -> None:
    """Rows holding a value the new enum lacks: the value given, NULL, or a refusal."""
    column = table.column_named(old.column)
    assert column is not None
    if value is not None:
        data.remaps.append((column, new.choices, data.value(new, value)))
    elif new.optional:
        data.remaps.append((column, new.choices, "None"))
    else:
        data.refusals.append((column, new.choices, new.name))


def _check_kept(old: Field, new: Field) -> None:
    """A field that stays (perhaps renamed) may change only in ways that keep its data."""
    if old.type != new.type and new.type not in old.kind.casts:
        casts = ", ".join(sorted(old.kind.casts)) or "no other type"
        raise SpecError(
            f"{new.token!r}: {old.type} cannot become {new.type} with its data (it can become "
            f"{casts}); add a new field, copy the values over in a migration of your own, "
            f"then remove {old.name}"
        )
    if old.refers and old.target != new.target:
        raise SpecError(
            f"{new.token!r}: a reference cannot change its target ({old.target}); add a new "
            f"field, then remove {old.name}"
        )
    if old.is_link and old.name != new.name:
        raise SpecError(
            f"{new.token!r}: many-to-many {old.name} cannot be renamed (its table of links is "
            f"named after it); add {new.name}, then remove {old.name}"
        )


def _steps(
    old: Table, new: Table, renamed: dict[str, str], data: _Data, found: Imports
) -> list[str]:
    """The body of `upgrade()` (or `downgrade()`): the code that takes table `old` to `new`.

    Values first (rows the new table could not serve), then a batch of drops, renames and
    added or altered columns, the values that NOT NULL columns need, and a batch that sets
    NOT NULL and creates keys, unique constraints and indexes (one batch, when no column is
    filled or renamed).
    """
    drops, creates = _constraint_steps(old, new, renamed)
    columns, not_null = _column_steps(old, new, renamed, data)
    lines = _value_steps(old.name, data)
    fills = {name: value for name, value in data.fills.items() if new.column_named(name)}
    # Batch mode on SQLite cannot index a column renamed in the same batch: two batches.
    if fills or renamed:
        lines += _batch(new.name, drops + columns)
        for name, value in fills.items():
            column = new.column_named(name)
            assert column is not None
            lines += [
                _typed_table(new.name, column),
                f"op.execute(table.update().where(table.c.{name}.is_(None)).values({name}={value}))",
            ]
        lines += _batch(new.name, not_null + creates)
    else:
        lines += _batch(new.name, drops + columns + not_null + creates)
    for module, name in data.imports:
        found.add(module, name)
    if any("postgresql." in line for line in lines):
        found.add("sqlalchemy.dialects", "postgresql")
    lines += _link_steps(old, new)
    return lines or ["pass"]


def _link_steps(old: Table, new: Table) -> list[str]:
    """Tables of links (many-to-many) that go, that come, and that change what deleting a
    target does to them."""
    before = {link.name: link for link in old.links}
    after = {link.name: link for link in new.links}
    lines = [line for name, link in before.items() if name not in after for line in link.drop]
    for name, link in after.items():
        was = before.get(name)
        if was is None:
            lines += link.create
        elif was.ondelete != link.ondelete:
            key = link.target_key
            lines += _batch(
                name,
                [
                    f'batch.drop_constraint("{key}", type_="foreignkey")',
                    f'batch.create_foreign_key("{key}", "{link.target_table}", '
                    f'["{link.target_column}"], ["id"], ondelete="{link.ondelete}")',
                ],
            )
    return lines


def _value_steps(table: str, data: _Data) -> list[str]:
    """Rows holding values the new table refuses: changed, or the migration stops."""
    lines: list[str] = []
    for column, choices, name in data.refusals:
        lines += _refusal(table, column, choices, name)
    for column, choices, value in data.remaps:
        lines += [
            _typed_table(table, column),
            f"op.execute(table.update().where(table.c.{column.name}.not_in({list(choices)!r}))"
            f".values({column.name}={value}))",
        ]
    return lines


def _column_steps(
    old: Table, new: Table, renamed: dict[str, str], data: _Data
) -> tuple[list[str], list[str]]:
    """Columns renamed, dropped, added and altered; then those that become NOT NULL once
    their values are filled in."""
    old_columns = {item.name: item for item in old.columns}
    new_columns = {item.name: item for item in new.columns}
    kept = {
        name: renamed.get(name, name)
        for name in old_columns
        if renamed.get(name, name) in new_columns
    }
    steps = [
        f'batch.alter_column("{before}", new_column_name="{after}", '
        f"existing_type={old_columns[before].type}, "
        f"existing_nullable={old_columns[before].nullable})"
        for before, after in kept.items()
        if before != after
    ]
    steps += [f'batch.drop_column("{name}")' for name in old_columns if name not in kept]
    not_null: list[str] = []
    for name, column in new_columns.items():
        if name in kept.values():
            continue
        nullable = column.nullable or name in data.fills or name in data.stays_nullable
        steps.append(f'batch.add_column(sa.Column("{name}", {column.type}, nullable={nullable}))')
        if name in data.fills and not column.nullable:
            not_null.append(_not_null(column))
    for before, after in kept.items():
        was, now = old_columns[before], new_columns[after]
        changes = [f"type_={now.type}"] if was.type != now.type else []
        if now.nullable and not was.nullable:
            changes.append("nullable=True")
        if changes:
            steps.append(
                f'batch.alter_column("{after}", existing_type={was.type}, '
                f"existing_nullable={was.nullable}, {', '.join(changes)})"
            )
        if was.nullable and not now.nullable:
            not_null.append(_not_null(now))
    return steps, not_null


def _constraint_steps(
    old: Table, new: Table, renamed: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Indexes, unique constraints and foreign keys to drop, and to create: those whose name,
    columns or rules differ (each follows its column through a rename)."""

    def follow(name: str) -> str:
        return renamed.get(name, name)

    drop_indexes, create_indexes = _compare(
        old.indexes, new.indexes, lambda i, f: (i.name, f(i.column), i.unique), follow
    )
    drop_uniques, create_uniques = _compare(
        old.unique_constraints,
        new.unique_constraints,
        lambda u, f: (u.name, tuple(map(f, u.columns))),
        follow,
    )
    drop_keys, create_keys = _compare(
        old.foreign_keys,
        new.foreign_keys,
        lambda k, f: (k.name, f(k.column), k.target, k.ondelete),
        follow,
    )
    drops = [f'batch.drop_index("{i.name}")' for i in drop_indexes]
    drops += [f'batch.drop_constraint("{u.name}", type_="unique")' for u in drop_uniques]
    drops += [f'batch.drop_constraint("{k.name}", type_="foreignkey")' for k in drop_keys]
    creates = [
        f'batch.create_foreign_key("{k.name}", "{k.target}", ["{k.column}"], ["id"], '
        f'ondelete="{k.ondelete}")'
        for k in create_keys
    ]
    creates += [
        f'batch.create_unique_constraint("{u.name}", {list(u.columns)!r})' for u in create_uniques
    ]
    creates += [
        f'batch.create_index("{i.name}", ["{i.column}"], unique={i.unique})' for i in create_indexes
    ]
    return drops, creates


def _compare(
    olds: tuple[T, ...],
    news: tuple[T, ...],
    key: Callable[[T, Callable[[str], str]], object],
    follow: Callable[[str], str],
) -> tuple[list[T], list[T]]:
    """What to drop of `olds` and to create of `news`: objects whose key differs."""
    old_keys = {key(item, follow) for item in olds}
    new_keys = {key(item, _same) for item in news}
    return (
        [item for item in olds if key(item, follow) not in new_keys],
        [item for item in news if key(item, _same) not in old_keys],
    )


def _same(name: str) -> str:
    return name


def _not_null(column: Column) -> str:
    return f'batch.alter_column("{column.name}", existing_type={column.type}, nullable=False)'


def _batch(table: str, steps: list[str]) -> list[str]:
    if not steps:
        return []
    return [f"with {BATCH.format(table=table)} as batch:", *(f"    {step}" for step in steps)]


def _typed_table(table: str, column: Column) -> str:
    """`table`, with the column an UPDATE needs, typed so values bind as the models bind them."""
    return f'table = sa.table("{table}", sa.column("{column.name}", {column.type}))'


def _refusal(table: str, column: Column, choices: tuple[str, ...], name: str) -> list[str]:
    """Stop, rather than keep rows that the schema after this step could not serve."""
    return [
        _typed_table(table, column),
        f"outside = table.c.{column.name}.not_in({list(choices)!r})",
        "stored = op.get_bind().scalar(",
        "    sa.select(sa.func.count()).select_from(table).where(outside)",
        ")",
        "if stored:",
        f'    message = f"{{stored}} {table} rows hold a {name} that is not one of '
        f'{", ".join(choices)}; change them first"',
        "    raise RuntimeError(message)",
    ]
