"""A user's role grants in the admin console: keep or drop each, add one (a role, everywhere
or at one clinic), saved as one replacement (identity's `set_roles`, the API's PUT roles)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from clinicflow.errors import Conflict, ValidationFailed
from clinicflow.identity import service as identity
from clinicflow.identity.access import changing_principals, context_of
from clinicflow.identity.errors import GrantRefused
from clinicflow.identity.schemas import RolesUpdate
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.admin.common import errors_of, parsed
from clinicflow.web.admin.gate import Granter
from clinicflow.web.admin.users import user_page
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
#: How a grant travels in the form: `ROLE@<clinic id>`, or `ROLE@tenant` for everywhere.
EVERYWHERE = "tenant"


def wanted_grants(form: FormData) -> list[dict[str, Any]]:
    """The grants the form asks for: the kept ones (checked), then the added one, if any."""
    grants = []
    for value in form.getlist("keep"):
        role, _, scope = str(value).partition("@")
        grants.append({"role": role, "clinic_id": None if scope == EVERYWHERE else scope})
    if text(form, "add_role"):
        grants.append({"role": text(form, "add_role"), "clinic_id": text(form, "add_clinic") or None})
    return grants


@router.post("/users/{user_id}/roles")
async def set_roles(request: Request, principal: Granter, user_id: uuid.UUID, form: CheckedForm) -> Response:
    """Replace the user's grants. A grant you may not make (or your own roles) is refused and
    audited; the tenant's last administrator keeps the role; either way nothing changes."""
    ctx = context_of(request)
    grants = wanted_grants(form)
    added = len(grants) - 1 if text(form, "add_role") else None
    renamed = (
        {}
        if added is None
        else {f"grants.{added}.role": "add_role", f"grants.{added}.clinic_id": "add_clinic"}
    )
    try:
        data = parsed(RolesUpdate, {"grants": grants}, hints={f"grants.{added}.role": "Choose a role"})
        async with changing_principals(ctx) as uow:
            await identity.set_roles(uow, principal, user_id=user_id, grants=data.grants)
    except GrantRefused as refused:
        async with ctx.db.transaction() as uow:
            await identity.record_refusal(
                uow, principal, action="user.roles_change_refused", subject_id=user_id, reason=refused.detail
            )
        errors = {"form": refused.detail, "roles": refused.detail}
        return await user_page(request, ctx, principal, user_id, errors=errors, status=refused.status)
    except (ValidationFailed, Conflict) as refused:
        errors = {"roles": refused.detail, **errors_of(refused, renamed=renamed)}
        return await user_page(request, ctx, principal, user_id, errors=errors, status=refused.status)
    return RedirectResponse(f"/admin/users/{user_id}?done=roles", status_code=303)
