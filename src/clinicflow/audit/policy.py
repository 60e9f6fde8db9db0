"""Who may read the audit trail."""

from __future__ import annotations

from clinicflow.errors import Forbidden
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal


def ensure_can_read_trail(principal: TenantPrincipal) -> None:
    """The trail is tenant-wide: a clinic-scoped `audit:read` grant is not enough (403)."""
    if not principal.can(Permission.AUDIT_READ, clinic_id=None):
        raise Forbidden("Reading the audit trail needs tenant-wide audit:read")
