"""Real-browser tests: Playwright for Python driving Debian's Chromium.

Playwright's own browser download does not work on these machines, so the
tests launch the system's `chromium` (`CLINICFLOW_CHROMIUM` overrides the
path). Where there is none the browser tests are skipped, and the run says so
loudly at the end (`.ci/run` installs Chromium, so CI always runs them).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def chromium_path() -> str | None:
    configured = os.environ.get("CLINICFLOW_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the current page, one line each."""
    results = await Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in {"serious", "critical"}:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (the best are copied to docs/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
