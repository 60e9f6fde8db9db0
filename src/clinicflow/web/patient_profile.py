"""My profile: name, phone and preferred language, changed through identity's `update_user`.

The phone and the language live on the patient profile; an account without one (a
patient created by staff before profiles existed) edits its name only. A saved
language the pages speak also becomes the page language (the `lang` cookie).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.errors import ClinicflowError, NotFound
from clinicflow.identity import service as identity
from clinicflow.identity.access import context_of
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.schemas import UserRead, UserUpdate
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.access import PatientPage
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.patient_views import N_, error_messages, parse_form
from clinicflow.web.rendering import LOCALES, render
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/app", include_in_schema=False, route_class=PageRoute)

#: The languages the profile offers: those the pages speak, by their own names.
LANGUAGES = (("en", "English"), ("es", "Español"))
_MESSAGES = {
    "full_name": N_("Enter your name (at most 200 characters)"),
    "phone": N_("Enter a phone number: digits, spaces, brackets or dashes, optionally starting with +"),
    "preferred_language": N_("Choose a language from the list"),
    "*": N_("This value is not valid"),
}


async def _me(request: Request, principal: TenantPrincipal) -> UserRead:
    async with context_of(request).db.reading() as uow:
        return await identity.get_user(uow, principal, user_id=principal.user_id)


def _shown(user: UserRead) -> dict[str, str]:
    profile = user.patient_profile
    return {
        "full_name": user.full_name,
        "phone": (profile.phone or "") if profile else "",
        "preferred_language": (profile.preferred_language or "") if profile else "",
    }


def _page(
    request: Request,
    user: UserRead,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    languages = list(LANGUAGES)
    saved = values.get("preferred_language")
    if saved and saved not in dict(languages):  # a language set elsewhere stays choosable
        languages.append((saved, saved))
    context: dict[str, Any] = {
        "user": user,
        "values": values,
        "errors": errors or {},
        "languages": languages,
        "has_profile": user.patient_profile is not None,
        "saved": "saved" in request.query_params,
    }
    return render(request, "app/profile.html", context, status_code=status_code)


@router.get("/profile")
async def profile(request: Request, principal: PatientPage) -> Response:
    """My name, phone and language."""
    user = await _me(request, principal)
    return _page(request, user, _shown(user))


@router.post("/profile")
async def save_profile(request: Request, principal: PatientPage, form: CheckedForm) -> Response:
    """Save my profile; invalid fields are shown with their message and nothing is saved."""
    user = await _me(request, principal)
    values = {name: text(form, name) for name in ("full_name", "phone", "preferred_language")}
    fields: dict[str, str | None] = {"full_name": values["full_name"]}
    if user.patient_profile is not None:  # empty clears the phone and the language
        fields |= {
            "phone": values["phone"] or None,
            "preferred_language": values["preferred_language"] or None,
        }
    try:
        data = parse_form(UserUpdate, fields, _MESSAGES)
        async with context_of(request).db.transaction() as uow:
            await identity.update_user(uow, principal, user_id=principal.user_id, data=data)
    except ClinicflowError as refused:
        if isinstance(refused, NotFound):
            raise
        return _page(
            request, user, values, errors=error_messages(request, refused), status_code=refused.status
        )
    response = RedirectResponse("/app/profile?saved=1", status_code=303)
    if data.preferred_language in LOCALES:
        response.set_cookie(
            "lang",
            data.preferred_language,
            httponly=True,
            samesite="lax",
            secure=request.app.state.secure_cookies,
            path="/",
            max_age=365 * 24 * 3600,
        )
    return response
