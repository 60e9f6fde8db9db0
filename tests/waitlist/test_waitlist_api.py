"""The waitlist through the API: lifecycle with a controllable clock, concurrency, roles, input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.platform import runtime
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from clinicflow.platform.jobs import run_worker
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.video import InPersonOnly
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.offers import expire_due
from tests.conftest import ClientFactory, count_rows
from tests.factories import bearer, login, make_member, make_tenant
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def frozen(make_client: ClientFactory, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose app, and the job worker, read the frozen clock."""
    runtime.set_clock(clock)
    try:
        yield make_client(clock=clock)
    finally:
        runtime.set_clock(None)


@pytest.fixture
async def practice(database: Database, frozen: httpx.AsyncClient) -> Practice:
    p = await make_practice(database, frozen)
    await p.set_availability(frozen)
    return p


def cfg(clock: FrozenClock) -> WaitlistConfig:
    return WaitlistConfig(clock=clock, scheduling=SchedulingConfig(clock=clock, video=InPersonOnly()))


async def _patient(
    database: Database, client: httpx.AsyncClient, practice: Practice
) -> tuple[uuid.UUID, dict[str, str]]:
    user, headers = await make_member(database, client, tenant=practice.tenant, role=Role.PATIENT)
    return user.id, headers


async def _join(
    client: httpx.AsyncClient, practice: Practice, headers: dict[str, str], **extra: Any
) -> dict[str, Any]:
    body = {"clinic_id": str(practice.clinic.id), "doctor_id": str(practice.doctor_id), **extra}
    response = await client.post("/api/v1/waitlists", json=body, headers=headers)
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def _entry(client: httpx.AsyncClient, entry_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(f"/api/v1/waitlists/{entry_id}", headers=headers)
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def _drain_events() -> None:
    await run_worker(wait=False, queues=["events"], concurrency=1)


async def _trail(database: Database, entry_id: str) -> tuple[list[str], list[str]]:
    """(audit actions, emitted waitlist events) of one entry, in order."""
    async with database.engine.connect() as conn:
        actions = (
            (
                await conn.execute(
                    text("SELECT action FROM audit_events WHERE subject_id = :id ORDER BY id"),
                    {"id": entry_id},
                )
            )
            .scalars()
            .all()
        )
        events = (
            (
                await conn.execute(
                    text(
                        "SELECT task_name FROM procrastinate_jobs WHERE args->>'entry_id' = :id ORDER BY id"
                    ),
                    {"id": entry_id},
                )
            )
            .scalars()
            .all()
        )
    return list(actions), list(events)


async def _policy(client: httpx.AsyncClient, practice: Practice, **changes: Any) -> httpx.Response:
    url = f"/api/v1/tenants/{practice.tenant.id}/clinics/{practice.clinic.id}/waitlist-policy"
    body = {**(await client.get(url, headers=practice.admin)).json(), **changes}
    body.pop("clinic_id")
    return await client.put(url, json=body, headers=practice.admin)


async def test_full_lifecycle_with_a_controllable_clock(
    frozen: httpx.AsyncClient, database: Database, practice: Practice, clock: FrozenClock
) -> None:
    client = frozen
    assert (await _policy(client, practice, offer_response_minutes=30)).status_code == 200
    slot = tomorrow_at(9)
    booked = await client.post("/api/v1/appointments", json=practice.booking(slot), headers=practice.patient)
    assert booked.status_code == 201

    _, b_headers = await _patient(database, client, practice)
    first = await _join(client, practice, b_headers)
    clock.set(clock.now() + timedelta(hours=1))
    _, c_headers = await _patient(database, client, practice)
    second = await _join(client, practice, c_headers)
    queue = await client.get(
        "/api/v1/waitlists", params={"clinic_id": str(practice.clinic.id)}, headers=practice.doctor
    )
    assert [e["id"] for e in queue.json()["items"]] == [first["id"], second["id"]]  # waited longer

    # A cancellation elsewhere frees the slot: the first in line is invited and the slot held.
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=practice.reception)
    await _drain_events()
    invited = await _entry(client, first["id"], b_headers)
    assert invited["status"] == "invited"
    assert datetime.fromisoformat(invited["respond_by"]) == clock.now() + timedelta(minutes=30)
    walk_in = await client.post(
        "/api/v1/appointments",
        json=practice.booking(slot, patient_id=str(practice.patient_id)),
        headers=practice.reception,
    )
    assert walk_in.status_code == 409  # held for the invitee
    assert walk_in.json()["code"] == "SLOT_UNAVAILABLE"

    # The deadline passes: the first goes back to the queue, the next candidate is invited.
    clock.set(clock.now() + timedelta(minutes=31))
    async with database.transaction() as uow:
        assert await expire_due(uow, cfg(clock)) == 1
    assert (await _entry(client, first["id"], b_headers))["status"] == "active"
    offered = await _entry(client, second["id"], c_headers)
    assert offered["status"] == "invited"

    accepted = await client.post(f"/api/v1/waitlists/{second['id']}/accept", headers=c_headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "promoted"
    appointment = await client.get(
        f"/api/v1/appointments/{accepted.json()['promoted_appointment_id']}", headers=c_headers
    )
    assert appointment.json()["status"] == "scheduled"
    assert datetime.fromisoformat(appointment.json()["starts_at"]) == slot
    again = await client.post(f"/api/v1/waitlists/{second['id']}/accept", headers=c_headers)
    assert again.status_code == 409

    # Each transition: exactly one audit event and one emitted event.
    actions, events = await _trail(database, first["id"])
    assert actions == ["waitlist.joined", "waitlist.invited", "waitlist.offer_expired"]
    assert events == ["waitlist.joined", "waitlist.invited", "waitlist.declined"]
    actions, events = await _trail(database, second["id"])
    assert actions == ["waitlist.joined", "waitlist.invited", "waitlist.promoted"]
    assert events == ["waitlist.joined", "waitlist.invited", "waitlist.promoted"]


async def test_declining_passes_the_slot_on_and_keeps_the_place(
    frozen: httpx.AsyncClient, database: Database, practice: Practice, clock: FrozenClock
) -> None:
    client = frozen
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(10)), headers=practice.patient
    )
    _, b_headers = await _patient(database, client, practice)
    first = await _join(client, practice, b_headers)
    _, c_headers = await _patient(database, client, practice)
    second = await _join(client, practice, c_headers)
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=practice.reception)
    await _drain_events()
    assert (
        await client.post(f"/api/v1/waitlists/{second['id']}/decline", headers=c_headers)
    ).status_code == 409
    declined = await client.post(f"/api/v1/waitlists/{first['id']}/decline", headers=b_headers)
    assert declined.json()["status"] == "active"
    assert (await _entry(client, second["id"], c_headers))["status"] == "invited"


