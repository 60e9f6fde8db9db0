"""Page sessions through the real app: cookies, CSRF, idle logoff, revocation, bad input."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from clinicflow.tenancy.models import Tenant
from tests.conftest import ClientFactory, count_rows
from tests.factories import PASSWORD, make_tenant, make_user

START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def browser(make_client: ClientFactory, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(clock=clock) as client:
        yield client


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await make_tenant(database)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def sign_in(browser: httpx.AsyncClient, tenant: Tenant, email: str) -> httpx.Response:
    token = form_token((await browser.get("/login")).text)
    return await browser.post(
        "/login",
        data={
            "csrf_token": token,
            "tenant": tenant.slug,
            "email": email,
            "password": PASSWORD,
            "next": "/app",
        },
    )


async def test_signing_in_sets_a_safe_session_cookie_and_opens_the_app(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    response = await sign_in(browser, tenant, patient.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/app"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("cf_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    page = await browser.get("/app")
    assert page.status_code == 200
    assert "My appointments" in page.text


async def test_anonymous_visitors_are_sent_to_sign_in_with_where_they_were_going(
    browser: httpx.AsyncClient,
) -> None:
    response = await browser.get("/app")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fapp&reason=signin"


async def test_a_cookie_rotates_on_every_sign_in(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    await sign_in(browser, tenant, patient.email)
    first = browser.cookies["cf_session"]
    await sign_in(browser, tenant, patient.email)
    assert browser.cookies["cf_session"] != first
    assert first.split(".")[0] != browser.cookies["cf_session"].split(".")[0]  # a new session


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    await browser.get("/login")  # the browser has its CSRF cookie, but the form lacks the token
    sessions = await count_rows(database, "auth_sessions")
    form = {"tenant": tenant.slug, "email": patient.email, "password": PASSWORD}
    refused = await browser.post("/login", data=form)
    assert refused.status_code == 403
    assert "security token" in refused.text
    forged = await browser.post("/login", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert await count_rows(database, "auth_sessions") == sessions


async def test_a_cross_site_post_is_refused_even_with_a_token(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    token = form_token((await browser.get("/login")).text)
    form = {"csrf_token": token, "tenant": tenant.slug, "email": patient.email, "password": PASSWORD}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        refused = await browser.post("/login", data=form, headers=headers)
        assert refused.status_code == 403, headers
    assert "cf_session" not in browser.cookies


async def test_bad_input_shows_each_fields_error_and_signs_nobody_in(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    token = form_token((await browser.get("/login")).text)
    sessions = await count_rows(database, "auth_sessions")
    empty = await browser.post("/login", data={"csrf_token": token, "tenant": tenant.slug, "email": ""})
    assert empty.status_code == 422
    assert 'id="email-error">Required<' in empty.text
    assert 'id="password-error">Required<' in empty.text
    assert f'value="{tenant.slug}"' in empty.text  # what was typed stays
    wrong = await browser.post(
        "/login",
        data={"csrf_token": token, "tenant": tenant.slug, "email": patient.email, "password": "wrong"},
    )
    assert wrong.status_code == 401
    assert "The email or password is not correct" in wrong.text
    assert await count_rows(database, "auth_sessions") == sessions
    assert "cf_session" not in browser.cookies


async def test_the_session_logs_off_after_the_idle_timeout(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant, clock: FrozenClock
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    await sign_in(browser, tenant, patient.email)
    clock.set(START + timedelta(minutes=29))
    assert (await browser.get("/app")).status_code == 200  # activity slides the timeout
    clock.set(START + timedelta(minutes=29 + 29))
    assert (await browser.get("/app")).status_code == 200
    clock.set(START + timedelta(minutes=29 + 29 + 31))
    idle = await browser.get("/app")
    assert idle.status_code == 303
    assert idle.headers["location"] == "/login?next=%2Fapp&reason=idle"
    notice = await browser.get(idle.headers["location"])
    assert "signed out after a while without activity" in notice.text


async def test_signing_out_ends_the_session_so_a_copied_cookie_stops_working(
    browser: httpx.AsyncClient,
    make_client: ClientFactory,
    clock: FrozenClock,
    database: Database,
    tenant: Tenant,
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    await sign_in(browser, tenant, patient.email)
    copied = browser.cookies["cf_session"]
    page = await browser.get("/app")
    out = await browser.post("/logout", data={"csrf_token": form_token(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    async with make_client(clock=clock) as thief:
        thief.cookies.set("cf_session", copied)
        stolen = await thief.get("/app")
    assert stolen.status_code == 303
    assert stolen.headers["location"] == "/login?next=%2Fapp&reason=ended"


async def test_a_tampered_cookie_is_treated_as_no_session(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    await sign_in(browser, tenant, patient.email)
    value = browser.cookies["cf_session"]
    parts = value.split(".")
    parts[3] = str(int(parts[3]) + 3600)  # claim later activity
    browser.cookies.set("cf_session", ".".join(parts))
    response = await browser.get("/app")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fapp&reason=signin"


async def test_only_local_paths_are_followed_after_sign_in(
    browser: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    patient = await make_user(database, tenant_id=tenant.id)
    token = form_token((await browser.get("/login")).text)
    form = {"csrf_token": token, "tenant": tenant.slug, "email": patient.email, "password": PASSWORD}
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = await browser.post("/login", data={**form, "next": target})
        assert response.headers["location"] == "/app", target


async def test_the_pages_speak_spanish_when_the_browser_asks_for_it(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in page.text
    assert "Iniciar sesión" in page.text
    assert "Contraseña" in page.text
    english = await browser.get("/login", headers={"Accept-Language": "de-DE"})
    assert '<html lang="en">' in english.text
    assert "Password" in english.text
