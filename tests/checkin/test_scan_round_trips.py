"""SQL round trips of a QR scan, counted on the wire (tests/scheduling/wire.py), as the
booking's are: the scan is the day's core path (issue 13's bench compares it with a bare
INSERT, so every turn it saves shows there).

What is counted: the turns of the scan's transaction (its `-write` connection). The
principal's lookup is another part of the app (cached, and read on its own pool).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from clinicflow.app import create_app
from clinicflow.config import Settings
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from tests.checkin.conftest import book, code_of, make_desk, scan
from tests.conftest import count_rows
from tests.scheduling.conftest import Practice, tomorrow_at
from tests.scheduling.wire import Wire

#: BEGIN, the station, the visits, the check-in itself (the appointment's move, its audit
#: and job, the ticket and the row, in one pipeline), the events, COMMIT. It was 10 before
#: the pipeline (each of the check-in's five statements a round trip).
SCAN_ROUND_TRIPS = 6


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
async def wired(
    wire: Wire, database_url: str, settings: Settings, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app on the frozen clock whose every database connection goes through `wire`."""
    url = make_url(database_url).set(host="127.0.0.1", port=wire.port, query={"sslmode": "disable"})
    db = Database(url.render_as_string(hide_password=False), pool_size=1, max_overflow=0, read_pool_size=1)
    app = create_app(
        settings=settings.model_copy(update={"rate_limit_prefix": "scan-round-trips"}),
        database=db,
        clock=clock,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinicflow.test") as client:
        yield client
    await db.dispose()


async def test_a_scan_checks_in_within_its_round_trip_budget(
    wire: Wire, wired: httpx.AsyncClient, client: httpx.AsyncClient, practice: Practice, database: Database
) -> None:
    desk = await make_desk(client, practice)
    code = await code_of(client, practice, desk)
    first = await book(client, practice, tomorrow_at(10, 30))
    second = await book(client, practice, tomorrow_at(10))
    warm = await scan(wired, practice.patient, code, appointment_ids=[first])
    assert warm.status_code == 200, warm.text
    wire.reset()
    scanned = await scan(wired, practice.patient, code, appointment_ids=[second])
    assert scanned.status_code == 200, scanned.text
    turns = wire.count("-write")
    print(f"round trips per scan: {turns}")
    assert turns <= SCAN_ROUND_TRIPS, "\n".join(
        f"{name}: {opening[:160]!r}" for name, opening in wire.openings
    )
    assert [c["appointment_id"] for c in scanned.json()["check_ins"]] == [second]
    assert await count_rows(database, "check_ins") == 2
