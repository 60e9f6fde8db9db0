"""The waiting room's screen in a real browser: opened from the admin console's button (a
display token, no user on the screen), it shows the board, follows the queue live (the doctor
calls the next patient in another context: the board changes without a reload) and, with
"Announce aloud" ticked, says the new ticket and where to go with the browser's speech
synthesis. Desktop and phone sizes, axe-core on every page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from clinicflow.demo import DEMO_PASSWORD, DEMO_TENANT_SLUG
from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import open_context, serious_violations
from tests.web.journey_support import ADMIN, WALK_IN_DOCTOR, bearer, check_in_desk, json_of

pytestmark = pytest.mark.slow
LIVE_TIMEOUT_MS = 15_000
#: Speech synthesis is recorded, not played: the test reads what would have been said.
RECORD_SPEECH = """
window.spoken = [];
document.addEventListener('htmx:sseOpen', () => { window.streamOpen = true; });
if ('speechSynthesis' in window) {
  window.speechSynthesis.speak = (utterance) => { window.spoken.push(utterance.text); };
}
"""


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("display"), purpose="display-web")


@pytest.fixture
async def screen(viewport: str, browser: Browser, site: str) -> AsyncIterator[BrowserContext]:
    context = await open_context(browser, viewport, base_url=site)
    yield context
    await context.close()


async def test_the_display_opens_from_the_console_follows_the_queue_and_speaks(
    screen: BrowserContext, site: str
) -> None:
    admin = await bearer(screen.request, ADMIN.email)
    doctor = await bearer(screen.request, WALK_IN_DOCTOR.email)
    me = await json_of(await screen.request.get("/api/v1/users/me", headers=doctor), 200)
    clinic_id = me["grants"][0]["clinic_id"]
    desk = await check_in_desk(screen.request, admin, clinic_id)
    page = await screen.new_page()
    await page.add_init_script(RECORD_SPEECH)
    await page.goto(f"/admin/locations/{desk}")
    await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
    await page.get_by_label("Email").fill(ADMIN.email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Check-in")).to_be_visible()
    assert await serious_violations(page) == []
    await page.get_by_role("button", name="Open the waiting-room display").click()
    await expect(page).to_have_url(re.compile(rf"/display/{desk}\?token=cfd1\."))
    await expect(page.get_by_role("heading", name="Now calling")).to_be_visible()
    assert await serious_violations(page) == []
    await page.get_by_label("Announce aloud").check()
    await page.evaluate("window.stillTheSamePage = true")
    await page.wait_for_function("window.streamOpen === true")

    called = await json_of(await screen.request.post(f"/api/v1/queues/{desk}/call-next", headers=doctor), 200)
    ticket = called["ticket"]
    await expect(page.locator(".call.newest .ticket")).to_have_text(ticket, timeout=LIVE_TIMEOUT_MS)
    await expect(page.locator(".next .ticket", has_text=re.compile(rf"^{ticket}$"))).to_have_count(0)
    assert await page.evaluate("window.stillTheSamePage") is True
    await page.wait_for_function("window.spoken.length > 0", timeout=LIVE_TIMEOUT_MS)
    assert await page.evaluate("window.spoken") == [f"Ticket {ticket}, Dr Mei Tanaka"]
    names = await page.locator("main").inner_text()
    for waiting in ("Tom Evans", "Lena Kowalski", "Omar Haddad", "Grace Liu", "Noah Brown", "Priya Shah"):
        assert waiting not in names
    assert await serious_violations(page) == []
