"""Tenancy error codes."""

from __future__ import annotations

from clinicflow.errors import Conflict
from clinicflow.platform.db.integrity import register_constraint_error


class TenantSlugTaken(Conflict):
    code = "TENANT_SLUG_TAKEN"
    title = "A tenant with this slug exists"


class ClinicSlugTaken(Conflict):
    code = "CLINIC_SLUG_TAKEN"
    title = "A clinic with this slug exists in this tenant"


register_constraint_error("uq_tenants_slug", TenantSlugTaken)
register_constraint_error("uq_clinics_tenant_id_slug_live", ClinicSlugTaken)