async def test_stale_entries_expire_once(
    frozen: httpx.AsyncClient, database: Database, practice: Practice, clock: FrozenClock
) -> None:
    client = frozen
    assert (await _policy(client, practice, auto_expiry_hours=1)).status_code == 200
    _, headers = await _patient(database, client, practice)
    entry = await _join(client, practice, headers)
    clock.set(clock.now() + timedelta(hours=2))
    async with database.transaction() as uow:
        assert await expire_due(uow, cfg(clock)) == 1
    async with database.transaction() as uow:
        assert await expire_due(uow, cfg(clock)) == 0
    assert (await _entry(client, entry["id"], headers))["status"] == "expired"
    actions, events = await _trail(database, entry["id"])
    assert actions == ["waitlist.joined", "waitlist.expired"]
    assert events == ["waitlist.joined", "waitlist.expired"]
    stats = await client.get(
        "/api/v1/waitlists/stats", params={"clinic_id": str(practice.clinic.id)}, headers=practice.admin
    )
    assert stats.json()["expired_today"] in (0, 1)  # "today" is the clinic's local day
    assert stats.json()["conversion_rate"] == 0.0


async def test_two_admins_promoting_one_entry_make_one_appointment(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    _, headers = await _patient(database, client, practice)
    entry = await _join(client, practice, headers)
    _, other_admin = await make_member(database, client, tenant=practice.tenant, role=Role.TENANT_ADMIN)
    url = f"/api/v1/waitlists/{entry['id']}/promote"
    results = await asyncio.gather(
        client.post(url, json={"starts_at": tomorrow_at(11).isoformat()}, headers=practice.admin),
        client.post(url, json={"starts_at": tomorrow_at(12).isoformat()}, headers=other_admin),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    assert await count_rows(database, "appointments") == 1


async def test_joining_twice_at_once_makes_one_entry_and_the_cap_holds(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    _, headers = await _patient(database, client, practice)
    body = {"clinic_id": str(practice.clinic.id), "doctor_id": str(practice.doctor_id)}
    results = await asyncio.gather(
        *(client.post("/api/v1/waitlists", json=body, headers=headers) for _ in range(10))
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 9
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"WAITLIST_DUPLICATE"}

    assert (await _policy(client, practice, max_queue_size=3)).status_code == 200
    patients = []
    async with database.transaction() as uow:
        for i in range(10):
            user = await identity.create_user(
                uow,
                tenant_id=practice.tenant.id,
                email=f"q{i}-{uuid.uuid4().hex[:6]}@example.test",
                full_name="Q",
                password=None,
                roles=[Role.PATIENT],
            )
            patients.append(user.id)
    joins = await asyncio.gather(
        *(
            client.post("/api/v1/waitlists", json={**body, "patient_id": str(p)}, headers=practice.reception)
            for p in patients
        )
    )
    assert [r.status_code for r in joins].count(201) == 2  # 1 already waiting + 2 = the cap of 3
    assert {r.json()["code"] for r in joins if r.status_code == 409} == {"WAITLIST_FULL"}


async def test_an_offer_racing_a_booking_gives_the_slot_to_exactly_one(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    slot = tomorrow_at(15)
    booked = await client.post("/api/v1/appointments", json=practice.booking(slot), headers=practice.patient)
    _, headers = await _patient(database, client, practice)
    entry = await _join(client, practice, headers)
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=practice.reception)
    other, _ = await _patient(database, client, practice)
    _, booking = await asyncio.gather(
        _drain_events(),
        client.post(
            "/api/v1/appointments",
            json=practice.booking(slot, patient_id=str(other)),
            headers=practice.reception,
        ),
    )
    invited = (await _entry(client, entry["id"], headers))["status"] == "invited"
    assert invited != (booking.status_code == 201)  # exactly one of them has it
    if not invited:
        assert booking.status_code == 201
    else:
        assert booking.json()["code"] == "SLOT_UNAVAILABLE"
    async with database.engine.connect() as conn:
        holders = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM appointments "
                    "WHERE starts_at = :s AND status IN ('held', 'scheduled')"
                ),
                {"s": slot},
            )
        ).scalar_one()
    assert holders == 1


