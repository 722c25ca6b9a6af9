"""Python function calls per request (bench/call_probe.py), in a default project and in one
grown to twenty generated entities: figures that the machine's noise does not move.

`python -m bench.calls [--sqlite] [--top N]` prints them alone, in seconds rather than the
minutes of the whole benchmark: the figure to compare before and after a change.
"""

import argparse
import json
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.call_probe import TOP
from bench.environment import throwaway_database
from tests.support import Toolbox, gen, project_toolbox, render

PROBE = Path(__file__).with_name("call_probe.py")
ENTITIES = 20
# What the probe measures in the default project: the load benchmark's four operations.
OPERATIONS = ("get", "list", "create", "update")


def entity_name(number: int) -> str:
    """The generated entities sort in the order they were made: Thing01 ... Thing20."""
    return f"Thing{number:02}"


def entity_path(number: int) -> str:
    return f"/api/v1/thing-{number:02}s"


@dataclass(frozen=True)
class CallFigures:
    """Calls (and, secondary, wall time in us) per request, by operation."""

    database: str
    calls: dict[str, int]  # "get", "list", "create", "update", "first entity", "last entity"
    us: dict[str, float]


def grow(project: Path) -> Path:
    """Add ENTITIES generated entities to `project`, each owned like the starter's items."""
    for number in range(1, ENTITIES + 1):
        code, output = gen(project, "entity", entity_name(number), "name:str", "--owned")
        if code != 0:
            raise RuntimeError(f"gen entity {entity_name(number)} failed:\n{output}")
    return project


def _probe(
    toolbox: Toolbox, project: Path, database_url: str, paths: list[str], top: int
) -> tuple[dict[str, int], dict[str, float]]:
    """The calls and the wall time (us) of each request the probe sends."""
    env = {
        "PROBE_TOP": str(top),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENVIRONMENT": "production",  # as the load benchmark serves it
        "ACCESS_TOKEN_MINUTES": "240",
    }
    output = toolbox.run(project, "python", str(PROBE), "app", *paths, **env)
    lines = output.splitlines()  # the probe's own, then the service's log lines
    for line in lines:
        if line.startswith(TOP):
            print(line.removeprefix(TOP))
    found = json.loads(next(line for line in reversed(lines) if line.startswith('{"calls"')))
    return found["calls"], found["us"]


@contextmanager
def _database(workspace: Path, name: str, *, postgres: bool) -> Iterator[str]:
    if postgres:
        with throwaway_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{workspace / f'{name}.db'}"


def measure_calls(
    toolbox: Toolbox, workspace: Path, *, postgres: bool = True, top: int = 0
) -> CallFigures:
    """The four operations in a default render, and the GET by id of the first and last of
    twenty generated entities in a grown one."""
    default = render(workspace / "calls-default")
    grown = grow(render(workspace / "calls-grown"))
    with _database(workspace, "default", postgres=postgres) as url:
        calls, us = _probe(toolbox, default, url, [], top)
    ends = [entity_path(1), entity_path(ENTITIES)]
    with _database(workspace, "grown", postgres=postgres) as url:
        grown_calls, grown_us = _probe(toolbox, grown, url, ends, top)
    for end, name in zip(ends, ("first entity", "last entity"), strict=True):
        calls[name], us[name] = grown_calls[f"get {end}"], grown_us[f"get {end}"]
    return CallFigures("PostgreSQL" if postgres else "SQLite", calls, us)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="on SQLite, not PostgreSQL")
    parser.add_argument(
        "--top", type=int, default=0, help="also print each request's N most called functions"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as folder:
        workspace = Path(folder)
        toolbox = project_toolbox(workspace / "dependencies")
        figures = measure_calls(
            toolbox, workspace, postgres=not arguments.sqlite, top=arguments.top
        )
    print(f"calls per request ({figures.database}; wall time, noisy, in brackets):")
    for name, calls in figures.calls.items():
        print(f"  {name:13} {calls:6,} ({figures.us[name]:,.0f} us)")


if __name__ == "__main__":
    main()
