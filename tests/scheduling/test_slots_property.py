"""Property: every slot offered is inside availability, outside time off, free and bookable —
and once booked it is no longer offered (generated rules, exceptions and bookings)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from clinicflow.platform.db import Database
from tests.scheduling.conftest import make_practice, tomorrow_at

BERLIN = ZoneInfo("Europe/Berlin")

rules_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "day_offset": st.integers(min_value=0, max_value=2),
            "start_quarter": st.integers(min_value=6 * 4, max_value=22 * 4),  # 06:00 .. 22:00
            "length_quarters": st.integers(min_value=2, max_value=16),  # 30 min .. 4 h (may pass midnight)
            "slot_minutes": st.sampled_from([15, 20, 30, 45, 60]),
            "buffer_before": st.sampled_from([0, 0, 5, 10]),
            "buffer_after": st.sampled_from([0, 0, 5, 15]),
            "capacity": st.sampled_from([1, 1, 1, 3]),
        }
    ),
    min_size=1,
    max_size=3,
)
exceptions_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3 * 24 * 4), st.integers(min_value=1, max_value=16)),
    max_size=2,
)
bookings_strategy = st.lists(st.integers(min_value=0, max_value=10_000), max_size=3)


def _rule(spec: dict[str, Any], base_day: datetime) -> dict[str, Any]:
    start_minutes = spec["start_quarter"] * 15
    end_minutes = (start_minutes + spec["length_quarters"] * 15) % (24 * 60)
    day = (base_day + timedelta(days=spec["day_offset"])).date()
    return {
        "weekday": day.weekday(),
        "start": f"{start_minutes // 60:02d}:{start_minutes % 60:02d}",
        "end": f"{end_minutes // 60:02d}:{end_minutes % 60:02d}",
        "slot_minutes": spec["slot_minutes"],
        "buffer_before": spec["buffer_before"],
        "buffer_after": spec["buffer_after"],
        "capacity": spec["capacity"],
        "valid_from": day.isoformat(),
        "valid_to": day.isoformat(),
    }


def _inside_a_rule(slot: dict[str, Any], rules: list[dict[str, Any]]) -> bool:
    starts = datetime.fromisoformat(slot["starts_at"]).astimezone(BERLIN)
    ends = datetime.fromisoformat(slot["ends_at"]).astimezone(BERLIN)
    for rule in rules:
        day = datetime.fromisoformat(rule["valid_from"]).date()
        open_ = datetime.combine(day, time.fromisoformat(rule["start"]), tzinfo=BERLIN)
        close_day = day + timedelta(days=1) if rule["end"] <= rule["start"] else day
        close = datetime.combine(close_day, time.fromisoformat(rule["end"]), tzinfo=BERLIN)
        fits = open_ + timedelta(minutes=rule["buffer_before"]) <= starts
        fits = fits and ends + timedelta(minutes=rule["buffer_after"]) <= close
        if fits and ends - starts == timedelta(minutes=rule["slot_minutes"]):
            return True
    return False


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rule_specs=rules_strategy, exception_specs=exceptions_strategy, booking_picks=bookings_strategy)
async def test_every_offered_slot_is_valid_free_and_bookable(
    client: httpx.AsyncClient,
    database: Database,
    rule_specs: list[dict[str, Any]],
    exception_specs: list[tuple[int, int]],
    booking_picks: list[int],
) -> None:
    practice = await make_practice(database, client)
    base = tomorrow_at(0, days=2)
    rules = [_rule(spec, base) for spec in rule_specs]
    await practice.set_availability(client, rules=rules)
    window_start = base.astimezone(UTC)
    away: list[tuple[datetime, datetime]] = []
    for offset_quarters, length_quarters in exception_specs:
        start = window_start + timedelta(minutes=15 * offset_quarters)
        end = start + timedelta(minutes=15 * length_quarters)
        response = await client.post(
            f"/api/v1/doctors/{practice.doctor_id}/time-off",
            json={
                "clinic_id": str(practice.clinic.id),
                "starts_at": start.isoformat(),
                "ends_at": end.isoformat(),
            },
            headers=practice.admin,
        )
        assert response.status_code == 201, response.text
        away.append((start, end))

    for pick in booking_picks:  # some bookings already exist
        offered = await practice.slots(client, base, days=4)
        if offered:
            slot = offered[pick % len(offered)]
            booked = await client.post(
                "/api/v1/appointments", json=practice.booking(slot["starts_at"]), headers=practice.patient
            )
            assert booked.status_code == 201, booked.text
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT blocked_from, blocked_until, (slot_group_id <> id)::int FROM appointments "
                "WHERE doctor_id = :d AND status = 'scheduled'"
            ),
            {"d": practice.doctor_id},
        )
        taken = [(r[0], r[1], r[2]) for r in rows]

    offered = await practice.slots(client, base, days=4)
    for slot in offered:
        starts = datetime.fromisoformat(slot["starts_at"])
        ends = datetime.fromisoformat(slot["ends_at"])
        assert _inside_a_rule(slot, rules), slot
        assert not any(a < ends and starts < b for a, b in away), slot
        if slot["capacity"] == 1:
            assert not any(a < ends and starts < b for a, b, _ in taken), slot
        assert 1 <= slot["remaining"] <= slot["capacity"]

    if offered:
        chosen = offered[len(offered) // 2]
        response = await client.post(
            "/api/v1/appointments", json=practice.booking(chosen["starts_at"]), headers=practice.patient
        )
        assert response.status_code == 201, response.text
        after = {s["starts_at"]: s for s in await practice.slots(client, base, days=4)}
        if chosen["remaining"] == 1:
            assert chosen["starts_at"] not in after
        else:
            assert after[chosen["starts_at"]]["remaining"] == chosen["remaining"] - 1
