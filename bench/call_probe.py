"""Python function calls per request, counted in-process: the benchmark's noise-free figure.

Runs in the rendered projects' environment, in a project's folder, with its settings in the
environment (DATABASE_URL, SECRET_KEY, ...), as the service runs:

    python call_probe.py PACKAGE [ENTITY_PATH ...]    (PROBE_TOP=N: the N most called too)

It builds the app, creates its tables, registers and logs in a user, stores rows, then sends
each request of the load benchmark (bench/load.lua) through httpx's ASGITransport and counts
the Python function calls from the moment the app is called until it returns: calls and
resumptions of coroutines and generators alike (`sys.setprofile`'s "call" events), in this
thread only (aiosqlite's thread is not counted; asyncpg runs in this one), on uvloop as
uvicorn serves it (stdlib asyncio's loop would add its own Python calls to each count).
For each path of ENTITY_PATH (such as /api/v1/thing-01s) it counts a GET by id of a row
stored there. The last line it prints is the JSON of every count, and of the wall time per
request (secondary: the machine's noise is in it); with PROBE_TOP, lines starting with TOP
come before it.
"""

import importlib
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any

from httpx import ASGITransport, AsyncClient, Response

EMAIL = "probe@example.com"
PASSWORD = "a long enough probe password"
ITEMS = 100  # every tenth inactive, as in the load benchmark: a page of 50 stays full
COUNTED_RUNS = 5  # each count is the least of these; SQLite's counts do not vary at all
TIMED_REQUESTS = 200
TOP = "top: "
Scope = MutableMapping[str, Any]
Call = Callable[[], Awaitable[Response]]


class CallCounter:
    """An ASGI wrapper that counts the calls made while the app handles each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.on = False
        self.calls = 0
        self.functions: Counter[tuple[str, str]] | None = None  # set: count by function too

    def _count(self, frame: FrameType, event: str, _arg: object) -> None:
        if event == "call":
            self.calls += 1
            if self.functions is not None:
                code = frame.f_code
                self.functions[code.co_filename.rpartition("site-packages/")[2], code.co_name] += 1

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self.on:
            await self.app(scope, receive, send)
            return
        sys.setprofile(self._count)
        try:
            await self.app(scope, receive, send)
        finally:
            sys.setprofile(None)


async def _count(counter: CallCounter, request: Call, expected: int) -> int:
    counts = []
    for _ in range(3):  # warm-up: first-time caches (compiled SQL, validators) are filled
        _check(await request(), expected)
    for _ in range(COUNTED_RUNS):
        counter.calls, counter.on = 0, True
        try:
            response = await request()
        finally:
            counter.on = False
        _check(response, expected)
        counts.append(counter.calls)
    return min(counts)


async def _time_us(request: Call) -> float:
    """The median wall time of a request, in microseconds, over batches of 20."""
    batches = []
    for _ in range(TIMED_REQUESTS // 20):
        started = time.perf_counter()
        for _ in range(20):
            await request()
        batches.append((time.perf_counter() - started) / 20 * 1e6)
    return statistics.median(batches)


def _getter(client: AsyncClient, url: str) -> Call:
    return lambda: client.get(url)


def _check(response: Response, expected: int) -> None:
    if response.status_code != expected:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code}, "
            f"not {expected}: {response.text}"
        )


async def probe(package: str, entity_paths: list[str], top: int) -> dict[str, Any]:
    main = importlib.import_module(f"{package}.main")
    models = importlib.import_module(f"{package}.models")
    app = main.create_app()
    async with app.state.database.engine.begin() as connection:
        await connection.run_sync(models.Base.metadata.create_all)
    counter = CallCounter(app)
    transport = ASGITransport(app=counter)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://probe") as client,
    ):
        credentials = {"email": EMAIL, "password": PASSWORD}
        _check(await client.post("/api/v1/auth/register", json=credentials), 201)
        login = {"username": EMAIL, "password": PASSWORD}
        tokens = await client.post("/api/v1/auth/login", data=login)
        _check(tokens, 200)
        client.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
        for number in range(ITEMS):
            item = {"name": f"item {number:03}", "price": 12.5, "is_active": number % 10 != 0}
            created = await client.post("/api/v1/items", json=item)
            _check(created, 201)
        item_id = created.json()["id"]
        made = iter(range(10**9))
        requests: dict[str, tuple[Call, int]] = {
            "get": (lambda: client.get(f"/api/v1/items/{item_id}"), 200),
            "list": (
                lambda: client.get("/api/v1/items?is_active=true&sort=name&limit=50&offset=0"),
                200,
            ),
            "create": (
                lambda: client.post(
                    "/api/v1/items",
                    json={"name": f"probe {next(made)}", "price": 12.5, "quantity": 3},
                ),
                201,
            ),
            "update": (
                lambda: client.patch(f"/api/v1/items/{item_id}", json={"quantity": next(made)}),
                200,
            ),
        }
        for path in entity_paths:
            row = await client.post(path, json={"name": "probe"})
            _check(row, 201)
            requests[f"get {path}"] = (_getter(client, f"{path}/{row.json()['id']}"), 200)
        calls = {name: await _count(counter, *request) for name, request in requests.items()}
        times = {name: await _time_us(request) for name, (request, _) in requests.items()}
        if top:
            for name, (request, _) in requests.items():
                counter.functions = Counter()
                counter.on = True
                try:
                    await request()
                finally:
                    counter.on = False
                print(f"{TOP}{name}: the {top} most called functions")
                for (file, function), count in counter.functions.most_common(top):
                    print(f"{TOP}{count:6} {file}:{function}")
    await app.state.database.dispose()
    return {"calls": calls, "us": times}


def main() -> None:
    arguments = sys.argv[1:]
    top = int(os.environ.get("PROBE_TOP", "0"))
    sys.path.insert(0, os.getcwd())
    # On uvloop, as the service is served (uvicorn[standard]): the event loop's own work is
    # then C, as in production, not Python calls that stdlib asyncio would add to each count.
    uvloop = importlib.import_module("uvloop")
    print(json.dumps(uvloop.run(probe(arguments[0], arguments[1:], top))))


if __name__ == "__main__":
    main()
