"""Helpers the tests share: rendering the template, and running a project's own checks.

Rendered projects do not install themselves: their dependencies go once into a shared
environment (`.cache/project-venv`, see `project_toolbox`), and their checks run with that
environment first on PATH and the project as working directory. Every Python the template
offers gets such an environment (`.cache/project-venv-3.13`), and one holding `gen`
(`.cache/gen-venv-3.13`, see `gen_toolbox`); `find_python` finds their interpreters.
"""

import atexit
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import Settings, run_copy
from typer.testing import CliRunner

from fastapi_slices.cli import app

REPO = Path(__file__).resolve().parents[1]
PROJECT_VENV = REPO / ".cache" / "project-venv"  # for this interpreter's Python
_CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"
_PYTHON_QUESTION = yaml.safe_load((REPO / "copier.yml").read_text())["python_version"]
# The Pythons a project may target (copier.yml's choices, oldest first), and the default.
OFFERED_PYTHONS: tuple[str, ...] = tuple(_PYTHON_QUESTION["choices"])
DEFAULT_PYTHON: str = _PYTHON_QUESTION["default"]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Variables of ours that must not leak into a rendered project's own runs.
_PRIVATE = ("DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH")


def copy_working_tree(destination: Path) -> Path:
    """This repository's files as they are now, uncommitted and untracked ones included."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = REPO / name
        if source.is_file():  # listed files deleted from the working tree are skipped
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def commit_working_tree(destination: Path) -> Path:
    """A repository at `destination` holding this working tree as one clean commit: what a
    user renders from a fresh clone (Copier renders a dirty tree from a commit of its own,
    which no repository holds, so a project could not be updated from it)."""
    copy_working_tree(destination)
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-gpg-sign", "-m", "x"]):
        subprocess.run([*git, *command], cwd=destination, check=True, capture_output=True)
    return destination


@functools.cache
def _template_source() -> Path:
    """This working tree as a clean commit, once per process (removed at its end)."""
    folder = Path(tempfile.mkdtemp(prefix="fastapi-slices-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return commit_working_tree(folder / "fastapi-slices")


def render(destination: Path, **answers: Any) -> Path:
    """Render the working tree of this repository (uncommitted changes included)."""
    run_copy(
        str(_template_source()),
        destination,
        data=answers,
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
        settings=Settings(),
    )
    return destination


@dataclass(frozen=True)
class Toolbox:
    """Runs commands in rendered projects with the shared environment."""

    bin: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _PRIVATE}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        # Third-party analysis is shared between runs; one cache per xdist worker, as two
        # mypy runs writing one cache at once (two projects both named `app`) corrupt it.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        env["MYPY_CACHE_DIR"] = str(REPO / ".cache" / "mypy" / worker)
        return env | extra

    def run(self, project: Path, *command: str, **extra_env: str) -> str:
        """Run `command` in `project`; fail the test with its output unless it succeeds."""
        result = subprocess.run(
            command,
            cwd=project,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{' '.join(command)} failed in {project}:\n{output}"
        return output


def project_toolbox(workspace: Path, python_version: str | None = None) -> Toolbox:
    """The shared environment, holding every dependency of a fully optioned project.

    Under this interpreter by default, or under the Python `python_version` names (such as
    "3.13", found by `find_python`), in an environment of its own. Built (from a project
    rendered into `workspace`) once per change of the rendered dependency list or of the
    Python; concurrent callers, such as pytest-xdist workers, take turns.
    """
    answers: dict[str, Any] = {"auth": True}
    if python_version is None or python_version == _CURRENT:
        python, venv = Path(sys.executable), PROJECT_VENV
    else:
        python, venv = find_python(python_version), _versioned(PROJECT_VENV, python_version)
    if python_version is not None:
        answers["python_version"] = python_version
    sample = render(workspace / "project", **answers)

    def install(uv: str, venv_python: Path) -> None:
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--compile-bytecode",
                "--python",
                str(venv_python),
                "-r",
                "pyproject.toml",
                "--group",
                "pyproject.toml:dev",
            ],
            cwd=sample,
            check=True,
        )

    _build_once(venv, python, (sample / "pyproject.toml").read_bytes(), install)
    return Toolbox(venv / "bin")


def gen_toolbox(python_version: str) -> Toolbox:
    """This repository's `gen` (an editable install) under the Python `python_version` names,
    in an environment of its own (`.cache/gen-venv-<version>`), built once per change of this
    repository's dependencies or of that Python, like `project_toolbox`'s."""
    venv = _versioned(REPO / ".cache" / "gen-venv", python_version)

    def install(uv: str, venv_python: Path) -> None:
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(venv_python), "-e", str(REPO)],
            check=True,
        )

    _build_once(venv, find_python(python_version), (REPO / "pyproject.toml").read_bytes(), install)
    return Toolbox(venv / "bin")


def _versioned(venv: Path, python_version: str) -> Path:
    return venv.with_name(f"{venv.name}-{python_version}")


def _build_once(
    venv: Path, python: Path, requirements: bytes, install: Callable[[str, Path], None]
) -> None:
    """Make `venv` with `python` and `install` into it, unless it was made from the same
    requirements and the same Python already; one caller at a time (a file lock)."""
    digest = hashlib.sha256(requirements + _python_build(python).encode()).hexdigest()
    marker = venv / "requirements.sha256"
    lock = venv.with_name(f"{venv.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not marker.is_file() or marker.read_text() != digest:
            shutil.rmtree(venv, ignore_errors=True)
            uv = _uv()
            subprocess.run([uv, "venv", "--quiet", "--python", str(python), str(venv)], check=True)
            install(uv, venv / "bin" / "python")
            marker.write_text(digest)


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: install this repository with its dev group (see README.md)"
    return found


@functools.cache
def _python_build(python: Path) -> str:
    """`sys.version` of the interpreter at `python`: its patch release and build."""
    if python == Path(sys.executable):
        return sys.version
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@functools.cache
def find_python(version: str) -> Path:
    """An interpreter of Python `version` ("3.13"): this one, a `python3.13` on PATH (a pyenv
    shim only where pyenv has that version selected), one that pyenv installed (newest patch
    first), or one that uv manages. CI must run every Python the template offers, so a
    missing one fails the test, saying how to install it."""
    for candidate in _python_candidates(version):
        try:
            answer = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except OSError:
            continue
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return candidate
    pytest.fail(
        f"Python {version} is missing, and the tests run rendered projects and gen under every "
        f"Python the template offers ({', '.join(OFFERED_PYTHONS)}). Looked for python{version} "
        f"on PATH, in {_pyenv_root() / 'versions'} and among uv's Pythons. Install it: "
        f"`pyenv install {version}` or `uv python install {version}`.",
        pytrace=False,
    )


def _python_candidates(version: str) -> Iterator[Path]:
    if version == _CURRENT:
        yield Path(sys.executable)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and (path := Path(directory) / f"python{version}").is_file():
            yield path
    # Installed but not selected: pyenv's shims refuse to run those, so go to them directly.
    patch = re.compile(rf"^{re.escape(version)}\.(\d+)$")
    versions = _pyenv_root() / "versions"
    installed = [
        (int(match[1]), prefix)
        for prefix in (versions.iterdir() if versions.is_dir() else [])
        if (match := patch.match(prefix.name))
    ]
    for _, prefix in sorted(installed, reverse=True):
        yield prefix / "bin" / f"python{version}"
    found = subprocess.run(
        [_uv(), "python", "find", "--python-preference", "only-managed", version],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0 and found.stdout.strip():
        yield Path(found.stdout.strip())


def _pyenv_root() -> Path:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if pyenv := shutil.which("pyenv"):
        answer = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if answer.returncode == 0 and answer.stdout.strip():
            return Path(answer.stdout.strip())
    return Path.home() / ".pyenv"


def psql(statement: str) -> None:
    subprocess.run(
        ["psql", POSTGRES_URL, "-qAtc", statement], check=True, capture_output=True, text=True
    )


def run_project_checks(toolbox: Toolbox, project: Path) -> None:
    """The project's static checks: formatting, lint, strict types, layering."""
    toolbox.run(project, "ruff", "format", "--check", ".")
    toolbox.run(project, "ruff", "check", ".")
    toolbox.run(project, "mypy")
    toolbox.run(project, "lint-imports")


