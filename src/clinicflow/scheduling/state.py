"""Appointment statuses and the transitions between them: the one table to read.

    scheduled ─confirm─▶ confirmed ─check_in─▶ checked_in ─start─▶ in_consultation ─complete─▶ completed
    scheduled, confirmed, checked_in ─cancel─▶ cancelled
    scheduled, confirmed, checked_in ─no_show─▶ no_show (checked in, called, never came)
    scheduled, confirmed ─reschedule─▶ scheduled (a new time needs confirming again)
    held ─accept_offer─▶ scheduled; held ─release─▶ cancelled (waitlist offers)

`checked_in` is reached through check-in (`checkin`, via `scheduling.visits`) or staff. `TRANSITIONS`
below is the authority; this drawing summarises it.
"""

from __future__ import annotations

from enum import StrEnum

from clinicflow.scheduling.errors import InvalidTransition


class Status(StrEnum):
    HELD = "held"  # kept for a waitlist offer until the patient answers
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    IN_CONSULTATION = "in_consultation"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Action(StrEnum):
    CONFIRM = "confirm"
    CHECK_IN = "check_in"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    NO_SHOW = "no_show"
    RESCHEDULE = "reschedule"
    ACCEPT_OFFER = "accept_offer"
    RELEASE = "release"


S, A = Status, Action

# fmt: off
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (S.SCHEDULED,       A.CONFIRM):    S.CONFIRMED,
    (S.SCHEDULED,       A.CHECK_IN):   S.CHECKED_IN,
    (S.CONFIRMED,       A.CHECK_IN):   S.CHECKED_IN,
    (S.CHECKED_IN,      A.START):      S.IN_CONSULTATION,
    (S.SCHEDULED,       A.START):      S.IN_CONSULTATION,  # walk-in straight to the room
    (S.CONFIRMED,       A.START):      S.IN_CONSULTATION,
    (S.IN_CONSULTATION, A.COMPLETE):   S.COMPLETED,
    (S.SCHEDULED,       A.CANCEL):     S.CANCELLED,
    (S.CONFIRMED,       A.CANCEL):     S.CANCELLED,
    (S.CHECKED_IN,      A.CANCEL):     S.CANCELLED,
    (S.SCHEDULED,       A.NO_SHOW):    S.NO_SHOW,
    (S.CONFIRMED,       A.NO_SHOW):    S.NO_SHOW,
    (S.CHECKED_IN,      A.NO_SHOW):    S.NO_SHOW,  # called from the queue and never came
    (S.SCHEDULED,       A.RESCHEDULE): S.SCHEDULED,
    (S.CONFIRMED,       A.RESCHEDULE): S.SCHEDULED,  # a new time needs confirming again
    (S.HELD,            A.ACCEPT_OFFER): S.SCHEDULED,  # the waitlisted patient took the offer
    (S.HELD,            A.RELEASE):    S.CANCELLED,  # declined or not answered in time
}
# fmt: on

ACTIVE = frozenset({S.HELD, S.SCHEDULED, S.CONFIRMED, S.CHECKED_IN, S.IN_CONSULTATION})


def next_status(current: Status, action: Action) -> Status:
    """The status `action` leads to from `current`, or InvalidTransition (409)."""
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise InvalidTransition(
            f"An appointment that is {current} cannot {action.replace('_', ' ')}",
            current=current.value,
            action=action.value,
        )
    return target
