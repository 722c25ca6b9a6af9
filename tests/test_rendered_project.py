"""A rendered project passes its own checks: lint, types, layering, tests, migrations.

Each variant is rendered once; its tests run on a SQLite file and on a throwaway PostgreSQL
database, and its migrations go up, down and up again with no drift on both. These target the
lowest Python offered and run under it; test_every_python.py runs the newer ones.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.support import ProjectChecks, render

# Every option on (the defaults), every option off, and the starter without users.
FULL_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-off": {"auth": False, "starter_entity": False, "docker": False, "ci": False},
    "starter-without-auth": {"auth": False},
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", params=sorted(FULL_VARIANTS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        tmp_path_factory.mktemp(request.param) / "project", **FULL_VARIANTS[request.param]
    )


class TestRenderedProject(ProjectChecks):
    pass
