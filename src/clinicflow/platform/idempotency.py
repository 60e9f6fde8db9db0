"""`Idempotency-Key` for writes that create things (API.md conventions).

The key is claimed in the same transaction as the write: the same key with the
same body returns the first answer; with another body, 422
IDEMPOTENCY_KEY_REUSED. A concurrent duplicate waits on the unique index until
the first transaction ends, then replays its answer; if the first rolled back
(its request failed), the key is free and the duplicate runs for real.

Statements go on the transaction's psycopg connection, so a core path can send
the claim and the answer inside its own pipelines (`queue_claim` with its
first read, `queue_answer` with its write): no round trip of their own.
`claim` and `remember` are the same for callers that do not batch.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from clinicflow.errors import FieldProblem, IdempotencyKeyReused, ValidationFailed
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.ids import uuid7

_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
_THIS_KEY = "tenant_id = %(tenant_id)s AND caller_id = %(caller_id)s AND scope = %(scope)s AND key = %(key)s"
_CLAIM = (
    "INSERT INTO idempotency_keys (id, tenant_id, caller_id, scope, key, request_hash)"
    " VALUES (%(id)s, %(tenant_id)s, %(caller_id)s, %(scope)s, %(key)s, %(request_hash)s)"
    " ON CONFLICT (tenant_id, caller_id, scope, key) DO NOTHING RETURNING id"
)
_STORED = f"SELECT request_hash, status_code, response FROM idempotency_keys WHERE {_THIS_KEY}"
_ANSWER = (
    f"UPDATE idempotency_keys SET status_code = %(status_code)s, response = %(response)s WHERE {_THIS_KEY}"
)


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


@dataclass(frozen=True, slots=True)
class Key:
    """One caller's key for one operation (`scope`), with the hash of the request it came with."""

    tenant_id: uuid.UUID
    caller_id: uuid.UUID
    scope: str
    key: str
    request_hash: bytes

    @classmethod
    def of(cls, *, tenant_id: uuid.UUID, caller_id: uuid.UUID, scope: str, key: str, request: bytes) -> Key:
        """The key of a request (422 if the key is not a valid one)."""
        return cls(tenant_id, caller_id, scope, check_key(key), hashlib.sha256(request).digest())

    def params(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "caller_id": self.caller_id,
            "scope": self.scope,
            "key": self.key,
        }


async def queue_claim(connection: psycopg.AsyncConnection[Any], key: Key) -> psycopg.AsyncCursor[Any]:
    """Send the claim (in the caller's pipeline, if any); `claimed` reads its outcome."""
    return await connection.execute(_CLAIM, {**key.params(), "id": uuid7(), "request_hash": key.request_hash})


async def claimed(
    connection: psycopg.AsyncConnection[Any], key: Key, claim: psycopg.AsyncCursor[Any]
) -> Replay | None:
    """None if this request owns the key now; the stored answer if it was already answered
    (one more round trip, only then). IdempotencyKeyReused if it came with another request."""
    if await claim.fetchone() is not None:
        return None
    stored = await (await connection.cursor(row_factory=dict_row).execute(_STORED, key.params())).fetchone()
    assert stored is not None  # the claim conflicted with it, in this transaction's snapshot or after
    if bytes(stored["request_hash"]) != key.request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request")
    assert stored["status_code"] is not None
    assert stored["response"] is not None
    return Replay(stored["status_code"], stored["response"])


async def queue_answer(
    connection: psycopg.AsyncConnection[Any], key: Key, *, status_code: int, body: dict[str, Any]
) -> None:
    """Store the answer for the key this request claimed (in the caller's pipeline, if any)."""
    await connection.execute(_ANSWER, {**key.params(), "status_code": status_code, "response": Jsonb(body)})


async def claim(uow: UnitOfWork, key: Key) -> Replay | None:
    """`queue_claim` and `claimed` in one go, on the unit of work's transaction."""
    connection = await uow.driver_connection()
    return await claimed(connection, key, await queue_claim(connection, key))


async def remember(uow: UnitOfWork, key: Key, *, status_code: int, body: dict[str, Any]) -> None:
    """`queue_answer` on the unit of work's transaction."""
    await queue_answer(await uow.driver_connection(), key, status_code=status_code, body=body)
