"""A live clinic day for the demo: whenever `clinicflow serve --demo` starts, today has a queue.

Riverside's walk-in doctor (Dr Mei Tanaka, open around the clock in 5-minute slots) gets
the next six free slots: five patients are checked in at the reception desk and the
first of them is with the doctor; the sixth is the demo patient's, left for her to check
in by scanning the desk's QR code (the README shows it with curl). Idempotent per
clinic-local day: a day that already has check-ins at the desk is left alone.
"""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from clinicflow.checkin import locations as checkin_locations
from clinicflow.checkin import reception
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.queue import moves
from clinicflow.checkin.queue import service as queue
from clinicflow.checkin.queue.schemas import QueueRead
from clinicflow.checkin.schemas import CheckInLocationCreate
from clinicflow.identity import service as identity
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams
from clinicflow.scheduling import availability_service as availability
from clinicflow.scheduling import booking
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.schemas import AvailabilityIn, BookingIn, RuleIn
from clinicflow.tenancy import service as tenancy

WALK_IN_DOCTOR = "dr.tanaka@demo.clinicflow.test"
DEMO_PATIENT = "patient@demo.clinicflow.test"
#: The waiting room's patients (no logins: the demo signs in as Priya, the desk or the doctor).
WAITING = (
    ("tom.evans@demo.clinicflow.test", "Tom Evans"),
    ("lena.kowalski@demo.clinicflow.test", "Lena Kowalski"),
    ("omar.haddad@demo.clinicflow.test", "Omar Haddad"),
    ("grace.liu@demo.clinicflow.test", "Grace Liu"),
    ("noah.brown@demo.clinicflow.test", "Noah Brown"),
)
DESK_NAMES = {"riverside": "Reception desk", "hillview": "Front desk"}


def _admin(tenant_id: uuid.UUID) -> TenantPrincipal:
    return TenantPrincipal(
        subject_id=uuid.uuid4(),
        tenant_id=tenant_id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.TENANT_ADMIN, None),),
    )


def _doctor(tenant_id: uuid.UUID, doctor_id: uuid.UUID, clinic_id: uuid.UUID) -> TenantPrincipal:
    """The walk-in doctor at work: calling patients is a clinician's move (`queue:call`)."""
    return TenantPrincipal(
        subject_id=doctor_id,
        tenant_id=tenant_id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.DOCTOR, clinic_id),),
    )


async def _desks(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The check-in desk of each demo clinic, by clinic slug."""
    clinics, _ = await tenancy.list_clinics(uow, tenant_id=tenant_id, page=PageParams(limit=50))
    found: dict[str, uuid.UUID] = {}
    for clinic in clinics:
        places, _ = await tenancy.list_locations(
            uow, tenant_id=tenant_id, clinic_id=clinic.id, page=PageParams(limit=50)
        )
        for place in places:
            if place.name == DESK_NAMES.get(clinic.slug):
                found[clinic.slug] = place.id
    return found


async def seed_check_in(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, walk_in: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """At first seeding: the desks take check-ins (Riverside's QR printed, Hillview's a rotating
    kiosk), the walk-in doctor's round-the-clock hours, and the waiting room's patients."""
    admin = _admin(tenant_id)
    desks = await _desks(uow, tenant_id)
    for slug, mode in (("riverside", "printed"), ("hillview", "rotating")):
        data = CheckInLocationCreate.model_validate({"location_id": desks[slug], "qr_mode": mode})
        await checkin_locations.create_location(uow, admin, data=data)
    doctor_id, clinic_id = walk_in
    rules = [RuleIn(weekday=day, start=time(0, 0), end=time(23, 55), slot_minutes=5) for day in range(7)]
    await availability.put_availability(
        uow,
        admin,
        doctor_id=doctor_id,
        data=AvailabilityIn(
            clinic_id=clinic_id,
            min_notice_minutes=0,
            horizon_days=30,
            rules=rules,
            location_id=desks["riverside"],
        ),
    )
    for email, name in WAITING:
        user = await identity.create_user(
            uow, tenant_id=tenant_id, email=email, full_name=name, password=None, roles=[Role.PATIENT]
        )
        await identity.add_patient_profile(uow, tenant_id=tenant_id, user_id=user.id, preferred_language="en")


async def ensure_live_day(
    uow: UnitOfWork, scheduling: SchedulingConfig, checkin: CheckInConfig, *, tenant_id: uuid.UUID
) -> bool:
    """Make today a live clinic day at Riverside's desk unless it is one already (see the
    module). Returns True if it booked and checked patients in."""
    doctor_id = await identity.user_id_by_email(uow, tenant_id=tenant_id, email=WALK_IN_DOCTOR)
    desk = (await _desks(uow, tenant_id)).get("riverside")
    if doctor_id is None or desk is None:
        return False  # demo data from before the live day existed
    admin = _admin(tenant_id)
    now = checkin.clock.now()
    board = await queue.read_queue(uow, admin, location_id=desk, day=None, now=now)
    if not isinstance(board, QueueRead) or board.waiting or board.called or board.in_consultation:
        return False
    clinic_id = board.clinic_id
    slots = await availability.free_slots_for(
        uow,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        start=now,
        end=now + timedelta(hours=2),
        now=now,
    )
    patients = [await identity.user_id_by_email(uow, tenant_id=tenant_id, email=e) for e, _ in WAITING]
    priya = await identity.user_id_by_email(uow, tenant_id=tenant_id, email=DEMO_PATIENT)
    if len(slots) < len(WAITING) + 1 or None in patients or priya is None:
        return False
    booked = []
    for slot, patient_id in zip(slots, [*patients, priya], strict=False):
        assert patient_id is not None
        appointment = await booking.book(
            uow,
            scheduling,
            admin,
            data=BookingIn(
                doctor_id=doctor_id,
                clinic_id=clinic_id,
                starts_at=slot.starts_at,
                patient_id=patient_id,
                reason="Walk-in clinic",
            ),
        )
        booked.append(appointment.id)
    for appointment_id in booked[: len(WAITING)]:
        await reception.check_in_at_desk(uow, checkin, admin, appointment_id=appointment_id, location_id=desk)
    doctor = _doctor(tenant_id, doctor_id, clinic_id)
    called = await moves.call_next(uow, checkin.clock, doctor, location_id=desk, doctor_id=doctor_id)
    await moves.apply(uow, checkin.clock, doctor, check_in_id=called.check_in_id, move=moves.START)
    return True
