"""The process's long-lived resources, set once at start-up.

Background jobs run outside any request, so they find the database here.
Requests get it from the app's state through a dependency instead.
"""

from __future__ import annotations

from clinicflow.platform.clock import Clock, SystemClock
from clinicflow.platform.db.database import Database

_database: Database | None = None


def set_database(database: Database | None) -> None:
    global _database
    _database = database


def database() -> Database:
    """The process's database; raises if start-up has not set it."""
    if _database is None:
        raise RuntimeError("the database is not configured in this process")
    return _database


_clock: Clock = SystemClock()


def set_clock(clock: Clock | None) -> None:
    """Replace the process's clock (tests freeze it; None restores the system clock)."""
    global _clock
    _clock = clock or SystemClock()


def clock() -> Clock:
    """The clock jobs use, so time-based rules are testable end to end."""
    return _clock
