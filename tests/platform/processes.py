"""Real `clinicflow serve` / `clinicflow worker` processes and a TCP proxy that can cut PostgreSQL off.

Used by the fault tests: processes are killed with SIGKILL, the database is made
to refuse connections, and the tests look at what is left in PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

DEMO_PASSWORD = "clinicflow-demo"
DEMO_PATIENT = "patient@demo.clinicflow.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Process:
    """One CLI process, its output in a log file (shown when a test fails to start it)."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        handle = log.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "clinicflow.cli", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no clean-up, no unregistering, sockets closed by the kernel."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class Cluster:
    """Starts serve and worker processes on one database; stops whatever is left at the end."""

    def __init__(self, database_url: str, var_dir: Path, **settings: str) -> None:
        self.database_url = database_url
        self.var_dir = var_dir  # shared, so secrets (and issued tokens) survive restarts
        self.settings = settings
        self.processes: list[Process] = []

    def env(self, database_url: str | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": database_url or self.database_url,
            "CLINICFLOW_ENV": "test",
            "CLINICFLOW_VAR_DIR": str(self.var_dir),
            "CLINICFLOW_LOG_LEVEL": "WARNING",
            "CLINICFLOW_LOGIN_RATE_PER_ADDRESS": "100000/minute",
            "CLINICFLOW_LOGIN_RATE_PER_ACCOUNT": "100000/minute",
            "CLINICFLOW_RATE_LIMIT_PREFIX": f"faults-{uuid.uuid4().hex}",
            **self.settings,
        }

    def serve(
        self, *extra: str, port: int | None = None, database_url: str | None = None, demo: bool = True
    ) -> tuple[Process, str]:
        """Start `clinicflow serve` and wait until it is ready; returns it and its base URL."""
        port = port or free_port()
        args = ["serve", "--port", str(port), *(["--demo"] if demo else []), *extra]
        process = self._start(args, database_url)
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(process, base_url)
        return process, base_url

    def worker(self, *extra: str) -> Process:
        return self._start(["worker", *extra], None)

    def _start(self, args: list[str], database_url: str | None) -> Process:
        log = self.var_dir / f"{args[0]}-{len(self.processes)}.log"
        process = Process(args, env=self.env(database_url), log=log)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()


def wait_until_ready(process: Process, base_url: str, *, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.args} exited:\n{process.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"{process.args} not ready after {timeout} s:\n{process.output()}")


async def demo_login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": "demo", "email": DEMO_PATIENT, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def libpq(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def via(sqlalchemy_url: str, port: int) -> str:
    """The same database reached through 127.0.0.1:`port` (the proxy)."""
    url = make_url(sqlalchemy_url).difference_update_query(["host"]).set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


def _connect(upstream: tuple[str, int] | str) -> socket.socket:
    if isinstance(upstream, str):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.settimeout(5)
        server.connect(upstream)
    else:
        server = socket.create_connection(upstream, timeout=5)
    server.settimeout(None)
    return server


class PostgresProxy:
    """A TCP proxy in threads: `cut()` closes every connection and refuses new ones; `restore()`
    accepts again. To the server behind it, that is a database that went away and came back."""

    def __init__(self, upstream: tuple[str, int] | str) -> None:
        """`upstream`: a TCP (host, port), or the path of a Unix socket (the embedded server's)."""
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(512)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() then frees the port.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = _connect(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)


@contextlib.contextmanager
def proxy_to(sqlalchemy_url: str) -> Iterator[PostgresProxy]:
    url = make_url(sqlalchemy_url)
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        # The embedded server listens on a Unix socket only.
        proxy = PostgresProxy(f"{socket_dir}/.s.PGSQL.{url.port or 5432}")
    else:
        proxy = PostgresProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.cut()


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    return body
