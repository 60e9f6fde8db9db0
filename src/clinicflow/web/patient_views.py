"""What the patient app's pages share: reading forms into the domains' schemas, the error
contract as translated messages next to each field, clinic-local times in the page's language.

Messages are translated here (the page's locale), so templates print them as they are.
A schema's own messages (pydantic's) are not shown: each form names a readable message
per field, and a field it does not name gets a generic one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from fastapi import Request
from pydantic import BaseModel, ValidationError

from clinicflow.errors import ClinicflowError, FieldProblem, ValidationFailed
from clinicflow.web.rendering import locale_of, translations

Gettext = Callable[[str], str]
Model = TypeVar("Model", bound=BaseModel)
#: The generic title of a ValidationFailed: the fields say more.
_GENERIC_INVALID = "The request is not valid"


def N_(message: str) -> str:
    """Mark a message for translation where it is defined; it is translated where shown."""
    return message


def gettext_for(request: Request) -> Gettext:
    """The page language's gettext."""
    return translations(locale_of(request)).gettext


def parse_form(model: type[Model], values: Mapping[str, Any], messages: Mapping[str, str]) -> Model:
    """`values` as `model`, or ValidationFailed naming each wrong field with its message from
    `messages` (untranslated msgids; `"*"` is the fallback)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as invalid:
        problems = []
        for problem in invalid.errors():
            names = [str(part) for part in problem.get("loc", ()) if isinstance(part, str)]
            field = names[-1] if names else "form"
            message = messages.get(field) or messages.get("*") or "This value is not valid"
            problems.append(FieldProblem(field=field, message=message))
        raise ValidationFailed("Check the fields marked below", errors=problems) from None


def error_messages(request: Request, error: ClinicflowError, *, form: str = "form") -> dict[str, str]:
    """{field: translated message} for the error, its summary under `form` (the title of a
    domain refusal such as CANCELLATION_TOO_LATE, or the detail of a field-by-field refusal)."""
    _ = gettext_for(request)
    if isinstance(error, ValidationFailed) and error.title == _GENERIC_INVALID:
        summary = _(error.detail) if error.errors else _(error.title)
    else:
        summary = _(error.title)
    found = {form: summary}
    for problem in error.errors:
        found.setdefault(problem.field or form, _(problem.message))
    return found


def local_time(request: Request, when: datetime, zone: str, pattern: str = "EEEE d MMMM y, HH:mm") -> str:
    """`when` in the clinic's zone, written in the page's language."""
    return format_datetime(when, pattern, tzinfo=ZoneInfo(zone), locale=locale_of(request))


def local_day(request: Request, when: datetime, zone: str) -> str:
    """The clinic-local day of `when`, written in full in the page's language."""
    return format_date(when.astimezone(ZoneInfo(zone)).date(), "long", locale=locale_of(request))


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
