"""The command sequences the READMEs document run as written, in fresh shells.

A newcomer copies them one block after another into one shell, with no environment activated:
this README's from a fresh clone, and the rendered project's README from the folder the quick
start left them in. Each test does the same with bash, on a clone of this working tree, and
fails on the first command that fails. The harness adds three things only:

- a command that serves until Ctrl+C (`uv run uvicorn ...`) runs in the background, until the
  examples that need it are done;
- `curl` fails on an HTTP error (`--fail-with-body`), so that a documented request that is
  refused fails the run; a block followed by an ```http block showing a response must answer
  that status instead;
- what a user types at a prompt (the superuser's password) comes on standard input.

Blocks that are not sequences (a reference of commands, or commands that need what no test
machine has) are listed in SKIPPED with the reason; every entry must still match a block.
"""

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO, commit_working_tree

FENCE = re.compile(r"^```(?P<language>[a-z]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
SERVES = re.compile(r"^(?P<before>.*&& )?(?P<command>uv run uvicorn .*)$", re.MULTILINE)
PAGES_END = "<!-- gen: end of entity pages -->"
PORT_LOCK = Path("/tmp/fastapi-slices-documented-port-8000.lock")
SUPERUSER_PASSWORD = "orbital-mechanics-1969"
PRIVATE = {"VIRTUAL_ENV", "PYTHONPATH", "DATABASE_URL", "TEST_DATABASE_URL", "PYTHONHOME"}

NEEDS_A_RELEASE = "needs a newer release of the template: tests/test_update.py updates projects"
# First line of a block -> why it is not run here.
SKIPPED = {
    "README.md": {
        "python3 -m venv .venv && .venv/bin/pip install -q uv && .venv/bin/uv pip": (
            "CI's own test command: it runs this suite"
        ),
        "uvx copier copy gh:<owner>/fastapi-slices": "names the repository's address",
        "gen update ": NEEDS_A_RELEASE,
        ".venv/bin/python -m bench": "ten minutes of benchmarks; tests/test_bench.py checks them",
    },
    "rendered": {
        "export DATABASE_URL=postgresql://user:password@": "names a PostgreSQL server of yours",
        "uv run alembic upgrade head  ": "a reference of Alembic commands, not a sequence",
        "uv run pytest   ": (
            "the project's checks: tests/test_rendered_project.py and test_generated_project.py"
            " run every one of them, on SQLite and PostgreSQL"
        ),
        "TEST_DATABASE_URL=postgresql://": (
            "the project's tests on PostgreSQL: tests/test_generated_project.py runs them"
        ),
        "PROPERTY_EXAMPLES=1000": "a long property run; the checks above run the property tests",
        "cp .env.example .env": "needs a Docker engine",
        "docker build": "needs a Docker engine",
        "git status ": NEEDS_A_RELEASE,
        "uv run uvicorn app.main:app --host 0.0.0.0": (
            "serves several workers in the foreground; the benchmark serves one and two"
        ),
    },
}

STOP_ON_FAILURE = '[ $? -eq 0 ] || { echo "### failed" >&2; exit 1; }'
PRELUDE = f"""
set -euo pipefail
curl() {{
    if [ -n "${{EXPECTED_STATUS:-}}" ]; then command curl "$@"
    else command curl --fail-with-body "$@"; fi
}}
SERVER_PID=
serve() {{
    stop_server
    exec 9>{PORT_LOCK}
    flock -w 900 9 || {{ echo "port 8000 stayed taken by another run for 900 s" >&2; return 1; }}
    setsid bash -c "$1" >>"$SERVER_LOG" 2>&1 9>&- &
    SERVER_PID=$!
    echo "$SERVER_PID" >"$SERVER_LOG.pid"
    for _ in $(seq 1 180); do
        command curl -sf http://127.0.0.1:8000/health/live >/dev/null && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited:" >&2
            cat "$SERVER_LOG" >&2
            return 1
        fi
        sleep 1
    done
    echo "the server did not answer in 180 s" >&2
    return 1
}}
stop_server() {{
    if [ -n "$SERVER_PID" ]; then
        kill -- "-$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        rm -f "$SERVER_LOG.pid"
        flock -u 9
    fi
}}
trap stop_server EXIT
"""


@dataclass(frozen=True)
class Block:
    body: str
    offset: int  # where it starts in its file
    status: int | None  # the status of the ```http response shown right after it

    @property
    def first_line(self) -> str:
        return self.body.splitlines()[0]

    @property
    def needs_server(self) -> bool:
        return "$BASE" in self.body


def shell_blocks(markdown: str) -> list[Block]:
    fences = list(FENCE.finditer(markdown))
    blocks = []
    for index, fence in enumerate(fences):
        if fence["language"] not in {"sh", "bash"}:
            continue
        status = None
        if index + 1 < len(fences):
            following = fences[index + 1]
            between = markdown[fence.end() : following.start()]
            if following["language"] == "http" and not between.strip():
                status = int(following["body"].split()[1])
        blocks.append(Block(fence["body"], fence.start(), status))
    return blocks


def runnable(blocks: list[Block], skipped: dict[str, str]) -> list[Block]:
    """The blocks to run; each entry of `skipped` must match exactly one block."""
    kept = []
    used: dict[str, int] = dict.fromkeys(skipped, 0)
    for block in blocks:
        matches = [prefix for prefix in skipped if block.first_line.startswith(prefix)]
        for prefix in matches:
            used[prefix] += 1
        if not matches:
            kept.append(block)
    assert all(count == 1 for count in used.values()), f"SKIPPED entries matching no block: {used}"
    return kept


def script(blocks: list[Block]) -> str:
    """The blocks as one bash script, with the harness's three additions."""
    lines = [PRELUDE]
    last_with_server = max(
        (i for i, block in enumerate(blocks) if block.needs_server or SERVES.search(block.body)),
        default=-1,
    )
    for index, block in enumerate(blocks):
        lines.append(f"echo {shlex.quote(f'### block: {block.first_line}')} >&2")
        body = "\n".join(_background_servers(block.body.splitlines()))
        # `set -e` lets `a && b` go on when `a` fails: the trap stops there too.
        body = f"trap '{STOP_ON_FAILURE}' DEBUG\n{body}\ntrap - DEBUG"
        if block.status is None:
            lines.append(body)
        else:
            lines += [
                "EXPECTED_STATUS=1",
                f"response=$({body})",
                "EXPECTED_STATUS=",
                f'grep -q "^HTTP/1.1 {block.status} " <<<"$response" || '
                f'{{ echo "expected {block.status}, got: $response" >&2; exit 1; }}',
            ]
        if index == last_with_server:
            lines.append("stop_server")
    lines.append("echo '### done' >&2")
    return "\n".join(lines) + "\n"


def _background_servers(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        match = SERVES.match(line)
        found.append(
            f"{match['before'] or ''}serve {shlex.quote(match['command'])}" if match else line
        )
    return found


def fresh_environment(home: Path) -> dict[str, str]:
    """The machine's environment as a new shell has it: no virtual environment, and nothing
    of this test run's (its variables, its folders on PATH)."""
    ours = (str(REPO), sys.prefix)
    path = [
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if folder and not folder.startswith(ours)
    ]
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in PRIVATE and not name.startswith(("PYTEST_", "COV_"))
    }
    return environment | {"PATH": os.pathsep.join(path), "SERVER_LOG": str(home / "server.log")}


def run_script(text: str, cwd: Path, home: Path, *, stdin: str = "") -> None:
    (home / "documented.sh").write_text(text)
    try:
        result = subprocess.run(
            ["bash", str(home / "documented.sh")],
            cwd=cwd,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # in the order printed: each command's output under it
            text=True,
            env=fresh_environment(home),
            timeout=1500,
            check=False,
        )
    finally:  # a script stopped by the timeout cannot stop its server: its group goes here
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.killpg(int((home / "server.log.pid").read_text()), signal.SIGKILL)
    output = result.stdout.splitlines()
    assert result.returncode == 0, "\n".join(output[-80:])
    assert output[-1:] == ["### done"], "\n".join(output[-80:])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone of this working tree, as a newcomer makes one."""
    source = commit_working_tree(tmp_path / "source")
    subprocess.run(
        ["git", "clone", "-q", str(source), str(tmp_path / "fastapi-slices")],
        check=True,
        capture_output=True,
    )
    return tmp_path / "fastapi-slices"


@pytest.mark.slow
def test_readme_sequences_run_as_written(clone: Path, tmp_path: Path) -> None:
    blocks = runnable(shell_blocks((clone / "README.md").read_text()), SKIPPED["README.md"])
    run_script(script(blocks), clone, tmp_path)
    project = tmp_path / "my-service"
    assert (project / "docs" / "api" / "books.md").is_file()
    assert "heading" in (project / "app" / "models" / "book.py").read_text()


@pytest.mark.slow
def test_rendered_readme_sequences_run_as_written(clone: Path, tmp_path: Path) -> None:
    """From where the README's quick start leaves a user: its PATH, in the project's folder;
    the entity pages' examples run where the README lists them."""
    quick_start = shell_blocks((clone / "README.md").read_text())[0].body.splitlines()
    assert quick_start[1].endswith("../my-service && cd ../my-service"), "the quick start moved"
    # Its first two lines, rendering into ../shop.
    setup = Block("\n".join(quick_start[:2]).replace("my-service", "shop") + "\n", 0, None)
    # The rendered README, as the quick start renders it.
    subprocess.run(
        ["bash", "-c", setup.body],
        cwd=clone,
        check=True,
        capture_output=True,
        env=fresh_environment(tmp_path),
        timeout=600,
    )
    project = tmp_path / "shop"
    readme = (project / "README.md").read_text()
    blocks = runnable(shell_blocks(readme), SKIPPED["rendered"])
    pages_at = readme.index(PAGES_END)
    pages = [
        block
        for page in re.findall(r"\]\((docs/api/[\w-]+\.md)\)", readme)
        for block in shell_blocks((project / page).read_text())
    ]
    assert pages, "the README lists no entity page"
    before = [block for block in blocks if block.offset < pages_at]
    after = [block for block in blocks if block.offset > pages_at]
    entry = f'export PATH="{clone}/.venv/bin:$PATH"\n'
    run_script(
        entry + script([*before, *pages, *after]),
        project,
        tmp_path,
        stdin=f"{SUPERUSER_PASSWORD}\n",
    )


@pytest.mark.parametrize(
    "body", ["false && true\necho not reached\n", "curl -s http://127.0.0.1:1/\n"]
)
def test_a_failing_command_stops_the_sequence(body: str, tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"### (failed|block)"):
        run_script(script([Block(body, 0, None)]), tmp_path, tmp_path)
