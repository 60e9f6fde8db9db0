"""Access tokens (JWT), refresh tokens and one-time secrets.

Access tokens follow RFC 8725: one allowed algorithm (HS256, so `alg: none`
and algorithm confusion are refused), `iss`, `aud`, `exp`, `iat`, a `typ`
claim, and a key id. Each tenant signs with its own key, derived from the
server secret and the tenant id (`kid`): a token whose `tid` claim names
another tenant than its key is refused, so no tenant's key can mint tokens
for another. Platform admins' tokens use the `platform` key.

Refresh tokens and reset tokens are 256-bit random strings; only their
SHA-256 is stored. OTP codes are 6 digits, stored as an HMAC keyed by the
server secret and the secret's row id (a table dump does not reveal them by
brute force without the key).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from clinicflow.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "clinicflow"
AUDIENCE = "clinicflow-api"
ACCESS_TYPE = "access"
PLATFORM_KID = "platform"
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "sid", "typ"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject_id: uuid.UUID
    tenant_id: uuid.UUID | None
    session_id: uuid.UUID


class TokenKeys:
    """Derives per-tenant signing keys from the server secret."""

    #: Tokens already verified, kept until they expire (bounded: cleared when full).
    MAX_VERIFIED = 20_000

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key.encode()
        # A token is immutable: once its signature and claims checked out, only its expiry
        # can change the answer. Verifying costs ~50-100 µs of PyJWT (two base64 passes,
        # HMAC, JSON); a client sends the same token for its whole lifetime.
        self._verified: dict[str, tuple[AccessClaims, float]] = {}

    def verified(self, token: str) -> tuple[AccessClaims, float] | None:
        """The claims and expiry (epoch seconds) of a token this process already verified."""
        return self._verified.get(token)

    def remember(self, token: str, claims: AccessClaims, expires_at: float) -> None:
        if len(self._verified) >= self.MAX_VERIFIED:
            self._verified.clear()
        self._verified[token] = (claims, expires_at)

    def key_for(self, kid: str) -> bytes:
        return hmac.new(self._secret, b"clinicflow-jwt:" + kid.encode(), hashlib.sha256).digest()

    def otp_digest(self, secret_id: uuid.UUID, code: str) -> bytes:
        message = b"clinicflow-otp:" + secret_id.bytes + code.encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()


def issue_access_token(
    keys: TokenKeys,
    *,
    subject_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    session_id: uuid.UUID,
    roles: list[str],
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    kid = str(tenant_id) if tenant_id is not None else PLATFORM_KID
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(subject_id),
        "tid": str(tenant_id) if tenant_id is not None else None,
        "sid": str(session_id),
        "roles": roles,
        "typ": ACCESS_TYPE,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, keys.key_for(kid), algorithm=ALGORITHM, headers={"kid": kid})


def verify_access_token(keys: TokenKeys, token: str) -> AccessClaims:
    """The token's claims, or Unauthenticated for anything not exactly right.

    A token verified before is answered from memory until its `exp`.
    """
    remembered = keys.verified(token)
    if remembered is not None:
        claims, expires_at = remembered
        if expires_at > time.time():
            return claims
        raise Unauthenticated("The access token has expired")
    verified = _verify(keys, token)
    keys.remember(token, verified[0], verified[1])
    return verified[0]


def _verify(keys: TokenKeys, token: str) -> tuple[AccessClaims, float]:
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") != ALGORITHM:
            raise Unauthenticated("The access token is not valid")
        claims = jwt.decode(
            token,
            keys.key_for(kid),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": _REQUIRED},
        )
        if claims["typ"] != ACCESS_TYPE:
            raise Unauthenticated("The access token is not valid")
        tenant = claims.get("tid")
        expected_kid = tenant if tenant is not None else PLATFORM_KID
        if kid != expected_kid:
            raise Unauthenticated("The access token is not valid")
        access = AccessClaims(
            subject_id=uuid.UUID(claims["sub"]),
            tenant_id=uuid.UUID(tenant) if tenant is not None else None,
            session_id=uuid.UUID(claims["sid"]),
        )
        return access, float(claims["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The access token has expired") from exc
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise Unauthenticated("The access token is not valid") from exc


def new_opaque_token() -> tuple[str, bytes]:
    """A random token for the client and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_otp_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"
