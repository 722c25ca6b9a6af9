"""The database table of an entity, as its migrations write it.

One value, built from the entity's fields, says which columns, keys, unique constraints and
indexes the table has, under the names the models' naming convention gives them. The
migration that creates the table prints it; a change of spec compares the tables of the old
and the new spec (`changes.py`), so the model, the create migration and every later
migration agree by construction.
"""

from dataclasses import dataclass

from fastapi_slices.fields import Field

ID_TYPE = "sa.Integer()"
TIMESTAMP_TYPE = "sa.DateTime(timezone=True)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as a migration writes it: sa.String(length=120)
    nullable: bool
    code: str  # the `sa.Column(...)` of a migration


def column(name: str, type_: str, *, nullable: bool) -> Column:
    return Column(name, type_, nullable, f'sa.Column("{name}", {type_}, nullable={nullable})')


@dataclass(frozen=True)
class ForeignKey:
    name: str
    column: str
    target: str  # the table it refers to
    ondelete: str


@dataclass(frozen=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    quoted: str  # '"owner_id", "name"': the arguments of UniqueConstraint(...)


@dataclass(frozen=True)
class Index:
    name: str
    column: str
    unique: bool


@dataclass(frozen=True)
class LinkTable:
    """The links of a many-to-many field (`tags:refs=Tag` of books): one row a link, the two
    ids its key. Deleting a book deletes its links; deleting a tag is refused while books
    link it (RESTRICT), or deletes its links (CASCADE)."""

    name: str  # books_tags
    target_column: str  # tag_id
    target_table: str  # tags
    ondelete: str  # of the target's side
    create: tuple[str, ...]  # the lines of a migration that creates it
    drop: tuple[str, ...]  # and that drops it

    @classmethod
    def of(cls, table: str, snake: str, item: Field) -> "LinkTable":
        name, column, target = item.link_table(table), f"{snake}_id", item.target_table
        keys = (
            (column, table, "CASCADE"),
            (item.link_column, target, item.delete_action),
        )
        index = f"ix_{name}_{item.link_column}"
        create = (
            "op.create_table(",
            f'    "{name}",',
            *(f'    sa.Column("{key}", {ID_TYPE}, nullable=False),' for key, _, _ in keys),
            *(
                f'    sa.ForeignKeyConstraint(["{key}"], ["{to}.id"], '
                f'name=op.f("fk_{name}_{key}_{to}"), ondelete="{action}"),'
                for key, to, action in keys
            ),
            f'    sa.PrimaryKeyConstraint("{column}", "{item.link_column}", '
            f'name=op.f("pk_{name}")),',
            ")",
            f'op.create_index(op.f("{index}"), "{name}", ["{item.link_column}"])',
        )
        drop = (f'op.drop_index(op.f("{index}"), table_name="{name}")', f'op.drop_table("{name}")')
        return cls(name, item.link_column, target, item.delete_action, create, drop)

    @property
    def target_key(self) -> str:
        """The name of the foreign key of the target's side."""
        return f"fk_{self.name}_{self.target_column}_{self.target_table}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...]
    unique_constraints: tuple[UniqueConstraint, ...]
    indexes: tuple[Index, ...]
    links: tuple[LinkTable, ...] = ()  # of its many-to-many fields

    def column_named(self, name: str) -> Column | None:
        return next((item for item in self.columns if item.name == name), None)


def build_table(
    name: str, snake: str, fields: tuple[Field, ...], *, owned: bool, timestamps: bool
) -> Table:
    """The table of an entity (`snake`: its name in snake_case), and its tables of links;
    ref fields must know their target's table."""
    columns = [column("id", ID_TYPE, nullable=False)]
    columns += [
        column(item.column, item.migration_type(), nullable=item.optional)
        for item in fields
        if not item.is_link
    ]
    if owned:
        columns.append(column("owner_id", ID_TYPE, nullable=False))
    if timestamps:
        columns += [
            column("created_at", TIMESTAMP_TYPE, nullable=False),
            column("updated_at", TIMESTAMP_TYPE, nullable=False),
        ]
    return Table(
        name=name,
        columns=tuple(columns),
        foreign_keys=_foreign_keys(name, fields, owned=owned),
        unique_constraints=_unique_constraints(name, fields, owned=owned),
        indexes=_indexes(name, fields, owned=owned),
        links=tuple(LinkTable.of(name, snake, item) for item in fields if item.is_link),
    )


def _foreign_keys(table: str, fields: tuple[Field, ...], *, owned: bool) -> tuple[ForeignKey, ...]:
    keys = [(item.column, item.target_table, item.delete_action) for item in fields if item.is_ref]
    if owned:
        keys.append(("owner_id", "users", "CASCADE"))
    return tuple(
        ForeignKey(f"fk_{table}_{column}_{target}", column, target, ondelete)
        for column, target, ondelete in keys
    )


def _unique_constraints(
    table: str, fields: tuple[Field, ...], *, owned: bool
) -> tuple[UniqueConstraint, ...]:
    """Unique constraints (a unique index covers `unique` with `index`).

    With --owned, `unique` means unique among one owner's rows: a global constraint would
    tell users which values other users hold.
    """
    found = []
    for item in fields:
        if item.unique and (owned or not item.index):
            columns = ("owner_id", item.column) if owned else (item.column,)
            quoted = ", ".join(f'"{name}"' for name in columns)
            found.append(UniqueConstraint(f"uq_{table}_{'_'.join(columns)}", columns, quoted))
    return tuple(found)


def _indexes(table: str, fields: tuple[Field, ...], *, owned: bool) -> tuple[Index, ...]:
    indexed = [
        (item.column, item.unique and not owned) for item in fields if item.index or item.is_ref
    ]
    if owned:
        indexed.append(("owner_id", False))
    return tuple(Index(f"ix_{table}_{column}", column, unique) for column, unique in indexed)
