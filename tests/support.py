"""Helpers the tests share: rendering the template, and running a project's own checks.

Rendered projects do not install themselves: their dependencies go once into a shared
environment (`.cache/project-venv`, see `project_toolbox`), and their checks run with that
environment first on PATH and the project as working directory.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier import Settings, run_copy

REPO = Path(__file__).resolve().parents[1]
PROJECT_VENV = REPO / ".cache" / "project-venv"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Variables of ours that must not leak into a rendered project's own runs.
_PRIVATE = ("DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH")


def render(destination: Path, **answers: Any) -> Path:
    """Render the working tree of this repository (uncommitted changes included)."""
    run_copy(
        str(REPO),
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
        env["MYPY_CACHE_DIR"] = str(REPO / ".cache" / "mypy")  # third-party analysis is shared
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


def project_toolbox(workspace: Path) -> Toolbox:
    """The shared environment, holding every dependency of a fully optioned project.

    Built (from a project rendered into `workspace`) once per change of the rendered
    dependency list; concurrent callers, such as pytest-xdist workers, take turns.
    """
    sample = render(workspace / "project", auth=True)
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


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: install this repository with its dev group (see README.md)"
    return found


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
