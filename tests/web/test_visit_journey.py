"""A visit, live, in four browsers: a patient opens the check-in URL the reception desk's
printed QR code encodes and checks in; the waiting room's display is opened from the admin
console; the walk-in doctor calls next on her queue page in another context until the
patient's ticket is called; the patient's page (her position going down, then "called") and
the display's "Now calling" change without a reload.

Runs against `clinicflow serve --demo` in Debian's Chromium, at desktop and phone sizes,
checked by axe-core on every page visited. Each run registers its own patients at Dr Tanaka's
(see journey_support): one checked in ahead (so there is a position to go down) and the one
who scans, whatever the demo's queue and the other run left. The journeys also photograph the
staff apps' main pages for the README (`CLINICFLOW_UPDATE_SCREENSHOTS=1`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import open_context, serious_violations
from tests.web.journey_support import (
    ADMIN,
    RECEPTIONIST,
    WALK_IN_DOCTOR,
    WalkIn,
    bearer,
    check_in_desk,
    docs_screenshot,
    json_of,
    open_check_in_early,
    path_of,
    put_policy,
    qr_code,
    sign_in,
    walk_in,
)

pytestmark = pytest.mark.slow
LIVE_TIMEOUT_MS = 15_000
#: The most "Call next" clicks the journey makes before giving up on reaching its patient.
MOST_CALLS = 20
#: Check-in opens this long before a visit during the journey: the walk-in doctor's next free
#: slots come after the demo's and the earlier runs' (the demo's default is 30 minutes).
EARLY_MINUTES = 240
#: The patient's page shows a smaller position than before (or none: she is called).
MOVED_UP = """(before) => {
  const shown = document.querySelector('dd.position');
  return !shown || Number(shown.textContent) < before;
}"""


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("visit"), purpose="visit-web")


@pytest.fixture
async def contexts(viewport: str, browser: Browser, site: str) -> AsyncIterator[list[BrowserContext]]:
    """The patient's, the display's and the doctor's browsers (separate cookies), at the viewport."""
    opened = [await open_context(browser, viewport, base_url=site) for _ in range(3)]
    yield opened
    for context in opened:
        await context.close()


async def _open_display(page: Page, location_id: str, viewport: str) -> None:
    """The admin signs in to the console (photographed), then opens the location's display."""
    await sign_in(page, ADMIN.email, "/admin")
    await expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    assert await serious_violations(page) == []
    await docs_screenshot(page, "admin", viewport)
    await page.goto(f"/admin/locations/{location_id}")
    await page.get_by_role("button", name="Open the waiting-room display").click()
    await expect(page).to_have_url(re.compile(rf"/display/{location_id}\?token=cfd1\."))
    await expect(page.get_by_role("heading", name="Now calling")).to_be_visible()
    await page.wait_for_function("window.streamOpen === true")
    assert await serious_violations(page) == []


async def _position(page: Page, ticket: str) -> int | None:
    """The position the patient's page shows for the ticket (None once she is called)."""
    card = page.locator(".ticket-card", has=page.locator("strong.ticket", has_text=ticket))
    shown = card.locator("dd.position")
    return int(await shown.inner_text()) if await shown.count() else None


@dataclass(frozen=True)
class Arrivals:
    """The run's two walk-in patients (`ahead` is checked in first) and the admin's header."""

    ahead: WalkIn
    me: WalkIn
    admin: dict[str, str]


@pytest.fixture
async def arrivals(contexts: list[BrowserContext]) -> AsyncIterator[Arrivals]:
    """Two new patients booked at the walk-in doctor's, their clinic's check-in open early
    enough for both (and put back afterwards)."""
    api = contexts[0].request
    ahead = await walk_in(api, name="Alex Morgan", after=timedelta(minutes=1))
    me = await walk_in(api, name="Robin Park", after=timedelta(minutes=1))
    admin = await bearer(api, ADMIN.email)
    policy = await open_check_in_early(api, admin, me.clinic_id, minutes=EARLY_MINUTES)
    yield Arrivals(ahead, me, admin)
    await put_policy(api, admin, me.clinic_id, policy)


