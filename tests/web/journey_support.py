"""What the Playwright journeys on the demo server share: the API calls that set a journey up
(logins, a patient of its own with a visit at the walk-in doctor's, the desk's QR code), the
sign-in form, and the docs screenshots.

Each journey registers its own patients and books Dr Tanaka (Riverside's walk-in doctor, open
around the clock in 5-minute slots), so it depends neither on the time of day nor on what the
other journeys (or the other viewport's run) did to the demo data.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import APIRequestContext, APIResponse, Page, expect

from clinicflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANT_SLUG
from tests.web.browser import (
    DOCS_SCREENSHOTS,
    VIEWPORTS,
    png_size,
    screenshot,
    serious_violations,
    updating_docs_screenshots,
)

ADMIN = DEMO_LOGINS[0]
RECEPTIONIST = DEMO_LOGINS[3]
WALK_IN_DOCTOR = DEMO_LOGINS[7]  # Dr Mei Tanaka, Riverside's walk-in doctor


@dataclass(frozen=True)
class WalkIn:
    """A patient registered for the journey, booked at the walk-in doctor's."""

    email: str
    headers: dict[str, str]
    clinic_id: str
    appointment_id: str
    starts_at: str


async def json_of(response: APIResponse, status: int) -> Any:
    """The response's JSON, after checking its status (the body is the message if not)."""
    assert response.status == status, await response.text()
    return await response.json()


async def bearer(api: APIRequestContext, email: str) -> dict[str, str]:
    """An Authorization header for a demo login."""
    login = {"tenant": DEMO_TENANT_SLUG, "email": email, "password": DEMO_PASSWORD}
    tokens = await json_of(await api.post("/api/v1/auth/login", data=login), 200)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def walk_in(api: APIRequestContext, *, name: str, after: timedelta) -> WalkIn:
    """A new patient with the walk-in doctor's first free slot starting `after` from now."""
    email = f"journey-{uuid.uuid4().hex[:8]}@demo.clinicflow.test"
    signup = {"tenant": DEMO_TENANT_SLUG, "email": email, "password": DEMO_PASSWORD, "full_name": name}
    registered = await json_of(await api.post("/api/v1/auth/register", data=signup), 201)
    patient = {"Authorization": f"Bearer {registered['tokens']['access_token']}"}
    found = await json_of(await api.get("/api/v1/doctors", params={"q": "tanaka"}, headers=patient), 200)
    doctor = found["items"][0]
    start = datetime.now(UTC) + after
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=6)).isoformat()}
    slots = await json_of(
        await api.get(f"/api/v1/doctors/{doctor['id']}/slots", params=window, headers=patient), 200
    )
    slot = slots["items"][0]
    visit = {"doctor_id": doctor["id"], "clinic_id": slot["clinic_id"], "starts_at": slot["starts_at"]}
    booked = await json_of(
        await api.post("/api/v1/appointments", data={**visit, "kind": "in_person"}, headers=patient), 201
    )
    return WalkIn(email, patient, slot["clinic_id"], booked["id"], slot["starts_at"])


async def check_in_desk(api: APIRequestContext, admin: dict[str, str], clinic_id: str) -> str:
    """The id of the clinic's (first) check-in location: Riverside's is the reception desk."""
    desks = await json_of(
        await api.get(
            "/api/v1/appointments/check-in/locations", params={"clinic_id": clinic_id}, headers=admin
        ),
        200,
    )
    return str(desks["items"][0]["location_id"])


async def qr_code(api: APIRequestContext, admin: dict[str, str], location_id: str) -> dict[str, str]:
    """The location's current code: its token and the URL the printed code encodes."""
    code = await json_of(await api.get(f"/api/v1/locations/{location_id}/qr-token", headers=admin), 200)
    return {"token": code["token"], "url": code["url"]}


async def open_check_in_early(
    api: APIRequestContext, admin: dict[str, str], clinic_id: str, *, minutes: int
) -> dict[str, Any]:
    """Check-in at the clinic opens `minutes` before a visit (the walk-in doctor's next free
    slots may be past the demo's half hour); returns the policy it replaced, to put back."""
    path = f"/api/v1/clinics/{clinic_id}/check-in-policy"
    policy = await json_of(await api.get(path, headers=admin), 200)
    before = {k: v for k, v in policy.items() if k != "clinic_id"}
    await json_of(await api.put(path, data={**before, "opens_before_minutes": minutes}, headers=admin), 200)
    return before


async def put_policy(
    api: APIRequestContext, admin: dict[str, str], clinic_id: str, policy: dict[str, Any]
) -> None:
    """Put a clinic's check-in policy (back)."""
    path = f"/api/v1/clinics/{clinic_id}/check-in-policy"
    await json_of(await api.put(path, data=policy, headers=admin), 200)


def path_of(url: str) -> str:
    """A URL's path and query, to open it on the test's server (the code encodes the
    configured public URL, which is not the port the demo server listens on)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def sign_in(page: Page, email: str, next_path: str) -> None:
    """Open `next_path`, sign in on the login page it redirects to, land back on it."""
    await page.goto(next_path)
    await expect(page).to_have_url(re.compile(r"/login\?"))
    assert await serious_violations(page) == []
    await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


async def docs_screenshot(page: Page, name: str, viewport: str) -> None:
    """The viewport's screenshot as var/screenshots/<name>-<viewport>.png; with
    CLINICFLOW_UPDATE_SCREENSHOTS=1 also as docs/screenshots/ (the README's)."""
    shot = await screenshot(page, f"{name}-{viewport}", full_page=False)
    size = VIEWPORTS[viewport]
    assert png_size(shot) == (size["width"], size["height"])
    if updating_docs_screenshots():
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOTS / shot.name)
