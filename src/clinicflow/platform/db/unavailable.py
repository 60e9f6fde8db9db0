"""Which exceptions mean "the database cannot serve us now" (503, retry), not a bug (500).

One classification for every path: ORM writes, direct psycopg reads, the job
worker, readiness. Drivers wrap each other (SQLAlchemy wraps psycopg,
procrastinate wraps both), so the whole cause/context chain is examined.
"""

from __future__ import annotations

import socket

import psycopg
from psycopg_pool import PoolTimeout
from sqlalchemy import exc as sa_exc

#: Seconds a client is told to wait (Retry-After) when the database is unavailable.
RETRY_AFTER_SECONDS = 1

#: How long a psycopg pool keeps retrying one lost connection (backoff 1, 2, 4 s ...) before
#: it gives up on it. Its default, 300 s, lets the backoff grow so long that a pool could wait
#: half a minute after the database is back; once a pool has given up, the next checkout
#: connects at once.
RECONNECT_WINDOW_SECONDS = 4.0


def is_unavailable(exc: BaseException) -> bool:
    """True if `exc`, or anything it was raised from, says the database is unreachable or saturated.

    Covers: refused, reset or timed-out connections (OS errors and psycopg's
    OperationalError, e.g. "too many clients", "the database system is
    shutting down"), a connection that died mid-use, and a pool with no free
    connection in time (SQLAlchemy's TimeoutError, psycopg_pool's PoolTimeout).
    A serialization failure or deadlock is an OperationalError to psycopg too,
    but it is an answer about the data: not this.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _says_unavailable(current):
            return True
        orig = current.orig if isinstance(current, sa_exc.DBAPIError) else None
        if isinstance(orig, BaseException) and _says_unavailable(orig):
            return True
        current = current.__cause__ or current.__context__
    return False


#: SQLSTATE classes that mean the server cannot serve now: connection exception, insufficient
#: resources ("too many clients", out of memory, disk full), operator intervention (shutting
#: down, cannot connect now, statement timeout), system error.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58")


def _says_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError | PoolTimeout):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, psycopg.OperationalError):
        # No SQLSTATE: the client never got an answer (refused, reset, timed out).
        # Other classes (40: serialization failure, deadlock) are answers about the data.
        sqlstate = exc.sqlstate
        return sqlstate is None or sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
    if isinstance(exc, psycopg.InterfaceError):  # a connection that was closed under us
        return True
    return isinstance(exc, ConnectionError | TimeoutError | socket.gaierror)
