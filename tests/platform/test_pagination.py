from __future__ import annotations

import pytest

from clinicflow.errors import ValidationFailed
from clinicflow.platform.db import Database
from clinicflow.platform.ids import uuid7
from clinicflow.platform.pagination import PageParams, decode_cursor, encode_cursor
from clinicflow.tenancy import service as tenancy
from tests.factories import make_clinic, make_tenant


def test_cursor_round_trips() -> None:
    value = uuid7()
    assert decode_cursor(encode_cursor(value)) == value


@pytest.mark.parametrize("garbage", ["!!!", "abc", "x" * 40])
def test_garbage_cursor_is_a_validation_error(garbage: str) -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(garbage)


async def test_keyset_pages_cover_every_row_once(database: Database) -> None:
    tenant = await make_tenant(database)
    created = [await make_clinic(database, tenant_id=tenant.id) for _ in range(7)]
    other = await make_tenant(database)
    await make_clinic(database, tenant_id=other.id)

    seen = []
    page = PageParams(limit=3)
    while True:
        async with database.transaction() as uow:
            items, cursor = await tenancy.list_clinics(uow, tenant_id=tenant.id, page=page)
        seen.extend(c.id for c in items)
        if cursor is None:
            break
        page = PageParams(limit=3, after=decode_cursor(cursor))
    assert seen == [c.id for c in created]
