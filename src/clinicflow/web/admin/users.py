"""Users in the admin console: the list (by role), new staff with a role, a user's page
(name and staff profile), deactivation. Role grants: `admin.grants`. Clinic administrators
see the staff of their clinics and the patients, as identity's policy says."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from clinicflow.errors import Conflict, Forbidden, ValidationFailed
from clinicflow.identity import service as identity
from clinicflow.identity.access import WebContext, changing_principals, context_of
from clinicflow.identity.errors import GrantRefused
from clinicflow.identity.permissions import ROLE_RANK, Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.identity.roles import TENANT_ROLES, Role
from clinicflow.identity.schemas import GrantRead, StaffCreate, UserRead, UserUpdate
from clinicflow.platform.routing import PrefixedRouter
from clinicflow.web.admin.common import (
    clinic_names,
    errors_of,
    next_link,
    notice_of,
    page,
    page_params,
    parsed,
)
from clinicflow.web.admin.gate import StaffCreator, UserDeactivator, UserPage
from clinicflow.web.forms import CheckedForm, text
from clinicflow.web.routing import PageRoute

router = PrefixedRouter(prefix="/admin", include_in_schema=False, route_class=PageRoute)
P = Permission
NEW_FIELDS = ("email", "full_name", "password", "role", "clinic_id", "specialty", "license_number")
_STAFF_NAMES = {
    "grants": "role",
    "grants.0.role": "role",
    "grants.0.clinic_id": "clinic_id",
    "profile.specialty": "specialty",
    "profile.license_number": "license_number",
}
_NOTICES = {
    "created": "The user is created.",
    "saved": "The user is saved.",
    "roles": "The roles are saved: they apply from the user's next page or request.",
    "deactivated": "The user is deactivated: their sessions have ended.",
}


def role_label(role: Role | str) -> str:
    return Role(role).value.replace("_", " ").capitalize()


def grant_labels(grants: list[GrantRead], names: dict[uuid.UUID, str]) -> list[str]:
    """A user's grants as people read them: "Doctor at North Clinic", "Tenant admin (everywhere)"."""
    return [
        f"{role_label(g.role)} (everywhere)"
        if g.clinic_id is None
        else f"{role_label(g.role)} at {names.get(g.clinic_id, 'another clinic')}"
        for g in grants
    ]


def grantable_roles(principal: TenantPrincipal) -> tuple[tuple[str, str], ...]:
    """Roles up to the principal's own rank (identity's policy decides each grant again)."""
    top = max((principal.rank_for(g.clinic_id) for g in principal.grants), default=0)
    return tuple((r.value, role_label(r)) for r in TENANT_ROLES if ROLE_RANK[r] <= top)


def scope_choices(principal: TenantPrincipal, names: dict[uuid.UUID, str]) -> tuple[tuple[str, str], ...]:
    """Where the principal may grant roles: the whole organisation (tenant-wide grants only)
    and each clinic where they hold `roles:assign`."""
    everywhere = (
        (("", "Everywhere (the whole organisation)"),)
        if principal.can(P.ROLES_ASSIGN, clinic_id=None)
        else ()
    )
    return everywhere + tuple((str(clinic_id), name) for clinic_id, name in names.items())


