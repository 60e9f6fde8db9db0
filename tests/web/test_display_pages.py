"""The waiting room's screen through the real app: its display token opens it (no user), it
shows tickets being called and next in line but never a patient's name, it follows its
queue live, and any other token gets a plain refusal page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.factories import bearer, login
from tests.web.staff import Day, at, clinic_day
from tests.web.test_visit_pages import make_desk


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


async def display_token(day: Day, location_id: str, **extra: Any) -> str:
    body = {"location_id": location_id, **extra}
    issued = await day.api.post("/api/v1/events/display-tokens", json=body, headers=day.admin)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


async def arrive(day: Day, location_id: str, hour: int, minute: int = 0, **who: Any) -> str:
    """Book a visit today and check its patient in at the desk; the ticket."""
    booked = await day.book(at(hour, minute), **who)
    done = await day.api.post(
        f"/api/v1/appointments/{booked['id']}/check-in", json={"location_id": location_id}, headers=day.admin
    )
    assert done.status_code == 201, done.text
    return str(done.json()["ticket"])


async def test_the_board_shows_the_called_ticket_and_the_next_ones_without_names(day: Day) -> None:
    desk = await make_desk(day, "Ground floor")
    token = await display_token(day, desk)
    second = await day.person(Role.PATIENT, "Quinn Lee")
    first_ticket = await arrive(day, desk, 9)
    second_ticket = await arrive(day, desk, 9, 30, patient=second)
    screen = day.make_client(clock=day.clock)
    empty_call = await screen.get(f"/display/{desk}", params={"token": token})
    assert empty_call.status_code == 200, empty_call.text
    assert "No one is being called right now." in empty_call.text
    assert re.findall(r'<li class="ticket">([^<]+)</li>', empty_call.text) == [first_ticket, second_ticket]
    doctor = bearer(await login(day.api, tenant=day.tenant.slug, email=day.doctor.email))
    called = await day.api.post(f"/api/v1/queues/{desk}/call-next", headers=doctor)
    assert called.status_code == 200, called.text
    board = await screen.get(f"/display/{desk}", params={"token": token})
    assert board.status_code == 200, board.text
    assert f'<span class="ticket">{first_ticket}</span>' in board.text
    assert "Dr Ada Okafor" in board.text
    assert f'data-speech="Ticket {first_ticket}, Dr Ada Okafor"' in board.text
    assert re.findall(r'<li class="ticket">([^<]+)</li>', board.text) == [second_ticket]
    for name in (day.patient.full_name, "Quinn Lee", day.patient.email):
        assert name not in board.text
    assert board.headers["cache-control"] == "no-store"
    assert "Ground floor" in board.text
    assert day.clinic.name in board.text
    stream = f'sse-connect="/api/v1/events/stream?channels=queue:{desk}&amp;display_token={token}"'
    assert stream in board.text
    assert 'hx-trigger="sse:queue.updated, sse:reset"' in board.text
    assert 'id="announce-aloud"' in board.text
    assert 'src="/static/display.js"' in board.text
    assert "http://" not in board.text.replace('xmlns="http://www.w3.org/2000/svg"', "")


async def test_the_display_token_opens_the_queue_stream_without_names(day: Day) -> None:
    desk = await make_desk(day)
    token = await display_token(day, desk)
    screen = day.make_client(clock=day.clock)
    elsewhere = await screen.get(
        "/api/v1/events/stream", params={"channels": f"clinic:{day.clinic.id}", "display_token": token}
    )
    assert elsewhere.status_code == 403, elsewhere.text


async def test_a_wrong_expired_or_other_location_token_is_refused_without_data(day: Day) -> None:
    desk = await make_desk(day)
    other_desk = await make_desk(day, "Second floor")
    ticket = await arrive(day, desk, 9, 30)
    token = await display_token(day, other_desk, valid_days=1)
    screen = day.make_client(clock=day.clock)
    tries = [
        {"token": token},  # another location's
        {"token": token[:-4] + "AAAA"},  # tampered
        {"token": "not-a-token"},
        {},
    ]
    for params in tries:
        refused = await screen.get(f"/display/{desk}", params=params)
        assert refused.status_code == 404, (params, refused.text)
        assert ticket not in refused.text
        assert "This display link is not valid" in refused.text
        assert "sse-connect" not in refused.text
    own = await display_token(day, desk, valid_days=1)
    day.clock.set(day.clock.now() + timedelta(days=2))
    expired = await screen.get(f"/display/{desk}", params={"token": own})
    assert expired.status_code == 404
    assert ticket not in expired.text


async def test_another_tenants_token_does_not_open_this_tenants_location(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    desk = await make_desk(day)
    other = await clinic_day(database, make_client)
    foreign_desk = await make_desk(other)
    foreign = await display_token(other, foreign_desk)
    screen = day.make_client(clock=day.clock)
    refused = await screen.get(f"/display/{desk}", params={"token": foreign})
    assert refused.status_code == 404
    gone = await screen.get(f"/display/{foreign_desk}", params={"token": foreign})
    assert gone.status_code == 200
