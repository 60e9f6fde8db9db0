"""The embedded server: starts, reuses its data, stops with its last user, survives a kill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinicflow.platform.embedded_pg import prune_stale_handles

pytestmark = pytest.mark.slow

SCRIPT = """
import os, signal, sys
from pathlib import Path
import psycopg
from clinicflow.platform.embedded_pg import start_embedded
from clinicflow.platform.db.url import libpq_url
url = libpq_url(start_embedded(Path(sys.argv[1])))
with psycopg.connect(url, autocommit=True) as conn:
    if sys.argv[2] == "write":
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    else:
        print(conn.execute("SELECT v FROM kept").fetchone()[0])
if sys.argv[3] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _run(var: Path, mode: str, exit_how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(var), mode, exit_how],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _server_running(var: Path) -> bool:
    return (var / "postgres" / "postmaster.pid").exists()


def test_lifecycle_reuse_clean_stop_and_recovery_after_kill(tmp_path: Path) -> None:
    var = tmp_path / "var"

    first = _run(var, "write", "exit")
    assert first.returncode == 0, first.stderr
    assert not _server_running(var), "the last user exiting stops the server"

    killed = _run(var, "read", "kill")
    assert killed.returncode == -9
    assert killed.stdout.strip() == "42"
    assert _server_running(var), "a killed user leaves the server up, with a stale handle"
    stale = json.loads((var / "postgres" / ".handle_pids.json").read_text())
    assert stale, "the killed process's pid is still recorded"

    recovered = _run(var, "read", "exit")
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.strip() == "42", "data survives restarts"
    assert not _server_running(var), "after pruning the dead pid, the last user stops the server"


def test_prune_stale_handles_keeps_live_pids(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    dead = 2**22 + 12345  # above the default pid_max: never a live process
    handles.write_text(json.dumps([os.getppid(), dead]))
    assert prune_stale_handles(tmp_path) == [dead]
    assert json.loads(handles.read_text()) == [os.getppid()]
