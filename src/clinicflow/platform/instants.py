"""Instants and calendar days the API accepts: aware, in UTC, and inside the calendar we serve.

Python's `datetime` spans years 1 to 9999, and arithmetic near either end
overflows (`0001-01-01T00:03+01:03` cannot even be converted to UTC). No
clinic books outside 1900-2199, so input outside it is a 422 naming the
field, and every instant past validation can be shifted by days or time
zones safely.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

FIRST_YEAR = 1900
LAST_YEAR = 2199


def utc_instant(value: datetime) -> datetime:
    """An aware datetime within FIRST_YEAR..LAST_YEAR, converted to UTC; ValueError otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a UTC offset, e.g. 2026-05-04T09:00:00+02:00")
    # Checked on the local value first: converting a year-1 or year-9999 value can overflow.
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value.astimezone(UTC)


def calendar_day(value: date) -> date:
    """A date within FIRST_YEAR..LAST_YEAR; ValueError otherwise."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


def wall_time(value: time) -> time:
    """A clock time without an offset (a clinic's local time); ValueError if it has one."""
    if value.tzinfo is not None:
        raise ValueError("must be a local time without an offset, e.g. 09:00")
    return value


#: An instant in input: RFC 3339 with an offset, normalised to UTC.
Instant = Annotated[datetime, AfterValidator(utc_instant)]
#: A calendar day in input (`YYYY-MM-DD`).
Day = Annotated[date, AfterValidator(calendar_day)]
#: A clinic-local clock time, `HH:MM` or `HH:MM:SS`, in input and output. JSON Schema's
#: `time` format is RFC 3339's full-time, which requires an offset a wall time has not.
WallTime = Annotated[
    time,
    AfterValidator(wall_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "partial-time",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
            "examples": ["09:00"],
        }
    ),
]