def run_migrations(toolbox: Toolbox, project: Path, database_url: str) -> None:
    """Upgrade, check for drift, downgrade to nothing, upgrade again, check again."""
    env = {"DATABASE_URL": database_url}
    for step in (
        ["upgrade", "head"],
        ["check"],
        ["downgrade", "base"],
        ["upgrade", "head"],
        ["check"],
    ):
        toolbox.run(project, "alembic", *step, **env)
    heads = toolbox.run(project, "alembic", "heads", **env)
    assert heads.count("(head)") <= 1, heads  # none at all when there is no table yet


class ProjectChecks:
    """The checks every rendered or grown project must pass; subclasses give `project`."""

    def test_static_checks(self, toolbox: Toolbox, project: Path) -> None:
        run_project_checks(toolbox, project)

    def test_tests_pass_on_sqlite(self, toolbox: Toolbox, project: Path) -> None:
        assert " passed" in toolbox.run(project, "pytest", "-q", "-p", "no:cacheprovider")

    def test_tests_pass_on_postgres(
        self, toolbox: Toolbox, project: Path, postgres_database: str
    ) -> None:
        output = toolbox.run(
            project, "pytest", "-q", "-p", "no:cacheprovider", TEST_DATABASE_URL=postgres_database
        )
        assert " passed" in output

    def test_migrations_on_sqlite(self, toolbox: Toolbox, project: Path, tmp_path: Path) -> None:
        run_migrations(toolbox, project, f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")

    def test_migrations_on_postgres(
        self, toolbox: Toolbox, project: Path, postgres_database: str
    ) -> None:
        run_migrations(toolbox, project, postgres_database)


def state(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and folder under `folder`: mode, and the bytes of files."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mode,
            path.read_bytes() if path.is_file() else None,
        )
        for path in sorted(folder.rglob("*"))
        if ".git" not in path.parts
    }


