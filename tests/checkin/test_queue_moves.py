"""Moving patients through the queue over HTTP: call next, recall, skip, start, complete,
no-show, priority; illegal moves (409, with clear codes), bad input (422, nothing changed),
who may not (403) and another tenant's entries (404); what each move publishes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.checkin.queue_support import (
    FIVE_MINUTES,
    ClinicDay,
    new_patients,
    open_day,
    rows,
    scalar,
    seat,
    second_doctor,
)
from tests.conftest import ClientFactory
from tests.factories import make_member
from tests.scheduling.conftest import Practice, make_practice


async def _status(client: httpx.AsyncClient, practice: Practice, appointment_id: uuid.UUID) -> str:
    shown = await client.get(f"/api/v1/appointments/{appointment_id}", headers=practice.reception)
    status: str = shown.json()["status"]
    return status


async def _call(day: ClinicDay, headers: dict[str, str], **body: str) -> httpx.Response:
    return await day.api.post(day.path("/call-next"), json=body or None, headers=headers)


async def test_a_visit_from_call_to_completion(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    first, second = await seat(database, client, day, await new_patients(database, practice, 2))
    doctor = practice.doctor

    called = await _call(day, doctor)  # the doctor's own queue by default
    assert called.status_code == 200, called.text
    assert called.json()["check_in_id"] == str(first.check_in_id)
    assert called.json()["status"] == "called"
    assert await _status(client, practice, first.appointment_id) == "checked_in"  # moves at start
    queue = await day.queue(doctor)
    assert [c["check_in_id"] for c in queue["called"]] == [str(first.check_in_id)]
    assert queue["called"][0]["called_at"] is not None
    # The next patient now waits for a doctor who has one patient called: one consult ahead.
    assert [(w["position"], w["estimate_minutes"]) for w in queue["waiting"]] == [(1, 15)]

    recalled = await day.move(first.check_in_id, "recall", doctor)
    assert recalled.status_code == 200
    assert recalled.json()["status"] == "called"
    started = await day.move(first.check_in_id, "start", doctor)
    assert started.status_code == 200
    assert started.json()["status"] == "in_consultation"
    assert await _status(client, practice, first.appointment_id) == "in_consultation"
    completed = await day.move(first.check_in_id, "complete", doctor)
    assert completed.status_code == 200
    assert completed.json()["status"] == "completed"
    assert await _status(client, practice, first.appointment_id) == "completed"

    stored = (
        await rows(
            database,
            "SELECT called_by, recall_count, called_at <= started_at, started_at <= completed_at"
            " FROM check_ins WHERE id = :id",
            id=first.check_in_id,
        )
    )[0]
    assert tuple(stored) == (practice.doctor_id, 1, True, True)
    audits = await scalar(
        database,
        "SELECT string_agg(action, ',' ORDER BY id) FROM audit_events WHERE subject_id = :id",
        id=first.check_in_id,
    )
    assert audits == "queue.called,queue.recall,queue.start,queue.complete"
    assert (await day.queue(doctor))["waiting"][0]["check_in_id"] == str(second.check_in_id)


async def positions_after(database: Database, event_id: int) -> list[Any]:
    """The `queue.position` events published after `event_id`, as (channel, data), in order."""
    return await rows(
        database,
        "SELECT channel, data FROM realtime_events WHERE type = 'queue.position' AND id > :after ORDER BY id",
        after=event_id,
    )


async def test_every_change_tells_the_location_and_the_patients_whose_place_moved(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    seats = await seat(database, client, day, await new_patients(database, practice, 3))
    before_the_call = await scalar(database, "SELECT coalesce(max(id), 0) FROM realtime_events")

    assert (await _call(day, practice.doctor)).status_code == 200

    queue_events = await rows(
        database,
        "SELECT type, data->>'status', data->>'ticket' FROM realtime_events WHERE channel = :c",
        c=f"queue:{day.location_id}",
    )
    assert ("queue.updated", "called", "A-001") in [tuple(e) for e in queue_events]
    positions = await positions_after(database, before_the_call)
    told = {channel: data for channel, data in positions}
    assert told[f"patient:{seats[0].patient_id}"]["status"] == "called"
    assert told[f"patient:{seats[1].patient_id}"] == {
        "check_in_id": str(seats[1].check_in_id),
        "location_id": str(day.location_id),
        "status": "waiting",
        "position": 1,
        "ahead": 0,
        "estimate_minutes": 15,
    }
    assert told[f"patient:{seats[2].patient_id}"]["position"] == 2
    assert len(positions) == 3


async def test_an_arrival_ahead_of_waiting_patients_tells_them_their_new_place(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    """A check-in is a queue change too: a patient with an earlier appointment arriving after
    two with later ones sorts ahead of them, and each of the three hears their place."""
    day = await open_day(database, client, make_client, practice)
    early_slot = day.slots.pop(0)  # kept for the third patient: the earliest appointment
    first, second = await seat(database, client, day, await new_patients(database, practice, 2))
    day.slots.insert(0, early_slot)
    before = await scalar(database, "SELECT coalesce(max(id), 0) FROM realtime_events")

    (early,) = await seat(database, client, day, await new_patients(database, practice, 1))

    positions = await positions_after(database, before)
    told = {channel: data for channel, data in positions}
    assert {c: (d["position"], d["ahead"]) for c, d in told.items()} == {
        f"patient:{early.patient_id}": (1, 0),
        f"patient:{first.patient_id}": (2, 1),
        f"patient:{second.patient_id}": (3, 2),
    }
    assert told[f"patient:{second.patient_id}"]["estimate_minutes"] == 30  # two consults ahead
    order = [w["check_in_id"] for w in (await day.queue(practice.reception))["waiting"]]
    assert order == [str(early.check_in_id), str(first.check_in_id), str(second.check_in_id)]


async def test_an_arrival_at_the_end_of_the_queue_moves_nobody_else(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    await seat(database, client, day, await new_patients(database, practice, 1))
    before = await scalar(database, "SELECT coalesce(max(id), 0) FROM realtime_events")
    (last,) = await seat(database, client, day, await new_patients(database, practice, 1))
    told = await positions_after(database, before)
    assert [channel for channel, _ in told] == [f"patient:{last.patient_id}"]  # her own place only


async def test_an_arrival_moves_only_the_patients_of_its_own_doctor(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    """Places and estimates are per doctor: an early appointment with one doctor arriving
    after a colleague's patients stands first in its own doctor's line and tells nobody else."""
    day = await open_day(database, client, make_client, practice)
    colleague_id, _ = await second_doctor(database, client, practice)
    plan = {"clinic_id": str(practice.clinic.id), "min_notice_minutes": 0, "horizon_days": 60}
    ruled = await client.put(
        f"/api/v1/doctors/{colleague_id}/availability",
        json=plan | {"rules": FIVE_MINUTES},
        headers=practice.admin,
    )
    assert ruled.status_code == 200, ruled.text
    early_slot = day.slots.pop(0)
    patients = await new_patients(database, practice, 2)
    theirs = await seat(database, client, day, patients, doctor_id=colleague_id)
    day.slots.insert(0, early_slot)
    before = await scalar(database, "SELECT coalesce(max(id), 0) FROM realtime_events")

    (mine,) = await seat(database, client, day, await new_patients(database, practice, 1))

    told = await positions_after(database, before)
    assert [(c, d["position"], d["ahead"]) for c, d in told] == [(f"patient:{mine.patient_id}", 1, 0)]
    waiting = (await day.queue(practice.reception))["waiting"]
    order = [str(mine.check_in_id), *(str(t.check_in_id) for t in theirs)]
    assert [w["check_in_id"] for w in waiting] == order
    assert [w["ahead"] for w in waiting] == [0, 0, 1]  # each doctor's own line


async def test_skip_sends_a_patient_behind_the_on_time_ones_and_priority_brings_one_forward(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    a, b, c = await seat(database, client, day, await new_patients(database, practice, 3))

    skipped = await day.move(a.check_in_id, "skip", practice.doctor)
    assert skipped.status_code == 200
    assert skipped.json()["status"] == "waiting"
    order = [w["check_in_id"] for w in (await day.queue(practice.reception))["waiting"]]
    assert order == [str(b.check_in_id), str(c.check_in_id), str(a.check_in_id)]

    raised = await day.api.put(
        f"/api/v1/queues/entries/{c.check_in_id}/priority", json={"priority": 0}, headers=practice.reception
    )
    assert raised.status_code == 200
    assert raised.json()["priority"] == 0
    order = [w["check_in_id"] for w in (await day.queue(practice.reception))["waiting"]]
    assert order == [str(c.check_in_id), str(b.check_in_id), str(a.check_in_id)]
    assert await scalar(database, "SELECT skip_count FROM check_ins WHERE id = :id", id=a.check_in_id) == 1


async def test_a_called_patient_who_never_came_is_a_no_show(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    (only,) = await seat(database, client, day, await new_patients(database, practice, 1))

    early = await day.move(only.check_in_id, "no-show", practice.doctor)
    assert early.status_code == 409
    assert early.json()["code"] == "QUEUE_INVALID_TRANSITION"
    assert early.json()["current"] == "waiting"
    assert early.json()["action"] == "no_show"
    assert (await _call(day, practice.doctor)).status_code == 200
    gone = await day.move(only.check_in_id, "no-show", practice.doctor)
    assert gone.status_code == 200
    assert gone.json()["status"] == "no_show"
    assert await _status(client, practice, only.appointment_id) == "no_show"
    empty = await _call(day, practice.doctor)
    assert empty.status_code == 409
    assert empty.json()["code"] == "QUEUE_EMPTY"


async def test_illegal_moves_are_409_and_change_nothing(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    (only,) = await seat(database, client, day, await new_patients(database, practice, 1))

    for move in ("recall", "start", "complete", "no-show"):
        refused = await day.move(only.check_in_id, move, practice.doctor)
        assert refused.status_code == 409, (move, refused.text)
        assert refused.json()["code"] == "QUEUE_INVALID_TRANSITION"
        assert refused.json()["current"] == "waiting"
    assert (await _call(day, practice.doctor)).status_code == 200
    assert (await day.move(only.check_in_id, "complete", practice.doctor)).status_code == 409
    priority = await day.api.put(
        f"/api/v1/queues/entries/{only.check_in_id}/priority", json={"priority": 1}, headers=practice.doctor
    )
    assert priority.status_code == 409
    assert priority.json()["current"] == "called"
    assert await scalar(
        database, "SELECT queue_status FROM check_ins WHERE id = :id", id=only.check_in_id
    ) == ("called")
    assert await scalar(database, "SELECT priority FROM check_ins WHERE id = :id", id=only.check_in_id) == 2


async def test_a_visit_cancelled_after_check_in_cannot_start_and_is_passed_over_by_call_next(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    a, b = await seat(database, client, day, await new_patients(database, practice, 2))
    cancel = await client.post(
        f"/api/v1/appointments/{a.appointment_id}/cancel",
        json={"reason": "went home"},
        headers=practice.reception,
    )
    assert cancel.status_code == 200, cancel.text

    called = await _call(day, practice.doctor)
    assert called.json()["check_in_id"] == str(b.check_in_id)
    assert await scalar(database, "SELECT queue_status FROM check_ins WHERE id = :id", id=a.check_in_id) == (
        "closed"
    )
    cancel = await client.post(
        f"/api/v1/appointments/{b.appointment_id}/cancel", json={"reason": "left"}, headers=practice.reception
    )
    refused = await day.move(b.check_in_id, "start", practice.doctor)
    assert refused.status_code == 409
    assert refused.json()["code"] == "INVALID_TRANSITION"
    assert refused.json()["current"] == "cancelled"
    assert await scalar(database, "SELECT queue_status FROM check_ins WHERE id = :id", id=b.check_in_id) == (
        "called"
    )


async def test_bad_input_is_422_and_changes_nothing(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    (only,) = await seat(database, client, day, await new_patients(database, practice, 1))
    entry = f"/api/v1/queues/entries/{only.check_in_id}/priority"

    for body in ({"priority": 3}, {"priority": "urgent"}, {}, {"priority": 0, "extra": 1}):
        bad = await day.api.put(entry, json=body, headers=practice.reception)
        assert bad.status_code == 422, body
        assert bad.json()["code"] == "VALIDATION_FAILED", body
        assert bad.json()["errors"], body
    bad_doctor = await day.api.post(day.path("/call-next"), json={"doctor_id": "x"}, headers=practice.doctor)
    assert bad_doctor.status_code == 422
    assert bad_doctor.json()["errors"][0]["field"].endswith("doctor_id")
    not_an_id = await day.api.post("/api/v1/queues/entries/nope/skip", headers=practice.doctor)
    assert not_an_id.status_code == 422
    assert await scalar(database, "SELECT priority FROM check_ins WHERE id = :id", id=only.check_in_id) == 2
    assert await scalar(
        database, "SELECT queue_status FROM check_ins WHERE id = :id", id=only.check_in_id
    ) == ("waiting")


async def test_who_may_not_move_patients(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    (only,) = await seat(database, client, day, await new_patients(database, practice, 1))
    elsewhere = await make_practice(database, client)
    _, nurse = await make_member(database, client, tenant=practice.tenant, role=Role.NURSE)

    assert (await day.move(only.check_in_id, "skip", {})).status_code == 401
    for headers in (practice.reception, practice.patient, practice.admin):  # no queue:call
        assert (await _call(day, headers, doctor_id=str(practice.doctor_id))).status_code == 403
        assert (await day.move(only.check_in_id, "skip", headers)).status_code == 403
    patient_priority = await day.api.put(
        f"/api/v1/queues/entries/{only.check_in_id}/priority", json={"priority": 0}, headers=practice.patient
    )
    assert patient_priority.status_code == 403
    for headers in (elsewhere.doctor, elsewhere.reception):  # another tenant's location and entry
        assert (await _call(day, headers)).status_code in (403, 404)
        moved = await day.move(only.check_in_id, "skip", elsewhere.doctor)
        assert moved.status_code == 404
        assert moved.json()["code"] == "NOT_FOUND"
    other_call = await _call(day, elsewhere.doctor)
    assert other_call.status_code == 404
    missing = await day.move(uuid.uuid4(), "skip", practice.doctor)
    assert missing.status_code == 404
    # A nurse (a clinician) calls for the doctor.
    by_nurse = await _call(day, nurse, doctor_id=str(practice.doctor_id))
    assert by_nurse.status_code == 200
    assert by_nurse.json()["check_in_id"] == str(only.check_in_id)
