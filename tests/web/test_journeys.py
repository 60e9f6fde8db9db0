"""Journeys through the pages in a real browser, at desktop and phone sizes, checked by axe-core."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from clinicflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANT_SLUG
from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import VIEWPORTS, screenshot, serious_violations

pytestmark = pytest.mark.slow
PATIENT = next(login for login in DEMO_LOGINS if login.role == "patient")


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("web"), purpose="web")


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def page(viewport: str, browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB")  # type: ignore[arg-type]
    yield await context.new_page()
    await context.close()


async def sign_in(page: Page, site: str, email: str, *, next_path: str = "/app") -> None:
    await page.goto(f"{site}{next_path}")
    await expect(page).to_have_url(f"{site}/login?next=%2Fapp&reason=signin")
    await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_patient_signs_in_and_sees_their_appointments(page: Page, site: str, viewport: str) -> None:
    await page.goto(f"{site}/app")
    assert await serious_violations(page) == []  # the sign-in page
    await screenshot(page, f"login-{viewport}")
    await sign_in(page, site, PATIENT.email)
    await expect(page).to_have_url(f"{site}/app")
    await expect(page.get_by_role("heading", name="My appointments")).to_be_visible()
    await expect(page.locator("section[aria-labelledby=upcoming-heading] li")).to_have_count(1)
    assert await serious_violations(page) == []
    await screenshot(page, f"patient-app-{viewport}")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.goto(f"{site}/app")
    await expect(page).to_have_url(f"{site}/login?next=%2Fapp&reason=signin")


async def test_a_wrong_password_shows_the_error_and_signs_nobody_in(page: Page, site: str) -> None:
    await page.goto(f"{site}/login")
    await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
    await page.get_by_label("Email").fill(PATIENT.email)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#password-error")).to_have_text("Required")
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Email")).to_have_value(PATIENT.email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#form-error")).to_have_text("The email or password is not correct")
    assert await serious_violations(page) == []
    await page.goto(f"{site}/app")
    await expect(page).to_have_url(f"{site}/login?next=%2Fapp&reason=signin")
