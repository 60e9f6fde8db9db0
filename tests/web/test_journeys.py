"""Journeys through the pages in a real browser, at desktop and phone sizes, checked by axe-core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from clinicflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANT_SLUG
from tests.conftest import server_slot
from tests.demo_server import serve_demo
from tests.web.browser import open_context, screenshot, serious_violations

pytestmark = pytest.mark.slow
PATIENT = next(login for login in DEMO_LOGINS if login.role == "patient")


@pytest.fixture(scope="module")
def site(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("web"), purpose="web")


@pytest.fixture
async def page(viewport: str, browser: Browser) -> AsyncIterator[Page]:
    context = await open_context(browser, viewport)
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
    # the demo patient's upcoming visit (journeys below may have booked more)
    await expect(page.locator("section[aria-labelledby=upcoming-heading] li").first).to_be_visible()
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


async def test_a_patient_finds_a_doctor_books_and_downloads_the_calendar_file(
    page: Page, site: str, viewport: str
) -> None:
    await sign_in(page, site, PATIENT.email)
    upcoming = page.locator("section[aria-labelledby=upcoming-heading] li")
    await expect(upcoming.first).to_be_visible()
    before = await upcoming.count()
    await page.get_by_role("link", name="Book an appointment").click()
    await page.get_by_label("Name").fill("okafor")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Okafor").first.click()
    assert await serious_violations(page) == []
    await screenshot(page, f"patient-week-{viewport}")
    book = page.get_by_role("button", name="Book").first
    if await book.count() == 0:  # nothing left this week (late on a Friday): the next one
        await page.get_by_role("link", name="Next week", exact=True).click()
        book = page.get_by_role("button", name="Book").first
    await book.click()
    await expect(page.get_by_role("status")).to_have_text("Your appointment is booked.")
    await expect(upcoming).to_have_count(before + 1)
    async with page.expect_download() as downloading:
        await upcoming.first.get_by_role("link", name="Add to calendar").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".ics")
    content = await asyncio.to_thread(Path(await download.path()).read_text)
    assert "BEGIN:VCALENDAR" in content
    assert "BEGIN:VEVENT" in content


async def test_a_form_without_its_csrf_token_is_refused_and_signs_nobody_in(page: Page, site: str) -> None:
    """The sign-in form with its hidden token taken out (as a forged cross-site form would
    lack it): the server refuses it in words, and nobody is signed in."""
    await page.goto(f"{site}/login")
    await page.get_by_label("Organisation").fill(DEMO_TENANT_SLUG)
    await page.get_by_label("Email").fill(PATIENT.email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    token = page.locator("input[name=csrf_token]")
    assert await token.count() == 1
    await token.evaluate("input => input.remove()")
    posted = lambda r: r.url.endswith("/login") and r.request.method == "POST"  # noqa: E731
    async with page.expect_response(posted) as sent:
        await page.get_by_role("button", name="Sign in").click()
    assert (await sent.value).status == 403
    await expect(page.get_by_text("security token")).to_be_visible()
    assert await serious_violations(page) == []
    await page.goto(f"{site}/app")
    await expect(page).to_have_url(f"{site}/login?next=%2Fapp&reason=signin")
