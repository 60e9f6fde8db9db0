"""Real time through real HTTP: two `clinicflow serve` processes on one database.

A change committed through process A reaches an SSE subscriber of process B; a rolled-back
change sends nothing; `Last-Event-ID` replays what was missed; foreign channels are refused;
a stalled subscriber does not delay another.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import uuid
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from clinicflow.platform.db import Database
from clinicflow.platform.realtime import publish
from tests.platform.processes import problem
from tests.realtime.conftest import (
    ADMIN,
    PATIENT,
    STAFF,
    Servers,
    book_for_patient,
    demo_ids,
    login,
    ticket,
)
from tests.realtime.sse import Stream

pytestmark = pytest.mark.slow

#: Each test books its own slot of the demo doctor.
_slots = itertools.count()


class Rollback(Exception):
    pass


async def test_a_cancel_committed_through_one_process_reaches_a_subscriber_of_another_within_a_second(
    servers: Servers, client_a: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    ids = demo_ids(servers.url)
    patient = await login(client_a, PATIENT)
    staff = await login(client_b, STAFF)
    appointment_id = await book_for_patient(client_a, patient, ids, next(_slots))
    mine = {"channels": f"appointment:{appointment_id}", "ticket": await ticket(client_b, patient)}
    clinic = {"channels": f"clinic:{ids['clinic']}"}

    async with (
        Stream(client_b, params=mine) as patient_stream,
        Stream(client_b, params=clinic, headers=staff) as staff_stream,
    ):
        started = time.monotonic()
        cancelled = await client_a.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=patient)
        assert cancelled.status_code == 200, cancelled.text
        for stream, channel in ((patient_stream, mine["channels"]), (staff_stream, clinic["channels"])):
            event = await stream.event(within=3)
            assert event.event == "appointment.updated"
            assert event.id is not None
            assert int(event.id) > 0
            assert event.json == {
                "appointment_id": appointment_id,
                "clinic_id": str(ids["clinic"]),
                "doctor_id": str(ids["doctor"]),
                "patient_id": str(ids["patient"]),
                "change": "appointment.cancelled",
                "channel": channel,
            }
            assert event.received_at - started < 1.0, f"{event.received_at - started:.3f} s"


async def test_a_rolled_back_change_sends_nothing(
    servers: Servers, client_a: httpx.AsyncClient, client_b: httpx.AsyncClient, publisher: Database
) -> None:
    ids = demo_ids(servers.url)
    patient = await login(client_a, PATIENT)
    appointment_id = await book_for_patient(client_a, patient, ids, next(_slots))
    channel = f"appointment:{appointment_id}"
    async with Stream(
        client_b, params={"channels": channel, "ticket": await ticket(client_b, patient)}
    ) as stream:
        # A use case that publishes, then fails: its transaction rolls back, and so does the event.
        with pytest.raises(Rollback):
            async with publisher.transaction() as uow:
                await publish(uow, channel, "appointment.updated", {"n": 1}, tenant_id=ids["tenant"])
                raise Rollback
        await stream.nothing_for(1.5)
        # The API's own refusal (409) changes nothing and publishes nothing.
        done = await client_a.post(f"/api/v1/appointments/{appointment_id}/complete", headers=patient)
        assert done.status_code in (403, 409), done.text
        await stream.nothing_for(1.0)
        # The next committed change is the first thing the subscriber sees.
        async with publisher.transaction() as uow:
            await publish(uow, channel, "appointment.updated", {"n": 2}, tenant_id=ids["tenant"])
        event = await stream.event(within=2)
        assert event.json == {"n": 2, "channel": channel}


async def test_last_event_id_replays_what_was_missed(
    servers: Servers, client_b: httpx.AsyncClient, publisher: Database
) -> None:
    ids = demo_ids(servers.url)
    patient = await login(client_b, PATIENT)
    channel = f"patient:{ids['patient']}"

    async def send(n: int) -> None:
        async with publisher.transaction() as uow:
            await publish(uow, channel, "queue.position", {"n": n}, tenant_id=ids["tenant"])

    async with Stream(
        client_b, params={"channels": channel, "ticket": await ticket(client_b, patient)}
    ) as stream:
        await send(1)
        first = await stream.event()
        assert first.json["n"] == 1
    for n in (2, 3):  # while the client is away
        await send(n)
    resume = {"channels": channel, "ticket": await ticket(client_b, patient)}
    async with Stream(client_b, params=resume, headers={"Last-Event-ID": str(first.id)}) as stream:
        replayed = [await stream.event(), await stream.event()]
        assert [e.json["n"] for e in replayed] == [2, 3]
        assert int(replayed[0].id or 0) > int(first.id or 0)
        assert int(replayed[1].id or 0) > int(replayed[0].id or 0)
        await send(4)  # and live again, nothing twice
        live = await stream.event()
        assert live.json["n"] == 4
        await stream.nothing_for(0.5)
    # The query parameter works too (for clients that cannot set the header).
    again = {
        "channels": channel,
        "ticket": await ticket(client_b, patient),
        "last_event_id": str(replayed[1].id),
    }
    async with Stream(client_b, params=again) as stream:
        assert (await stream.event()).json["n"] == 4


async def test_a_resume_from_before_the_log_gets_reset(
    servers: Servers, client_b: httpx.AsyncClient, publisher: Database
) -> None:
    ids = demo_ids(servers.url)
    patient = await login(client_b, PATIENT)
    channel = f"patient:{ids['patient']}"
    params = {"channels": channel, "ticket": await ticket(client_b, patient)}
    async with Stream(client_b, params=params, headers={"Last-Event-ID": "0"}) as stream:
        event = await stream.event()
        assert event.event == "reset"
        assert event.json == {"reason": "replay_incomplete"}


async def _other_tenant_admin(client: httpx.AsyncClient) -> dict[str, str]:
    ops = await login(client, "ops@clinicflow.test", tenant=None)
    slug = f"rt-{uuid.uuid4().hex[:8]}"
    created = await client.post(
        "/api/v1/tenants",
        json={
            "name": "Other Org",
            "slug": slug,
            "admin_email": "admin@other.clinicflow.test",
            "admin_password": "another-long-password-1",
        },
        headers=ops,
    )
    assert created.status_code == 201, created.text
    response = await client.post(
        "/api/v1/auth/login",
        json={"tenant": slug, "email": "admin@other.clinicflow.test", "password": "another-long-password-1"},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_another_tenants_or_a_foreign_channel_is_refused(
    servers: Servers, client_a: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    ids = demo_ids(servers.url)
    patient = await login(client_a, PATIENT)
    appointment_id = await book_for_patient(client_a, patient, ids, next(_slots))
    other = await _other_tenant_admin(client_a)

    async def status_of(params: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
        response = await client_b.get("/api/v1/events/stream", params=params, headers=headers or {})
        return response.status_code, problem(response)["code"]

    # Another tenant's objects are not found, exactly like missing ones.
    assert await status_of({"channels": f"clinic:{ids['clinic']}"}, other) == (404, "NOT_FOUND")
    assert await status_of({"channels": f"appointment:{appointment_id}"}, other) == (404, "NOT_FOUND")
    assert await status_of({"channels": f"queue:{ids['location']}"}, other) == (404, "NOT_FOUND")
    assert await status_of({"channels": f"appointment:{uuid.uuid4()}"}, patient) == (404, "NOT_FOUND")
    # Known objects the caller may not follow.
    assert await status_of({"channels": f"clinic:{ids['clinic']}"}, patient) == (403, "CHANNEL_FORBIDDEN")
    assert await status_of({"channels": f"queue:{ids['location']}"}, patient) == (403, "CHANNEL_FORBIDDEN")
    staff = await login(client_b, STAFF)
    assert await status_of({"channels": f"patient:{ids['patient']}"}, staff) == (403, "CHANNEL_FORBIDDEN")
    # One refused channel refuses the stream.
    both = f"appointment:{appointment_id},clinic:{ids['clinic']}"
    assert await status_of({"channels": both}, patient) == (403, "CHANNEL_FORBIDDEN")
    # Not channels at all.
    assert await status_of({"channels": "everything"}, patient) == (422, "CHANNEL_INVALID")
    assert await status_of({"channels": f"billing:{uuid.uuid4()}"}, patient) == (422, "CHANNEL_INVALID")
    # No credentials; a ticket used twice; a made-up one.
    assert await status_of({"channels": f"appointment:{appointment_id}"}) == (401, "UNAUTHENTICATED")
    once = await ticket(client_b, patient)
    mine = {"channels": f"appointment:{appointment_id}", "ticket": once}
    async with Stream(client_b, params=mine):
        pass
    assert await status_of(mine) == (401, "STREAM_TICKET_INVALID")
    assert await status_of({**mine, "ticket": "made-up"}) == (401, "STREAM_TICKET_INVALID")


async def test_a_display_follows_its_own_queue_and_sees_no_people(
    servers: Servers, client_a: httpx.AsyncClient, client_b: httpx.AsyncClient, publisher: Database
) -> None:
    ids = demo_ids(servers.url)
    admin = await login(client_a, ADMIN)
    issued = await client_a.post(
        "/api/v1/events/display-tokens", json={"location_id": str(ids["location"])}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    channel = issued.json()["channel"]
    assert channel == f"queue:{ids['location']}"
    staff = await login(client_a, STAFF)
    refused = await client_a.post(
        "/api/v1/events/display-tokens", json={"location_id": str(ids["location"])}, headers=staff
    )
    assert refused.status_code == 403, refused.text

    wrong = await client_b.get(
        "/api/v1/events/stream", params={"channels": f"clinic:{ids['clinic']}", "display_token": token}
    )
    assert (wrong.status_code, problem(wrong)["code"]) == (403, "CHANNEL_FORBIDDEN")
    tampered = await client_b.get(
        "/api/v1/events/stream", params={"channels": channel, "display_token": token[:-2] + "xx"}
    )
    assert (tampered.status_code, problem(tampered)["code"]) == (401, "DISPLAY_TOKEN_INVALID")

    async with (
        Stream(client_b, params={"channels": channel, "display_token": token}) as display,
        Stream(client_b, params={"channels": channel}, headers=staff) as desk,
    ):
        data = {
            "location_id": ids["location"],
            "patient_id": ids["patient"],
            "ticket": "A-014",
            "status": "waiting",
        }
        async with publisher.transaction() as uow:
            await publish(uow, channel, "queue.updated", data, tenant_id=ids["tenant"])
        shown = await display.event()
        assert shown.json == {
            "location_id": str(ids["location"]),
            "ticket": "A-014",
            "status": "waiting",
            "channel": channel,
        }
        full = await desk.event()
        assert full.json["patient_id"] == str(ids["patient"])


def _stalled_subscriber(base_url: str, params: dict[str, str], headers: dict[str, str]) -> socket.socket:
    """A client that opens a stream and never reads: a tiny receive buffer fills at once."""
    parts = urlsplit(base_url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    lines = [f"GET /api/v1/events/stream?{urlencode(params)} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


async def test_a_stalled_subscriber_does_not_delay_another(
    servers: Servers, client_b: httpx.AsyncClient, publisher: Database
) -> None:
    ids = demo_ids(servers.url)
    staff = await login(client_b, STAFF)
    channel = f"clinic:{ids['clinic']}"
    stalled = _stalled_subscriber(servers.b, {"channels": channel}, staff)
    try:
        async with Stream(client_b, params={"channels": channel}, headers=staff) as lively:
            await asyncio.sleep(0.5)  # the stalled one is subscribed too
            padding = "x" * 1500  # large events fill the stalled client's buffers sooner
            for batch in range(20):
                async with publisher.transaction() as uow:
                    for n in range(50):
                        await publish(
                            uow,
                            channel,
                            "queue.updated",
                            {"batch": batch, "n": n, "pad": padding},
                            tenant_id=ids["tenant"],
                        )
                committed = time.monotonic()
                for n in range(50):
                    event = await lively.event(within=2)
                    assert (event.json["batch"], event.json["n"]) == (batch, n)
                assert event.received_at - committed < 1.0, (
                    f"batch {batch}: {event.received_at - committed:.3f} s"
                )
        # The stalled subscriber, reading at last, has every event or a reset: never a silent gap
        # (whether the kernel's and uvicorn's buffers absorbed 1.5 MB decides which; the hub's own
        # drop of a full queue is tested in test_hub.py).
        stalled.settimeout(5)
        received = b""
        while b"event: reset" not in received and received.count(b"event: queue.updated") < 1000:
            chunk = stalled.recv(65536)
            assert chunk, "the stalled stream ended without a reset"
            received += chunk
        if b"event: reset" in received:
            assert b'"reason": "overflow"' in received
    finally:
        stalled.close()


async def test_a_check_in_through_one_process_reaches_the_queue_s_followers_on_another_within_a_second(
    servers: Servers, client_a: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    """The demo's live day leaves the patient's walk-in visit at Riverside's desk open: she scans
    the desk's QR code through A; reception following the desk's queue on B, and she on her own
    channel, hear of it within a second."""
    patient = await login(client_a, PATIENT)
    staff = await login(client_b, STAFF)
    desks = await client_a.get("/api/v1/appointments/check-in/locations", headers=staff)
    assert desks.status_code == 200, desks.text
    desk = next(d["location_id"] for d in desks.json()["items"] if d["name"] == "Reception desk")
    qr = await client_a.get(f"/api/v1/locations/{desk}/qr-token", headers=staff)
    assert qr.status_code == 200, qr.text
    me = (await client_a.get("/api/v1/users/me", headers=patient)).json()["id"]
    queue = {"channels": f"queue:{desk}"}
    mine = {"channels": f"patient:{me}", "ticket": await ticket(client_b, patient)}

    async with (
        Stream(client_b, params=queue, headers=staff) as queue_stream,
        Stream(client_b, params=mine) as patient_stream,
    ):
        started = time.monotonic()
        scanned = await client_a.post(
            "/api/v1/appointments/check-in/scan-qr", json={"token": qr.json()["token"]}, headers=patient
        )
        assert scanned.status_code == 200, scanned.text
        check_in = scanned.json()["check_ins"][0]
        event = await queue_stream.event(within=3)
        assert event.event == "queue.updated"
        assert event.json["ticket"] == check_in["ticket"]
        assert event.json["location_id"] == desk
        assert "patient_id" not in event.json  # the queue channel also feeds the room's display
        assert event.received_at - started < 1.0, f"{event.received_at - started:.3f} s"
        heard = await patient_stream.event(within=3)
        while heard.event != "appointment.updated":  # her queue.position may come first
            heard = await patient_stream.event(within=3)
        assert heard.json["appointment_id"] == check_in["appointment_id"]
