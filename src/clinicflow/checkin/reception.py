"""Reception checks a patient in: at the desk inside the window (method `staff`), or outside
it with a reason (method `override`). Callers own the unit of work.

Both end in `arrivals.admit` (one check-in per appointment, the appointment `checked_in`,
audited as `appointment.check_in` with the method, and the override's reason, in its
details; queue and appointment events published).
"""

from __future__ import annotations

import uuid

from clinicflow.checkin import policy, stations
from clinicflow.checkin.arrivals import admit, read
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.errors import CheckInClosed
from clinicflow.checkin.models import Method
from clinicflow.checkin.repository import SettingsRepository
from clinicflow.checkin.schemas import CheckInRead
from clinicflow.checkin.stations import Station
from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import visits
from clinicflow.scheduling.state import Action
from clinicflow.scheduling.visits import Visit

P = Permission
_CHECKABLE = frozenset(s.value for s in visits.sources(Action.CHECK_IN))


def _no_desk(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldProblem(field="location_id", message=message)])


async def _desk_for(uow: UnitOfWork, visit: Visit, location_id: uuid.UUID | None) -> Station:
    """Where the arrival is recorded: the location asked for, else the appointment's, else the
    clinic's only check-in location; it must take check-ins for the appointment's clinic."""
    if location_id is None:
        location_id = visit.location_id
    if location_id is None:
        desks = await SettingsRepository(uow, visit.tenant_id).clinic_desks(visit.clinic_id)
        if not desks:
            raise _no_desk("the clinic has no check-in location taking check-ins")
        if len(desks) > 1:
            raise _no_desk("say where the patient checks in: the clinic has several check-in locations")
        location_id = desks[0]
    station = await stations.load_station(uow, tenant_id=visit.tenant_id, location_id=location_id)
    if station is None or station.clinic_id != visit.clinic_id:
        raise _no_desk("not a check-in location of the appointment's clinic")
    if not station.enabled:
        raise CheckInClosed()
    return station


async def _visit(
    uow: UnitOfWork, principal: TenantPrincipal, appointment_id: uuid.UUID, permission: Permission
) -> Visit:
    visit = await visits.get_visit(uow, tenant_id=principal.tenant_id, appointment_id=appointment_id)
    if visit is None:
        raise NotFound("Appointment not found")
    policy.check_receives(principal, visit.clinic_id, permission)
    return visit


async def check_in_at_desk(
    uow: UnitOfWork,
    cfg: CheckInConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    location_id: uuid.UUID | None,
) -> CheckInRead:
    """Check an appointment in at reception (`checkin:staff` at its clinic), inside the clinic's
    window (TOO_EARLY / APPOINTMENT_EXPIRED otherwise: use the override). An appointment
    already checked in is ALREADY_CHECKED_IN with its check-in."""
    visit = await _visit(uow, principal, appointment_id, P.CHECKIN_STAFF)
    station = await _desk_for(uow, visit, location_id)
    now = cfg.clock.now()
    if visit.status in _CHECKABLE:  # otherwise `admit` says what it is (checked in, cancelled)
        station.window.check(visit.starts_at, now, station.zone)
    row = await admit(
        uow,
        principal.actor,
        visit=visit,
        desk=station.desk,
        window=station.window,
        method=Method.STAFF,
        now=now,
        checked_in_by=principal.user_id,
    )
    return read(row)


async def check_in_with_override(
    uow: UnitOfWork,
    cfg: CheckInConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    location_id: uuid.UUID | None,
    reason: str,
) -> CheckInRead:
    """Check an appointment in whatever the window says (`checkin:override` at its clinic),
    method `override`, the reason kept on the check-in and in the audit trail."""
    visit = await _visit(uow, principal, appointment_id, P.CHECKIN_OVERRIDE)
    station = await _desk_for(uow, visit, location_id)
    row = await admit(
        uow,
        principal.actor,
        visit=visit,
        desk=station.desk,
        window=station.window,
        method=Method.OVERRIDE,
        now=cfg.clock.now(),
        checked_in_by=principal.user_id,
        override_reason=reason,
    )
    return read(row)