async def test_many_patients_accepting_overlapping_offers_never_double_book(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    day = tomorrow_at(0).weekday()
    await practice.set_availability(
        client,
        rules=[
            {"weekday": day, "start": "09:00", "end": "10:00", "slot_minutes": 30},
            {"weekday": day, "start": "09:15", "end": "10:15", "slot_minutes": 30},
        ],
    )
    a = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(9)), headers=practice.patient
    )
    other, _ = await _patient(database, client, practice)
    b = await client.post(
        "/api/v1/appointments",
        json=practice.booking(tomorrow_at(9, 45), patient_id=str(other)),
        headers=practice.reception,
    )
    assert (a.status_code, b.status_code) == (201, 201)
    waiting = [await _patient(database, client, practice) for _ in range(6)]
    entries = [await _join(client, practice, h) for _, h in waiting]
    for appointment in (a, b):
        await client.post(
            f"/api/v1/appointments/{appointment.json()['id']}/cancel", headers=practice.reception
        )
    await _drain_events()
    # Everyone tries to accept at once, while staff try the overlapping 09:15 slot.
    results = await asyncio.gather(
        *(
            client.post(f"/api/v1/waitlists/{e['id']}/accept", headers=h)
            for e, (_, h) in zip(entries, waiting, strict=True)
        ),
        client.post(
            "/api/v1/appointments",
            json=practice.booking(tomorrow_at(9, 15), patient_id=str(other)),
            headers=practice.reception,
        ),
    )
    assert all(r.status_code in (200, 201, 409) for r in results)
    async with database.engine.connect() as conn:
        overlaps = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM appointments x JOIN appointments y ON x.id < y.id "
                    "AND x.doctor_id = y.doctor_id AND tstzrange(x.blocked_from, x.blocked_until) && "
                    "tstzrange(y.blocked_from, y.blocked_until) "
                    "WHERE x.status IN ('held','scheduled') AND y.status IN ('held','scheduled')"
                )
            )
        ).scalar_one()
    assert overlaps == 0
    accepted = [r for r in results[:-1] if r.status_code == 200]
    assert 1 <= len(accepted) <= 2  # one per freed slot at most


