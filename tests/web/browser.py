"""Real-browser tests: Playwright for Python driving Debian's Chromium.

Playwright's own browser download does not work on these machines, so the
tests launch the system's `chromium` (`CLINICFLOW_CHROMIUM` overrides the
path). Where there is none the browser tests are skipped, and the run says so
loudly at the end (`.ci/run` installs Chromium, so CI always runs them).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def chromium_path() -> str | None:
    configured = os.environ.get("CLINICFLOW_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def open_context(browser: Browser, viewport: str, **options: Any) -> BrowserContext:
    """A new browser context (its own cookies) at the named viewport, in British English."""
    return await browser.new_context(viewport=VIEWPORTS[viewport], locale="en-GB", **options)  # type: ignore[arg-type]


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the current page, one line each."""
    results = await Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in {"serious", "critical"}:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot under var/screenshots/ (the best are copied to docs/)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


#: The README's screenshots; the tests write them when CLINICFLOW_UPDATE_SCREENSHOTS=1.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def updating_docs_screenshots() -> bool:
    return os.environ.get("CLINICFLOW_UPDATE_SCREENSHOTS") == "1"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


# --- focus-ring contrast (WCAG 1.4.11: a focus indicator needs 3:1 against what is beside it)

#: The canvas behind a page that paints no background, per colour scheme (Chromium's).
CANVAS = {"light": (255.0, 255.0, 255.0), "dark": (18.0, 18.0, 18.0)}
_RGB = re.compile(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)")

#: What the focused element shows: its outline and the backgrounds behind it, innermost first
#: (the outline is drawn outside the element, so its parent's background is what it sits on).
_FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const backgrounds = [];
  for (let node = el.parentElement; node; node = node.parentElement) {
    backgrounds.push(getComputedStyle(node).backgroundColor);
  }
  const label = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + ' "' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30) + '"';
  return {label, outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
          outlineColor: style.outlineColor, backgrounds};
}"""


@dataclass(frozen=True)
class FocusRing:
    element: str
    width: float
    contrast: float


def _rgba(value: str) -> tuple[float, float, float, float]:
    found = _RGB.fullmatch(value.strip())
    assert found, f"unexpected computed colour {value!r}"
    r, g, b, a = found.groups()
    return float(r), float(g), float(b), float(a) if a is not None else 1.0


def _composite(layers: list[str], canvas: tuple[float, float, float]) -> tuple[float, float, float]:
    """The colour the backgrounds paint (innermost first) over the canvas."""
    colour = canvas
    for layer in reversed(layers):
        r, g, b, a = _rgba(layer)
        colour = (r * a + colour[0] * (1 - a), g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a))
    return colour


def _luminance(colour: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def focus_rings(page: Page, *, scheme: str, stops: int = 8) -> list[FocusRing]:
    """Tab through the first `stops` focusable elements; each one's outline width and its
    contrast against the background it is drawn on (0 when there is no outline at all)."""
    rings = []
    for _ in range(stops):
        await page.keyboard.press("Tab")
        seen = await page.evaluate(_FOCUS_JS)
        if seen is None:
            break
        behind = _composite(seen["backgrounds"], CANVAS[scheme])
        r, g, b, a = _rgba(seen["outlineColor"])
        outline = (r * a + behind[0] * (1 - a), g * a + behind[1] * (1 - a), b * a + behind[2] * (1 - a))
        drawn = seen["outlineStyle"] != "none" and seen["outlineWidth"] > 0
        contrast = contrast_ratio(outline, behind) if drawn else 0.0
        rings.append(FocusRing(seen["label"], seen["outlineWidth"] if drawn else 0.0, contrast))
    return rings
