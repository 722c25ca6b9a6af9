"""What the benchmark needs on the machine: wrk, and PostgreSQL with throwaway databases."""

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import POSTGRES_URL


def ensure_wrk() -> None:
    """Install wrk from the distribution's packages when it is missing (Debian, Ubuntu)."""
    if shutil.which("wrk"):
        return
    print("installing wrk (apt-get)", flush=True)
    sudo = [] if shutil.which("sudo") is None else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)


def ensure_postgres() -> None:
    """Refuse to go on without the PostgreSQL server (`.ci/run` starts it on CI)."""
    ready = subprocess.run(["pg_isready", "-q", "-d", POSTGRES_URL], check=False)
    if ready.returncode != 0:
        raise SystemExit(f"PostgreSQL at {POSTGRES_URL} is not answering: start it first")


def query(database_url: str, sql: str) -> str:
    """Run `sql` with psql; its output, unaligned, without headers."""
    return subprocess.run(
        ["psql", database_url, "-qAtc", sql], check=True, capture_output=True, text=True
    ).stdout.strip()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new PostgreSQL database, as a postgresql:// URL; dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    query(POSTGRES_URL, f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        query(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
