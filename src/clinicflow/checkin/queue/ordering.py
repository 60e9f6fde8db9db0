"""The queue's order: ONE pure function, and the SQL `ORDER BY` that must agree with it.

Waiting entries of one location and clinic-local day are seen in this order:

1. the staff-set priority class (`Priority`: urgent 0, high 1, normal 2), lowest first;
2. on-time arrivals before late ones (`late`: arrived more than the clinic's
   `late_after_minutes` after the start, or skipped: see `moves.skip`);
3. the appointment's start, earliest first;
4. `queued_at`: the arrival, or the moment a skipped patient was sent back;
5. the check-in id (UUIDv7), so that the order is total and repeatable.

`ix_check_ins_queue` holds keys 1-4 in this order (and the id): PostgreSQL reads the
waiting queue from it without touching the table. Python compares UUIDs by their 128-bit
integer and PostgreSQL by their bytes, which is the same order; `False < True` in both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar


class Queued(Protocol):
    """What the order looks at (a waiting row, a test's generated entry)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def priority(self) -> int: ...
    @property
    def late(self) -> bool: ...
    @property
    def appointment_starts_at(self) -> datetime: ...
    @property
    def queued_at(self) -> datetime: ...


@dataclass(frozen=True, order=True, slots=True)
class QueueKey:
    priority: int
    late: bool
    appointment_starts_at: datetime
    queued_at: datetime
    id: uuid.UUID


def queue_key(entry: Queued) -> QueueKey:
    """The entry's place in the order: compare keys to compare places (smaller is seen first)."""
    return QueueKey(entry.priority, entry.late, entry.appointment_starts_at, entry.queued_at, entry.id)


T = TypeVar("T", bound=Queued)


def in_queue_order(entries: Iterable[T]) -> list[T]:
    """The entries sorted in queue order (stable, total)."""
    return sorted(entries, key=queue_key)


#: The same order in SQL (`q` aliases `check_ins`): the keys of `ix_check_ins_queue`, then the id.
SQL_ORDER_TEXT = "q.priority, q.late, q.appointment_starts_at, q.queued_at, q.id"
