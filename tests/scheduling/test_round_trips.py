"""SQL round trips of the core path, counted on the wire (tests/scheduling/wire.py).

Authentication is not counted: another part of the app caches the principal. Its
cost is measured by a request that does nothing else (a directory page the app
has cached) and subtracted, so these figures stay right with or without that cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import make_url

from clinicflow.app import create_app
from clinicflow.config import Settings
from clinicflow.platform.db import Database
from tests.conftest import count_rows
from tests.scheduling.conftest import Practice, tomorrow_at
from tests.scheduling.wire import Wire

#: Issue 12's budget, BEGIN and COMMIT included.
BOOKING_ROUND_TRIPS = 4
BOOKING_WITH_KEY_ROUND_TRIPS = 5
SLOT_SEARCH_ROUND_TRIPS = 2


@pytest.fixture
async def wire(database_url: str) -> AsyncIterator[Wire]:
    url = make_url(database_url)
    socket_dir = url.query.get("host")
    unix = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if isinstance(socket_dir, str) else None
    proxy = Wire(url.host or "127.0.0.1", url.port or 5432, target_socket=unix)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def wired(wire: Wire, database_url: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose every database connection goes through `wire`."""
    url = make_url(database_url).set(host="127.0.0.1", port=wire.port, query={"sslmode": "disable"})
    # (`query` replaced whole: an embedded server's `host=<socket dir>` must not win over the proxy)
    db = Database(url.render_as_string(hide_password=False), pool_size=1, max_overflow=0, read_pool_size=1)
    app = create_app(settings=settings.model_copy(update={"rate_limit_prefix": "round-trips"}), database=db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinicflow.test") as client:
        yield client
    await db.dispose()


async def _authentication_turns(wire: Wire, client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """Round trips of authenticating a request (a cached directory page does nothing else)."""
    first = await client.get("/api/v1/doctors", headers=headers)
    assert first.status_code == 200, first.text
    wire.reset()
    assert (await client.get("/api/v1/doctors", headers=headers)).status_code == 200
    return wire.count("")


async def test_a_booking_takes_at_most_four_round_trips_and_five_with_an_idempotency_key(
    wire: Wire, wired: httpx.AsyncClient, practice: Practice, database: Database
) -> None:
    auth = await _authentication_turns(wire, wired, practice.patient)
    warm = await wired.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(8)), headers=practice.patient
    )
    assert warm.status_code == 201, warm.text

    wire.reset()
    booked = await wired.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    assert booked.status_code == 201, booked.text
    plain = wire.count("") - auth
    plain_openings = list(wire.openings)

    wire.reset()
    keyed = await wired.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(10)),
        headers={**practice.patient, "Idempotency-Key": "round-trips-1"},
    )
    assert keyed.status_code == 201, keyed.text
    with_key = wire.count("") - auth

    print(f"round trips per booking: {plain}, with Idempotency-Key: {with_key} (auth: {auth})")
    assert plain <= BOOKING_ROUND_TRIPS, plain_openings
    assert with_key <= BOOKING_WITH_KEY_ROUND_TRIPS, wire.openings
    assert await count_rows(database, "appointments") == 3
    jobs = await count_rows(database, "procrastinate_jobs")
    assert jobs >= 3  # each booking deferred its event in the same transaction


async def test_a_slot_search_takes_at_most_two_round_trips(
    wire: Wire, wired: httpx.AsyncClient, practice: Practice
) -> None:
    auth = await _authentication_turns(wire, wired, practice.patient)
    start = tomorrow_at(0)
    params = {"from": start.isoformat(), "to": (start + timedelta(days=7)).isoformat()}
    url = f"/api/v1/doctors/{practice.doctor_id}/slots"
    assert (await wired.get(url, params=params, headers=practice.patient)).status_code == 200
    wire.reset()
    found = await wired.get(url, params=params, headers=practice.patient)
    assert found.status_code == 200, found.text
    assert len(found.json()["items"]) == 7 * 20
    turns = wire.count("") - auth
    print(f"round trips per slot search: {turns} (auth: {auth})")
    assert turns <= SLOT_SEARCH_ROUND_TRIPS, wire.openings
