"""Every Python the template offers is run, not only parsed.

The other files run their projects and `gen` under this interpreter, the lowest Python
offered (3.11). Here a project for each newer one passes its full checks under that Python,
with an environment of its own (`project_toolbox`): a rendered project for the newest, a
project grown with every field type for the one between (grown by `gen` running under it).
`gen` itself also runs under each newer Python (`gen_toolbox`): it changes, grows and destroys
as it does under 3.11, writing the same slices.
"""

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    DEFAULT_PYTHON,
    OFFERED_PYTHONS,
    ProjectChecks,
    Toolbox,
    gen_toolbox,
    project_toolbox,
    render,
    state,
)
from tests.test_generated_project import ENTITIES

# One project per newer Python: CI time grows with each. Python -> (answers, entities to grow).
PROJECTS: dict[str, tuple[dict[str, Any], list[list[str]]]] = {
    "3.12": ({}, ENTITIES["with-users"]),
    # Every option on, and the longest package name Copier accepts: every line must still fit.
    "3.13": ({"package_name": "a_rather_long_service_pkg_name"}, []),
}
GEN_STEPS = [
    *(["entity", *arguments] for arguments in ENTITIES["with-users"][:3]),  # Author, Genre, Book
    ["field", "add", "Book", "subtitle:str?:max=200", "reprint:bool:default=false"],
]

pytestmark = pytest.mark.slow


def test_every_offered_python_is_run() -> None:
    """The lowest by the other test files (their projects target the default, and run under
    this interpreter), each newer one here."""
    lowest, *newer = OFFERED_PYTHONS
    assert lowest == DEFAULT_PYTHON
    assert sorted(PROJECTS) == newer
    running = "{}.{}".format(*sys.version_info[:2])
    assert running == lowest, f"run the tests under Python {lowest}, not {running}"


@pytest.fixture(scope="session", params=sorted(PROJECTS))
def python_version(request: pytest.FixtureRequest) -> str:
    version: str = request.param
    return version


@pytest.fixture(scope="session")
def toolbox(python_version: str, tmp_path_factory: pytest.TempPathFactory) -> Toolbox:
    """The shared environment of rendered projects, under `python_version`."""
    return project_toolbox(tmp_path_factory.mktemp("dependencies"), python_version)


@pytest.fixture(scope="session")
def project(python_version: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project targeting `python_version`; grown, if PROJECTS names entities, by `gen`
    running under that Python."""
    answers, entities = PROJECTS[python_version]
    folder = tmp_path_factory.mktemp(f"python-{python_version}") / "project"
    project = render(folder, python_version=python_version, **answers)
    if entities:
        gen = gen_toolbox(python_version)
        for arguments in entities:
            gen.run(project, "gen", "entity", *arguments)
    return project


# The full checks of one newer Python a commit in CI, the other in the next (conftest.py).
@pytest.mark.rotating("python_version")
class TestProjectOnItsPython(ProjectChecks):
    pass


@pytest.mark.parametrize("version", sorted(PROJECTS))
def test_gen_runs_on_every_python(version: str, tmp_path: Path) -> None:
    """gen grows, changes and destroys a fresh project under `version`, and writes what it
    writes under this interpreter (the lowest Python)."""
    gen, reference_gen = gen_toolbox(version), Toolbox(Path(sys.executable).parent)
    project = render(tmp_path / "project", python_version=version)
    reference = shutil.copytree(project, tmp_path / "reference")
    before = state(project)
    for step in GEN_STEPS:
        gen.run(project, "gen", *step)  # fails the test, with gen's output, unless it exits 0
        reference_gen.run(reference, "gen", *step)
    ours, theirs = _normalized(project), _normalized(reference)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
    for entity in ("Book", "Genre", "Author"):
        gen.run(project, "gen", "destroy", entity)
    assert state(project) == before


# What differs between two runs of gen: the minute in migration names, times, revision ids.
_RUN_SPECIFIC = [
    (re.compile(rb"\b\d{8}_\d{4}_"), b"<minute>_"),
    (re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00"), b"<time>"),
    (re.compile(rb"\b[0-9a-f]{12}\b"), b"<revision>"),
]


def _normalized(project: Path) -> dict[str, bytes]:
    """A project's files, but for what differs between two runs of gen."""
    files = {}
    for path in sorted(project.rglob("*")):
        if path.is_file():
            name, content = str(path.relative_to(project)).encode(), path.read_bytes()
            for pattern, replacement in _RUN_SPECIFIC:
                name, content = pattern.sub(replacement, name), pattern.sub(replacement, content)
            files[name.decode()] = content
    return files
