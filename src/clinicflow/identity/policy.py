"""Who may act on which user, session or grant, and for whom: identity's rules, checked after
the scoped fetch. `resolve_patient` is the rule other domains' policies build on."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol, TypeVar

from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity.errors import GrantRefused
from clinicflow.identity.permissions import ROLE_RANK, Permission
from clinicflow.identity.principal import Principal, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork


class HeldGrant(Protocol):
    """A role grant as stored (a role name and its clinic, None for tenant-wide)."""

    @property
    def role(self) -> str: ...

    @property
    def clinic_id(self) -> uuid.UUID | None: ...


class OwnedSession(Protocol):
    @property
    def tenant_id(self) -> uuid.UUID | None: ...

    @property
    def user_id(self) -> uuid.UUID | None: ...

    @property
    def platform_admin_id(self) -> uuid.UUID | None: ...


def visible_clinics(principal: TenantPrincipal) -> frozenset[uuid.UUID] | None:
    """Where the principal sees users: None for every user of the tenant, else the staff of
    these clinics (and every patient). Only meaningful with `users:read`."""
    return principal.clinics_for(Permission.USERS_READ)


def require_visible(principal: TenantPrincipal, user_id: uuid.UUID, grants: Iterable[HeldGrant]) -> None:
    """NotFound unless the principal may see this user of their tenant: themselves always;
    with `users:read`, users of their clinics and patients (tenant-wide grants: everyone)."""
    if user_id == principal.user_id:
        return
    if not principal.has(Permission.USERS_READ):
        raise NotFound("User not found")
    clinics = visible_clinics(principal)
    if clinics is None:
        return
    if not any(g.role == Role.PATIENT.value or g.clinic_id in clinics for g in grants):
        raise NotFound("User not found")


def require_over(principal: TenantPrincipal, grants: Iterable[HeldGrant], permission: Permission) -> None:
    """Forbidden unless the principal may act on another user holding `grants`: `permission`
    over every scope the user holds staff roles in (any scope for a patient), and a rank at
    least as high as each of their roles (a clinic admin cannot act on a tenant admin)."""
    held = list(grants)
    if all(g.role == Role.PATIENT.value for g in held):
        allowed = principal.has(permission)
    else:
        scopes = {g.clinic_id for g in held if g.role != Role.PATIENT.value}
        allowed = all(principal.can(permission, clinic_id=scope) for scope in scopes)
    outranked = any(ROLE_RANK[Role(g.role)] > principal.rank_for(g.clinic_id) for g in held)
    if not allowed or outranked:
        raise Forbidden("You may not change this user")


def check_grantable(
    principal: TenantPrincipal, role: Role, clinic_id: uuid.UUID | None, *, creating_patient_only: bool
) -> None:
    """Raise GrantRefused unless the principal may grant (or remove) this role in this scope.

    - SUPER_ADMIN is never granted inside a tenant;
    - nobody grants a role ranked above their own in that scope;
    - staff roles need `roles:assign` for that scope; registering a patient
      needs only `users:create`.
    """
    if role is Role.SUPER_ADMIN:
        raise GrantRefused("SUPER_ADMIN is a platform role and cannot be granted in a tenant")
    needed = Permission.USERS_CREATE if creating_patient_only else Permission.ROLES_ASSIGN
    if not principal.can(needed, clinic_id=clinic_id):
        where = "tenant-wide" if clinic_id is None else "for this clinic"
        raise GrantRefused(f"You may not grant {role} {where}")
    if ROLE_RANK[role] > principal.rank_for(clinic_id):
        raise GrantRefused(f"{role} is above your own role")


SessionT = TypeVar("SessionT", bound=OwnedSession)


def require_own_session(principal: Principal, session: SessionT | None) -> SessionT:
    """The session if it is the principal's own; else NotFound (another's looks like a missing one)."""
    if session is None:
        raise NotFound("Session not found")
    own = (
        session.platform_admin_id == principal.subject_id
        if principal.tenant_id is None
        else (session.tenant_id == principal.tenant_id and session.user_id == principal.user_id)
    )
    if not own:
        raise NotFound("Session not found")
    return session


async def resolve_patient(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    staff: Permission,
    self_service: Permission,
    doing: str,
) -> uuid.UUID:
    """The patient a use case acts for.

    Staff holding `staff` at the clinic act for a named patient of the tenant
    (422 if none is named or the id is no patient); a patient holding
    `self_service` acts for themselves only (403 for anyone else); the rest
    are refused (403). `doing` names the use case in the messages ("book").
    """
    if principal.can(staff, clinic_id=clinic_id):
        if patient_id is None:
            raise ValidationFailed(
                f"Staff {doing} for a patient", errors=[FieldProblem(field="patient_id", message="required")]
            )
        if not await directory.is_patient(uow, tenant_id=principal.tenant_id, user_id=patient_id):
            raise ValidationFailed(
                "No such patient", errors=[FieldProblem(field="patient_id", message="no such patient")]
            )
        return patient_id
    if principal.has(self_service):
        if patient_id is not None and patient_id != principal.user_id:
            raise Forbidden(f"Patients {doing} for themselves only")
        return principal.user_id
    raise Forbidden(f"You may not {doing} for patients at this clinic")


def check_sees_dependants(principal: TenantPrincipal, patient_id: uuid.UUID) -> None:
    """A patient's dependants: the patient themselves, or staff who manage families (`family:manage`);
    anyone else is told the patient does not exist (404)."""
    if patient_id != principal.user_id and not principal.has(Permission.FAMILY_MANAGE):
        raise NotFound("Patient not found")


def check_manages_family(principal: TenantPrincipal) -> None:
    """Linking and unlinking dependants: staff with `family:manage` (patients are tenant-wide,
    so a grant at any clinic will do), never the patients themselves."""
    if not principal.has(Permission.FAMILY_MANAGE):
        raise Forbidden("Families are linked by reception: you need the permission family:manage")
