"""Creating a tenant together with its first administrator."""

from __future__ import annotations

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM, Actor
from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.models import Tenant
from clinicflow.tenancy.schemas import TenantCreate


async def onboard_tenant(
    uow: UnitOfWork,
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str,
    admin_full_name: str = "Administrator",
    actor: Actor = SYSTEM,
) -> Tenant:
    """Create the tenant and a TENANT_ADMIN user in one transaction (all or nothing), audited."""
    tenant = await tenancy.create_tenant(uow, data=TenantCreate(name=name, slug=slug), actor=actor)
    admin = await identity.create_user(
        uow,
        tenant_id=tenant.id,
        email=admin_email,
        full_name=admin_full_name,
        password=admin_password,
        roles=[Role.TENANT_ADMIN],
    )
    after = {"email": admin.email, "grants": ["TENANT_ADMIN@tenant"]}
    await audit.record_change(uow, actor, "user.created", admin, after=after)
    return tenant
