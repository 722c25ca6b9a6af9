"""Living slices: an entity changed long after gen wrote it keeps the user's edits, and its
migrations carry the rows along, on SQLite and on PostgreSQL.

A project grows three entities (one owned, refs between them), and its user edits them: a
custom endpoint, a business rule in a service, a validator in a schema, a test of their own.
Then fields are added, removed, renamed, change type and optionality; every edit must still
be there, every check must pass, and databases holding rows must follow, down and up again.
"""

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import (
    Toolbox,
    gen,
    render,
    run_migrations,
    run_project_checks,
    sql,
)

GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
ENTITIES = [
    [
        "Author",
        "name:str:max=120:unique",
        "bio:text?",
        "level:enum=junior,senior:default=junior",
        "--owned",
    ],
    [
        "Book",
        "title:str:max=200:index",
        "pages:int?:min=1",
        "price:decimal=10.2:min=0",
        "author:ref=Author",
        "status:enum=draft,published:default=draft",
        "--owned",
    ],
    ["Shelf", "label:str:max=40", "book:ref=Book?"],
]
# The changes, as a user types them.
CHANGES = [
    ["field", "add", "Author", "born:date?", "country:str:max=2:min=2:default=NL"],
    ["field", "remove", "Author", "bio"],
    # "junior" goes: rows holding it become "senior", the new default.
    [
        "entity",
        "Author",
        "name:str:max=120:unique",
        "level:enum=senior,master:default=senior",
        "born:date?",
        "country:str:max=2:min=2:default=NL",
        "--owned",
    ],
    ["field", "rename", "Book", "title", "heading"],
    # price gets two more digits; pages becomes a required bigint (its rows get 1).
    [
        "entity",
        "Book",
        "heading:str:max=200:index",
        "pages:bigint:min=1",
        "price:decimal=12.2:min=0:max=99999",
        "author:ref=Author",
        "status:enum=draft,published:default=draft",
        "--owned",
        "--backfill",
        "pages=1",
    ],
    ["entity", "Shelf", "label:text", "book:ref=Book?", "position:int:default=0"],
]
CUSTOM_ROUTE = '''

@router.get("/count", responses=problem_responses(422))
async def count_books(service: BookServiceDep) -> int:
    """How many books the user has."""
    return (await service.list(BookQuery(limit=1))).total
'''
VALIDATOR = '''

    @field_validator("price")
    @classmethod
    def price_in_whole_cents(cls, value: Decimal) -> Decimal:
        """Our shop sells nothing under one cent."""
        if value and value < Decimal("0.01"):
            raise ValueError("at least one cent")
        return value
'''
RULE = """        values = data.model_dump()
        if values["status"] == BookStatus.DRAFT:
            drafts = BookQuery(status=[BookStatus.DRAFT], limit=1)
            if (await self.books.search(drafts, owner_id=self.actor.id)).total >= MAX_DRAFTS:
                raise ConflictError(f"A user keeps at most {MAX_DRAFTS} drafts.")
"""
OWN_TEST = """

async def test_drafts_are_limited(
    client: AsyncClient, session: AsyncSession, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.services.book.MAX_DRAFTS", 1)
    payload = book_payload(**await _references(session, user)) | {"status": "draft"}
    assert (await client.post(URL, json=payload)).status_code == 201
    response = await client.post(URL, json=payload | {"status": "draft"})
    assert response.status_code == 409
    assert (await client.get(f"{URL}/count")).json() == 1
"""

pytestmark = pytest.mark.slow


