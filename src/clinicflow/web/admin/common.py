"""What the admin pages share: rendering with the console's navigation, form fields into an
input schema (its errors named by field), the time zone choices, clinic names for readable
rows, pagination links and notices."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import FormData

from clinicflow.errors import ClinicflowError, ValidationFailed
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import MAX_LIMIT, PageParams, decode_cursor
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import IanaTimezone
from clinicflow.web.forms import text, validated
from clinicflow.web.rendering import field_errors, render

M = TypeVar("M", bound=BaseModel)
#: Page size of the console's lists.
PAGE_SIZE = 50
#: Error codes that belong to one field of the form that caused them.
_FIELD_OF_CODE = {"EMAIL_TAKEN": "email", "CLINIC_SLUG_TAKEN": "slug"}


def parsed(model: type[M], values: Mapping[str, Any], *, hints: Mapping[str, str] | None = None) -> M:
    """`forms.validated` with the console's hints for unreadable messages; the console starts
    the sentence of a whole-form rule with a capital."""
    try:
        return validated(model, values, hints=hints)
    except ValidationFailed as invalid:
        detail = invalid.detail[:1].upper() + invalid.detail[1:]
        raise ValidationFailed(detail, errors=invalid.errors) from None


def errors_of(error: ClinicflowError, *, renamed: Mapping[str, str] | None = None) -> dict[str, str]:
    """The error as {field: message} for the page: the schema's field names mapped to the
    form's (`renamed`), and conflicts that belong to one field (a taken slug) put next to it."""
    found = {(renamed or {}).get(name, name): message for name, message in field_errors(error).items()}
    field = _FIELD_OF_CODE.get(error.code)
    if field is not None:
        found.setdefault(field, error.detail)
    return found


def filled(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The named fields that are not blank (a blank optional field means "none")."""
    return {name: value for name in names if (value := text(form, name))}


@cache
def timezone_choices() -> tuple[tuple[str, str], ...]:
    """The IANA zones a clinic may have (the ones its schema accepts), sorted, as the
    (value, label) choices of a select."""
    check = TypeAdapter(IanaTimezone)
    valid = []
    for name in available_timezones():
        try:
            check.validate_python(name)
        except ValidationError:
            continue
        valid.append(name)
    return tuple((name, name) for name in sorted(valid))


def page_params(cursor: str | None) -> PageParams:
    """A console list's page (422 naming `cursor` for one that is not ours)."""
    return PageParams(limit=PAGE_SIZE, after=decode_cursor(cursor) if cursor else None)


def next_link(request: Request, cursor: str | None) -> str | None:
    """The link to the next page: this page's query with the next cursor, or None at the end."""
    if cursor is None:
        return None
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return f"{request.url.path}?{urlencode({**query, 'cursor': cursor})}"


async def clinic_names(
    uow: UnitOfWork, principal: TenantPrincipal, permission: Permission = Permission.CLINICS_READ
) -> dict[uuid.UUID, str]:
    """Names of the clinics where the principal holds `permission` (the first MAX_LIMIT)."""
    clinics, _ = await tenancy.list_clinics(
        uow,
        tenant_id=principal.tenant_id,
        page=PageParams(limit=MAX_LIMIT),
        only=principal.clinics_for(permission),
    )
    return {clinic.id: clinic.name for clinic in clinics}


def notice_of(request: Request, notices: Mapping[str, str]) -> str | None:
    """The message a redirect after a change asked for (`?done=saved`)."""
    return notices.get(request.query_params.get("done", ""))


def page(
    request: Request, template: str, context: Mapping[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """An admin page: the console's navigation (the audit trail for those who may read it)."""
    principal = getattr(request.state, "principal", None)
    show_audit = isinstance(principal, TenantPrincipal) and principal.can(
        Permission.AUDIT_READ, clinic_id=None
    )
    values = {"errors": {}, "notice": None, "show_audit": show_audit, **(context or {})}
    return render(request, template, values, status_code=status_code)
