"""What authentication runs with, what it hands out, and why it refuses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from clinicflow.identity.tokens import TokenKeys
from clinicflow.platform.clock import Clock


@dataclass(frozen=True)
class AuthConfig:
    keys: TokenKeys
    clock: Clock
    access_ttl_seconds: int
    session_ttl: timedelta
    public_url: str


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


class Failure(Enum):
    """Why a credential was refused. Never shown to the client: it always sees one 401."""

    UNKNOWN_TENANT = "unknown_tenant"
    UNKNOWN_ACCOUNT = "unknown_account"
    INACTIVE_ACCOUNT = "inactive_account"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a reason, not a secret)
    NO_CODE = "no_live_code"
    CODE_EXHAUSTED = "attempts_exhausted"
    WRONG_CODE = "wrong_code"
    TOKEN_REUSED = "refresh_token_reused"  # noqa: S105
