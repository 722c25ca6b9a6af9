"""The migration history, on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL).

pytest-alembic's built-in checks, each from an empty database of its own: one head, upgrade
from nothing, models that match the tables the migrations build (what `alembic check` says),
and every migration applied, undone and applied again, one at a time. Then the file names
that `gen` and Alembic both understand, what `alembic upgrade head` says when the database
does not exist, and ids on SQLite through a copy of their table.
"""

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from pytest_alembic import Config, MigrationContext, runner, tests
from sqlalchemy import pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^\d{8}_\d{4}_[a-z0-9_]+\.py$")
REVOKE_TOKENS = "5b8e2f1c9a3d"  # projects with users: its downgrade copies `users` on SQLite


@pytest.fixture
async def alembic_runner(empty_database_url: str) -> AsyncIterator[MigrationContext]:
    """pytest-alembic's runner; it hands the async engine over to alembic/env.py."""
    engine = create_async_engine(empty_database_url, poolclass=pool.NullPool)
    config = Config.from_raw_config({"file": str(ROOT / "alembic.ini")})
    # Typed for engines and connections, run for async engines too (see alembic/env.py).
    with runner(config=config, engine=engine) as context:  # type: ignore[arg-type]
        yield context
    await engine.dispose()


def test_single_head_revision(alembic_runner: MigrationContext) -> None:
    """Two heads break `alembic upgrade head`: after a template update, `gen check --fix`."""
    if not alembic_runner.heads:
        pytest.skip("no migration yet")
    tests.test_single_head_revision(alembic_runner)


def test_upgrade(alembic_runner: MigrationContext) -> None:
    tests.test_upgrade(alembic_runner)


def test_model_definitions_match_ddl(alembic_runner: MigrationContext) -> None:
    tests.test_model_definitions_match_ddl(alembic_runner)


def test_up_down_consistency(alembic_runner: MigrationContext) -> None:
    tests.test_up_down_consistency(alembic_runner)


def test_names_follow_the_file_template() -> None:
    names = [path.name for path in (ROOT / "alembic" / "versions").glob("*.py")]
    assert [name for name in names if not NAME.match(name)] == []


def test_upgrade_of_a_missing_database_says_what_to_do(missing_database_url: str) -> None:
    """`alembic upgrade head` on a database never created: one line, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=os.environ | {"DATABASE_URL": missing_database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    name = make_url(missing_database_url).database
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f'database "{name}" does not exist: '
        f"create it (createdb {name}) and run alembic upgrade head"
    ]


def test_a_copied_table_never_gives_an_id_again(
    alembic_runner: MigrationContext, empty_database_url: str
) -> None:
    """SQLite changes a table by copying it (batch mode): the copy goes on giving ids from
    where the table's had gone, never a deleted row's (a token or a log line naming a deleted
    user would name someone else; see alembic/env.py)."""
    url = make_url(empty_database_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL's sequences never go back: nothing to keep")
    if REVOKE_TOKENS not in alembic_runner.history.revisions:
        pytest.skip("no users in this project: no migration of the template copies a table")
    alembic_runner.migrate_up_to(REVOKE_TOKENS)
    stamp = "2026-12-01 00:00:00"
    with closing(sqlite3.connect(str(url.database))) as database, database:
        for email in ("first@example.com", "second@example.com"):
            database.execute(
                "INSERT INTO users (email, hashed_password, is_active, is_superuser,"
                " token_version, created_at, updated_at) VALUES (?, 'x', 1, 0, 0, ?, ?)",
                (email, stamp, stamp),
            )
        database.execute("DELETE FROM users WHERE email = 'second@example.com'")
    alembic_runner.migrate_down_one()  # users, copied without token_version
    with closing(sqlite3.connect(str(url.database))) as database, database:
        database.execute(
            "INSERT INTO users (email, hashed_password, is_active, is_superuser, created_at,"
            " updated_at) VALUES ('third@example.com', 'x', 1, 0, ?, ?)",
            (stamp, stamp),
        )
        ids = [row[0] for row in database.execute("SELECT id FROM users ORDER BY id")]
    assert ids == [1, 3]  # not [1, 2]: 2 was the deleted user's
