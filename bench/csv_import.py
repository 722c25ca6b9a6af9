"""The CSV import of a rendered project, run as its users run it: the management command.

For each database and each file size: rows per second of `python -m app import items`, and
the peak resident memory of that process (which must not grow with the file).
"""

import csv
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.environment import throwaway_database
from tests.support import Toolbox

IMPORTER = "importer@example.com"
PASSWORD = "a password for the benchmark"


@dataclass(frozen=True)
class ImportFigure:
    database: str
    rows: int
    seconds: float
    peak_mib: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def write_items(path: Path, rows: int) -> Path:
    """A CSV file of `rows` starter items, with distinct names (the column is unique)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "description", "price", "quantity", "is_active"])
        for number in range(rows):
            writer.writerow([f"item {number:07d}", "imported, with a comma", "12.50", "3", "true"])
    return path


def _run(toolbox: Toolbox, project: Path, command: list[str], database_url: str) -> None:
    toolbox.run(project, *command, DATABASE_URL=database_url, SUPERUSER_PASSWORD=PASSWORD)


def _timed_import(
    toolbox: Toolbox, project: Path, data: Path, database_url: str
) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one import process."""
    command = [
        str(toolbox.bin / "python"),
        "-m",
        "app",
        "import",
        "items",
        str(data),
        "--as",
        IMPORTER,
        "--batch-size",
        "1000",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=project,
        env=toolbox.env(DATABASE_URL=database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    output = (process.stdout.read() if process.stdout else b"").decode()
    if os.waitstatus_to_exitcode(status) != 0:
        errors = (process.stderr.read() if process.stderr else b"").decode()
        raise RuntimeError(f"the import failed: {output}{errors}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def _prepared(toolbox: Toolbox, project: Path, database_url: str) -> None:
    """Tables, and the user who imports."""
    _run(toolbox, project, ["alembic", "upgrade", "head"], database_url)
    _run(
        toolbox,
        project,
        [str(toolbox.bin / "python"), "-m", "app", "create-superuser", "--email", IMPORTER],
        database_url,
    )


def measure_imports(
    toolbox: Toolbox, project: Path, workspace: Path, sizes: tuple[int, ...]
) -> list[ImportFigure]:
    """Import each size into a fresh SQLite file and a fresh PostgreSQL database."""
    figures = []
    for rows in sizes:
        data = write_items(workspace / f"items-{rows}.csv", rows)
        sqlite = workspace / f"import-{rows}.db"
        with throwaway_database() as postgres:
            for name, url in (
                ("SQLite", f"sqlite+aiosqlite:///{sqlite}"),
                ("PostgreSQL", postgres),
            ):
                _prepared(toolbox, project, url)
                seconds, peak = _timed_import(toolbox, project, data, url)
                figures.append(ImportFigure(name, rows, seconds, peak))
        sqlite.unlink(missing_ok=True)
        data.unlink()
    return figures
