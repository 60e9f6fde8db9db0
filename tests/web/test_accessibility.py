"""Every page, in Chromium, at desktop and phone sizes: no serious or critical axe-core findings.

The crawl enumerates the app's `PageRoute` GET routes when the tests are collected, so a
page another branch adds is crawled as soon as it is merged. Each route is visited as the
first of anonymous, patient, doctor, front desk and tenant admin that may see it (HTTP 200),
on the demo server with a little more seeded through the API (a second appointment, a
waitlist entry), and must not scroll sideways on a phone. Path parameters come from
`PARAMETERS`, by name: a route with a parameter the crawl cannot fill, or one nobody may
see, fails with its path. The only way out is `SKIP`, each entry with its reason.

The same module photographs the main page of each app (`APPS`) and checks the focus ring's
contrast on them, in the light and the dark colour scheme.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from playwright.async_api import Browser, BrowserContext, expect

from clinicflow.app import create_app
from clinicflow.config import Environment, Settings
from clinicflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANT_SLUG, Login
from clinicflow.demo_day import WALK_IN_DOCTOR
from clinicflow.platform.db import Database
from clinicflow.web.routing import PageRoute
from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import (
    DOCS_SCREENSHOTS,
    VIEWPORTS,
    focus_rings,
    png_size,
    screenshot,
    serious_violations,
    updating_docs_screenshots,
)

pytestmark = pytest.mark.slow

#: Page routes the crawl does not open, each with the reason.
SKIP = {
    "/app/appointments/{appointment_id}.ics": "a calendar file (text/calendar) to download, not a page",
}

PATIENT = DEMO_LOGINS[4]
ADMIN = DEMO_LOGINS[0]
#: Who the crawl tries, in this order: the first that gets a 200 is the one the page is for.
ROLES: dict[str, Login | None] = {
    "anonymous": None,
    "patient": PATIENT,
    "doctor": DEMO_LOGINS[1],  # Dr Okafor, Riverside: the seeded appointment is hers
    "front desk": DEMO_LOGINS[3],  # Riverside's reception
    "tenant admin": ADMIN,
    # Last, so no page is crawled as her: the demo's live queue is hers (see the queue's test).
    "walk-in doctor": next(login for login in DEMO_LOGINS if login.email == WALK_IN_DOCTOR),
}

#: The main page of each app, photographed into var/screenshots/<app>-<viewport>.png.
APPS = {"front": "/", "patient": "/app", "doctor": "/doctor", "desk": "/desk", "admin": "/admin"}
#: The apps whose README screenshot this module takes; the staff apps' come from the journeys
#: on the demo's live day (tests/web/test_visit_journey.py: a queue with patients in it).
DOCS_APPS = frozenset({"front", "patient"})


def _page_paths() -> set[str]:
    settings = Settings(CLINICFLOW_ENV=Environment.TEST, CLINICFLOW_SECRET_KEY="k" * 40)
    app = create_app(settings=settings, database=Database("postgresql+psycopg://unused/x"))
    return {
        context.path or context.original_route.path
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, PageRoute) and "GET" in context.original_route.methods
    }


PAGES = sorted(_page_paths())


@dataclass(frozen=True)
class Seeded:
    """The demo's objects (and what this module adds) that fill the routes' parameters."""

    patient_id: str
    doctor_id: str
    clinic_id: str
    location_id: str
    appointment_id: str
    entry_id: str
    qr_token: str = ""  # the check-in desk's QR code, for the page it opens
    display_token: str = ""  # the check-in desk's screen, for the waiting-room display


#: Each path parameter, by name, and the seeded object that fills it.
PARAMETERS: dict[str, Callable[[Seeded], str]] = {
    "appointment_id": lambda seeded: seeded.appointment_id,
    "entry_id": lambda seeded: seeded.entry_id,
    "doctor_id": lambda seeded: seeded.doctor_id,
    "patient_id": lambda seeded: seeded.patient_id,
    "user_id": lambda seeded: seeded.doctor_id,
    "clinic_id": lambda seeded: seeded.clinic_id,
    "location_id": lambda seeded: seeded.location_id,
}
_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
#: Pages that need a query to be anything but a refusal: what fills it.
QUERIES: dict[str, Callable[[Seeded], str]] = {
    "/app/check-in": lambda seeded: f"?t={seeded.qr_token}",  # the URL a location's QR code encodes
    "/display/{location_id}": lambda seeded: f"?token={seeded.display_token}",  # the screen's link
}


def fill(path: str, seeded: Seeded) -> str:
    """The route's path with every parameter filled, or the test fails naming what is missing."""
    missing = sorted({name for name in _PARAMETER.findall(path) if name not in PARAMETERS})
    if missing:
        pytest.fail(
            f"the accessibility crawl cannot fill {path}: no value for {missing}. Seed one and add it "
            "to PARAMETERS in tests/web/test_accessibility.py (or list the route in SKIP with a reason)",
            pytrace=False,
        )
    query = QUERIES[path](seeded) if path in QUERIES else ""
    return _PARAMETER.sub(lambda found: PARAMETERS[found[1]](seeded), path) + query


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("a11y"), purpose="a11y-web")


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _token(client: httpx.AsyncClient, login: Login) -> dict[str, str]:
    body = {"tenant": DEMO_TENANT_SLUG, "email": login.email, "password": DEMO_PASSWORD}
    tokens = _ok(await client.post("/api/v1/auth/login", json=body))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _doctor(client: httpx.AsyncClient, auth: dict[str, str], name: str) -> dict[str, Any]:
    found = _ok(await client.get("/api/v1/doctors", params={"q": name}, headers=auth))
    return dict(found["items"][0])


