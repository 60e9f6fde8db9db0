"""Waitlist error codes."""

from __future__ import annotations

from clinicflow.errors import Conflict
from clinicflow.platform.db.integrity import register_constraint_error


class WaitlistDuplicate(Conflict):
    code = "WAITLIST_DUPLICATE"
    title = "The patient is already waiting for this clinic and doctor"


class WaitlistFull(Conflict):
    code = "WAITLIST_FULL"
    title = "This clinic's waitlist is full"


class OfferNotPending(Conflict):
    code = "OFFER_NOT_PENDING"
    title = "There is no open offer on this entry"


class OfferExpired(Conflict):
    code = "OFFER_EXPIRED"
    title = "The time to answer this offer has passed"


class EntryClosed(Conflict):
    code = "WAITLIST_ENTRY_CLOSED"
    title = "This entry is no longer waiting"


class NoCandidate(Conflict):
    code = "NO_WAITLIST_CANDIDATE"
    title = "Nobody on the waitlist fits this slot"


register_constraint_error("uq_waitlist_entries_live_target", WaitlistDuplicate)
