"""Rendering pages: one Jinja2 environment, translated strings, the error contract as messages.

Strings in templates go through `_()` (gettext). The patient app speaks English
and Spanish: the locale comes from the `lang` cookie or `Accept-Language`.
Catalogues are the `.po` files under `web/locale/`, compiled in memory at
start-up (no build step, nothing generated in the repository).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from clinicflow.errors import ClinicflowError
from clinicflow.web.forms import finish, prepare_csrf

HERE = Path(__file__).resolve().parent
LOCALES = ("en", "es")
DEFAULT_LOCALE = "en"
templates = Jinja2Templates(directory=HERE / "templates")


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of `locale` (English, the source language, needs none)."""
    po = HERE / "locale" / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def locale_of(request: Request) -> str:
    """The page language: the `lang` cookie, else the best of `Accept-Language`, else English."""
    chosen = request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return DEFAULT_LOCALE


def field_errors(error: ClinicflowError) -> dict[str, str]:
    """The error contract as {field: message}, for messages next to each field (`form`: the
    error's own detail, shown above the form)."""
    found = {"form": error.detail}
    for problem in error.errors:
        found.setdefault(problem.field or "form", problem.message)
    return found


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A page in the request's language, with the CSRF token and the signed-in principal at hand."""
    if not hasattr(request.state, "csrf_token"):
        prepare_csrf(request)
    locale = locale_of(request)
    gettext = translations(locale).gettext
    values: dict[str, Any] = {
        "_": gettext,
        "locale": locale,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "principal": getattr(request.state, "principal", None),
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    finish(request, response)
    return response
