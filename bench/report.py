"""The report: every figure, its ratio to the limit app where there is one, and the goals."""

import dataclasses
import json
from dataclasses import dataclass

from bench.calls import CallFigures
from bench.csv_import import ImportFigure
from bench.service import OPERATIONS, LoadFigures
from bench.tooling import GenFigures, Render, SuiteRun
from bench.wrk import Load

# The least share of the limit app's throughput each operation must reach.
RATE_GOALS = {"get": 0.70, "list": 0.70, "create": 0.70, "update": 0.70}
P99_GOAL = 1.5  # at most this multiple of the limit app's p99
RENDER_GOAL_S = 1.5
GEN_GOAL_S = 1.0
TESTS_GOAL_S = 20.0
OVERLOAD_GOAL = 0.8  # the share of the throughput kept at many connections
FLOOD_GOAL = 0.30  # the most of the GET throughput a login flood may cost
MEMORY_GROWTH_GOAL = 1.2  # peak memory of the biggest import over the smallest's
GROWTH_GOAL = 1.05  # the 20th generated entity's GET by id over the 1st's, in calls


@dataclass(frozen=True)
class Results:
    renders: dict[str, Render]  # "default", "all options"
    working_tree_cli_s: float | None  # rendering the uncommitted working tree, if any
    gen: GenFigures
    tests: dict[str, SuiteRun]  # per database
    load: LoadFigures
    imports: list[ImportFigure]  # the CSV import, per database and file size
    calls: CallFigures  # Python function calls per request, in-process

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, default=str)


@dataclass(frozen=True)
class Row:
    figure: str
    ours: str
    limit: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None


def _met(met: bool | None) -> str:
    return {None: "", True: "yes", False: "NO"}[met]


def _tool_rows(results: Results) -> list[Row]:
    rows = []
    for name, render in results.renders.items():
        cli_goal = name == "default"
        rows += [
            Row(
                f"render {name} project, whole process (copier CLI)",
                f"{render.cli_s:.2f} s",
                goal=f"< {RENDER_GOAL_S} s" if cli_goal else "",
                met=render.cli_s < RENDER_GOAL_S if cli_goal else None,
            ),
            Row(f"render {name} project, in-process (run_copy)", f"{render.in_process_s:.2f} s"),
            Row(f"files rendered, {name} project", str(render.files)),
        ]
    if results.working_tree_cli_s is not None:
        rows.append(
            Row(
                "render default project from the uncommitted working tree, whole process",
                f"{results.working_tree_cli_s:.2f} s",
            )
        )
    rows += [
        Row(
            "gen entity, ten fields, whole process",
            f"{results.gen.entity_s:.2f} s",
            goal=f"< {GEN_GOAL_S} s",
            met=results.gen.entity_s < GEN_GOAL_S,
        ),
        Row(
            "gen field add, project of ten entities, whole process",
            f"{results.gen.field_add_s:.2f} s",
            goal=f"< {GEN_GOAL_S} s",
            met=results.gen.field_add_s < GEN_GOAL_S,
        ),
    ]
    for database, run in results.tests.items():
        goal = database == "SQLite"
        rows.append(
            Row(
                f"rendered project's tests on {database}, wall time ({run.outcome})",
                f"{run.seconds:.1f} s",
                goal=f"< {TESTS_GOAL_S:.0f} s" if goal else "passed",
                met=(run.seconds < TESTS_GOAL_S if goal else True) and run.passed,
            )
        )
    return rows


def _operation_rows(operation: str, ours: Load, limit: Load) -> list[Row]:
    name = OPERATIONS[operation]
    rate_ratio = ours.rate / limit.rate
    p99_ratio = ours.p99_ms / limit.p99_ms
    errors = ours.failures + limit.failures
    return [
        Row(
            f"{name}: requests/s",
            f"{ours.rate:,.0f}",
            f"{limit.rate:,.0f}",
            f"{rate_ratio:.2f}",
            f">= {RATE_GOALS[operation]:.2f}",
            rate_ratio >= RATE_GOALS[operation],
        ),
        Row(
            f"{name}: server CPU per request, us",
            f"{ours.cpu_us_per_request:,.0f}",
            f"{limit.cpu_us_per_request:,.0f}",
            f"{limit.cpu_us_per_request / ours.cpu_us_per_request:.2f}",
        ),
        Row(
            f"{name}: p50 ms",
            f"{ours.p50_ms:.1f}",
            f"{limit.p50_ms:.1f}",
            f"{ours.p50_ms / limit.p50_ms:.2f}",
        ),
        Row(
            f"{name}: p99 ms",
            f"{ours.p99_ms:.1f}",
            f"{limit.p99_ms:.1f}",
            f"{p99_ratio:.2f}",
            f"<= {P99_GOAL}",
            p99_ratio <= P99_GOAL,
        ),
        Row(
            f"{name}: failed requests",
            str(ours.failures),
            str(limit.failures),
            goal="0",
            met=errors == 0,
        ),
    ]


