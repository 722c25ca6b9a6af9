"""Fixtures: the shared environment of rendered projects, throwaway PostgreSQL databases."""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import POSTGRES_URL, PROJECT_VENV, REPO, Toolbox, psql, render

# A developer's own Copier settings must not change what the tests render.
os.environ["COPIER_SETTINGS_PATH"] = str(REPO / "tests" / "copier-settings.yml")


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: install this repository with its dev group (see README.md)"
    return found


@pytest.fixture(scope="session")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Toolbox:
    """The shared environment, holding every dependency of a fully optioned project.

    Built once per change of the rendered dependency list; pytest-xdist workers take turns.
    """
    sample = render(tmp_path_factory.mktemp("dependencies") / "project", auth=True)
    requirements = (sample / "pyproject.toml").read_bytes()
    digest = hashlib.sha256(requirements + sys.version.encode()).hexdigest()
    marker = PROJECT_VENV / "requirements.sha256"
    lock = PROJECT_VENV.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not marker.is_file() or marker.read_text() != digest:
            shutil.rmtree(PROJECT_VENV, ignore_errors=True)
            uv = _uv()
            subprocess.run(
                [uv, "venv", "--quiet", "--python", sys.executable, str(PROJECT_VENV)], check=True
            )
            subprocess.run(
                [
                    uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--compile-bytecode",
                    "--python",
                    str(PROJECT_VENV / "bin" / "python"),
                    "-r",
                    "pyproject.toml",
                    "--group",
                    "pyproject.toml:dev",
                ],
                cwd=sample,
                check=True,
            )
            marker.write_text(digest)
    return Toolbox(PROJECT_VENV / "bin")


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