async def test_patients_and_other_clinics_and_tenants_cannot_reach_entries(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    alice, alice_headers = await _patient(database, client, practice)
    entry = await _join(client, practice, alice_headers)
    _, bob_headers = await _patient(database, client, practice)
    assert (await client.get(f"/api/v1/waitlists/{entry['id']}", headers=bob_headers)).status_code == 404
    assert (
        await client.patch(
            f"/api/v1/waitlists/{entry['id']}", json={"status": "cancelled"}, headers=bob_headers
        )
    ).status_code == 404
    assert (await client.get(f"/api/v1/patients/{alice}/waitlists", headers=bob_headers)).status_code == 404
    own = await client.get(f"/api/v1/patients/{alice}/waitlists", headers=alice_headers)
    assert [e["id"] for e in own.json()["items"]] == [entry["id"]]
    assert own.json()["next_cursor"] is None
    for_someone = {"clinic_id": str(practice.clinic.id), "patient_id": str(alice)}
    assert (await client.post("/api/v1/waitlists", json=for_someone, headers=bob_headers)).status_code == 403
    pin = await client.patch(
        f"/api/v1/waitlists/{entry['id']}", json={"pinned": True, "reason": "me first"}, headers=alice_headers
    )
    assert pin.status_code == 403

    # A doctor of another clinic of the tenant sees nothing of this one.
    elsewhere = await make_practice(database, client, tenant=practice.tenant)
    promote = await client.post(
        f"/api/v1/waitlists/{entry['id']}/promote",
        json={"starts_at": tomorrow_at(9).isoformat()},
        headers=elsewhere.doctor,
    )
    assert promote.status_code == 404
    listed = await client.get(
        "/api/v1/waitlists", params={"clinic_id": str(practice.clinic.id)}, headers=elsewhere.doctor
    )
    assert listed.status_code == 404

    # Another tenant: 404 everywhere.
    theirs = await make_practice(database, client, tenant=await make_tenant(database))
    assert (await client.get(f"/api/v1/waitlists/{entry['id']}", headers=theirs.admin)).status_code == 404
    policy = await client.get(
        f"/api/v1/tenants/{practice.tenant.id}/clinics/{practice.clinic.id}/waitlist-policy",
        headers=theirs.admin,
    )
    assert policy.status_code == 404
    assert (await _entry(client, entry["id"], alice_headers))["status"] == "active"


async def test_staff_reorder_with_a_reason_and_it_is_audited(
    frozen: httpx.AsyncClient, database: Database, practice: Practice, clock: FrozenClock
) -> None:
    client = frozen
    _, early_headers = await _patient(database, client, practice)
    early = await _join(client, practice, early_headers)
    clock.set(clock.now() + timedelta(hours=3))
    _, late_headers = await _patient(database, client, practice)
    late = await _join(client, practice, late_headers, priority_tier=0)
    no_reason = await client.patch(
        f"/api/v1/waitlists/{late['id']}", json={"pinned": True}, headers=practice.doctor
    )
    assert no_reason.status_code == 422
    pinned = await client.patch(
        f"/api/v1/waitlists/{late['id']}",
        json={"pinned": True, "reason": "post-surgery review"},
        headers=practice.doctor,
    )
    assert pinned.status_code == 200
    queue = await client.get(
        "/api/v1/waitlists",
        params={"clinic_id": str(practice.clinic.id), "limit": 1},
        headers=practice.doctor,
    )
    assert [e["id"] for e in queue.json()["items"]] == [late["id"]]
    rest = await client.get(
        "/api/v1/waitlists",
        params={"clinic_id": str(practice.clinic.id), "cursor": queue.json()["next_cursor"]},
        headers=practice.doctor,
    )
    assert [e["id"] for e in rest.json()["items"]] == [early["id"]]
    actions, _ = await _trail(database, late["id"])
    assert actions == ["waitlist.joined", "waitlist.reordered"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/waitlists", {"window": {"date_from": "2030-02-02", "date_to": "2030-01-01"}}, "window"),
        ("/api/v1/waitlists", {"clinic_id": "UNKNOWN"}, "clinic_id"),
        ("/api/v1/waitlists", {"priority_tier": 9}, "priority_tier"),
        ("/api/v1/waitlists", {"tenant_id": "x"}, "tenant_id"),
        ("POLICY", {"priority_weights": {"wait_time": -1}}, "priority_weights.wait_time"),
        ("POLICY", {"max_queue_size": 0}, "max_queue_size"),
        ("POLICY", {"quiet_hours_start": "22:00"}, "body"),
    ],
)
async def test_bad_input_is_422_and_changes_nothing(
    frozen: httpx.AsyncClient,
    database: Database,
    practice: Practice,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    client = frozen
    if path == "POLICY":
        url = f"/api/v1/tenants/{practice.tenant.id}/clinics/{practice.clinic.id}/waitlist-policy"
        response = await client.put(url, json=body, headers=practice.admin)
    else:
        payload = {"clinic_id": str(practice.clinic.id), **body}
        if payload["clinic_id"] == "UNKNOWN":
            payload["clinic_id"] = str(uuid.uuid4())
        response = await client.post(path, json=payload, headers=practice.patient)
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert await count_rows(database, "waitlist_entries") == 0
    assert await count_rows(database, "waitlist_policies") == 0


async def test_policy_defaults_and_audited_changes(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    url = f"/api/v1/tenants/{practice.tenant.id}/clinics/{practice.clinic.id}/waitlist-policy"
    defaults = (await client.get(url, headers=practice.patient)).json()
    assert defaults["auto_offer"] is True
    assert defaults["max_queue_size"] == 500
    assert (await client.put(url, json={"auto_offer": False}, headers=practice.doctor)).status_code == 403
    changed = await client.put(
        url,
        json={"auto_offer": False, "templates": {"waitlist_invited": "Hi {name}"}},
        headers=practice.admin,
    )
    assert changed.status_code == 200
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT before, after FROM audit_events "
                    "WHERE action = 'waitlist_policy.updated' AND subject_id = :c"
                ),
                {"c": practice.clinic.id},
            )
        ).one()
    assert row.before == {"auto_offer": True, "templates": {}}
    assert row.after == {"auto_offer": False, "templates": {"waitlist_invited": "Hi {name}"}}