@router.get("/users")
async def users(
    request: Request,
    principal: UserPage,
    role: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Users you may see, oldest first, optionally with one role (doctors: role=DOCTOR)."""
    ctx = context_of(request)
    chosen = Role(role) if role in set(Role) else None
    errors = {"role": "Choose one of the roles"} if role and chosen is None else {}
    async with ctx.db.reading() as uow:
        items, next_cursor = await identity.list_users(uow, principal, role=chosen, page=page_params(cursor))
        names = await clinic_names(uow, principal)
    context = {
        "users": [(u, grant_labels(u.grants, names)) for u in items],
        "roles": tuple((r.value, role_label(r)) for r in TENANT_ROLES),
        "role": chosen.value if chosen else "",
        "errors": errors,
        "next": next_link(request, next_cursor),
        "can_create": principal.has(P.USERS_CREATE) and principal.has(P.ROLES_ASSIGN),
        "notice": notice_of(request, _NOTICES),
    }
    return page(request, "admin/users.html", context, status_code=422 if errors else 200)


async def _new_form(
    request: Request,
    ctx: WebContext,
    principal: TenantPrincipal,
    values: dict[str, str],
    errors: dict[str, str],
    status: int,
) -> Response:
    async with ctx.db.reading() as uow:
        names = await clinic_names(uow, principal, P.ROLES_ASSIGN)
    context = {
        "values": values,
        "errors": errors,
        "roles": grantable_roles(principal),
        "scopes": scope_choices(principal, names),
    }
    return page(request, "admin/user_new.html", context, status_code=status)


@router.get("/users/new")
async def new_user(request: Request, principal: StaffCreator) -> Response:
    """The form for a new staff member and their first role."""
    return await _new_form(request, context_of(request), principal, {}, {}, 200)


def staff_input(form: FormData) -> StaffCreate:
    """The new-user form as identity's schema: one grant, a profile if one is filled in."""
    values: dict[str, Any] = {
        "email": text(form, "email"),
        "full_name": text(form, "full_name"),
        "grants": [{"role": text(form, "role"), "clinic_id": text(form, "clinic_id") or None}],
    }
    password = form.get("password")
    if isinstance(password, str) and password:
        values["password"] = password
    profile = {name: text(form, name) for name in ("specialty", "license_number") if text(form, name)}
    if profile:
        values["profile"] = profile
    return parsed(
        StaffCreate, values, hints={"email": "must be an email address", "grants.0.role": "Choose a role"}
    )


@router.post("/users")
async def create_user(request: Request, principal: StaffCreator, form: CheckedForm) -> Response:
    """Create the staff member; bad input, a taken email or a role you may not grant shows
    the form again with the reason (refused grants are audited, as in the API)."""
    ctx = context_of(request)
    values = {name: text(form, name) for name in NEW_FIELDS if name != "password"}
    try:
        data = staff_input(form)
        async with ctx.db.transaction() as uow:
            user = await identity.create_staff(uow, principal, data=data)
    except GrantRefused as refused:
        async with ctx.db.transaction() as uow:
            await identity.record_refusal(
                uow, principal, action="user.create_refused", subject_id=None, reason=refused.detail
            )
        errors = {"form": refused.detail, "role": refused.detail}
        return await _new_form(request, ctx, principal, values, errors, refused.status)
    except (ValidationFailed, Conflict) as refused:
        errors = errors_of(refused, renamed=_STAFF_NAMES)
        return await _new_form(request, ctx, principal, values, errors, refused.status)
    return RedirectResponse(f"/admin/users/{user.id}?done=created", status_code=303)


def is_staff(user: UserRead) -> bool:
    return user.staff_profile is not None or any(g.role is not Role.PATIENT for g in user.grants)


async def user_page(
    request: Request,
    ctx: WebContext,
    principal: TenantPrincipal,
    user_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """A user's page: details, role grants and deactivation (404 for a user you may not see)."""
    async with ctx.db.reading() as uow:
        user = await identity.get_user(uow, principal, user_id=user_id)
        names = await clinic_names(uow, principal)
        grantable = await clinic_names(uow, principal, P.ROLES_ASSIGN)
    profile = user.staff_profile
    saved = {
        "full_name": user.full_name,
        "specialty": (profile.specialty if profile else None) or "",
        "license_number": (profile.license_number if profile else None) or "",
    }
    context = {
        "user": user,
        "staff": is_staff(user),
        "grants": [
            (f"{g.role.value}@{g.clinic_id or 'tenant'}", label)
            for g, label in zip(user.grants, grant_labels(user.grants, names), strict=True)
        ],
        "values": saved if values is None else values,
        "errors": errors or {},
        "roles": grantable_roles(principal),
        "scopes": scope_choices(principal, grantable),
        "yourself": user.id == principal.user_id,
        "can_deactivate": principal.has(P.USERS_DEACTIVATE),
        "notice": notice_of(request, _NOTICES),
    }
    return page(request, "admin/user.html", context, status_code=status)


@router.get("/users/{user_id}")
async def user(request: Request, principal: UserPage, user_id: uuid.UUID) -> Response:
    """A user you may see."""
    return await user_page(request, context_of(request), principal, user_id)


@router.post("/users/{user_id}")
async def update_user(
    request: Request, principal: UserPage, user_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Change the user's name (and a staff member's specialty and licence number)."""
    ctx = context_of(request)
    values = {name: text(form, name) for name in ("full_name", "specialty", "license_number")}
    try:
        async with ctx.db.transaction() as uow:
            current = await identity.get_user(uow, principal, user_id=user_id)
            changes: dict[str, Any] = {"full_name": values["full_name"]}
            if is_staff(current):
                changes["profile"] = {k: values[k] or None for k in ("specialty", "license_number")}
            data = parsed(UserUpdate, changes)
            await identity.update_user(uow, principal, user_id=user_id, data=data)
    except (ValidationFailed, Forbidden) as refused:
        errors = errors_of(
            refused, renamed={"profile.specialty": "specialty", "profile.license_number": "license_number"}
        )
        return await user_page(
            request, ctx, principal, user_id, values=values, errors=errors, status=refused.status
        )
    return RedirectResponse(f"/admin/users/{user_id}?done=saved", status_code=303)


@router.post("/users/{user_id}/deactivate")
async def deactivate_user(
    request: Request, principal: UserDeactivator, user_id: uuid.UUID, form: CheckedForm
) -> Response:
    """Deactivate the user: their sessions end at once. Yourself, a user above you and the
    last tenant administrator are refused, with the reason on the user's page."""
    ctx = context_of(request)
    try:
        async with changing_principals(ctx) as uow:
            await identity.deactivate_user(uow, principal, user_id=user_id)
    except (Forbidden, Conflict) as refused:
        errors = {"form": refused.detail, "deactivate": refused.detail}
        return await user_page(request, ctx, principal, user_id, errors=errors, status=refused.status)
    return RedirectResponse(f"/admin/users/{user_id}?done=deactivated", status_code=303)
