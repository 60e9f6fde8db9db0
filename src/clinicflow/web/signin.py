"""Signing in and out of the pages: `/login` (password), `POST /logout`.

A successful sign-in opens an identity session (as the API's login does, audited
the same way) and sets a new page-session cookie: the cookie rotates on every
sign-in. Signing out revokes the session, so a copied cookie stops working too.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from clinicflow.identity import auth
from clinicflow.identity.access import (
    WebContext,
    changing_principals,
    context_of,
    password_login,
    public,
)
from clinicflow.identity.tokens import AccessClaims, verify_access_token
from clinicflow.web.access import PageMember
from clinicflow.web.forms import CheckedForm, set_session_cookie, text
from clinicflow.web.landing import landing_for
from clinicflow.web.rendering import render
from clinicflow.web.routing import PageRoute
from clinicflow.web.session import SESSION_COOKIE, PageSession

router = APIRouter(include_in_schema=False, route_class=PageRoute)

_REASONS = {
    "idle": "You were signed out after a while without activity. Sign in again to go on.",
    "ended": "Your session has ended. Sign in again to go on.",
    "signin": "Sign in to go on.",
}


def safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no `//host`): never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/app"


@router.get("/login", dependencies=[Depends(public)])
async def login_page(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    """The sign-in form (tenant, email, password)."""
    return render(
        request,
        "login.html",
        {"next": safe_next(next), "notice": _REASONS.get(reason or ""), "values": {}, "errors": {}},
    )


@router.post("/login", dependencies=[Depends(public)])
async def login(request: Request, form: CheckedForm) -> Response:
    """Check the credentials; on success set a fresh session cookie and go to `next`."""
    values = {name: text(form, name) for name in ("tenant", "email")}
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    target = safe_next(text(form, "next"))
    errors = {name: "Required" for name, value in {**values, "password": password}.items() if not value}
    if errors:
        context = {"next": target, "values": values, "errors": {"form": "Fill in every field", **errors}}
        return render(request, "login.html", context, status_code=422)
    ctx = context_of(request)
    address = request.client.host if request.client else "unknown"
    outcome = await password_login(
        ctx,
        tenant=values["tenant"],
        email=values["email"],
        password=password,
        address=address,
        user_agent=request.headers.get("user-agent"),
    )
    if outcome is None:
        refused = {"form": "The email or password is not correct"}
        return render(
            request, "login.html", {"next": target, "values": values, "errors": refused}, status_code=401
        )
    claims = verify_access_token(ctx.auth.keys, outcome.access_token)
    response = RedirectResponse(await _landing(ctx, claims, target), status_code=303)
    session = PageSession(claims.session_id, claims.subject_id, claims.tenant_id, ctx.auth.clock.now())
    set_session_cookie(request, response, session)
    return response


async def _landing(ctx: WebContext, claims: AccessClaims, target: str) -> str:
    """Where a fresh sign-in goes: `next`, or (by default) the app of the principal's role."""
    if target != "/app":
        return target
    async with ctx.db.reading() as uow:
        principal = await auth.load_principal(uow, ctx.auth, claims)
    return landing_for(principal)


@router.post("/logout")
async def logout(request: Request, principal: PageMember, form: CheckedForm) -> Response:
    """End the session (its tokens and cookie stop working) and go back to the sign-in page."""
    ctx = context_of(request)
    async with changing_principals(ctx) as uow:  # every process's principal cache hears it first
        await auth.logout(uow, ctx.auth, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
