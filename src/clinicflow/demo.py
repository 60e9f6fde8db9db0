"""Demo data: one tenant with two clinics in different time zones, staff and a patient."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from clinicflow import demo_day
from clinicflow.checkin.config import CheckInConfig
from clinicflow.identity import service as identity
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.clock import SystemClock
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import availability_service as availability
from clinicflow.scheduling import booking
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.schemas import AvailabilityIn, BookingIn, RuleIn
from clinicflow.scheduling.video import InPersonOnly
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.onboarding import onboard_tenant
from clinicflow.tenancy.schemas import ClinicCreate, LocationCreate, LocationKind

DEMO_TENANT_SLUG = "demo"
DEMO_PASSWORD = "clinicflow-demo"


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str


DEMO_LOGINS = (
    Login("tenant admin", "admin@demo.clinicflow.test", DEMO_PASSWORD),
    Login("doctor", "dr.okafor@demo.clinicflow.test", DEMO_PASSWORD),
    Login("doctor", "dr.lindqvist@demo.clinicflow.test", DEMO_PASSWORD),
    Login("receptionist", "frontdesk@demo.clinicflow.test", DEMO_PASSWORD),
    Login("patient", "patient@demo.clinicflow.test", DEMO_PASSWORD),
    Login("clinic admin", "manager.riverside@demo.clinicflow.test", DEMO_PASSWORD),
    Login("platform admin", "ops@clinicflow.test", DEMO_PASSWORD),
    Login("doctor (walk-in)", "dr.tanaka@demo.clinicflow.test", DEMO_PASSWORD),
)


DEMO_CLINICS = (
    ClinicCreate(
        name="Riverside Family Clinic",
        slug="riverside",
        timezone="Europe/London",
        address_line1="12 Embankment Road",
        city="London",
        postal_code="SE1 7PB",
        country_code="GB",
        max_daily_appointments=400,
    ),
    ClinicCreate(
        name="Hillview Medical Centre",
        slug="hillview",
        timezone="America/New_York",
        address_line1="300 Summit Ave",
        city="Albany",
        region="NY",
        postal_code="12203",
        country_code="US",
        max_daily_appointments=250,
    ),
)
#: The check-in desk of each demo clinic, in DEMO_CLINICS order; each also has two rooms.
DEMO_DESKS = ("Reception desk", "Front desk")


@dataclass(frozen=True)
class StaffMember:
    login: Login
    full_name: str
    role: Role
    clinic: int  # index into DEMO_CLINICS
    specialty: str | None = None
    license_number: str | None = None


DEMO_STAFF = (
    StaffMember(DEMO_LOGINS[1], "Dr Ada Okafor", Role.DOCTOR, 0, "General practice", "GMC-7012345"),
    StaffMember(DEMO_LOGINS[2], "Dr Erik Lindqvist", Role.DOCTOR, 1, "Dermatology", "NY-209981"),
    StaffMember(DEMO_LOGINS[7], "Dr Mei Tanaka", Role.DOCTOR, 0, "Urgent care", "GMC-7099001"),
    StaffMember(DEMO_LOGINS[3], "Sam Rivera", Role.RECEPTIONIST, 0),
    StaffMember(DEMO_LOGINS[5], "Morgan Blake", Role.CLINIC_ADMIN, 0),
)


async def seed_demo(uow: UnitOfWork) -> bool:
    """Create the demo tenant unless it exists. Returns True if it created it.

    All of it in the caller's unit of work: the tenant and its admin, the clinics
    and their locations, staff, a patient, weekly schedules with one upcoming
    visit, check-in at each clinic's desk with a walk-in doctor and the waiting
    room's patients (`demo_day`), and the platform admin (if missing).
    """
    if await tenancy.get_tenant_by_slug(uow, slug=DEMO_TENANT_SLUG) is not None:
        return False
    tenant = await onboard_tenant(
        uow,
        name="Demo Health Group",
        slug=DEMO_TENANT_SLUG,
        admin_email=DEMO_LOGINS[0].email,
        admin_password=DEMO_PASSWORD,
    )
    clinic_ids = await _seed_clinics(uow, tenant_id=tenant.id)
    doctors = await _seed_staff(uow, tenant_id=tenant.id, clinic_ids=clinic_ids)
    patient = await identity.create_user(
        uow,
        tenant_id=tenant.id,
        email=DEMO_LOGINS[4].email,
        full_name="Priya Shah",
        password=DEMO_PASSWORD,
        roles=[Role.PATIENT],
    )
    await identity.add_patient_profile(uow, tenant_id=tenant.id, user_id=patient.id, preferred_language="en")
    await _seed_schedules(uow, tenant_id=tenant.id, doctors=doctors[:2], patient_id=patient.id)
    await demo_day.seed_check_in(uow, tenant_id=tenant.id, walk_in=doctors[2])
    if not await identity.platform_admin_exists(uow, email=DEMO_LOGINS[6].email):
        await identity.create_platform_admin(
            uow, email=DEMO_LOGINS[6].email, full_name="Platform Ops", password=DEMO_PASSWORD
        )
    return True


async def live_day(uow: UnitOfWork, scheduling: SchedulingConfig, checkin: CheckInConfig) -> bool:
    """Make today a live clinic day for the demo tenant (`demo_day.ensure_live_day`)."""
    tenant = await tenancy.get_tenant_by_slug(uow, slug=DEMO_TENANT_SLUG)
    if tenant is None:
        return False
    return await demo_day.ensure_live_day(uow, scheduling, checkin, tenant_id=tenant.id)


async def _seed_clinics(uow: UnitOfWork, *, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """The demo clinics, each with its check-in desk and two rooms; their ids in DEMO_CLINICS order."""
    clinic_ids = []
    for data, desk in zip(DEMO_CLINICS, DEMO_DESKS, strict=True):
        clinic = await tenancy.create_clinic(uow, tenant_id=tenant_id, data=data)
        clinic_ids.append(clinic.id)
        locations = [
            LocationCreate(clinic_id=clinic.id, name=desk, kind=LocationKind.CHECKIN_DESK, radius_m=50)
        ]
        locations += [
            LocationCreate(clinic_id=clinic.id, name=room, kind=LocationKind.ROOM)
            for room in ("Room 1", "Room 2")
        ]
        for location in locations:
            await tenancy.create_location(uow, tenant_id=tenant_id, data=location)
    return clinic_ids


async def _seed_staff(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """DEMO_STAFF with their profiles; returns (doctor id, clinic id) of each doctor."""
    doctors: list[tuple[uuid.UUID, uuid.UUID]] = []
    for member in DEMO_STAFF:
        clinic_id = clinic_ids[member.clinic]
        user = await identity.create_user(
            uow,
            tenant_id=tenant_id,
            email=member.login.email,
            full_name=member.full_name,
            password=DEMO_PASSWORD,
            roles=[member.role],
            clinic_id=clinic_id,
        )
        if member.specialty is not None:
            await identity.add_staff_profile(
                uow,
                tenant_id=tenant_id,
                user_id=user.id,
                specialty=member.specialty,
                license_number=member.license_number,
            )
        if member.role is Role.DOCTOR:
            doctors.append((user.id, clinic_id))
    return doctors


async def _seed_schedules(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctors: list[tuple[uuid.UUID, uuid.UUID]],
    patient_id: uuid.UUID,
) -> None:
    """Weekday clinics 09:00-17:00 (lunch 12:30-13:30) and one upcoming visit for the patient."""
    seeder = TenantPrincipal(
        subject_id=patient_id,
        tenant_id=tenant_id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.TENANT_ADMIN, None),),
    )
    windows = [("09:00", "12:30"), ("13:30", "17:00")]
    for doctor_id, clinic_id in doctors:
        rules = [
            RuleIn(weekday=day, start=time.fromisoformat(a), end=time.fromisoformat(b), slot_minutes=30)
            for day in range(5)
            for a, b in windows
        ]
        await availability.put_availability(
            uow,
            seeder,
            doctor_id=doctor_id,
            data=AvailabilityIn(clinic_id=clinic_id, min_notice_minutes=60, horizon_days=90, rules=rules),
        )
    doctor_id, clinic_id = doctors[0]
    now = datetime.now(UTC)
    slots = await availability.free_slots_for(
        uow,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        start=now,
        end=now + timedelta(days=14),
        now=now,
    )
    if slots:
        config = SchedulingConfig(clock=SystemClock(), video=InPersonOnly())
        await booking.book(
            uow,
            config,
            seeder,
            data=BookingIn(
                doctor_id=doctor_id,
                clinic_id=clinic_id,
                starts_at=slots[len(slots) // 2].starts_at,
                patient_id=patient_id,
                reason="Annual check-up",
            ),
        )
