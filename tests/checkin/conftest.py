"""A practice (clinic, doctor working every day, patient, reception, admin) for check-in tests,
a client whose app reads a frozen clock, and helpers that set up desks, codes and bookings
through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from clinicflow.platform import runtime
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at


@pytest.fixture
async def practice(database: Database, client: httpx.AsyncClient) -> Practice:
    p = await make_practice(database, client)
    await p.set_availability(client)
    return p


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Tomorrow 10:05 in the clinic (Europe/Berlin): the 10:30 visit's window is open."""
    frozen = FrozenClock(tomorrow_at(10, 5))
    runtime.set_clock(frozen)
    yield frozen
    runtime.set_clock(None)


@pytest.fixture
def frozen(make_client: ClientFactory, clock: FrozenClock) -> httpx.AsyncClient:
    """A client whose app reads the frozen clock (tokens from `client`'s logins work on it)."""
    return make_client(clock=clock)


async def make_desk(
    client: httpx.AsyncClient,
    practice: Practice,
    *,
    clinic_id: uuid.UUID | None = None,
    name: str = "Front desk",
    coordinates: tuple[str, str] | None = None,
    **settings: Any,
) -> str:
    """A clinic location with check-in settings; its id."""
    place: dict[str, Any] = {
        "clinic_id": str(clinic_id or practice.clinic.id),
        "name": name,
        "kind": "checkin_desk",
    }
    if coordinates is not None:
        place |= {"latitude": coordinates[0], "longitude": coordinates[1]}
    created = await client.post("/api/v1/clinic-locations", json=place, headers=practice.admin)
    assert created.status_code == 201, created.text
    location_id = str(created.json()["id"])
    desk = await client.post(
        "/api/v1/appointments/check-in/locations",
        json={"location_id": location_id, **settings},
        headers=practice.admin,
    )
    assert desk.status_code == 201, desk.text
    return location_id


async def code_of(client: httpx.AsyncClient, practice: Practice, location_id: str) -> str:
    """The location's current QR token, as a kiosk page fetches it."""
    shown = await client.get(f"/api/v1/locations/{location_id}/qr-token", headers=practice.admin)
    assert shown.status_code == 200, shown.text
    return str(shown.json()["token"])


async def book(
    client: httpx.AsyncClient,
    practice: Practice,
    starts_at: datetime,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> str:
    """A booking (by the practice's patient, unless `headers` say who); its id."""
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(starts_at, **extra), headers=headers or practice.patient
    )
    assert booked.status_code == 201, booked.text
    return str(booked.json()["id"])


async def scan(
    client: httpx.AsyncClient, headers: dict[str, str], token: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/appointments/check-in/scan-qr", json={"token": token, **extra}, headers=headers
    )


def at(clock: FrozenClock, when: datetime, *, seconds: float = 0) -> None:
    clock.set(when + timedelta(seconds=seconds))