def _two_worker_rows(load: LoadFigures) -> list[Row]:
    """Each operation with two workers per app: throughput (and its growth over one worker),
    CPU per request; the goals are one worker's."""
    found = []
    for operation, name in OPERATIONS.items():
        ours, limit = load.two_workers[operation]["ours"], load.two_workers[operation]["limit"]
        alone = load.operations[operation]
        found += [
            Row(
                f"{name}, 2 workers: requests/s (x one worker's)",
                f"{ours.rate:,.0f} (x{ours.rate / alone['ours'].rate:.2f})",
                f"{limit.rate:,.0f} (x{limit.rate / alone['limit'].rate:.2f})",
                f"{ours.rate / limit.rate:.2f}",
            ),
            Row(
                f"{name}, 2 workers: server CPU per request, us",
                f"{ours.cpu_us_per_request:,.0f}",
                f"{limit.cpu_us_per_request:,.0f}",
                f"{limit.cpu_us_per_request / ours.cpu_us_per_request:.2f}",
            ),
        ]
    return found


def _stress_rows(load: LoadFigures) -> list[Row]:
    (few, usual), (many, overloaded) = sorted(load.overload.items())
    kept = overloaded.rate / usual.rate
    flood = load.flood
    lost = 1 - flood.beside_flood.rate / flood.alone.rate
    logins = ", ".join(
        f"{count} x {status}" for status, count in sorted(flood.logins.statuses.items())
    )
    return [
        Row(f"overload: GET by id at {few} connections, requests/s", f"{usual.rate:,.0f}"),
        Row(
            f"overload: GET by id at {many} connections, requests/s (share kept)",
            f"{overloaded.rate:,.0f}",
            ratio=f"{kept:.2f}",
            goal=f">= {OVERLOAD_GOAL}",
            met=kept >= OVERLOAD_GOAL,
        ),
        Row(
            f"overload: failed requests and timeouts at {many} connections",
            str(overloaded.failures),
            goal="0",
            met=overloaded.failures == 0,
        ),
        Row(
            f"overload: p99 ms at {few} / {many} connections",
            f"{usual.p99_ms:.1f} / {overloaded.p99_ms:.1f}",
        ),
        Row(
            f"login flood: GET by id at {few} connections alone, requests/s",
            f"{flood.alone.rate:,.0f}",
        ),
        Row(
            "login flood: GET by id beside the flood, requests/s (share lost)",
            f"{flood.beside_flood.rate:,.0f}",
            ratio=f"{lost:.2f}",
            goal=f"<= {FLOOD_GOAL}",
            met=lost <= FLOOD_GOAL and flood.beside_flood.failures == 0,
        ),
        Row(
            f"login flood: wrong-password logins on {flood.connections} connections, requests/s",
            f"{flood.logins.rate:,.0f} ({logins})",
        ),
    ]


def _call_rows(figures: CallFigures) -> list[Row]:
    """Calls per request (noise-free), the wall time in-process beside them (not)."""
    found = [
        Row(
            f"{OPERATIONS[operation]}: Python calls per request ({figures.database})",
            f"{figures.calls[operation]:,} ({figures.us[operation]:,.0f} us)",
        )
        for operation in OPERATIONS
    ]
    first, last = figures.calls["first entity"], figures.calls["last entity"]
    growth = last / first
    found.append(
        Row(
            "GET by id of the 20th of 20 generated entities, of the 1st: Python calls",
            f"{last:,} / {first:,}",
            ratio=f"{growth:.2f}",
            goal=f"<= {GROWTH_GOAL}",
            met=growth <= GROWTH_GOAL,
        )
    )
    return found


def rows(results: Results) -> list[Row]:
    operations = results.load.operations
    load_rows = [
        row
        for operation in OPERATIONS
        for row in _operation_rows(
            operation, operations[operation]["ours"], operations[operation]["limit"]
        )
    ]
    return (
        _tool_rows(results)
        + _call_rows(results.calls)
        + load_rows
        + _two_worker_rows(results.load)
        + _stress_rows(results.load)
        + _import_rows(results.imports)
    )


def _import_rows(figures: list[ImportFigure]) -> list[Row]:
    """Rows/s of each import, and whether its peak memory stayed flat as the file grew."""
    found = []
    for figure in figures:
        smallest = min((f for f in figures if f.database == figure.database), key=lambda f: f.rows)
        growth = figure.peak_mib / smallest.peak_mib
        flat = figure is smallest or growth <= MEMORY_GROWTH_GOAL
        found.append(
            Row(
                f"CSV import, {figure.rows:,} rows, {figure.database}: rows/s (peak memory)",
                f"{figure.rows_per_second:,.0f} ({figure.peak_mib:.0f} MiB)",
                ratio="" if figure is smallest else f"{growth:.2f}",
                goal="" if figure is smallest else f"memory <= {MEMORY_GROWTH_GOAL}x",
                met=None if figure is smallest else flat,
            )
        )
    return found


def markdown(table: list[Row]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    header = ("figure", "ours", "limit", "ratio", "goal", "met")
    cells = [header] + [
        (row.figure, row.ours, row.limit, row.ratio, row.goal, _met(row.met)) for row in table
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]

    def line(values: tuple[str, ...] | list[str]) -> str:
        padded = [
            value.ljust(width) if column == 0 else value.rjust(width)
            for column, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), rule, *(line(values) for values in cells[1:])])


def summary(table: list[Row]) -> str:
    missed = [row.figure for row in table if row.met is False]
    goals = sum(row.met is not None for row in table)
    if not missed:
        return f"All {goals} goals met."
    return f"{goals - len(missed)} of {goals} goals met; missed: " + "; ".join(missed) + "."
