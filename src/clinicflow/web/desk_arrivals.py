"""What the desk's today page knows about arrivals: each clinic's check-in locations (where a
patient may be checked in) and, for the appointments already in a queue, their ticket and
when they arrived. A refused check-in is said in words, with the override it allows.

Read through check-in's services: `checkin.locations.list_locations` (the clinics where
the desk reads the queue) and `checkin.queue.service.read_queue` (today's queue of each
location, the staff view).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request

from clinicflow.checkin import locations
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.queue import service as queue
from clinicflow.checkin.queue.schemas import QueueRead
from clinicflow.checkin.schemas import CheckInLocationRead
from clinicflow.errors import ClinicflowError
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams
from clinicflow.tenancy.schemas import ClinicRead
from clinicflow.web.weeks import zone_of

#: Appointment statuses the desk may check in (the others say what they are).
CHECKABLE = frozenset({"scheduled", "confirmed"})
#: Window refusals the override answers.
OVERRIDABLE = frozenset({"TOO_EARLY", "APPOINTMENT_EXPIRED"})
#: Most channels one page's stream follows (the stream's own bound).
MAX_CHANNELS = 20


@dataclass(frozen=True, slots=True)
class Arrival:
    """An appointment in today's queue: its ticket, when it arrived (clinic clock), where it is."""

    ticket: str
    checked_in_at: datetime
    queue_status: str
    location_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Arrivals:
    """A clinic's check-in locations taking check-ins today, and who has arrived."""

    desks: list[CheckInLocationRead] = field(default_factory=list)
    arrived: dict[uuid.UUID, Arrival] = field(default_factory=dict)

    def desk_for(self, location_id: uuid.UUID | None) -> uuid.UUID | None:
        """The location a check-in form starts on: the appointment's own if it takes check-ins,
        else the first."""
        ids = [d.location_id for d in self.desks]
        if location_id in ids:
            return location_id
        return ids[0] if ids else None


def checkin_of(request: Request) -> CheckInConfig:
    """The app's check-in configuration (its clock, its QR keys)."""
    config: CheckInConfig = request.app.state.checkin
    return config


async def arrivals_at(
    uow: UnitOfWork, principal: TenantPrincipal, clinic: ClinicRead, now: datetime
) -> Arrivals:
    """The clinic's check-in locations the desk may use and today's arrivals in their queues
    (none where the principal does not read the queue)."""
    if not principal.can(Permission.QUEUE_READ, clinic_id=clinic.id):
        return Arrivals()
    page = PageParams(limit=100)
    listed, _ = await locations.list_locations(uow, principal, clinic_id=clinic.id, page=page)
    zone = zone_of(clinic)
    arrived: dict[uuid.UUID, Arrival] = {}
    for desk in listed:
        read = await queue.read_queue(uow, principal, location_id=desk.location_id, day=None, now=now)
        if not isinstance(read, QueueRead):
            continue
        for entry in (*read.waiting, *read.called, *read.in_consultation):
            arrived[entry.appointment_id] = Arrival(
                entry.ticket, entry.checked_in_at.astimezone(zone), entry.status, desk.location_id
            )
    return Arrivals([d for d in listed if d.enabled], arrived)


def channels_of(clinics: list[ClinicRead], arrivals: dict[uuid.UUID, Arrivals]) -> str:
    """The stream's channels: each clinic's (appointments), then its locations' queues."""
    names = [f"clinic:{c.id}" for c in clinics]
    names += [f"queue:{d.location_id}" for c in clinics for d in arrivals[c.id].desks]
    return ",".join(names[:MAX_CHANNELS])


def refusal_of(error: ClinicflowError, appointment_id: uuid.UUID) -> dict[str, Any]:
    """A refused check-in as the page says it: the service's own title and sentence, and
    whether the override answers it."""
    return {
        "appointment_id": appointment_id,
        "code": error.code,
        "title": error.title,
        "detail": error.detail if error.detail != error.title else None,
        "overridable": error.code in OVERRIDABLE,
    }
