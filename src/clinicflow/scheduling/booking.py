"""Appointments' public surface, by the names the routes and other domains call.

The use cases live in `scheduling/appointments/`: `booking` (book), `reads`
(see one, list), `transitions` (confirm ... cancel, no-show), `rescheduling`;
holds for waitlist offers are in `holds.py`, follow-ups and series in
`recurring.py`. Callers own the unit of work; nothing here commits. Every
change writes an audit event and emits a domain event in the same transaction.
"""

from __future__ import annotations

from clinicflow.scheduling.appointments.booking import book, book_once
from clinicflow.scheduling.appointments.reads import get_visible, list_appointments, read
from clinicflow.scheduling.appointments.rescheduling import reschedule
from clinicflow.scheduling.appointments.transitions import transition
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.policy import patient_for_booking as resolve_patient

__all__ = [
    "SchedulingConfig",
    "book",
    "book_once",
    "get_visible",
    "list_appointments",
    "read",
    "reschedule",
    "resolve_patient",
    "transition",
]
