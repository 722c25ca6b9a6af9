"""A rendered project passes its own checks: lint, types, layering, tests, migrations.

Each variant is rendered once; its tests run on a SQLite file and on a throwaway PostgreSQL
database, and its migrations go up, down and up again with no drift on both.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.support import ProjectChecks, Toolbox, render, run_project_checks

# Every option on (the defaults), every option off, and the starter without users.
FULL_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-off": {"auth": False, "starter_entity": False, "docker": False, "ci": False},
    "starter-without-auth": {"auth": False},
}
# Newer Pythons can be rendered and checked statically here, not run (3.11 only).
STATIC_VARIANTS: dict[str, dict[str, Any]] = {
    # The longest package name Copier accepts: every line must still fit.
    "python-3.12": {"python_version": "3.12", "package_name": "a_rather_long_service_pkg_name"},
    "python-3.13": {"python_version": "3.13", "auth": False},
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", params=sorted(FULL_VARIANTS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        tmp_path_factory.mktemp(request.param) / "project", **FULL_VARIANTS[request.param]
    )


class TestRenderedProject(ProjectChecks):
    pass


@pytest.mark.parametrize("name", sorted(STATIC_VARIANTS))
def test_newer_python_targets_pass_static_checks(
    toolbox: Toolbox, tmp_path: Path, name: str
) -> None:
    project = render(tmp_path / "project", **STATIC_VARIANTS[name])
    run_project_checks(toolbox, project)
