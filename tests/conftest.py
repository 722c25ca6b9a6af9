"""Fixtures: the shared environment of rendered projects, throwaway PostgreSQL databases."""

import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

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


# CI's share of the heaviest matrices ------------------------------------------------------
#
# A test marked `rotating(param, always=...)` runs, in CI (CI=true), for one value of its
# parameter `param` a commit (chosen from the commit's hash), besides the values `always`
# names; every value runs in turn as commits follow one another, and outside CI all run.
# The summary line names what this run left out.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") != "true":
        return
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    turn = int(commit[:8] or "0", 16)
    left_out: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("rotating")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or marker.args[0] not in callspec.params:
            continue
        param, always = marker.args[0], set(marker.kwargs.get("always", ()))
        values = sorted(_values(items, param) - always)
        value = str(callspec.params[param])
        if value not in always and values and value != values[turn % len(values)]:
            left_out.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
        config.stash[_LEFT_OUT] = [item.nodeid for item in left_out]


_LEFT_OUT = pytest.StashKey[list[str]]()


def _values(items: list[pytest.Item], param: str) -> set[str]:
    """The values the collected tests give `param`."""
    found = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and param in callspec.params:
            found.add(str(callspec.params[param]))
    return found


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    left_out = config.stash.get(_LEFT_OUT, [])
    if left_out:
        terminalreporter.write_line(
            f"CI's share: {len(left_out)} tests of rotating matrices left to the next commits: "
            + ", ".join(left_out)
        )
