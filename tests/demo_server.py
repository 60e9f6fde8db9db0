"""`clinicflow serve --demo` on a fresh database of its own, for tests that need a real server
(schemathesis, a real browser)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from clinicflow.platform.db.url import libpq_url
from tests.conftest import SMALL_SERVER_POOLS, recreate_database, run_database_name
from tests.platform.processes import free_port


def serve_demo(
    server_url: str, workdir: Path, *, purpose: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start the demo server (logs in `workdir`), yield its base URL, stop it."""
    database = recreate_database(server_url, run_database_name(purpose))
    port = free_port()
    log = workdir / "serve.log"
    server_env = {
        **os.environ,
        "DATABASE_URL": libpq_url(database),
        "CLINICFLOW_VAR_DIR": str(workdir / "var"),
        "CLINICFLOW_LOG_LEVEL": "WARNING",
        **SMALL_SERVER_POOLS,
        **(env or {}),
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "clinicflow.cli", "serve", "--port", str(port), "--demo"],
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # migrations on a busy two-core machine
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
