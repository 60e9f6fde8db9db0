"""A patient joins a waitlist; staff cancel a visit in another browser context; the offer
appears on the patient's page without a reload (SSE, the page's cookie) and they accept it.

Runs against `clinicflow serve --demo` (its in-process worker offers the freed slot), in
Debian's Chromium, at desktop and phone sizes, checked by axe-core.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import APIRequestContext, Browser, Page, expect

from clinicflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANT_SLUG
from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import open_context, screenshot, serious_violations
from tests.web.test_journeys import PATIENT, sign_in

pytestmark = pytest.mark.slow
ADMIN = DEMO_LOGINS[0]
#: How long the offer may take to appear: the cancellation's job, the offer, the stream.
LIVE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("waitlist"), purpose="waitlist-web")


@pytest.fixture
async def patient_page(viewport: str, browser: Browser) -> AsyncIterator[Page]:
    context = await open_context(browser, viewport)
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def staff(browser: Browser, site: str) -> AsyncIterator[APIRequestContext]:
    """The front desk, in a second browser context of its own (its own cookies, its own token)."""
    context = await browser.new_context(base_url=site)
    yield context.request
    await context.close()


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def _book_and_cancel_someones_visit(staff: APIRequestContext, doctor_name: str) -> None:
    """Staff book another patient into the doctor's next free time, then cancel it."""
    login = {"tenant": DEMO_TENANT_SLUG, "email": ADMIN.email, "password": DEMO_PASSWORD}
    tokens = await _json(await staff.post("/api/v1/auth/login", data=login), 200)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    doctors = await _json(await staff.get("/api/v1/doctors", params={"q": doctor_name}, headers=auth), 200)
    doctor = doctors["items"][0]
    other = {
        "email": f"walk-in-{uuid.uuid4().hex[:8]}@demo.clinicflow.test",
        "full_name": "Walk-in Patient",
        "grants": [{"role": "PATIENT"}],
    }
    someone = await _json(await staff.post("/api/v1/users", data=other, headers=auth), 201)
    start = datetime.now(UTC) + timedelta(hours=3)
    window = {"from": start.isoformat(), "to": (start + timedelta(days=14)).isoformat()}
    free = await staff.get(f"/api/v1/doctors/{doctor['id']}/slots", params=window, headers=auth)
    slots = await _json(free, 200)
    slot = slots["items"][0]
    visit = {
        "doctor_id": doctor["id"],
        "clinic_id": slot["clinic_id"],
        "starts_at": slot["starts_at"],
        "patient_id": someone["id"],
    }
    booked = await _json(await staff.post("/api/v1/appointments", data=visit, headers=auth), 201)
    cancel = await staff.post(
        f"/api/v1/appointments/{booked['id']}/cancel", data={"reason": "Patient called"}, headers=auth
    )
    await _json(cancel, 200)


async def test_a_waiting_patient_sees_a_freed_time_arrive_live_and_takes_it(
    patient_page: Page, staff: APIRequestContext, site: str, viewport: str
) -> None:
    page = patient_page
    # htmx's SSE extension announces an open stream with `htmx:sseOpen` (it bubbles).
    await page.add_init_script(
        "document.addEventListener('htmx:sseOpen', () => { window.streamOpen = true; })"
    )
    await sign_in(page, site, PATIENT.email)
    await expect(page).to_have_url(f"{site}/app")
    await page.goto(f"{site}/app/doctors?q=lindqvist")
    await page.get_by_role("link", name="Lindqvist").first.click()
    await expect(page.get_by_role("heading", name="Nothing fits? Join the waitlist")).to_be_visible()
    await page.get_by_role("button", name="Join the waitlist").click()
    await expect(page).to_have_url(f"{site}/app/waitlists?joined=1")
    await expect(page.get_by_text("No time is free yet.")).to_be_visible()
    assert await serious_violations(page) == []
    # The page is not reloaded from here on: a marker on the window would not survive one.
    await page.evaluate("window.stillTheSamePage = true")
    # Wait until the page follows the stream, so the event cannot slip past before it listens.
    await page.wait_for_function("window.streamOpen === true")

    await _book_and_cancel_someones_visit(staff, "lindqvist")

    offer = page.get_by_role("heading", name="A time is held for you")
    await expect(offer).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    assert await page.evaluate("window.stillTheSamePage") is True
    countdown = page.get_by_role("timer")
    first = await countdown.inner_text()
    assert first.endswith("left"), first
    await expect(countdown).not_to_have_text(first, timeout=5_000)  # the script counts down
    assert await serious_violations(page) == []
    await screenshot(page, f"patient-offer-{viewport}")

    await page.get_by_role("button", name="Accept this time").click()
    await expect(page.get_by_role("status")).to_have_text(
        "You took the offered time: this is your appointment now."
    )
    await expect(page.get_by_text("Scheduled", exact=True)).to_be_visible()
    assert "/app/appointments/" in page.url
    assert await serious_violations(page) == []
