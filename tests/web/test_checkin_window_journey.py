"""An admin changes the check-in window on the policies page and it takes effect: a patient in
a second browser context scanning the desk's QR code 20 minutes or so before the visit is
told check-in has not opened yet while it opens 5 minutes before, and checks in once the
admin opens it an hour before.

Runs against `clinicflow serve --demo` in Debian's Chromium, at desktop and phone sizes,
checked by axe-core on every page visited. Each run registers its own patient, who books the
walk-in doctor's (Dr Tanaka, open around the clock in 5-minute slots) first time at least 20
minutes away, so the journey does not depend on the time of day.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from playwright.async_api import APIRequestContext, Browser, BrowserContext, Page, expect

from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import open_context, serious_violations
from tests.web.journey_support import ADMIN, bearer, check_in_desk, qr_code, sign_in, walk_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("window"), purpose="window-web")


@pytest.fixture
async def contexts(viewport: str, browser: Browser, site: str) -> AsyncIterator[list[BrowserContext]]:
    """The admin's and the patient's browsers (separate cookies), both at the viewport."""
    opened = [await open_context(browser, viewport, base_url=site) for _ in range(2)]
    yield opened
    for context in opened:
        await context.close()


async def _visit_and_code(api: APIRequestContext) -> dict[str, str]:
    """A new patient with a visit 20+ minutes away at the walk-in doctor's clinic, and the QR
    token of that clinic's check-in desk."""
    visit = await walk_in(api, name="Robin Park", after=timedelta(minutes=20))
    admin = await bearer(api, ADMIN.email)
    code = await qr_code(api, admin, await check_in_desk(api, admin, visit.clinic_id))
    return {"email": visit.email, "clinic_id": visit.clinic_id, "token": code["token"]}


async def _set_opening(page: Page, clinic_id: str, minutes: int) -> None:
    """On the clinic's policies page: check-in opens `minutes` before the start."""
    await page.goto(f"/admin/clinics/{clinic_id}/policies")
    await expect(page.get_by_role("heading", name="Check-in window")).to_be_visible()
    await page.get_by_label("Check-in opens (minutes before the start)").fill(str(minutes))
    await page.get_by_role("button", name="Save the check-in window").click()
    await expect(page.get_by_role("status")).to_have_text(re.compile("The check-in window is saved"))
    await expect(page.get_by_label("Check-in opens (minutes before the start)")).to_have_value(str(minutes))
    assert await serious_violations(page) == []


async def test_an_admin_changes_the_check_in_window_and_the_next_scan_follows_it(
    contexts: list[BrowserContext], site: str
) -> None:
    admin_context, patient_context = contexts
    seeded = await _visit_and_code(admin_context.request)
    admin = await admin_context.new_page()
    await sign_in(admin, ADMIN.email, f"/admin/clinics/{seeded['clinic_id']}/policies")
    assert await serious_violations(admin) == []
    await _set_opening(admin, seeded["clinic_id"], 5)

    patient = await patient_context.new_page()
    check_in = f"/app/check-in?t={seeded['token']}"
    await sign_in(patient, seeded["email"], check_in)
    assert await serious_violations(patient) == []
    await patient.get_by_role("button", name="Check in").click()
    refusal = patient.get_by_role("alert")
    await expect(refusal).to_contain_text("Check-in for this appointment has not opened yet")
    await expect(refusal).to_contain_text(re.compile(r"Check-in opens at \d\d:\d\d\."))
    assert await serious_violations(patient) == []

    await _set_opening(admin, seeded["clinic_id"], 60)
    await patient.goto(check_in)
    await patient.get_by_role("button", name="Check in").click()
    await expect(patient).to_have_url(re.compile(r"/app/visit/[0-9a-f-]+\?checked_in=1$"))
    await expect(patient.get_by_text("You are checked in.")).to_be_visible()
    await expect(patient.locator("strong.ticket").first).to_have_text(re.compile(r"^[A-Z]{1,3}-\d+$"))
    assert await serious_violations(patient) == []
    await _set_opening(admin, seeded["clinic_id"], 30)  # the demo's default again
