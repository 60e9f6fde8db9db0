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
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import APIRequestContext, Browser, BrowserContext, Page, expect

from clinicflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANT_SLUG
from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import VIEWPORTS, serious_violations

pytestmark = pytest.mark.slow
ADMIN = DEMO_LOGINS[0]
WALK_IN_DOCTOR = "tanaka"


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("window"), purpose="window-web")


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def contexts(viewport: str, browser: Browser, site: str) -> AsyncIterator[list[BrowserContext]]:
    """The admin's and the patient's browsers (separate cookies), both at the viewport."""
    opened = [
        await browser.new_context(base_url=site, viewport=VIEWPORTS[viewport], locale="en-GB")  # type: ignore[arg-type]
        for _ in range(2)
    ]
    yield opened
    for context in opened:
        await context.close()


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def _visit_and_code(api: APIRequestContext) -> dict[str, str]:
    """A new patient with a visit 20+ minutes away at the walk-in doctor's clinic, and the QR
    token of that clinic's check-in desk."""
    email = f"window-{uuid.uuid4().hex[:8]}@demo.clinicflow.test"
    signup = {
        "tenant": DEMO_TENANT_SLUG,
        "email": email,
        "password": DEMO_PASSWORD,
        "full_name": "Robin Park",
    }
    registered = await _json(await api.post("/api/v1/auth/register", data=signup), 201)
    patient = {"Authorization": f"Bearer {registered['tokens']['access_token']}"}
    found = await _json(await api.get("/api/v1/doctors", params={"q": WALK_IN_DOCTOR}, headers=patient), 200)
    doctor = found["items"][0]
    start = datetime.now(UTC) + timedelta(minutes=20)
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=6)).isoformat()}
    slots = await _json(
        await api.get(f"/api/v1/doctors/{doctor['id']}/slots", params=window, headers=patient), 200
    )
    slot = slots["items"][0]
    visit = {"doctor_id": doctor["id"], "clinic_id": slot["clinic_id"], "starts_at": slot["starts_at"]}
    await _json(
        await api.post("/api/v1/appointments", data={**visit, "kind": "in_person"}, headers=patient), 201
    )
    login = {"tenant": DEMO_TENANT_SLUG, "email": ADMIN.email, "password": DEMO_PASSWORD}
    tokens = await _json(await api.post("/api/v1/auth/login", data=login), 200)
    admin = {"Authorization": f"Bearer {tokens['access_token']}"}
    desks = await _json(
        await api.get(
            "/api/v1/appointments/check-in/locations", params={"clinic_id": slot["clinic_id"]}, headers=admin
        ),
        200,
    )
    desk = desks["items"][0]
    code = await _json(await api.get(f"/api/v1/locations/{desk['location_id']}/qr-token", headers=admin), 200)
    return {"email": email, "clinic_id": slot["clinic_id"], "token": code["token"]}


async def _sign_in(page: Page, email: str, next_path: str) -> None:
    await page.goto(next_path)
    await expect(page).to_have_url(re.compile(r"/login\?"))
    assert await serious_violations(page) == []
    await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


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
    await _sign_in(admin, ADMIN.email, f"/admin/clinics/{seeded['clinic_id']}/policies")
    assert await serious_violations(admin) == []
    await _set_opening(admin, seeded["clinic_id"], 5)

    patient = await patient_context.new_page()
    check_in = f"/app/check-in?t={seeded['token']}"
    await _sign_in(patient, seeded["email"], check_in)
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
