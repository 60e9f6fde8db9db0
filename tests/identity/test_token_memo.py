"""Verified access tokens are remembered until they expire; refused ones never are."""

from __future__ import annotations

import time
import uuid

import pytest

from clinicflow.errors import Unauthenticated
from clinicflow.identity.tokens import TokenKeys, issue_access_token, verify_access_token


def a_token(keys: TokenKeys) -> str:
    return issue_access_token(
        keys,
        subject_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        roles=["NURSE"],
        ttl_seconds=900,
    )


def test_a_verified_token_is_answered_from_memory_until_it_expires() -> None:
    keys = TokenKeys("s" * 48)
    token = a_token(keys)
    claims = verify_access_token(keys, token)
    remembered = keys.verified(token)
    assert remembered is not None
    assert remembered[0] == claims
    assert verify_access_token(keys, token) == claims

    keys.remember(token, claims, time.time() - 1)  # its exp has passed
    with pytest.raises(Unauthenticated, match="expired"):
        verify_access_token(keys, token)


def test_a_refused_token_is_not_remembered() -> None:
    keys = TokenKeys("s" * 48)
    forged = a_token(TokenKeys("another secret" * 4))
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verify_access_token(keys, forged)
    assert keys.verified(forged) is None


def test_memory_is_bounded() -> None:
    keys = TokenKeys("s" * 48)
    keys.MAX_VERIFIED = 5
    for _ in range(12):
        verify_access_token(keys, a_token(keys))
    assert all(keys.verified(a_token(keys)) is None for _ in range(3))
