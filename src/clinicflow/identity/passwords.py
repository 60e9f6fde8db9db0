"""Password hashing with argon2id (OWASP parameters), off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from clinicflow.config import OWASP_MEMORY_KIB
from clinicflow.errors import FieldProblem, ValidationFailed

_hasher = PasswordHasher(time_cost=2, memory_cost=OWASP_MEMORY_KIB, parallelism=1)

MIN_PASSWORD_LENGTH = 10


def check_password_strength(password: str, *, field: str = "password") -> None:
    """Raise ValidationFailed unless the password is long enough (NIST 800-63B: length over rules)."""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 256:
        raise ValidationFailed(
            "The password is not acceptable",
            errors=[FieldProblem(field=field, message=f"must be {MIN_PASSWORD_LENGTH} to 256 characters")],
        )


def set_memory_cost(memory_kib: int) -> None:
    """Hash new passwords with `memory_kib` of memory (settings check it is not below OWASP's outside tests).

    Stored hashes carry their own parameters, so existing ones still verify.
    """
    global _hasher
    _hasher = PasswordHasher(time_cost=2, memory_cost=memory_kib, parallelism=1)


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


def verify_password_sync(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """Hash in a worker thread: argon2id takes tens of milliseconds of CPU."""
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(verify_password_sync, password_hash, password)
