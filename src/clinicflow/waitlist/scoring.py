"""Priority scoring: a pure function of the clinic's weights and the entry.

    score(entry, now) = w_tier * tier + w_chronic * chronic + boost + PIN * pinned
                        + w_wait * hours_waited(now)

Time waited grows every score at the same rate within a clinic (one `w_wait`
per clinic), so the order of two entries never changes with time alone.
That lets the queue be ordered by a stored key,

    key = score(entry, now) - w_wait * hours_since_epoch(now)
        = w_tier * tier + w_chronic * chronic + boost + PIN * pinned - w_wait * hours_since_epoch(joined)

which does not depend on `now`: an index on `(tenant, clinic, status, key desc,
created)` serves the queue at any size, and the score shown is recomputed at
read time as `key + w_wait * hours_since_epoch(now)`. When a clinic's weights
change, its keys are recomputed in the same transaction. Ties: earlier join
first, then id.

Offering a freed slot adds `w_fit * fit(entry, slot)`: 1 if the slot matches
the patient's stated window (dates, weekdays, day parts), 0.5 if they stated
none; a slot outside a stated window is not offered to them at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as validated_dataclass

PIN = 1_000_000.0  # pinned entries come before everyone else
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
DAY_PARTS = {"morning": (5, 12), "afternoon": (12, 17), "evening": (17, 23)}


# The one shape of a clinic's weights: the API reads and writes it (`PolicyIn.priority_weights`),
# the policy row maps its four columns to it (`WaitlistPolicy.weights`), scoring computes with it.
@validated_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class Weights:
    """How much each factor counts in a clinic's priority score."""

    wait_time: Annotated[float, Field(ge=0, le=1000)] = 1.0  # points per hour waited
    # points per tier (0-5): one tier = a day of waiting
    priority_tier: Annotated[float, Field(ge=0, le=10_000)] = 24.0
    chronic_condition: Annotated[float, Field(ge=0, le=10_000)] = 48.0
    window_fit: Annotated[float, Field(ge=0, le=10_000)] = 12.0


@dataclass(frozen=True, slots=True)
class Window:
    date_from: date | None = None
    date_to: date | None = None
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    day_parts: tuple[str, ...] = ()  # morning, afternoon, evening

    @property
    def stated(self) -> bool:
        return bool(self.date_from or self.date_to or self.weekdays or self.day_parts)


def hours_since_epoch(at: datetime) -> float:
    return (at - EPOCH).total_seconds() / 3600


def base_score(weights: Weights, *, tier: int, chronic: bool, boost: float, pinned: bool) -> float:
    return (
        weights.priority_tier * tier + weights.chronic_condition * chronic + boost + (PIN if pinned else 0.0)
    )


def order_key(
    weights: Weights, *, tier: int, chronic: bool, boost: float, pinned: bool, joined: datetime
) -> float:
    """The stored, time-independent ordering key (higher first)."""
    return base_score(weights, tier=tier, chronic=chronic, boost=boost, pinned=pinned) - weights.wait_time * (
        hours_since_epoch(joined)
    )


def score(weights: Weights, key: float, now: datetime) -> float:
    """The score at `now` from the stored key."""
    return key + weights.wait_time * hours_since_epoch(now)


def fit(window: Window, starts_at: datetime, tz: ZoneInfo) -> float | None:
    """How well a slot suits the entry: 1.0 inside its stated window, 0.5 with no window
    stated, None when the slot is outside the stated window (not offered)."""
    if not window.stated:
        return 0.5
    local = starts_at.astimezone(tz)
    if window.date_from and local.date() < window.date_from:
        return None
    if window.date_to and local.date() > window.date_to:
        return None
    if window.weekdays and local.weekday() not in window.weekdays:
        return None
    if window.day_parts and not any(
        DAY_PARTS[part][0] <= local.hour < DAY_PARTS[part][1] for part in window.day_parts
    ):
        return None
    return 1.0