def commit(project: Path) -> None:
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "work"]):
        subprocess.run([*GIT, *command], cwd=project, check=True, capture_output=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def grow(project: Path) -> Path:
    for entity in ENTITIES:
        code, output = gen(project, "entity", *entity)
        assert code == 0, output
    return project


def edit_like_a_user(project: Path) -> None:
    """A custom endpoint, a business rule, a validator and a test of the user's own."""
    routes = project / "app" / "api" / "v1" / "books.py"
    routes.write_text(routes.read_text() + CUSTOM_ROUTE)
    service = project / "app" / "services" / "book.py"
    edit(service, "        values = data.model_dump()\n", RULE)
    edit(service, "    InvalidInputError,\n", "    ConflictError,\n    InvalidInputError,\n")
    edit(service, "BookQuery, BookRead,", "BookQuery, BookRead, BookStatus,")
    edit(
        service,
        "logger = logging.getLogger(__name__)\n",
        "logger = logging.getLogger(__name__)\nMAX_DRAFTS = 100\n",
    )
    schema = project / "app" / "schemas" / "book.py"
    edit(
        schema,
        "from pydantic import MISSING, Field\n",
        "from pydantic import MISSING, Field, field_validator\n",
    )
    last_field = "    status: FromString[BookStatus] = BookStatus.DRAFT"
    edit(schema, last_field + "\n", last_field + VALIDATOR)
    tests = project / "tests" / "api" / "v1" / "test_books.py"
    tests.write_text(tests.read_text() + OWN_TEST)
    edit(tests, "from httpx import AsyncClient\n", "import pytest\nfrom httpx import AsyncClient\n")


def user_edits_are_kept(project: Path) -> None:
    assert "async def count_books(" in (project / "app" / "api" / "v1" / "books.py").read_text()
    assert "at most {MAX_DRAFTS} drafts" in (project / "app" / "services" / "book.py").read_text()
    assert "def price_in_whole_cents(" in (project / "app" / "schemas" / "book.py").read_text()
    tests = (project / "tests" / "api" / "v1" / "test_books.py").read_text()
    assert "def test_drafts_are_limited(" in tests


SEED = [
    "INSERT INTO users (email, hashed_password, is_active, is_superuser, created_at, updated_at)"
    " VALUES ('ann@example.com', '-', true, false, '2024-01-01', '2024-01-01')",
    "INSERT INTO authors (name, bio, level, owner_id, created_at, updated_at)"
    " VALUES ('Ann', 'Writes.', 'junior', 1, '2024-01-01', '2024-01-01')",
    "INSERT INTO books (title, pages, price, author_id, status, owner_id, created_at, updated_at)"
    " VALUES ('Dune', NULL, 9.5, 1, 'published', 1, '2024-01-01', '2024-01-01'),"
    " ('Emma', 320, 7.25, 1, 'draft', 1, '2024-01-01', '2024-01-01')",
    "INSERT INTO shelves (label, book_id, created_at, updated_at)"
    " VALUES ('Hall', 1, '2024-01-01', '2024-01-01')",
]


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory, toolbox: Toolbox) -> dict[str, Path]:
    """A grown project, edited, then changed: and the databases migrated before the change."""
    folder = tmp_path_factory.mktemp("living")
    project = grow(render(folder / "project"))
    edit_like_a_user(project)
    before = {"sqlite": f"sqlite+aiosqlite:///{folder / 'before.db'}"}
    toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=before["sqlite"])
    sql(toolbox, before["sqlite"], *SEED)
    head = toolbox.run(project, "alembic", "heads").split()[0]
    for change in CHANGES:
        code, output = gen(project, *change)
        assert code == 0, output
        assert "merge  app/" in output or "update  app/" in output, output
    (folder / "head-before-changes").write_text(head)
    return {"project": project, "sqlite": folder / "before.db", "folder": folder}


def test_user_edits_survive_every_change(changed: dict[str, Path]) -> None:
    project = changed["project"]
    user_edits_are_kept(project)
    schema = (project / "app" / "schemas" / "book.py").read_text()
    assert "heading: BookHeading" in schema
    assert "BookTitle" not in schema
    assert "max_digits=12" in schema
    author = (project / "app" / "models" / "author.py").read_text()
    assert "born: Mapped[date | None]" in author
    assert "bio" not in author


def test_each_change_is_a_new_migration(changed: dict[str, Path]) -> None:
    names = sorted(p.name for p in (changed["project"] / "alembic" / "versions").glob("*.py"))
    slugs = [re.sub(r"^\d{8}_\d{4}_", "", name) for name in names]
    for slug in (
        "add_born_country_to_authors.py",
        "remove_bio_from_authors.py",
        "rename_title_to_heading_in_books.py",
        "change_books.py",
        "change_authors.py",
        "change_shelves.py",
    ):
        assert slug in slugs


def test_the_changed_project_passes_its_checks(changed: dict[str, Path], toolbox: Toolbox) -> None:
    project = changed["project"]
    run_project_checks(toolbox, project)
    assert " passed" in toolbox.run(project, "pytest", "-q", "-p", "no:cacheprovider")
    assert gen(project, "check") == (0, "ok: 4 entities, 12 migrations, one head\n")


