"""The front door: `/` is a small accessible page; `/docs` and `/redoc` load only local assets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest

from clinicflow.web.home import STATIC_DIR
from tests.architecture.test_routes import _app, api_routes, pages_of


class _Assets(HTMLParser):
    """Every URL a page makes the browser load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.links: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag in {"script", "img"} and values.get("src"):
            self.loaded.append(str(values["src"]))
        if tag == "link" and values.get("href"):
            self.loaded.append(str(values["href"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))


def _parse(html: str) -> _Assets:
    parser = _Assets()
    parser.feed(html)
    return parser


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://clinicflow.test") as c:
        yield c


async def test_home_is_an_accessible_page_linking_the_docs_and_readiness(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = _parse(response.text)
    assert page.html_lang == "en"
    assert re.search(r"<title>Clinicflow</title>", response.text)
    assert '<meta name="viewport"' in response.text
    assert {"/docs", "/redoc", "/openapi.json", "/health/ready"} <= set(page.links)
    assert len(response.content) < 8_000, "the front door stays small"


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
async def test_pages_load_only_local_assets_and_each_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # Any absolute URL in the page (attribute or inline script) would be a third-party load.
    assert re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", response.text) == []
    assets = _parse(response.text).loaded
    assert assets, "the page loads its assets"
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert served.content == (STATIC_DIR / asset.removeprefix("/static/")).read_bytes()


async def test_docs_point_at_the_openapi_document_which_omits_the_pages(client: httpx.AsyncClient) -> None:
    assert "/openapi.json" in (await client.get("/docs")).text
    assert 'spec-url="/openapi.json"' in (await client.get("/redoc")).text
    schema = (await client.get("/openapi.json")).json()
    assert not {"/", "/docs", "/redoc"} & set(schema["paths"])
    assert "/health/ready" in schema["paths"]


def test_only_the_pages_are_left_out_of_the_openapi_document() -> None:
    app = _app()
    documented = set(app.openapi()["paths"])
    undocumented = {path for path, _, _ in api_routes(app)} - documented
    assert undocumented == pages_of(app)
    assert {"/login", "/logout", "/app"} <= undocumented


async def test_home_leads_to_each_apps_sign_in(client: httpx.AsyncClient) -> None:
    page = _parse((await client.get("/")).text)
    apps = ["/app", "/doctor", "/desk", "/admin"]
    assert [link for link in page.links if link.startswith("/login")] == [f"/login?next={a}" for a in apps]
    for app in apps:
        login = await client.get(f"/login?next={app}")
        assert login.status_code == 200
        assert f'name="next" value="{app}"' in login.text
