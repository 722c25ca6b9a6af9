"""The generated service and the limit app under load, on loopback, against PostgreSQL."""

import dataclasses
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from bench.environment import query, throwaway_database
from tests.support import Toolbox

BENCH = Path(__file__).parent
ROWS = 10_000
EMAIL = "bench@example.com"
PASSWORD = "a long enough benchmark password"
OPERATIONS = {
    "get": "GET one by id",
    "list": "GET a page of 50 (filter, sort)",
    "create": "POST create",
    "update": "PATCH",
}


@dataclass(frozen=True)
class Flood:
    """GETs alone, then beside a login flood, and what the flood itself got."""

    connections: int  # flooding the login
    alone: wrk.Load
    beside_flood: wrk.Load
    logins: wrk.Load


@dataclass(frozen=True)
class Plan:
    """How long and how hard to load each figure."""

    seconds: float
    warmup_seconds: float
    rounds: int  # runs per figure (see `compare` and `overload` for the one each keeps)
    connections: int = 16
    overload_connections: int = 128
    flood_connections: int = 4


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(
    toolbox: Toolbox, app: str, *, cwd: Path, env: dict[str, str], log: Path, workers: int = 1
) -> Iterator[Server]:
    """Serve `app` with uvicorn (uvloop, httptools), in `workers` processes, until the block
    ends. With more than one, `Server.pid` is the process that supervises them."""
    port = _free_port()
    command = [
        str(toolbox.bin / "uvicorn"),
        app,
        "--host=127.0.0.1",
        f"--port={port}",
        "--loop=uvloop",
        "--http=httptools",
        "--no-access-log",  # the service writes its own access log; the limit app none
        *([f"--workers={workers}"] if workers > 1 else []),
    ]
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=cwd, env=toolbox.env(**env), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"{app} exited at start:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _request(url: str, headers: dict[str, str], data: bytes | None = None) -> Any:
    """The JSON answer of a GET (or, with `data`, a POST) to our own server."""
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def check_same_answers(ours: wrk.Target, limit: wrk.Target) -> None:
    """Refuse to compare the two apps unless they answer the same JSON to the same requests."""
    for path in (f"/api/v1/items/{ours.first_id}", "/api/v1/items?is_active=true&sort=name"):
        answers = [
            _request(target.url + path, {"Authorization": f"Bearer {target.token}"})
            for target in (ours, limit)
        ]
        if answers[0] != answers[1]:
            raise RuntimeError(
                f"GET {path}: the limit app answers differently; update it:\n"
                f"service: {answers[0]}\nlimit:   {answers[1]}"
            )


def seed(service_url: str, database_url: str) -> tuple[str, int, int]:
    """Register a user through the service, give it ROWS items; its token and their ids."""
    user = _request(
        f"{service_url}/api/v1/auth/register",
        {"Content-Type": "application/json"},
        json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
    )
    tokens = _request(
        f"{service_url}/api/v1/auth/login",
        {"Content-Type": "application/x-www-form-urlencoded"},
        urllib.parse.urlencode({"username": EMAIL, "password": PASSWORD}).encode(),
    )
    # Every tenth item inactive: the page filter keeps nine in ten.
    query(
        database_url,
        "INSERT INTO items (name, description, price, quantity, is_active, owner_id,"
        " created_at, updated_at)"
        f" SELECT 'item ' || lpad(n::text, 5, '0'), 'seeded', n % 1000 + 0.99, n % 97,"
        f" n % 10 <> 0, {int(user['id'])}, now() - n * interval '1 minute', now()"
        f" FROM generate_series(1, {ROWS}) AS n; ANALYZE",
    )
    first, last = query(database_url, "SELECT min(id), max(id) FROM items").split("|")
    return str(tokens["access_token"]), int(first), int(last)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the process's name: state, parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _process_tree(pid: int) -> set[int]:
    """`pid` and every process under it (uvicorn's workers, with --workers)."""
    parents = {}
    for folder in Path("/proc").iterdir():
        if folder.name.isdigit():
            try:
                parents[int(folder.name)] = int(_stat(int(folder.name))[1])
            except (OSError, IndexError):  # it ended meanwhile
                continue
    tree = {pid}
    while grown := {child for child, parent in parents.items() if parent in tree} - tree:
        tree |= grown
    return tree


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process and those under it have used so far, from
    Linux's /proc."""
    total = 0
    for member in _process_tree(pid):
        try:
            fields = _stat(member)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _run(target: wrk.Target, operation: str, connections: int, seconds: float) -> wrk.Load:
    tag = uuid.uuid4().hex[:8]  # a run's names never collide with another's
    before = _cpu_seconds(target.pid)
    load = wrk.run(target, operation, connections=connections, seconds=seconds, tag=tag)
    return dataclasses.replace(load, server_cpu_s=_cpu_seconds(target.pid) - before)


