"""scripts/try-it.sh, as the README tells people to run it, against a real `clinicflow serve --demo`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import SMALL_SERVER_POOLS, admin_dsn, recreate_database, run_database_name, server_slot
from tests.platform.processes import free_port

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "try-it.sh"


@pytest.fixture(scope="module")
def demo_server(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`clinicflow serve --demo` on a free port and its own database; stopped and dropped after."""
    with server_slot():
        yield from _demo_server(server_url, tmp_path_factory)


def _demo_server(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("tryit")
    name = run_database_name("tryit")
    url = recreate_database(server_url, name)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CLINICFLOW_VAR_DIR": str(tmp_path / "var"),
        "CLINICFLOW_RATE_LIMIT_PREFIX": f"tryit-{port}",
        "CLINICFLOW_LOG_LEVEL": "WARNING",
        **SMALL_SERVER_POOLS,
    }
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "clinicflow.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"serve exited early:\n{(tmp_path / 'serve.log').read_text()}"
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve never became ready"
            time.sleep(0.5)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        with psycopg.connect(admin_dsn(server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_try_it_walks_login_clinics_doctors_slots_booking_and_read_back(demo_server: str) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), demo_server], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "signed in as Priya Shah <patient@demo.clinicflow.test>, roles PATIENT" in out
    assert "Riverside Family Clinic (London, Europe/London)" in out
    assert "Dr Ada Okafor" in out
    assert ": scheduled," in out
    assert "you have 3 appointment(s), the new one among them" in out  # check-up, walk-in, ours
    assert out.rstrip().endswith(f"every step passed against {demo_server}")


def test_try_it_fails_loudly_when_the_server_refuses(demo_server: str) -> None:
    env = {**os.environ, "TRYIT_PASSWORD": "not-the-password"}
    result = subprocess.run(
        ["bash", str(SCRIPT), demo_server], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 1
    assert "POST /api/v1/auth/login answered HTTP 401" in result.stderr
    assert "every step passed" not in result.stdout


def test_try_it_says_when_nothing_is_listening() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        ["bash", str(SCRIPT), base], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert f"GET /health/ready: no answer from {base} (is `make run` going?)" in result.stderr
