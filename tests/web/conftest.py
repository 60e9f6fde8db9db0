"""Fixtures of the web tests: a real Chromium for the journeys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import BROWSER_SKIP_MARK
from tests.web.browser import VIEWPORTS, chromium_path


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.skip(f"no Chromium on this machine (apt-get install chromium): {BROWSER_SKIP_MARK}")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    """Each journey runs at desktop size and at a phone's (390 x 844)."""
    return str(request.param)
