"""Form posts from the pages: CSRF checked before anything else, then plain fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from clinicflow.errors import FieldProblem, Forbidden, ValidationFailed
from clinicflow.web.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    CookieSigner,
    PageSession,
    cross_site,
    new_browser_secret,
)


class CsrfRefused(Forbidden):
    code = "CSRF_REFUSED"
    title = "This form was not sent from Clinicflow's own page"


def signer_of(request: Request) -> CookieSigner:
    signer: CookieSigner = request.app.state.cookie_signer
    return signer


def prepare_csrf(request: Request) -> None:
    """Give the page a form token (and the browser its `cf_csrf` secret if it has none)."""
    secret = request.cookies.get(CSRF_COOKIE)
    if not secret:
        secret = new_browser_secret()
        request.state.new_browser_secret = secret
    request.state.csrf_token = signer_of(request).csrf_token(secret)


def finish(request: Request, response: Response) -> Response:
    """Set the cookies the request decided on (a new CSRF secret, a renewed session)."""
    secure = request.app.state.secure_cookies
    secret = getattr(request.state, "new_browser_secret", None)
    if secret:
        response.set_cookie(CSRF_COOKIE, secret, httponly=True, samesite="lax", secure=secure, path="/")
    renewed = getattr(request.state, "renew_session", None)
    if renewed is not None:
        set_session_cookie(request, response, renewed)
    return response


def set_session_cookie(request: Request, response: Response, session: PageSession) -> None:
    """The page-session cookie: HttpOnly, SameSite=Lax, Secure outside dev and test."""
    response.set_cookie(
        SESSION_COOKIE,
        signer_of(request).encode(session),
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        path="/",
    )


async def checked_form(request: Request) -> FormData:
    """The posted form, if it came from our page: same site, with this browser's token."""
    if cross_site(request.headers, host=request.url.netloc):
        raise CsrfRefused("Cross-site form posts are refused")
    form = await request.form()
    token = form.get(CSRF_FIELD)
    browser_secret = request.cookies.get(CSRF_COOKIE)
    if not signer_of(request).csrf_valid(browser_secret, token if isinstance(token, str) else None):
        raise CsrfRefused("The form's security token is missing or stale: reload the page and try again")
    return form


#: A form post that passed the CSRF checks.
CheckedForm = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


M = TypeVar("M", bound=BaseModel)


#: Pydantic errors whose message is no help to a person (a regular expression, every enum value).
_UNREADABLE = frozenset({"string_pattern_mismatch", "enum", "uuid_parsing", "literal_error"})


def validated(
    model: type[M], values: Mapping[str, Any], *, prefix: str = "", hints: Mapping[str, str] | None = None
) -> M:
    """`values` as `model`, or ValidationFailed naming each field `prefix` + its path, for the
    message next to it. A rule of the whole model names the prefix itself (`rules-2`) or,
    without one, is the error's detail, shown above the form. A message a person cannot read
    (a regular expression, a list of enum values) is replaced by the field's hint, if given."""
    try:
        return model.model_validate(values)
    except ValidationError as invalid:
        problems, rules = [], []
        for error in invalid.errors():
            path = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] in _UNREADABLE and hints and path in hints:
                message = hints[path]
            if path or prefix:
                problems.append(
                    FieldProblem(field=f"{prefix}{path}" if path else prefix.rstrip("."), message=message)
                )
            else:
                rules.append(message)
        raise ValidationFailed("; ".join(rules) or "Some fields are not valid", errors=problems) from None