async def _book_first_free(
    client: httpx.AsyncClient, auth: dict[str, str], doctor_id: str, kind: str
) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(hours=2)
    window = {"from": start.isoformat(), "to": (start + timedelta(days=14)).isoformat()}
    slots = _ok(await client.get(f"/api/v1/doctors/{doctor_id}/slots", params=window, headers=auth))
    slot = slots["items"][0]
    visit = {"doctor_id": doctor_id, "clinic_id": slot["clinic_id"], "starts_at": slot["starts_at"]}
    return dict(
        _ok(await client.post("/api/v1/appointments", json={**visit, "kind": kind}, headers=auth), 201)
    )


@pytest.fixture(scope="module")
async def seeded(site: str) -> Seeded:
    """The demo patient gets a video visit with Dr Lindqvist beside the demo's visit with Dr
    Okafor, and a place on Dr Okafor's waitlist."""
    async with httpx.AsyncClient(base_url=site, timeout=30) as client:
        patient = await _token(client, PATIENT)
        me = _ok(await client.get("/api/v1/users/me", headers=patient))
        okafor = await _doctor(client, patient, "okafor")
        lindqvist = await _doctor(client, patient, "lindqvist")
        await _book_first_free(client, patient, lindqvist["id"], "video")
        mine = _ok(
            await client.get("/api/v1/appointments", params={"doctor_id": okafor["id"]}, headers=patient)
        )
        visit = mine["items"][0]
        admin = await _token(client, ADMIN)
        locations = _ok(
            await client.get(
                "/api/v1/clinic-locations", params={"clinic_id": visit["clinic_id"]}, headers=admin
            )
        )
        desk = next(item for item in locations["items"] if item["kind"] == "checkin_desk")
        join = {"clinic_id": visit["clinic_id"], "doctor_id": okafor["id"], "notes": "Any morning"}
        entry = _ok(await client.post("/api/v1/waitlists", json=join, headers=patient), 201)
        code = _ok(await client.get(f"/api/v1/locations/{desk['id']}/qr-token", headers=admin))
        screen = {"location_id": desk["id"], "valid_days": 1}
        display = _ok(await client.post("/api/v1/events/display-tokens", json=screen, headers=admin), 201)
    return Seeded(
        patient_id=me["id"],
        doctor_id=okafor["id"],
        clinic_id=visit["clinic_id"],
        location_id=desk["id"],
        appointment_id=visit["id"],
        entry_id=entry["id"],
        qr_token=code["token"],
        display_token=display["token"],
    )


@pytest.fixture
def seeded_example() -> Seeded:
    return Seeded(*(f"{kind}-1" for kind in ("p", "d", "c", "l", "a", "e")))


