"""The queue's order: the pure function (`ordering.queue_key`) and the SQL `ORDER BY`
(`ordering.SQL_ORDER_TEXT`, the one the queue's statements use) agree, on generated data
(ties included) and on the real table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from clinicflow.checkin.models import Priority
from clinicflow.checkin.queue.ordering import SQL_ORDER_TEXT, in_queue_order
from clinicflow.checkin.queue.repository import WAITING_SQL
from clinicflow.platform.db import Database
from clinicflow.platform.db.url import libpq_url
from tests.checkin.queue_support import new_patients, open_day, rows, seat
from tests.conftest import ClientFactory
from tests.scheduling.conftest import Practice

BASE = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Generated:
    id: uuid.UUID
    priority: int
    late: bool
    appointment_starts_at: datetime
    queued_at: datetime


# Few distinct values, so that ties on every key but the id are common.
entries = st.builds(
    Generated,
    id=st.uuids(),
    priority=st.sampled_from([int(p) for p in Priority]),
    late=st.booleans(),
    appointment_starts_at=st.sampled_from([BASE + timedelta(minutes=15 * n) for n in range(4)]),
    queued_at=st.sampled_from([BASE + timedelta(seconds=n) for n in range(4)]),
)


def test_the_pure_order_puts_class_before_lateness_before_time_before_arrival() -> None:
    def entry(n: int, priority: int, late: bool, start: int, queued: int) -> Generated:
        return Generated(
            uuid.UUID(int=n), priority, late, BASE + timedelta(hours=start), BASE + timedelta(minutes=queued)
        )

    on_time_late_slot = entry(1, 2, False, 3, 0)
    late_early_slot = entry(2, 2, True, 0, 0)
    urgent_late = entry(3, 0, True, 5, 9)
    first_arrival = entry(4, 2, False, 1, 1)
    second_arrival = entry(5, 2, False, 1, 2)
    same_all_but_id = entry(6, 2, False, 1, 2)
    shuffled = [
        late_early_slot,
        same_all_but_id,
        on_time_late_slot,
        second_arrival,
        urgent_late,
        first_arrival,
    ]
    assert in_queue_order(shuffled) == [
        urgent_late,
        first_arrival,
        second_arrival,
        same_all_but_id,
        on_time_late_slot,
        late_early_slot,
    ]


@pytest.fixture(scope="module")
def sql(database_url: str) -> psycopg.Connection[tuple[object, ...]]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        yield conn


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entries, max_size=25, unique_by=lambda e: e.id))
def test_sql_orders_generated_entries_as_the_pure_function_does(
    sql: psycopg.Connection[tuple[object, ...]], generated: list[Generated]
) -> None:
    values = [(e.id, e.priority, e.late, e.appointment_starts_at, e.queued_at) for e in generated]
    found = sql.execute(
        "SELECT q.id FROM unnest(%s::uuid[], %s::int[], %s::bool[], %s::timestamptz[], %s::timestamptz[])"
        f" AS q(id, priority, late, appointment_starts_at, queued_at) ORDER BY {SQL_ORDER_TEXT}",
        [list(column) for column in zip(*values, strict=True)] if values else [[], [], [], [], []],
    ).fetchall()
    assert [row[0] for row in found] == [e.id for e in in_queue_order(generated)]


async def test_the_queue_statement_reads_the_table_in_the_pure_order(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    patients = await new_patients(database, practice, 6)
    seats = await seat(database, client, day, patients[:3])
    seats += await seat(database, client, day, patients[3:5], priority=Priority.HIGH)
    seats += await seat(database, client, day, patients[5:], priority=Priority.URGENT)
    # A late arrival and ties on appointment time and arrival, set by hand.
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE check_ins SET late = true WHERE id = :id"), {"id": seats[0].check_in_id}
        )
        await conn.execute(
            text("UPDATE check_ins SET appointment_starts_at = :at, queued_at = :at WHERE id = ANY(:ids)"),
            {"at": BASE, "ids": [seats[1].check_in_id, seats[2].check_in_id]},
        )
    stored = await rows(
        database,
        "SELECT id, priority, late, appointment_starts_at, queued_at FROM check_ins WHERE location_id = :l",
        l=day.location_id,
    )
    expected = [e.id for e in in_queue_order(Generated(*row) for row in stored)]
    found = await rows(
        database, WAITING_SQL, tenant_id=practice.tenant.id, location_id=day.location_id, day=day.day
    )
    assert [row[0] for row in found] == expected
    assert expected[0] == seats[5].check_in_id
    assert expected[-1] == seats[0].check_in_id
