"""A patient scans a location's QR code: their (and their dependants') visits of today at
that clinic are checked in, in one transaction.

Round trips before the check-in itself: one for the location, its clinic's zone and
window, and the scanner's dependants (`stations.load_station`); one for their
appointments around today (`scheduling.visits.visits_between`). Then `arrivals.admit`
per chosen appointment. The signature is checked before anything is read.

Which appointments: those of the scanner and their dependants starting in the
clinic-local day of the scan (widened to the window, so a visit just after midnight or
late the evening before still counts), in person, at the location's clinic. For each:

- cancelled, no-show, held or video: not considered;
- already arrived (checked in, in consultation, completed): ALREADY_CHECKED_IN;
- at another location of the clinic: WRONG_LOCATION (a visit with no location is at the
  clinic at large and may check in at any of its locations);
- outside the window: TOO_EARLY (with when it opens) or APPOINTMENT_EXPIRED.

The rest are eligible. None: the first refusal in the order above (a scan that was already
made shows the ticket; one at the wrong door says where to go), NO_APPOINTMENT_FOUND when
there was nothing to consider. One: it is checked in. Several: the answer lists them
("choose") unless the scan names `appointment_ids` or asks for `all`; a named appointment
that is not eligible gets its own refusal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from clinicflow.checkin import geofence, stations
from clinicflow.checkin.arrivals import admit, already_checked_in, read
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.errors import (
    AppointmentExpired,
    CheckInClosed,
    NoAppointmentFound,
    NotCheckable,
    QrCodeInvalid,
    TooEarly,
    WrongLocation,
)
from clinicflow.checkin.models import Method
from clinicflow.checkin.qr import QrClaims, check_current
from clinicflow.checkin.repository import CheckInRepository
from clinicflow.checkin.schemas import ScanCandidate, ScanCheckedIn, ScanChoice, ScanIn
from clinicflow.checkin.stations import Station
from clinicflow.errors import ClinicflowError
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import visits
from clinicflow.scheduling.state import Action, Status
from clinicflow.scheduling.visits import Visit
from clinicflow.tenancy import service as tenancy

CHECKABLE = frozenset(s.value for s in visits.sources(Action.CHECK_IN))
ARRIVED = frozenset({Status.CHECKED_IN.value, Status.IN_CONSULTATION.value, Status.COMPLETED.value})
IN_PERSON = "in_person"


def day_bounds(station: Station, now: datetime) -> tuple[datetime, datetime]:
    """The clinic-local day of `now` as instants, widened by the window at both ends."""
    day = now.astimezone(station.zone).date()
    start = datetime.combine(day, time(), tzinfo=station.zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=station.zone).astimezone(UTC)
    return min(start, now - station.window.closes_after), max(end, now + station.window.opens_before)


@dataclass(frozen=True, slots=True)
class Judged:
    visit: Visit
    refusal: int | None  # the refusal's rank (lower wins when nothing is eligible); None: eligible


_ALREADY, _ELSEWHERE, _EARLY, _LATE = range(4)


def judge(visit: Visit, station: Station, now: datetime) -> Judged | None:
    """What a scan may do with one visit (None: it is not considered at all)."""
    if visit.kind != IN_PERSON or (visit.status not in CHECKABLE and visit.status not in ARRIVED):
        return None
    if visit.status in ARRIVED:
        return Judged(visit, _ALREADY)
    if visit.location_id is not None and visit.location_id != station.location_id:
        return Judged(visit, _ELSEWHERE)
    if now < station.window.opens_at(visit.starts_at):
        return Judged(visit, _EARLY)
    if now > station.window.closes_at(visit.starts_at):
        return Judged(visit, _LATE)
    return Judged(visit, None)


async def refusal(uow: UnitOfWork, judged: Judged, station: Station, now: datetime) -> ClinicflowError:
    """The error that says why this visit cannot be checked in here and now."""
    visit = judged.visit
    if judged.refusal == _ALREADY:
        existing = await CheckInRepository(uow, visit.tenant_id).for_appointment(visit.id)
        if existing is None:  # started without checking in
            return NotCheckable(
                f"An appointment that is {visit.status} cannot be checked in", current=visit.status
            )
        return already_checked_in(existing)
    if judged.refusal == _ELSEWHERE:
        assert visit.location_id is not None
        place = await tenancy.get_location(uow, tenant_id=visit.tenant_id, location_id=visit.location_id)
        name = place.name if place is not None else None
        return WrongLocation(
            f"This appointment is at {name or 'another location'}: check in there",
            appointment_id=str(visit.id),
            location_id=str(visit.location_id),
            location_name=name,
        )
    try:
        station.window.check(visit.starts_at, now, station.zone)
    except (TooEarly, AppointmentExpired) as exc:
        exc.extra["appointment_id"] = str(visit.id)
        return exc
    raise AssertionError("an eligible visit has no refusal")


def _candidate(visit: Visit, scanner: uuid.UUID) -> ScanCandidate:
    return ScanCandidate(
        appointment_id=visit.id,
        patient_id=visit.patient_id,
        doctor_id=visit.doctor_id,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        location_id=visit.location_id,
        dependant=visit.patient_id != scanner,
    )


async def _chosen(
    uow: UnitOfWork, judged: list[Judged], data: ScanIn, station: Station, now: datetime
) -> list[Visit]:
    """The visits to check in as the scan asked (see the module), or the refusal."""
    if data.appointment_ids is not None:
        by_id = {j.visit.id: j for j in judged}
        picked = []
        for appointment_id in dict.fromkeys(data.appointment_ids):
            one = by_id.get(appointment_id)
            if one is None:
                raise NoAppointmentFound(appointment_id=str(appointment_id))
            if one.refusal is not None:
                raise await refusal(uow, one, station, now)
            picked.append(one.visit)
        return picked
    eligible = [j.visit for j in judged if j.refusal is None]
    if not eligible:
        if not judged:
            raise NoAppointmentFound()
        first = min(judged, key=lambda j: (j.refusal, j.visit.starts_at))
        raise await refusal(uow, first, station, now)
    return eligible


async def check_in_by_qr(
    uow: UnitOfWork, cfg: CheckInConfig, principal: TenantPrincipal, *, claims: QrClaims, data: ScanIn
) -> ScanCheckedIn | ScanChoice:
    """Check the scanner's (and dependants') visits in at the code's location, in the caller's
    transaction (one `check_ins` row each, the appointment `checked_in`, audited, published).

    `claims` come from a token whose signature was verified (`QrKeys.read`); here it is
    checked to be the location's current code. Refusals: QR_CODE_INVALID / QR_CODE_EXPIRED,
    CHECK_IN_DISABLED, OUTSIDE_GEOFENCE (enforced geofence), then those of the module.
    """
    now = cfg.clock.now()
    if claims.tenant_id != principal.tenant_id:
        raise QrCodeInvalid()
    station = await stations.load_station(
        uow, tenant_id=principal.tenant_id, location_id=claims.location_id, patient_id=principal.user_id
    )
    if station is None:
        raise QrCodeInvalid()
    check_current(claims, station.qr, now=now)
    if not station.enabled:
        raise CheckInClosed()
    verdict = geofence.judge(station.fence, data.latitude, data.longitude)
    start, end = day_bounds(station, now)
    found = await visits.visits_between(
        uow,
        tenant_id=principal.tenant_id,
        patient_ids=(principal.user_id, *station.dependants),
        start=start,
        end=end,
        clinic_id=station.clinic_id,
    )
    judged = [j for j in (judge(v, station, now) for v in found) if j is not None]
    chosen = await _chosen(uow, judged, data, station, now)
    if len(chosen) > 1 and data.appointment_ids is None and not data.all:
        return ScanChoice(appointments=[_candidate(v, principal.user_id) for v in chosen])
    rows = []
    for visit in sorted(chosen, key=lambda v: (v.starts_at, v.id)):  # one order: no deadlocks
        row = await admit(
            uow,
            principal.actor,
            visit=visit,
            desk=station.desk,
            window=station.window,
            method=Method.QR,
            now=now,
            checked_in_by=principal.user_id,
            distance_m=verdict.distance_m,
            outside_geofence=verdict.outside,
        )
        rows.append(read(row))
    return ScanCheckedIn(check_ins=rows)
