"""Scheduling error codes."""

from __future__ import annotations

from clinicflow.errors import Conflict, ValidationFailed
from clinicflow.platform.db.integrity import register_constraint_error


class SlotUnavailable(Conflict):
    code = "SLOT_UNAVAILABLE"
    title = "This time is no longer available"


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"
    title = "The appointment cannot go to that status from its current one"


class OutsideAvailability(ValidationFailed):
    code = "OUTSIDE_AVAILABILITY"
    title = "The doctor does not offer this time"


class InThePast(ValidationFailed):
    code = "IN_THE_PAST"
    title = "The time is in the past"


class InsideMinimumNotice(ValidationFailed):
    code = "INSIDE_MINIMUM_NOTICE"
    title = "The time is too soon to book"


class BeyondHorizon(ValidationFailed):
    code = "BEYOND_HORIZON"
    title = "The time is too far ahead to book"


class CancellationTooLate(Conflict):
    code = "CANCELLATION_TOO_LATE"
    title = "It is too late to cancel online; please call the clinic"


class SeriesConflict(Conflict):
    code = "SERIES_CONFLICT"
    title = "Some occurrences of the series are not available"


register_constraint_error("ex_appointments_no_double_booking", SlotUnavailable)
register_constraint_error("ck_group_slots_seats", SlotUnavailable)
