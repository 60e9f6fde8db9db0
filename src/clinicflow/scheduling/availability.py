"""Slot generation: a pure function of weekly rules, exceptions, bookings and time.

Rules are written in the clinic's local time; slots are instants (UTC). A
rule's window is turned into two instants first, and slots are stepped in real
time from there, so a slot is always `slot_minutes` long, also on the days
clocks change:

- spring forward: a local time inside the gap does not exist; it resolves to
  the instant just after the gap (a 01:00-04:00 window is 2 real hours that
  day, and a window wholly inside the gap is empty);
- fall back: an ambiguous local time means its first occurrence (a
  01:00-04:00 window is 4 real hours that day).

A window whose end is not after its start (22:00-02:00) ends the next day.
Each slot blocks `[start - buffer_before, end + buffer_after)` of the doctor's
time; slots of one window are laid out so their blocked ranges touch but do
not overlap. Nothing here reads a clock or a database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    weekday: int  # 0 = Monday ... 6 = Sunday (the local day the window starts)
    start: time
    end: time  # not after `start`: the window ends the next day
    slot_minutes: int
    buffer_before: int = 0
    buffer_after: int = 0
    capacity: int = 1
    valid_from: date | None = None  # inclusive, local date
    valid_to: date | None = None  # inclusive, local date
    location_id: uuid.UUID | None = None  # where its visits happen (None: the plan's location)

    def applies_on(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or day >= self.valid_from)
            and (self.valid_to is None or day <= self.valid_to)
        )


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open range of instants `[start, end)`."""

    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    blocked_from: datetime
    blocked_until: datetime
    capacity: int = 1
    # Where the visit happens; not part of a slot's identity or order.
    location_id: uuid.UUID | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Busy:
    """An active appointment's hold on the doctor's time."""

    blocked_from: datetime
    blocked_until: datetime
    starts_at: datetime
    group: bool  # a seat of a group session (capacity > 1)


@dataclass(frozen=True, slots=True)
class FreeSlot:
    slot: Slot
    remaining: int


def _instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant of a local wall time; inside a DST gap, the instant the gap ends."""
    local = datetime.combine(day, at, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant  # exists (ambiguous times resolve to their first occurrence, fold=0)
    other = local.replace(fold=1).astimezone(UTC)
    return _transition_after(min(instant, other), tz)


def _transition_after(instant: datetime, tz: ZoneInfo) -> datetime:
    """The first instant at or after `instant` where the zone's offset changes (within 1 day)."""
    offset = instant.astimezone(tz).utcoffset()
    low, high = instant, instant + timedelta(days=1)
    if high.astimezone(tz).utcoffset() == offset:
        return instant
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == offset:
            low = mid
        else:
            high = mid
    return high.replace(microsecond=0)


def window_of(rule: WeeklyRule, day: date, tz: ZoneInfo) -> Interval:
    """The rule's window on a local day, as instants."""
    end_day = day + timedelta(days=1) if rule.end <= rule.start else day
    return Interval(_instant(day, rule.start, tz), _instant(end_day, rule.end, tz))


def generate_slots(
    rules: Iterable[WeeklyRule],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    exceptions: Sequence[Interval] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> list[Slot]:
    """Slots starting in `[start, end)`, inside the rules, clear of exceptions.

    `not_before` (now + minimum notice) and `not_after` (now + horizon) bound
    the start instants. Where two rules overlap, the first slot at an instant
    wins; overlapping slots from different rules can both be offered, and
    booking one makes the other unavailable.
    """
    rules = list(rules)
    first_day = start.astimezone(tz).date() - timedelta(days=1)  # windows crossing midnight
    last_day = end.astimezone(tz).date()
    seen: set[datetime] = set()
    slots: list[Slot] = []
    day = first_day
    while day <= last_day:
        for rule in rules:
            if not rule.applies_on(day):
                continue
            window = window_of(rule, day, tz)
            length = timedelta(minutes=rule.slot_minutes)
            before = timedelta(minutes=rule.buffer_before)
            after = timedelta(minutes=rule.buffer_after)
            cursor = window.start
            while True:
                slot_start = cursor + before
                slot_end = slot_start + length
                if slot_end + after > window.end:
                    break
                cursor = slot_end + after
                if not (start <= slot_start < end) or slot_start in seen:
                    continue
                if not_before is not None and slot_start < not_before:
                    continue
                if not_after is not None and slot_start > not_after:
                    continue
                blocked = (slot_start - before, slot_end + after)
                if any(x.overlaps(*blocked) for x in exceptions):
                    continue
                seen.add(slot_start)
                slots.append(
                    Slot(slot_start, slot_end, blocked[0], blocked[1], rule.capacity, rule.location_id)
                )
        day += timedelta(days=1)
    slots.sort()
    return slots


def free_slots(candidates: Iterable[Slot], busy: Sequence[Busy]) -> list[FreeSlot]:
    """Candidates minus what active appointments hold.

    A one-seat slot is free when no appointment's blocked range overlaps its
    own. A group slot counts the seats taken at its start instant; any other
    overlapping appointment makes it unavailable.
    """
    free: list[FreeSlot] = []
    for slot in candidates:
        seats = 0
        blocked = False
        for hold in busy:
            if not (hold.blocked_from < slot.blocked_until and slot.blocked_from < hold.blocked_until):
                continue
            if slot.capacity > 1 and hold.group and hold.starts_at == slot.starts_at:
                seats += 1
            else:
                blocked = True
                break
        if not blocked and seats < slot.capacity:
            free.append(FreeSlot(slot, slot.capacity - seats))
    return free
