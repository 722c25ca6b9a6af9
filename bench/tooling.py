"""Figures of the tools: rendering with Copier, `gen entity`, the rendered project's tests."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier import Settings, run_copy

from tests.support import POSTGRES_URL, REPO, Toolbox, render

COPIER = Path(sys.executable).with_name("copier")
GEN = Path(sys.executable).with_name("gen")
# Every question answered, away from the defaults where it can be (the defaults already
# include every optional part).
ALL_OPTIONS = {
    "project_name": "Bench Service",
    "package_name": "bench_service",
    "python_version": "3.13",
    "auth": True,
    "starter_entity": True,
    "docker": True,
    "ci": True,
}
TEN_FIELDS = [
    "title:str:max=200:index",
    "isbn:str:unique",
    "price:decimal=10.2:min=0",
    "published_on:date?",
    "status:enum=draft,published:default=draft",
    "notes:text?",
    "stock:int:min=0:default=0",
    "cover_url:url?",
    "extra:json?",
    "rating:float?:min=0:max=5",
]


@dataclass(frozen=True)
class Render:
    """One project rendered from a clean commit: whole process, in-process, files."""

    cli_s: float
    in_process_s: float
    files: int


def median_time(action: Callable[[], object], repeat: int) -> float:
    """The median wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def copier_cli(source: Path, destination: Path, answers: dict[str, Any]) -> None:
    shutil.rmtree(destination, ignore_errors=True)
    data = [f"--data={key}={value}" for key, value in answers.items()]
    subprocess.run(
        [COPIER, "copy", "--quiet", "--defaults", "--vcs-ref=HEAD", *data, source, destination],
        env=os.environ | {"COPIER_SETTINGS_PATH": str(REPO / "tests" / "copier-settings.yml")},
        check=True,
        capture_output=True,
    )


def copier_api(source: Path, destination: Path, answers: dict[str, Any]) -> None:
    shutil.rmtree(destination, ignore_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a dirty tree warns; rendered all the same
        run_copy(
            str(source),
            destination,
            data=answers,
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
            settings=Settings(),
        )


def measure_render(source: Path, workspace: Path, answers: dict[str, Any], repeat: int) -> Render:
    destination = workspace / "render"
    copier_api(source, destination, answers)  # warm up: lazy imports, file caches
    in_process = median_time(lambda: copier_api(source, destination, answers), repeat)
    cli = median_time(lambda: copier_cli(source, destination, answers), repeat)
    files = sum(1 for path in destination.rglob("*") if path.is_file())
    return Render(cli_s=cli, in_process_s=in_process, files=files)


@dataclass(frozen=True)
class GenFigures:
    entity_s: float  # `gen entity` with ten fields, in a fresh render
    field_add_s: float  # `gen field add` in a project of ten entities (merge and migration)


def measure_gen(workspace: Path, repeat: int) -> GenFigures:
    """`gen entity` and `gen field add`, whole process each, medians."""
    project = render(workspace / "gen-project")

    def gen(*arguments: str) -> None:
        subprocess.run([GEN, *arguments], cwd=project, check=True, capture_output=True)

    times = []
    for _ in range(repeat + 1):  # the first run warms the file caches
        times.append(median_time(lambda: gen("entity", "Book", *TEN_FIELDS, "--owned"), 1))
        gen("destroy", "Book")
    for number in range(9):  # with the starter: ten entities
        gen("entity", f"Book{number}", *TEN_FIELDS, "--owned")
    additions = []
    for number in range(repeat + 1):
        started = time.perf_counter()
        gen("field", "add", "Book4", f"pages{number}:int?")
        additions.append(time.perf_counter() - started)
    return GenFigures(
        entity_s=statistics.median(times[1:]), field_add_s=statistics.median(additions[1:])
    )


@dataclass(frozen=True)
class SuiteRun:
    seconds: float
    outcome: str  # pytest's summary, e.g. "115 passed" or "2 failed, 113 passed"

    @property
    def passed(self) -> bool:
        return " passed" in self.outcome and "failed" not in self.outcome


def measure_tests(toolbox: Toolbox, workspace: Path) -> dict[str, SuiteRun]:
    """Wall time of the default project's own test suite, on SQLite and on PostgreSQL."""
    project = render(workspace / "tests-project")
    runs = {}
    for database, extra in (("SQLite", {}), ("PostgreSQL", {"TEST_DATABASE_URL": POSTGRES_URL})):
        command = [str(toolbox.bin / "pytest"), "-q", "-p", "no:cacheprovider"]
        started = time.perf_counter()
        result = subprocess.run(
            command,
            cwd=project,
            env=toolbox.env(**extra),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        last = (result.stdout.strip().splitlines() or ["no output"])[-1]
        runs[database] = SuiteRun(seconds, re.sub(r" in [\d.]+s.*", "", last.strip("= ")))
    return runs
