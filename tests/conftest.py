"""Fixtures: the shared environment of rendered projects, throwaway PostgreSQL databases."""

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.support import POSTGRES_URL, REPO, Toolbox, project_toolbox, psql

# A developer's own Copier settings must not change what the tests render.
os.environ["COPIER_SETTINGS_PATH"] = str(REPO / "tests" / "copier-settings.yml")


@pytest.fixture(scope="session")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Toolbox:
    """The shared environment, holding every dependency of a fully optioned project."""
    return project_toolbox(tmp_path_factory.mktemp("dependencies"))


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database, as an async SQLAlchemy URL; dropped afterwards."""
    name = f"slices_{uuid.uuid4().hex[:12]}"
    try:
        psql(f'CREATE DATABASE "{name}"')
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required (.ci/run starts it): {error}")
    server = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{server}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