async def test_no_offer_when_auto_offer_is_off_and_manual_invite_works(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    assert (await _policy(client, practice, auto_offer=False)).status_code == 200
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(16)), headers=practice.patient
    )
    _, headers = await _patient(database, client, practice)
    entry = await _join(client, practice, headers)
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=practice.reception)
    await _drain_events()
    assert (await _entry(client, entry["id"], headers))["status"] == "active"
    invite = await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/waitlist/invite", headers=practice.admin
    )
    assert invite.status_code == 200, invite.text
    assert invite.json()["entry"]["id"] == entry["id"]
    again = await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/waitlist/invite", headers=practice.admin
    )
    assert again.status_code == 409
    tokens = await login(
        client,
        tenant=practice.tenant.slug,
        email=(await client.get("/api/v1/users/me", headers=headers)).json()["email"],
    )
    assert (
        await client.post(f"/api/v1/waitlists/{entry['id']}/accept", headers=bearer(tokens))
    ).status_code == 200


async def test_leaving_the_queue_frees_a_place_under_the_cap(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    assert (await _policy(client, practice, max_queue_size=1)).status_code == 200
    _, first_headers = await _patient(database, client, practice)
    first = await _join(client, practice, first_headers)
    _, second_headers = await _patient(database, client, practice)
    body = {"clinic_id": str(practice.clinic.id)}
    full = await client.post("/api/v1/waitlists", json=body, headers=second_headers)
    assert full.json()["code"] == "WAITLIST_FULL"
    cancelled = await client.patch(
        f"/api/v1/waitlists/{first['id']}", json={"status": "cancelled"}, headers=first_headers
    )
    assert cancelled.json()["status"] == "cancelled"
    assert (await client.post("/api/v1/waitlists", json=body, headers=second_headers)).status_code == 201
    async with database.engine.connect() as conn:
        live = (await conn.execute(text("SELECT live_entries FROM waitlist_policies"))).scalar_one()
    assert live == 1


async def test_rescheduling_away_offers_the_old_time(
    frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    client = frozen
    old_time, new_time = tomorrow_at(13), tomorrow_at(13, days=2)
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(old_time), headers=practice.patient
    )
    _, headers = await _patient(database, client, practice)
    entry = await _join(client, practice, headers)
    moved = await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/reschedule",
        json={"starts_at": new_time.isoformat()},
        headers=practice.patient,
    )
    assert moved.status_code == 200
    await _drain_events()
    invited = await _entry(client, entry["id"], headers)
    assert invited["status"] == "invited"
    held = await client.get(f"/api/v1/appointments/{invited['offered_appointment_id']}", headers=headers)
    assert held.json()["status"] == "held"
    assert datetime.fromisoformat(held.json()["starts_at"]) == old_time
