"""Wait-time estimates: pure functions over one snapshot of a location's queue.

Per doctor, the consult length is the median of their recent consults (`in_consultation →
completed`, the last `SAMPLE_SIZE` within `SAMPLE_DAYS`, read by `QueueRepository.snapshot`),
or the clinic's `default_consult_minutes` when they have none. The median, because one
forgotten "complete" (a three-hour consult) must not move everyone's estimate.

A waiting patient's estimate is the work in front of them with their doctor:

    remaining of each consult in progress (its length minus its elapsed time, at least
      MIN_REMAINING: an overrunning consult still ends later, not now)
    + one consult for each patient called but not yet in the room
    + one consult for each patient ahead of them in the queue for the same doctor.

`position` is 1 + the number ahead for the same doctor: when the patient will be called.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SAMPLE_SIZE = 20
SAMPLE_DAYS = 14
MIN_REMAINING = timedelta(minutes=1)
#: A patient waits "far longer than the estimate" past LONG_WAIT_FACTOR x the estimate plus this.
LONG_WAIT_FACTOR = 1.5
LONG_WAIT_GRACE = timedelta(minutes=15)


def consult_length(seconds: Iterable[float], default: timedelta) -> timedelta:
    """The median of the recent consult lengths (positive ones), or `default` without any."""
    samples = [s for s in seconds if s > 0]
    if not samples:
        return default
    return timedelta(seconds=statistics.median(samples))


@dataclass(slots=True)
class DoctorLoad:
    """What a doctor has in hand now: consults in progress (their start) and patients called."""

    consult: timedelta
    started: list[datetime] = field(default_factory=list)
    called: int = 0

    def busy_for(self, now: datetime) -> timedelta:
        """The work before the doctor reaches their next waiting patient."""
        remaining = sum((max(self.consult - (now - at), MIN_REMAINING) for at in self.started), timedelta())
        return remaining + self.consult * self.called


@dataclass(frozen=True, slots=True)
class Estimate:
    position: int  # 1: the next one this doctor calls
    ahead: int  # waiting before this patient for the same doctor
    minutes: int  # estimated wait, whole minutes rounded up

    def as_event(self) -> dict[str, int]:
        return {"position": self.position, "ahead": self.ahead, "estimate_minutes": self.minutes}


def minutes_of(duration: timedelta) -> int:
    return max(0, math.ceil(duration.total_seconds() / 60))


def estimate_waits(
    waiting: Sequence[tuple[uuid.UUID, uuid.UUID]],
    loads: Mapping[uuid.UUID, DoctorLoad],
    *,
    default: timedelta,
    now: datetime,
) -> dict[uuid.UUID, Estimate]:
    """Each waiting entry's estimate. `waiting`: (check-in id, doctor id) in queue order;
    `loads`: per doctor (a doctor missing from it has nothing in hand and the default length)."""
    # Per doctor, keyed by the id's integer (a UUID hashes in Python, an int in C: this loop
    # runs for every waiting patient on every queue read and change).
    ahead: dict[int, int] = {}
    busy: dict[int, tuple[timedelta, timedelta]] = {}  # (in hand, one consult)
    result: dict[uuid.UUID, Estimate] = {}
    for check_in_id, doctor_id in waiting:
        doctor = doctor_id.int
        if doctor not in busy:
            load = loads.get(doctor_id) or DoctorLoad(consult=default)
            busy[doctor] = (load.busy_for(now), load.consult)
        in_hand, consult = busy[doctor]
        before = ahead.get(doctor, 0)
        wait = in_hand + consult * before
        result[check_in_id] = Estimate(position=before + 1, ahead=before, minutes=minutes_of(wait))
        ahead[doctor] = before + 1
    return result


def expected_since_queued(load: DoctorLoad, *, served: int, ahead: int) -> timedelta:
    """What the estimates promised for the work done and left since an entry was queued: one
    consult for each patient of the doctor served since then (called, then finished), in
    hand now, or still ahead."""
    return load.consult * (served + len(load.started) + load.called + ahead)


def is_long_wait(*, waited: timedelta, expected: timedelta) -> bool:
    """Waiting far longer than expected: past LONG_WAIT_FACTOR x `expected` + LONG_WAIT_GRACE."""
    return waited > expected * LONG_WAIT_FACTOR + LONG_WAIT_GRACE
