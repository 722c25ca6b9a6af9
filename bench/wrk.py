"""Load runs with wrk, driven by load.lua, and their results."""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("load.lua")
MARKER = "BENCH "


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect, read and write errors
    timeouts: int
    non_2xx: int
    statuses: dict[int, int]  # counted for logins only
    server_cpu_s: float = 0.0  # CPU time (user + system) the server spent during the run

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        """The server's CPU time per request: what the throughput is made of, whatever else
        the machine does meanwhile."""
        return self.server_cpu_s / self.requests * 1e6

    @property
    def failures(self) -> int:
        return self.socket_errors + self.timeouts + self.non_2xx


def parse(output: str) -> Load:
    """The result line load.lua prints at the end of wrk's report."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            found = json.loads(line.removeprefix(MARKER))
            break
    else:
        raise ValueError(f"no {MARKER.strip()} line in wrk's output:\n{output}")
    return Load(
        requests=found["requests"],
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        socket_errors=found["connect"] + found["read"] + found["write"],
        timeouts=found["timeout"],
        non_2xx=found["non_2xx"],
        statuses={int(status): count for status, count in found["statuses"].items()},
    )


@dataclass(frozen=True)
class Target:
    """A server under load, and what the requests need: a token and the seeded ids."""

    url: str
    pid: int  # the server's process, whose CPU time each run reads
    token: str
    first_id: int
    last_id: int


def start(
    target: Target, operation: str, *, connections: int, seconds: float, tag: str = "run"
) -> "subprocess.Popen[str]":
    """Start wrk in the background; `finish` waits for it and reads its result."""
    command = [
        "wrk",
        f"--threads={min(connections, 2)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        target.url,
        "--",
        operation,
        target.token,
        str(target.first_id),
        str(target.last_id),
        tag,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: "subprocess.Popen[str]") -> Load:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    return parse(output)


def run(
    target: Target, operation: str, *, connections: int, seconds: float, tag: str = "run"
) -> Load:
    return finish(start(target, operation, connections=connections, seconds=seconds, tag=tag))
