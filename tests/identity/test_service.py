from __future__ import annotations

import pytest

from clinicflow.errors import ValidationFailed
from clinicflow.identity import service as identity
from clinicflow.identity.roles import Role
from clinicflow.identity.users import accounts
from clinicflow.platform.db import Database
from tests.conftest import count_rows
from tests.factories import make_tenant


async def test_super_admin_cannot_be_granted_inside_a_tenant(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant(database)
    hashed: list[str] = []

    async def spy_hash(password: str) -> str:
        hashed.append(password)
        return "not-a-real-hash"

    monkeypatch.setattr(accounts, "hash_password", spy_hash)
    with pytest.raises(ValidationFailed, match="SUPER_ADMIN"):
        async with database.transaction() as uow:
            await identity.create_user(
                uow,
                tenant_id=tenant.id,
                email="x@example.test",
                full_name="X",
                password="a-long-enough-secret",
                roles=[Role.DOCTOR, Role.SUPER_ADMIN],
            )
    assert hashed == [], "input is refused before any work is done"
    assert await count_rows(database, "users") == 0
    assert await count_rows(database, "role_grants") == 0


async def test_email_is_unique_per_tenant_ignoring_case(database: Database) -> None:
    from clinicflow.identity.errors import EmailTaken

    tenant = await make_tenant(database)
    other = await make_tenant(database)
    for tid, email in ((tenant.id, "Ana@Clinic.test"), (other.id, "ana@clinic.test")):
        async with database.transaction() as uow:
            await identity.create_user(
                uow, tenant_id=tid, email=email, full_name="Ana", password=None, roles=[]
            )
    with pytest.raises(EmailTaken):
        async with database.transaction() as uow:
            await identity.create_user(
                uow, tenant_id=tenant.id, email="ANA@clinic.TEST", full_name="Ana", password=None, roles=[]
            )
    assert await count_rows(database, "users") == 2
