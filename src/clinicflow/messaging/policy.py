"""Who may read what messaging recorded."""

from __future__ import annotations

from clinicflow.errors import Forbidden
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal


def ensure_can_read_outbox(principal: TenantPrincipal) -> None:
    """The outbox is tenant-wide: a clinic-scoped `outbox:read` grant is not enough (403)."""
    if not principal.can(Permission.OUTBOX_READ, clinic_id=None):
        raise Forbidden("Reading the outbox needs tenant-wide outbox:read")
