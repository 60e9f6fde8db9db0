"""What every suite needs around its contenders: a bench database, and servers in their own processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
from sqlalchemy.engine import make_url

from clinicflow.config import Settings
from clinicflow.platform.db.url import libpq_url, resolve_database_url
from clinicflow.platform.embedded_pg import ensure_database
from clinicflow.platform.migrations import upgrade_to_head


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(name: str, *, fresh: bool = True) -> str:
    """The URL of database `name` on DATABASE_URL's server (embedded PostgreSQL when unset),
    migrated to head; `fresh` drops it first, otherwise what it holds is kept."""
    server = resolve_database_url(Settings())
    admin = libpq_url(make_url(server).set(database="postgres").render_as_string(hide_password=False))
    if fresh:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ensure_database(admin, name)
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    return url


def start_server(kind: str, url: str) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m bench.servers KIND URL PORT` on a free port, once its `/health/ready` answers 200."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", kind, url, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60  # a loaded 2-core machine imports the app slowly
    while time.monotonic() < deadline and proc.poll() is None:
        try:  # ready means the database answers too, not just the socket
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    _, err = proc.communicate(timeout=10)
    raise RuntimeError(f"{kind} server did not start (exit {proc.returncode}): {err.decode()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@contextmanager
def serving(*kinds: str, url: str) -> Iterator[dict[str, int]]:
    """The named contenders running on `url` for the block: kind -> port."""
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for kind in kinds:
            started[kind] = start_server(kind, url)
        yield {kind: port for kind, (_, port) in started.items()}
    finally:
        for proc, _ in started.values():
            stop_server(proc)