class Visitors:
    """A signed-in browser context per (role, viewport), opened on first use."""

    def __init__(self, browser: Browser, site: str) -> None:
        self.browser = browser
        self.site = site
        self.states: dict[str, Any] = {}
        self.contexts: dict[tuple[str, str], BrowserContext] = {}

    async def _state(self, role: str) -> Any:
        if role not in self.states:
            login = ROLES[role]
            context = await self.browser.new_context(base_url=self.site)
            if login is not None:
                page = await context.new_page()
                await page.goto("/login")
                await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
                await page.get_by_label("Email").fill(login.email)
                await page.get_by_label("Password").fill(DEMO_PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await expect(page).not_to_have_url(re.compile(r"/login"))
            self.states[role] = await context.storage_state()
            await context.close()
        return self.states[role]

    async def context(self, role: str, viewport: str = "desktop", scheme: str = "light") -> BrowserContext:
        key = (role, f"{viewport}-{scheme}")
        if key not in self.contexts:
            self.contexts[key] = await self.browser.new_context(
                base_url=self.site,
                viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
                locale="en-GB",
                color_scheme=scheme,  # type: ignore[arg-type]
                storage_state=await self._state(role),
            )
        return self.contexts[key]

    async def role_for(self, url: str) -> str:
        """The first role that gets the page itself (a 200 HTML answer, not a redirect)."""
        answers = []
        for role in ROLES:
            response = await (await self.context(role)).request.get(url, max_redirects=0)
            if response.status == 200:
                kind = response.headers.get("content-type", "")
                assert kind.startswith("text/html"), (
                    f"{url} answers {kind!r}: not a page. List it in SKIP with the reason"
                )
                return role
            answers.append(f"{role}: {response.status}")
        pytest.fail(f"nobody the crawl signs in as may see {url} ({', '.join(answers)})", pytrace=False)

    async def close(self) -> None:
        for context in self.contexts.values():
            await context.close()


@pytest.fixture(scope="module")
async def visitors(browser: Browser, site: str) -> AsyncIterator[Visitors]:
    found = Visitors(browser, site)
    yield found
    await found.close()


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_has_no_serious_accessibility_violations(
    path: str, visitors: Visitors, seeded: Seeded
) -> None:
    if path in SKIP:
        pytest.skip(SKIP[path])
    url = fill(path, seeded)
    role = await visitors.role_for(url)
    # One load per route: the server renders the same HTML for any size, so the page is
    # resized from desktop to phone (media queries follow) rather than loaded twice.
    page = await (await visitors.context(role)).new_page()
    found = {}
    try:
        response = await page.goto(url)
        assert response is not None
        assert response.status == 200, f"{url} as {role}: {response.status}"
        assert await page.locator("h1").count() >= 1, f"{url} has no heading"
        for viewport, size in VIEWPORTS.items():
            await page.set_viewport_size(size)  # type: ignore[arg-type]
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{url} at {viewport} scrolls sideways by {overflow} px"
            found[viewport] = await serious_violations(page)
    finally:
        await page.close()
    assert found == {viewport: [] for viewport in VIEWPORTS}, f"{url} as {role}"


def test_the_crawl_covers_every_page_and_skips_only_pages_that_exist() -> None:
    assert {"/", "/login", "/app"} <= set(PAGES)
    assert set(SKIP) <= set(PAGES), "SKIP lists a route that is gone: drop it"


def test_a_route_the_crawl_cannot_fill_fails_naming_it(seeded_example: Seeded) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"cannot fill /desk/rooms/\{room_id\}: .*room_id"):
        fill("/desk/rooms/{room_id}", seeded_example)
    assert fill("/app/appointments/{appointment_id}", seeded_example) == "/app/appointments/a-1"


