"""The embedded server: starts, reuses its data, stops with its last user, survives a kill,
and never changes the mode of a directory outside its own."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from clinicflow.platform.embedded_pg import prune_stale_handles, stop_embedded

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[2]

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
        print(conn.execute("SELECT v FROM kept").fetchone()[0], flush=True)
if sys.argv[3] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _run(var: Path, mode: str, exit_how: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(var), mode, exit_how],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _server_running(var: Path) -> bool:
    return (var / "postgres" / "postmaster.pid").exists()


def _value_read(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.splitlines()[0].strip()


@pytest.fixture
def var(tmp_path: Path) -> Iterator[Path]:
    """A var dir inside a private (0700) directory; any server started in it is stopped after."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    path = private / "checkout" / "var"
    try:
        yield path
    finally:
        stop_embedded(path)
        # As root the data may live outside (see embedded_pg); with its symlink gone,
        # the next start deletes it.
        shutil.rmtree(private)


def test_lifecycle_reuse_clean_stop_and_recovery_after_kill(var: Path) -> None:
    first = _run(var, "write", "exit")
    assert first.returncode == 0, first.stderr
    assert not _server_running(var), "the last user exiting stops the server"

    killed = _run(var, "read", "kill")
    assert killed.returncode == -9
    assert _value_read(killed) == "42"
    assert _server_running(var), "a killed user leaves the server up, with a stale handle"
    stale = json.loads((var / "postgres" / ".handle_pids.json").read_text())
    assert stale, "the killed process's pid is still recorded"

    recovered = _run(var, "read", "exit")
    assert recovered.returncode == 0, recovered.stderr
    assert _value_read(recovered) == "42", "data survives restarts"
    assert not _server_running(var), "after pruning the dead pid, the last user stops the server"


def _modes_of_parents(*paths: Path) -> dict[Path, int]:
    modes: dict[Path, int] = {}
    for path in paths:
        for parent in path.resolve().parents:
            modes[parent] = stat.S_IMODE(parent.stat().st_mode)
    return modes


def test_no_directory_outside_the_project_changes_mode(var: Path) -> None:
    """As root the server runs as another account, yet no parent is opened for it."""
    var.mkdir(parents=True)
    before = _modes_of_parents(CHECKOUT, var, Path(sys.executable))
    private = var.parent.parent
    assert before[private] == 0o700

    killed = _run(var, "write", "kill")  # leaves the server running, to look at it
    assert killed.returncode == -9, killed.stderr
    postmaster = int((var / "postgres" / "postmaster.pid").read_text().split()[0])
    assert psutil.Process(postmaster).uids().effective != 0, "PostgreSQL never runs as root"
    assert stop_embedded(var)
    assert not _server_running(var)

    assert _modes_of_parents(CHECKOUT, var, Path(sys.executable)) == before


def test_stop_embedded_without_a_server_is_a_no_op(var: Path) -> None:
    assert stop_embedded(var) is False


def test_prune_stale_handles_keeps_live_pids(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    dead = 2**22 + 12345  # above the default pid_max: never a live process
    handles.write_text(json.dumps([os.getppid(), dead]))
    assert prune_stale_handles(tmp_path) == [dead]
    assert json.loads(handles.read_text()) == [os.getppid()]
