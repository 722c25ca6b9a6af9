"""`gen` on damaged projects and failing disks: one line of error, exit 2, the project as it was.

tests/test_gen.py covers bad input and broken answers files; here the project itself is
damaged (answers gone, registries edited by hand), or writing fails: a folder or file that
cannot be written (`chattr +i`, which stops even root), a file where a folder should be, and a
write interrupted at each step in turn.
"""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fastapi_slices import plan
from fastapi_slices.cli import app
from tests.support import refused, render

runner = CliRunner()
AUTHOR = ["entity", "Author", "name:str:max=120:unique", "bio:text?", "--owned"]
ROUTES = Path("app/api/v1/registry.py")
MODELS = Path("app/models/registry.py")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("rendered") / "project")


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(rendered, tmp_path / "project"))


def succeeded(project: Path, *arguments: str) -> None:
    result = runner.invoke(app, [*arguments, "--project", str(project)])
    assert result.exit_code == 0, result.output


# A damaged project ---------------------------------------------------------------------------


def test_answers_file_deleted(project: Path) -> None:
    (project / ".copier-answers.yml").unlink()
    assert "no .copier-answers.yml" in refused(project, *AUTHOR)


@pytest.mark.parametrize(
    ("registry", "text", "message"),
    [
        (ROUTES, "ROUTERS = [\n", "not valid Python"),
        (MODELS, "from app.models.item import (\n", "not valid Python"),
        (ROUTES, '"""Emptied by hand."""\n', "no ROUTERS list"),
    ],
)
def test_registry_edited_by_hand(project: Path, registry: Path, text: str, message: str) -> None:
    (project / registry).write_text(text)
    error = refused(project, *AUTHOR)
    assert str(registry) in error
    assert message in error


def test_hand_added_router_is_kept(project: Path) -> None:
    registry = project / ROUTES
    edited = (
        registry.read_text()
        .replace(
            "from app.api.v1 import items",
            "from app.api import health\nfrom app.api.v1 import items",
        )
        .replace("    items.router,\n", "    health.router,\n    items.router,\n")
    )
    registry.write_text(edited)
    succeeded(project, *AUTHOR)
    assert "    authors.router,\n    health.router,\n    items.router,\n" in registry.read_text()
    succeeded(project, "destroy", "Author")
    assert registry.read_text() == edited


# Writes that fail ----------------------------------------------------------------------------


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """Make paths immutable (`chattr +i`: not even root may change them) until the test ends."""
    marked: list[Path] = []

    def mark(path: Path) -> None:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is missing")
        done = subprocess.run(
            ["chattr", "+i", str(path)], check=False, capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"chattr +i does not work here: {done.stderr.strip()}")
        marked.append(path)

    yield mark
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize(
    "target",
    [
        "app/api/v1",  # a new file cannot be made in this folder
        str(MODELS),  # an existing file cannot be replaced
        "alembic/versions",  # the last file the plan writes
    ],
)
def test_read_only_target(project: Path, immutable: Callable[[Path], None], target: str) -> None:
    immutable(project / target)
    assert "Operation not permitted" in refused(project, *AUTHOR)


def test_a_file_where_a_folder_should_be(project: Path) -> None:
    factories = project / "tests" / "factories"
    shutil.rmtree(factories)
    factories.write_text("not a folder\n")
    refused(project, *AUTHOR)


def replace_failing_at(call: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the `call`-th file replacement of `gen` fail, as a full disk would."""
    calls = 0
    real_replace = os.replace

    def replace(source: str | Path, destination: str | Path) -> None:
        nonlocal calls
        calls += 1
        if calls == call:
            raise OSError(28, "No space left on device", str(destination))
        real_replace(source, destination)

    monkeypatch.setattr(plan.os, "replace", replace)


def count_replacements(project: Path, arguments: list[str]) -> int:
    """How many files a run replaces, counted on a copy."""
    copy = project.parent / "count"
    shutil.copytree(project, copy)
    calls = 0
    real_replace = os.replace

    def counting(source: str | Path, destination: str | Path) -> None:
        nonlocal calls
        calls += 1
        real_replace(source, destination)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan.os, "replace", counting)
        succeeded(copy, *arguments)
    shutil.rmtree(copy)
    return calls


def test_entity_interrupted_at_every_write(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = count_replacements(project, AUTHOR)
    assert writes > 10
    for call in range(1, writes + 1):
        with monkeypatch.context() as patch:
            replace_failing_at(call, patch)
            assert "No space left on device" in refused(project, *AUTHOR)


def test_destroy_interrupted_at_every_write(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    succeeded(project, *AUTHOR)
    writes = count_replacements(project, ["destroy", "Author"])
    assert writes >= 2  # the registries; the slice's files are removed, not replaced
    for call in range(1, writes + 1):
        with monkeypatch.context() as patch:
            replace_failing_at(call, patch)
            refused(project, "destroy", "Author")


def test_interrupted_write_keeps_windows_line_endings(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file put back is the file that was there, byte for byte."""
    for registry in (ROUTES, MODELS):
        path = project / registry
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    writes = count_replacements(project, AUTHOR)
    replace_failing_at(writes, monkeypatch)  # after both registries were replaced
    refused(project, *AUTHOR)
