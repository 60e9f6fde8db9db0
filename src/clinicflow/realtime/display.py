"""Signed display tokens: a location's screen follows that location's queue without a user.

`cfd1.<kid>.<payload>.<signature>`: the payload (base64url JSON) names the tenant, the
location and the expiry; the signature is HMAC-SHA256 with a key derived from the
server secret and the key id. Bumping CURRENT_KEY_ID (keeping older ids in
ACCEPTED_KEY_IDS for a while, or not) rotates or revokes every display at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from clinicflow.realtime.errors import DisplayTokenInvalid

PREFIX = "cfd1"
CURRENT_KEY_ID = "1"
ACCEPTED_KEY_IDS = frozenset({CURRENT_KEY_ID})


@dataclass(frozen=True, slots=True)
class DisplayClaims:
    tenant_id: uuid.UUID
    location_id: uuid.UUID
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DisplayKeys:
    """Signs and verifies display tokens with keys derived from the server secret."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key.encode()

    def _key(self, kid: str) -> bytes:
        return hmac.new(self._secret, b"clinicflow-display:" + kid.encode(), hashlib.sha256).digest()

    def _sign(self, kid: str, payload: str) -> str:
        message = f"{PREFIX}.{kid}.{payload}".encode()
        return _b64(hmac.new(self._key(kid), message, hashlib.sha256).digest())

    def issue(self, claims: DisplayClaims) -> str:
        body = {
            "t": str(claims.tenant_id),
            "l": str(claims.location_id),
            "e": int(claims.expires_at.timestamp()),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{PREFIX}.{CURRENT_KEY_ID}.{payload}.{self._sign(CURRENT_KEY_ID, payload)}"

    def verify(self, token: str, *, now: datetime) -> DisplayClaims:
        """The token's claims, or DisplayTokenInvalid (tampered, unknown key, expired, malformed)."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != PREFIX or parts[1] not in ACCEPTED_KEY_IDS:
            raise DisplayTokenInvalid()
        _, kid, payload, signature = parts
        if not hmac.compare_digest(signature, self._sign(kid, payload)):
            raise DisplayTokenInvalid()
        try:
            body = json.loads(_unb64(payload))
            claims = DisplayClaims(
                tenant_id=uuid.UUID(body["t"]),
                location_id=uuid.UUID(body["l"]),
                expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise DisplayTokenInvalid() from exc
        if claims.expires_at <= now:
            raise DisplayTokenInvalid("The display token has expired; issue a new one")
        return claims