async def test_the_checks_find_what_they_look_for(browser: Browser) -> None:
    """The crawl's detectors are not vacuous: a page with the faults they look for fails both."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.set_content(
        '<html><body><img src="data:,"><p style="color:#bbb">faint</p>'
        '<button style="outline: none">Go</button><a href="#" style="outline: 3px solid #eee">Low</a>'
        "</body></html>"
    )
    try:
        found = " ".join(await serious_violations(page))
        rings = await focus_rings(page, scheme="light")
    finally:
        await context.close()
    for rule in ("image-alt", "color-contrast", "html-has-lang", "document-title"):
        assert rule in found
    assert [(ring.width, ring.contrast < 3) for ring in rings] == [(0.0, True), (3.0, True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("app", sorted(APPS))
async def test_the_main_pages_pass_axe_and_their_focus_ring_stands_out_at_3_to_1(
    app: str, scheme: str, visitors: Visitors, seeded: Seeded
) -> None:
    """In both colour schemes (the crawl runs the light one): axe-core, and each of the first
    tab stops' outline at least 2 px wide and 3:1 against the background it is drawn on."""
    path = APPS[app]
    if path not in PAGES:
        pytest.skip(f"{path} is not on this branch yet (no such page route)")
    role = await visitors.role_for(path)
    page = await (await visitors.context(role, "desktop", scheme)).new_page()
    try:
        await page.goto(path)
        violations = await serious_violations(page)
        rings = await focus_rings(page, scheme=scheme)
    finally:
        await page.close()
    assert violations == [], f"{path} ({scheme})"
    assert rings, f"{path}: nothing takes the keyboard focus"
    weak = [ring for ring in rings if ring.width < 2 or ring.contrast < 3]
    assert weak == [], f"{path} ({scheme}): focus rings under 2 px or 3:1 (of {rings})"


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("app", sorted(APPS))
async def test_the_main_page_of_each_app_is_photographed(
    app: str, viewport: str, visitors: Visitors, seeded: Seeded
) -> None:
    """Written to var/screenshots/; also to docs/screenshots/ with CLINICFLOW_UPDATE_SCREENSHOTS=1."""
    path = APPS[app]
    if path not in PAGES:
        pytest.skip(f"{path} is not on this branch yet (no such page route)")
    role = await visitors.role_for(path)
    page = await (await visitors.context(role, viewport)).new_page()
    try:
        response = await page.goto(path)
        assert response is not None
        assert response.status == 200
        await expect(page.locator("h1").first).to_be_visible()
        shot = await screenshot(page, f"{app}-{viewport}", full_page=False)
    finally:
        await page.close()
    size = VIEWPORTS[viewport]
    assert png_size(shot) == (size["width"], size["height"])
    if updating_docs_screenshots() and app in DOCS_APPS:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOTS / shot.name)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
async def test_the_front_page_leads_a_patient_into_the_patient_app(
    viewport: str, browser: Browser, site: str
) -> None:
    context = await browser.new_context(base_url=site, viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    page = await context.new_page()
    try:
        await page.goto("/")
        for name in ("Patient app", "Doctor hub", "Front desk", "Admin console"):
            link = page.get_by_role("link", name=name, exact=True)
            await expect(link).to_be_visible()
            box = await link.bounding_box()
            assert box is not None
            assert box["height"] >= 24, f"{name}: a tap target too small on a {viewport}"
        await page.get_by_role("link", name="Patient app", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/login\?next=/app$"))
        patient = PATIENT
        await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
        await page.get_by_label("Email").fill(patient.email)
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(f"{site}/app")
        await expect(page.get_by_role("heading", name="My appointments")).to_be_visible()
    finally:
        await context.close()


async def test_the_doctors_live_queue_passes_axe_and_shows_a_call_made_elsewhere_without_a_reload(
    visitors: Visitors, site: str
) -> None:
    """Dr Tanaka's queue on the demo's live day (patients waiting, one with her): axe-core at
    both sizes, then a call made through the API appears on the open page by its stream, and
    a button posts its form."""
    page = await (await visitors.context("walk-in doctor")).new_page()
    # htmx's SSE extension announces an open stream with `htmx:sseOpen` (it bubbles).
    await page.add_init_script(
        "document.addEventListener('htmx:sseOpen', () => { window.streamOpen = true; })"
    )
    try:
        await page.goto("/doctor/queue")
        waiting = page.locator("table.queue tbody tr")
        await expect(waiting.first).to_be_visible()
        before = await waiting.count()
        called = page.locator("li.status-called")
        called_before = await called.count()
        for viewport, size in VIEWPORTS.items():
            await page.set_viewport_size(size)  # type: ignore[arg-type]
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"/doctor/queue at {viewport} scrolls sideways by {overflow} px"
            assert await serious_violations(page) == [], viewport
        await page.evaluate("window.stillTheSamePage = true")
        await page.wait_for_function("window.streamOpen === true")
        location_id = await page.locator("input[name=location]").first.get_attribute("value")
        login = ROLES["walk-in doctor"]
        assert login is not None
        async with httpx.AsyncClient(base_url=site, timeout=30) as client:
            doctor = await _token(client, login)
            _ok(await client.post(f"/api/v1/queues/{location_id}/call-next", headers=doctor))
        await expect(waiting).to_have_count(before - 1, timeout=10_000)
        await expect(called).to_have_count(called_before + 1)
        assert await page.evaluate("window.stillTheSamePage") is True
        await called.first.get_by_role("button", name="Recall").click()
        await expect(page.get_by_role("status")).to_have_text("The patient is called again.")
        await expect(page.get_by_text("called again once").first).to_be_visible()
    finally:
        await page.close()
