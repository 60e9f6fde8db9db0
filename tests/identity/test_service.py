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


async def test_contacts_of_reads_many_users_in_one_query_and_only_the_tenants(database: Database) -> None:
    import uuid

    from clinicflow.identity import directory
    from tests.factories import make_user

    home, other = await make_tenant(database), await make_tenant(database)
    ann = await make_user(database, tenant_id=home.id, email="ann@example.test")
    bob = await make_user(database, tenant_id=home.id, email="bob@example.test")
    stranger = await make_user(database, tenant_id=other.id, email="eve@example.test")
    async with database.reading() as uow:
        found = await directory.contacts_of(
            uow, tenant_id=home.id, user_ids=[ann.id, bob.id, stranger.id, uuid.uuid4()]
        )
        single = await directory.contact_of(uow, tenant_id=home.id, user_id=ann.id)
        none = await directory.contacts_of(uow, tenant_id=home.id, user_ids=[])
    assert {user_id: c.email for user_id, c in found.items()} == {
        ann.id: "ann@example.test",
        bob.id: "bob@example.test",
    }
    assert found[ann.id] == single
    assert none == {}
