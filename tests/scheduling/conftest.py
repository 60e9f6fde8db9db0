"""A clinic with a doctor who works every day, a patient, a receptionist and an admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.tenancy.models import Clinic, Tenant
from tests.factories import make_clinic, make_member, make_tenant

WEEK = [{"weekday": d, "start": "08:00", "end": "18:00", "slot_minutes": 30} for d in range(7)]


@dataclass
class Practice:
    tenant: Tenant
    clinic: Clinic
    doctor_id: uuid.UUID
    doctor: dict[str, str]
    patient_id: uuid.UUID
    patient: dict[str, str]
    reception: dict[str, str]
    admin: dict[str, str]

    async def set_availability(
        self, client: httpx.AsyncClient, rules: list[dict[str, Any]] | None = None, **settings: Any
    ) -> httpx.Response:
        body = {
            "clinic_id": str(self.clinic.id),
            "min_notice_minutes": 0,
            "horizon_days": 60,
            "rules": WEEK if rules is None else rules,
            **settings,
        }
        response = await client.put(
            f"/api/v1/doctors/{self.doctor_id}/availability", json=body, headers=self.admin
        )
        assert response.status_code == 200, response.text
        return response

    async def slots(self, client: httpx.AsyncClient, start: datetime, days: int = 1) -> list[dict[str, Any]]:
        params = {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}
        response = await client.get(
            f"/api/v1/doctors/{self.doctor_id}/slots", params=params, headers=self.patient
        )
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        assert page["next_cursor"] is None, "more than one page of slots: ask for a shorter range"
        found: list[dict[str, Any]] = page["items"]
        return found

    def booking(self, starts_at: str | datetime, **extra: Any) -> dict[str, Any]:
        when = starts_at.isoformat() if isinstance(starts_at, datetime) else starts_at
        return {
            "doctor_id": str(self.doctor_id),
            "clinic_id": str(self.clinic.id),
            "starts_at": when,
            **extra,
        }


def tomorrow_at(hour: int, minute: int = 0, *, days: int = 1) -> datetime:
    """A clinic-local (Europe/Berlin) wall time `days` from today, as an aware instant."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    day = (datetime.now(UTC) + timedelta(days=days)).astimezone(berlin).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=berlin)


async def make_practice(
    database: Database, client: httpx.AsyncClient, tenant: Tenant | None = None
) -> Practice:
    tenant = tenant or await make_tenant(database)
    clinic = await make_clinic(database, tenant_id=tenant.id, timezone="Europe/Berlin")
    doctor, doctor_headers = await make_member(
        database, client, tenant=tenant, role=Role.DOCTOR, clinic_id=clinic.id
    )
    async with database.transaction() as uow:
        await identity.add_staff_profile(
            uow, tenant_id=tenant.id, user_id=doctor.id, specialty="General practice", license_number="L-1"
        )
    patient, patient_headers = await make_member(database, client, tenant=tenant, role=Role.PATIENT)
    _, reception = await make_member(
        database, client, tenant=tenant, role=Role.RECEPTIONIST, clinic_id=clinic.id
    )
    _, admin = await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN)
    # No patient cut-off by default: tests book "tomorrow" at fixed local times, and a 24-hour
    # cut-off would make patients' own changes pass or fail depending on the time of day.
    # The cut-off test sets its own policy.
    policy = await client.put(
        f"/api/v1/clinics/{clinic.id}/scheduling-policy",
        json={"patient_cancel_cutoff_minutes": 0},
        headers=admin,
    )
    assert policy.status_code == 200, policy.text
    return Practice(tenant, clinic, doctor.id, doctor_headers, patient.id, patient_headers, reception, admin)


@pytest.fixture
async def practice(database: Database, client: httpx.AsyncClient) -> Practice:
    p = await make_practice(database, client)
    await p.set_availability(client)
    return p
