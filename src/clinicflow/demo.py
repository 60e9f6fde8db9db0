"""Demo data: one tenant with two clinics in different time zones, staff and a patient."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.models import LocationKind
from clinicflow.tenancy.onboarding import onboard_tenant
from clinicflow.tenancy.schemas import ClinicCreate, LocationCreate

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
)


async def seed_demo(uow: UnitOfWork) -> bool:
    """Create the demo tenant unless it exists. Returns True if it created it."""
    if await tenancy.get_tenant_by_slug(uow, slug=DEMO_TENANT_SLUG) is not None:
        return False
    tenant = await onboard_tenant(
        uow,
        name="Demo Health Group",
        slug=DEMO_TENANT_SLUG,
        admin_email=DEMO_LOGINS[0].email,
        admin_password=DEMO_PASSWORD,
    )
    riverside = await tenancy.create_clinic(
        uow,
        tenant_id=tenant.id,
        data=ClinicCreate(
            name="Riverside Family Clinic",
            slug="riverside",
            timezone="Europe/London",
            address_line1="12 Embankment Road",
            city="London",
            postal_code="SE1 7PB",
            country_code="GB",
            max_daily_appointments=400,
        ),
    )
    hillview = await tenancy.create_clinic(
        uow,
        tenant_id=tenant.id,
        data=ClinicCreate(
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
    for clinic, desk in ((riverside, "Reception desk"), (hillview, "Front desk")):
        await tenancy.create_location(
            uow,
            tenant_id=tenant.id,
            data=LocationCreate(clinic_id=clinic.id, name=desk, kind=LocationKind.CHECKIN_DESK, radius_m=50),
        )
        for room in ("Room 1", "Room 2"):
            await tenancy.create_location(
                uow,
                tenant_id=tenant.id,
                data=LocationCreate(clinic_id=clinic.id, name=room, kind=LocationKind.ROOM),
            )
    staff = (
        (DEMO_LOGINS[1], "Dr Ada Okafor", Role.DOCTOR, riverside.id, "General practice", "GMC-7012345"),
        (DEMO_LOGINS[2], "Dr Erik Lindqvist", Role.DOCTOR, hillview.id, "Dermatology", "NY-209981"),
        (DEMO_LOGINS[3], "Sam Rivera", Role.RECEPTIONIST, riverside.id, None, None),
        (DEMO_LOGINS[5], "Morgan Blake", Role.CLINIC_ADMIN, riverside.id, None, None),
    )
    for login, full_name, role, clinic_id, specialty, license_number in staff:
        user = await identity.create_user(
            uow,
            tenant_id=tenant.id,
            email=login.email,
            full_name=full_name,
            password=DEMO_PASSWORD,
            roles=[role],
            clinic_id=clinic_id,
        )
        if specialty is not None:
            await identity.add_staff_profile(
                uow, tenant_id=tenant.id, user_id=user.id, specialty=specialty, license_number=license_number
            )
    patient = await identity.create_user(
        uow,
        tenant_id=tenant.id,
        email=DEMO_LOGINS[4].email,
        full_name="Priya Shah",
        password=DEMO_PASSWORD,
        roles=[Role.PATIENT],
    )
    await identity.add_patient_profile(uow, tenant_id=tenant.id, user_id=patient.id, preferred_language="en")
    if not await identity.platform_admin_exists(uow, email=DEMO_LOGINS[6].email):
        await identity.create_platform_admin(
            uow, email=DEMO_LOGINS[6].email, full_name="Platform Ops", password=DEMO_PASSWORD
        )
    return True