def _best(loads: list[wrk.Load]) -> wrk.Load:
    """The fastest run: whatever else the machine does can only slow a run down."""
    return max(loads, key=lambda load: load.rate)


def compare(ours: wrk.Target, limit: wrk.Target, plan: Plan) -> dict[str, dict[str, wrk.Load]]:
    """Each operation on the service and on the limit app, at the same connection count.

    After a warm-up each, the two take turns, `plan.rounds` times, a run each a round. The
    figure is the round whose ratio of the two is the median: its two runs are seconds
    apart, so that a machine whose speed drifts (other work, another tenant of the host)
    slows both alike, where the best run of each could come from different minutes.
    """
    results = {}
    for operation in OPERATIONS:
        for target in (ours, limit):
            _run(target, operation, plan.connections, plan.warmup_seconds)
        rounds = [
            {
                name: _run(target, operation, plan.connections, plan.seconds)
                for name, target in (("ours", ours), ("limit", limit))
            }
            for _ in range(plan.rounds)
        ]
        rounds.sort(key=lambda runs: runs["ours"].rate / max(runs["limit"].rate, 1e-9))
        results[operation] = rounds[len(rounds) // 2]
    return results


def overload(target: wrk.Target, plan: Plan) -> dict[int, wrk.Load]:
    """The GET at the usual connection count and at many more, taking turns."""
    counts = (plan.connections, plan.overload_connections)
    runs: dict[int, list[wrk.Load]] = {connections: [] for connections in counts}
    for _ in range(plan.rounds):
        for connections in counts:
            runs[connections].append(_run(target, "get", connections, plan.seconds))
    return {connections: _best(loads) for connections, loads in runs.items()}


def login_flood(target: wrk.Target, plan: Plan) -> Flood:
    """The GET alone, then beside wrong-password logins on a few connections.

    Measured once: the first seconds of a flood are its worst, while the rate limit still
    lets some logins through to the password check.
    """
    alone = _run(target, "get", plan.connections, plan.seconds)
    flood = wrk.start(target, "login", connections=plan.flood_connections, seconds=plan.seconds)
    beside = _run(target, "get", plan.connections, plan.seconds)
    return Flood(plan.flood_connections, alone, beside, wrk.finish(flood))


@dataclass(frozen=True)
class LoadFigures:
    operations: dict[str, dict[str, wrk.Load]]  # one worker each
    overload: dict[int, wrk.Load]
    flood: Flood
    two_workers: dict[str, dict[str, wrk.Load]]  # the operations again, two workers each


@contextmanager
def _both(
    toolbox: Toolbox, project: Path, workspace: Path, env: dict[str, str], workers: int
) -> Iterator[tuple[Server, Server]]:
    """The service (as in production) and the limit app, `workers` processes each."""
    service_env = env | {"ENVIRONMENT": "production", "ACCESS_TOKEN_MINUTES": "240"}
    with (
        serve(
            toolbox,
            "app.main:app",
            cwd=project,
            env=service_env,
            log=workspace / f"service-{workers}.log",
            workers=workers,
        ) as service,
        serve(
            toolbox,
            "limit_app:app",
            cwd=BENCH,
            env=env,
            log=workspace / f"limit-{workers}.log",
            workers=workers,
        ) as limit,
    ):
        yield service, limit


def measure_load(toolbox: Toolbox, project: Path, workspace: Path, plan: Plan) -> LoadFigures:
    """Serve `project` (a default render) and the limit app on one seeded database; load both,
    with one worker each, then with two."""
    with throwaway_database() as database_url:
        toolbox.run(project, "alembic", "upgrade", "head", DATABASE_URL=database_url)
        env = {"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(48)}
        with _both(toolbox, project, workspace, env, workers=1) as (service, limit_server):
            token, first_id, last_id = seed(service.url, database_url)
            ours = wrk.Target(service.url, service.pid, token, first_id, last_id)
            limit = wrk.Target(limit_server.url, limit_server.pid, token, first_id, last_id)
            check_same_answers(ours, limit)
            operations = compare(ours, limit, plan)
            stressed = overload(ours, plan)
            flood = login_flood(ours, plan)
        with _both(toolbox, project, workspace, env, workers=2) as (service, limit_server):
            ours = wrk.Target(service.url, service.pid, token, first_id, last_id)
            limit = wrk.Target(limit_server.url, limit_server.pid, token, first_id, last_id)
            check_same_answers(ours, limit)
            two_workers = compare(ours, limit, plan)
        return LoadFigures(operations, stressed, flood, two_workers)
