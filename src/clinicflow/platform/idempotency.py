"""`Idempotency-Key` for writes that create things (API.md conventions).

The key is claimed in the same transaction as the write: the same key with the
same body returns the first answer; with another body, 422
IDEMPOTENCY_KEY_REUSED. A concurrent duplicate waits on the unique index until
the first transaction ends, then replays its answer; if the first rolled back
(its request failed), the key is free and the duplicate runs for real.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from clinicflow.errors import FieldProblem, IdempotencyKeyReused, ValidationFailed
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.idempotency_models import IdempotencyRecord
from clinicflow.platform.ids import uuid7

_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValidationFailed(
            "The Idempotency-Key is not valid",
            errors=[FieldProblem(field="Idempotency-Key", message="1-200 of A-Z a-z 0-9 . _ : -")],
        )
    return key


async def claim(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, caller_id: uuid.UUID, scope: str, key: str, request: bytes
) -> Replay | None:
    """None if this request owns the key now; the stored answer if it was already answered."""
    digest = hashlib.sha256(request).digest()
    inserted = (
        await uow.session.execute(
            insert(IdempotencyRecord)
            .values(
                id=uuid7(),
                tenant_id=tenant_id,
                caller_id=caller_id,
                scope=scope,
                key=check_key(key),
                request_hash=digest,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "caller_id", "scope", "key"])
            .returning(IdempotencyRecord.id)
        )
    ).scalar_one_or_none()
    if inserted is not None:
        return None
    record = (
        await uow.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == tenant_id,
                IdempotencyRecord.caller_id == caller_id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
        )
    ).scalar_one()
    if record.request_hash != digest:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request")
    assert record.status_code is not None
    assert record.response is not None
    return Replay(record.status_code, record.response)


async def remember(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    caller_id: uuid.UUID,
    scope: str,
    key: str,
    status_code: int,
    body: dict[str, Any],
) -> None:
    """Store the answer for the key this request claimed (same transaction as the write)."""
    record = (
        await uow.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == tenant_id,
                IdempotencyRecord.caller_id == caller_id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
        )
    ).scalar_one()
    record.status_code = status_code
    record.response = body
