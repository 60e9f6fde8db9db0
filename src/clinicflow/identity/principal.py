"""Who is calling: the authenticated principal and what it may do, where."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from clinicflow.audit.service import Actor, ActorType
from clinicflow.identity.permissions import ROLE_PERMISSIONS, ROLE_RANK, Permission
from clinicflow.identity.roles import Role


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    clinic_id: uuid.UUID | None  # None: tenant-wide


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, loaded fresh from the database on every request.

    Permissions come from grants: a tenant-wide grant applies to everything in
    the tenant, a clinic grant only to that clinic's resources.
    """

    subject_id: uuid.UUID
    tenant_id: uuid.UUID | None  # None: a platform admin
    session_id: uuid.UUID
    grants: tuple[Grant, ...]
    email: str = ""
    _by_permission: dict[Permission, frozenset[uuid.UUID | None]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        scopes: dict[Permission, set[uuid.UUID | None]] = {}
        for grant in self.grants:
            for permission in ROLE_PERMISSIONS[grant.role]:
                scopes.setdefault(permission, set()).add(grant.clinic_id)
        self._by_permission.update({p: frozenset(s) for p, s in scopes.items()})

    @property
    def is_platform_admin(self) -> bool:
        return self.tenant_id is None

    @property
    def user_id(self) -> uuid.UUID:
        return self.subject_id

    @property
    def actor(self) -> Actor:
        """This principal as the actor of audit events."""
        kind = ActorType.PLATFORM_ADMIN if self.is_platform_admin else ActorType.USER
        return Actor(kind, self.subject_id)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(self._by_permission)

    def has(self, permission: Permission) -> bool:
        """Holds `permission` somewhere (tenant-wide or for at least one clinic)."""
        return permission in self._by_permission

    def can(self, permission: Permission, *, clinic_id: uuid.UUID | None) -> bool:
        """Holds `permission` for this clinic's resource (`None`: a tenant-level resource,
        which only tenant-wide grants cover)."""
        scopes = self._by_permission.get(permission)
        if not scopes:
            return False
        return None in scopes or (clinic_id is not None and clinic_id in scopes)

    def clinics_for(self, permission: Permission) -> frozenset[uuid.UUID] | None:
        """The clinics where `permission` applies; None means every clinic of the tenant."""
        scopes = self._by_permission.get(permission, frozenset())
        if None in scopes:
            return None
        return frozenset(s for s in scopes if s is not None)

    def in_tenant(self) -> TenantPrincipal | None:
        """This principal as a tenant member, or None for a platform admin."""
        return self if isinstance(self, TenantPrincipal) else None

    def rank_for(self, clinic_id: uuid.UUID | None) -> int:
        """The highest rank of the roles that apply to this scope (0 if none)."""
        ranks = [ROLE_RANK[g.role] for g in self.grants if g.clinic_id is None or g.clinic_id == clinic_id]
        return max(ranks, default=0)


@dataclass(frozen=True)
class TenantPrincipal(Principal):
    """A principal that belongs to a tenant: what every tenant-scoped use case takes.

    The type carries the guarantee, so services never check `tenant_id` for None.
    """

    tenant_id: uuid.UUID


def principal_of(
    *,
    subject_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    session_id: uuid.UUID,
    grants: tuple[Grant, ...],
    email: str = "",
) -> Principal:
    """The right principal type for a tenant member or a platform admin."""
    if tenant_id is None:
        return Principal(
            subject_id=subject_id, tenant_id=None, session_id=session_id, grants=grants, email=email
        )
    return TenantPrincipal(
        subject_id=subject_id, tenant_id=tenant_id, session_id=session_id, grants=grants, email=email
    )
