"""`python -m bench [--quick]`: measure, print the report, and keep it in bench/results/."""

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

from copier.errors import DirtyLocalWarning

from bench import environment, tooling
from bench.calls import measure_calls
from bench.csv_import import measure_imports
from bench.report import Results, markdown, rows, summary
from bench.service import Plan, measure_load
from tests.support import REPO, commit_working_tree, project_toolbox, render

RESULTS = Path(__file__).with_name("results")


def _step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _has_uncommitted_changes() -> bool:
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return bool(status.stdout.strip())


def measure(workspace: Path, *, quick: bool) -> Results:
    repeat = 1 if quick else 3
    plan = Plan(seconds=2, warmup_seconds=1, rounds=1)
    if not quick:
        plan = Plan(seconds=4, warmup_seconds=3, rounds=5)
    _step("the rendered projects' environment (built once, then reused)")
    toolbox = project_toolbox(workspace / "dependencies")
    _step("rendering with Copier")
    source = commit_working_tree(workspace / "template")
    renders = {
        "default": tooling.measure_render(source, workspace, {}, repeat),
        "all options": tooling.measure_render(source, workspace, tooling.ALL_OPTIONS, repeat),
    }
    working_tree = None
    if _has_uncommitted_changes():
        working_tree = tooling.median_time(
            lambda: tooling.copier_cli(REPO, workspace / "render", {}), repeat
        )
    _step("gen entity, gen field add")
    gen = tooling.measure_gen(workspace, repeat)
    _step("the rendered project's tests, on SQLite and on PostgreSQL")
    tests = tooling.measure_tests(toolbox, workspace)
    _step("Python calls per request, in-process, in a default project and a grown one")
    calls = measure_calls(toolbox, workspace)
    _step(f"load: {plan.seconds:g} s per figure, after {plan.warmup_seconds:g} s of warm-up")
    load = measure_load(toolbox, render(workspace / "service"), workspace, plan)
    sizes = (10_000, 50_000) if quick else (100_000, 1_000_000)
    _step(f"CSV import of {' and '.join(f'{size:,}' for size in sizes)} rows")
    imports = measure_imports(toolbox, render(workspace / "importing"), workspace, sizes)
    return Results(renders, working_tree, gen, tests, load, imports, calls)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="short runs: checks the harness, not the figures"
    )
    quick = parser.parse_args().quick
    warnings.simplefilter("ignore", DirtyLocalWarning)  # uncommitted changes are rendered too
    environment.ensure_wrk()
    environment.ensure_postgres()
    with tempfile.TemporaryDirectory(prefix="bench-") as workspace:
        results = measure(Path(workspace), quick=quick)
    table = rows(results)
    report = f"{markdown(table)}\n\n{summary(table)}\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ("-quick" if quick else "")
    (RESULTS / f"{stamp}.md").write_text(report)
    (RESULTS / f"{stamp}.json").write_text(results.to_json())
    print(f"Saved to {RESULTS.relative_to(REPO)}/{stamp}.md and .json")


if __name__ == "__main__":
    main()