def _migrate_rows(toolbox: Toolbox, project: Path, url: str, head_before: str) -> None:
    """The databases holding rows follow the changes, down and up again."""
    toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=url)
    toolbox.run(project, "alembic", "check", DATABASE_URL=url)
    books = sql(toolbox, url, "SELECT heading, pages, price FROM books ORDER BY id")
    assert [row[:2] for row in books] == [["Dune", 1], ["Emma", 320]]
    assert [float(row[2]) for row in books] == [9.5, 7.25]
    authors = sql(toolbox, url, "SELECT name, country, born, level FROM authors")
    assert authors == [["Ann", "NL", None, "senior"]]  # defaults where values were missing
    assert sql(toolbox, url, "SELECT label, book_id, position FROM shelves") == [["Hall", 1, 0]]
    toolbox.run(project, "alembic", "downgrade", head_before, DATABASE_URL=url)
    books = sql(toolbox, url, "SELECT title, pages FROM books ORDER BY id")
    assert books == [["Dune", 1], ["Emma", 320]]  # renamed back, values kept
    assert sql(toolbox, url, "SELECT name, bio, level FROM authors") == [["Ann", None, "senior"]]
    toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=url)
    toolbox.run(project, "alembic", "check", DATABASE_URL=url)


def test_migrations_carry_rows_on_sqlite(changed: dict[str, Path], toolbox: Toolbox) -> None:
    head = (changed["folder"] / "head-before-changes").read_text()
    _migrate_rows(toolbox, changed["project"], f"sqlite+aiosqlite:///{changed['sqlite']}", head)


def test_migrations_carry_rows_on_postgres(
    changed: dict[str, Path], toolbox: Toolbox, postgres_database: str, tmp_path: Path
) -> None:
    """The same rows, stored on PostgreSQL under the schema before the changes."""
    project, head = changed["project"], (changed["folder"] / "head-before-changes").read_text()
    toolbox.run(project, "alembic", "upgrade", head, DATABASE_URL=postgres_database)
    sql(toolbox, postgres_database, *SEED)
    _migrate_rows(toolbox, project, postgres_database, head)


def test_the_changed_project_migrates_from_nothing(
    changed: dict[str, Path], toolbox: Toolbox, postgres_database: str, tmp_path: Path
) -> None:
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", postgres_database):
        run_migrations(toolbox, changed["project"], url)


def test_the_changed_project_passes_its_tests_on_postgres(
    changed: dict[str, Path], toolbox: Toolbox, postgres_database: str
) -> None:
    output = toolbox.run(
        changed["project"],
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        TEST_DATABASE_URL=postgres_database,
    )
    assert " passed" in output


def test_destroy_in_the_middle_of_a_deployed_history(
    tmp_path: Path, toolbox: Toolbox, postgres_database: str
) -> None:
    """Tags, made between Author and Book and migrated into databases holding rows, and the
    starter Item, are destroyed: each table is dropped by a new migration, every other table
    keeps its rows, and an empty database migrates too."""
    project = render(tmp_path / "project")
    for entity in (ENTITIES[0], ["Tag", "label:str:unique"], ENTITIES[1]):
        code, output = gen(project, "entity", *entity)
        assert code == 0, output
    commit(project)
    databases = [f"sqlite+aiosqlite:///{tmp_path / 'deployed.db'}", postgres_database]
    for url in databases:
        toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=url)
        sql(
            toolbox,
            url,
            *SEED[:3],
            "INSERT INTO tags (label, created_at, updated_at)"
            " VALUES ('new', '2024-01-01', '2024-01-01')",
        )
    for entity in ("Tag", "Item"):
        code, output = gen(project, "destroy", entity)
        assert code == 0, output
        assert f"drops {entity.lower()}s: its history is" in output
    assert gen(project, "check")[0] == 0
    for url in databases:
        toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=url)
        toolbox.run(project, "alembic", "check", DATABASE_URL=url)
        assert sql(toolbox, url, "SELECT title FROM books ORDER BY id") == [["Dune"], ["Emma"]]
        assert sql(toolbox, url, "SELECT name FROM authors") == [["Ann"]]
    run_migrations(toolbox, project, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    run_project_checks(toolbox, project)
    assert " passed" in toolbox.run(project, "pytest", "-q", "-p", "no:cacheprovider")