def refused(project: Path, *arguments: str) -> str:
    """Run gen in-process, expecting a refusal: exit code 2, one `error:` line, and the
    project left as it was, modes included. Returns everything gen printed."""
    from typer.testing import CliRunner  # noqa: PLC0415 - only the gen tests need these

    from fastapi_slices.cli import app  # noqa: PLC0415

    before = state(project)
    result = CliRunner().invoke(app, [*arguments, "--project", str(project)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert state(project) == before
    return result.output


_SQL = """
import asyncio, json, sys
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async def main():
    engine = create_async_engine(sys.argv[1])
    async with engine.begin() as connection:
        rows = []
        for statement in sys.argv[2:]:
            result = await connection.execute(text(statement))
            rows = [list(row) for row in result.all()] if result.returns_rows else []
    await engine.dispose()
    print(json.dumps(rows, default=str))

asyncio.run(main())
"""


def sql(toolbox: Toolbox, database_url: str, *statements: str) -> list[list[Any]]:
    """Run statements in one transaction on a project's database (its async URL, through
    the shared environment's drivers); the rows of the last one, values as JSON or text."""
    output = toolbox.run(REPO, "python", "-c", _SQL, database_url, *statements)
    rows: list[list[Any]] = json.loads(output.strip().splitlines()[-1])
    return rows


def gen(project: Path, *arguments: str) -> tuple[int, str]:
    """Run gen in this process on `project`: its exit code and what it printed."""
    result = CliRunner().invoke(app, [*arguments, "--project", str(project)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output
