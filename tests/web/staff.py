"""A clinic day for the staff apps' page tests: a frozen clock, people, a plan, browsers.

The clock stands at 09:00 in Berlin on a Tuesday; the clinic is in Berlin and
its doctor works 08:00-18:00 every day in 30-minute slots. Browsers are httpx
clients over the real app that sign in through `/login` like a person does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from clinicflow.identity import service as identity
from clinicflow.identity.models import User
from clinicflow.identity.roles import Role
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from clinicflow.tenancy.models import Clinic, Tenant
from tests.conftest import ClientFactory
from tests.factories import PASSWORD, bearer, login, make_clinic, make_tenant

BERLIN = ZoneInfo("Europe/Berlin")
#: Tuesday 4 June 2030, 09:00 in Berlin.
START = datetime(2030, 6, 4, 7, 0, tzinfo=UTC)
WEEK = [{"weekday": d, "start": "08:00", "end": "18:00", "slot_minutes": 30} for d in range(7)]


def at(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """A Berlin wall time `days` after the frozen day, as an aware instant."""
    day = START.astimezone(BERLIN).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


@dataclass
class Browser:
    """A signed-in browser: its client and the form token its pages carry."""

    client: httpx.AsyncClient
    token: str

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(path, params=params or None)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token
        return await self.client.post(path, data=form)


async def sign_in(
    client: httpx.AsyncClient, tenant: Tenant, email: str, next_path: str = "/app"
) -> httpx.Response:
    token = form_token((await client.get("/login")).text)
    return await client.post(
        "/login",
        data={
            "csrf_token": token,
            "tenant": tenant.slug,
            "email": email,
            "password": PASSWORD,
            "next": next_path,
        },
    )


@dataclass
class Day:
    """One tenant's clinic on the frozen day, and a way to open browsers in it."""

    tenant: Tenant
    clinic: Clinic
    doctor: User
    patient: User
    api: httpx.AsyncClient
    admin: dict[str, str]
    make_client: ClientFactory
    clock: FrozenClock
    database: Database

    async def browser(self, user: User) -> Browser:
        client = self.make_client(clock=self.clock)
        response = await sign_in(client, self.tenant, user.email)
        assert response.status_code == 303, response.text
        return Browser(client, form_token((await client.get("/login")).text))

    async def person(self, role: Role, name: str, *, clinic_id: uuid.UUID | None = None) -> User:
        return await make_person(self.database, self.tenant, role, name, clinic_id=clinic_id)

    async def book(
        self, starts_at: datetime, *, patient: User | None = None, doctor: User | None = None
    ) -> dict[str, Any]:
        body = {
            "doctor_id": str((doctor or self.doctor).id),
            "clinic_id": str(self.clinic.id),
            "starts_at": starts_at.isoformat(),
            "patient_id": str((patient or self.patient).id),
        }
        now = self.clock.now()
        if starts_at <= now:  # a visit earlier today: booked before it began
            self.clock.set(starts_at - timedelta(hours=1))
        try:
            response = await self.api.post("/api/v1/appointments", json=body, headers=self.admin)
        finally:
            self.clock.set(now)
        assert response.status_code == 201, response.text
        booked: dict[str, Any] = response.json()
        return booked

    async def availability(self, doctor: User | None = None) -> dict[str, Any]:
        response = await self.api.get(
            f"/api/v1/doctors/{(doctor or self.doctor).id}/availability",
            params={"clinic_id": str(self.clinic.id)},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        plan: dict[str, Any] = response.json()
        return plan


async def clinic_day(database: Database, make_client: ClientFactory, *, slug: str | None = None) -> Day:
    """A tenant with a Berlin clinic, its doctor (with a week of hours) and a patient."""
    clock = FrozenClock(START)
    api = make_client(clock=clock)
    tenant = await make_tenant(database, slug=slug)
    clinic = await make_clinic(database, tenant_id=tenant.id, timezone="Europe/Berlin")
    doctor = await make_person(database, tenant, Role.DOCTOR, "Dr Ada Okafor", clinic_id=clinic.id)
    patient = await make_person(database, tenant, Role.PATIENT, "Pat Jones")
    admin_user = await make_person(database, tenant, Role.TENANT_ADMIN, "Ann Admin")
    admin = bearer(await login(api, tenant=tenant.slug, email=admin_user.email))
    plan = {"clinic_id": str(clinic.id), "min_notice_minutes": 0, "horizon_days": 60, "rules": WEEK}
    response = await api.put(f"/api/v1/doctors/{doctor.id}/availability", json=plan, headers=admin)
    assert response.status_code == 200, response.text
    return Day(tenant, clinic, doctor, patient, api, admin, make_client, clock, database)


async def make_person(
    database: Database, tenant: Tenant, role: Role, name: str, *, clinic_id: uuid.UUID | None = None
) -> User:
    """A user with one grant and a name to find on the pages; signs in with PASSWORD."""
    async with database.transaction() as uow:
        return await identity.create_user(
            uow,
            tenant_id=tenant.id,
            email=f"{role.lower()}-{uuid.uuid4().hex[:8]}@example.test",
            full_name=name,
            password=PASSWORD,
            roles=[role],
            clinic_id=clinic_id,
        )