async def test_a_patient_scans_the_desk_code_and_follows_her_call_live(
    contexts: list[BrowserContext], arrivals: Arrivals, viewport: str
) -> None:
    patient_context, display_context, doctor_context = contexts
    api = patient_context.request
    ahead, me, admin = arrivals.ahead, arrivals.me, arrivals.admin
    desk = await check_in_desk(api, admin, me.clinic_id)
    code = await qr_code(api, admin, desk)
    assert path_of(code["url"]) == f"/app/check-in?t={code['token']}"
    scanned = {"token": code["token"]}
    await json_of(
        await api.post("/api/v1/appointments/check-in/scan-qr", data=scanned, headers=ahead.headers), 200
    )

    patient = await patient_context.new_page()
    await sign_in(patient, me.email, path_of(code["url"]))
    await expect(patient.get_by_role("button", name="Check in")).to_be_visible()
    assert await serious_violations(patient) == []
    await patient.get_by_role("button", name="Check in").click()
    await expect(patient).to_have_url(re.compile(rf"/app/visit/{desk}\?checked_in=1$"))
    await expect(patient.get_by_text("You are checked in.")).to_be_visible()
    ticket = await patient.locator("strong.ticket").first.inner_text()
    assert re.fullmatch(r"[A-Z]{1,3}-\d+", ticket)
    start = await _position(patient, ticket)
    assert start is not None
    assert start >= 2  # her fellow walk-in checked in first, for an earlier slot
    assert await serious_violations(patient) == []
    await patient.evaluate("window.stillTheSamePage = true")

    display = await display_context.new_page()
    await display.add_init_script(
        "document.addEventListener('htmx:sseOpen', () => { window.streamOpen = true; });"
    )
    await _open_display(display, desk, viewport)
    await display.evaluate("window.stillTheSamePage = true")

    doctor = await doctor_context.new_page()
    await sign_in(doctor, WALK_IN_DOCTOR.email, f"/doctor/queue?location={desk}")
    mine = doctor.locator(
        "table.queue tr", has=doctor.locator("strong.ticket", has_text=re.compile(rf"^{ticket}$"))
    )
    await expect(mine).to_have_count(1)
    assert await serious_violations(doctor) == []
    await docs_screenshot(doctor, "doctor", viewport)
    called = doctor.locator(".in-hand .status-called strong.ticket", has_text=re.compile(rf"^{ticket}$"))
    position, seen = start, [start]
    for _ in range(MOST_CALLS):
        await doctor.get_by_role("button", name="Call next").click()
        await expect(doctor.get_by_role("status")).to_have_text("The next patient is called.")
        if await called.count():
            break
        # still waiting: fewer ahead of her, live
        await patient.wait_for_function(MOVED_UP, arg=position, timeout=LIVE_TIMEOUT_MS)
        position = await _position(patient, ticket) or 0
        seen.append(position)
    else:
        pytest.fail(f"{ticket} was not called in {MOST_CALLS} calls")
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen))
    assert await serious_violations(doctor) == []

    await expect(patient.locator("dd.status").first).to_have_text(
        "Called: please go in", timeout=LIVE_TIMEOUT_MS
    )
    await expect(patient.locator("dd.position")).to_have_count(0)
    assert await patient.evaluate("window.stillTheSamePage") is True
    assert await serious_violations(patient) == []
    await expect(display.locator(".call.newest .ticket")).to_have_text(ticket, timeout=LIVE_TIMEOUT_MS)
    assert await display.evaluate("window.stillTheSamePage") is True
    assert await serious_violations(display) == []
    await docs_screenshot(display, "display", viewport)


async def test_the_front_desk_opens_on_today(browser: Browser, site: str, viewport: str) -> None:
    """The receptionist's main page, /desk: today's visits at the desk's clinics (photographed)."""
    context = await open_context(browser, viewport, base_url=site)
    try:
        page = await context.new_page()
        await sign_in(page, RECEPTIONIST.email, "/desk")
        await expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
        assert await serious_violations(page) == []
        await docs_screenshot(page, "desk", viewport)
    finally:
        await context.close()
