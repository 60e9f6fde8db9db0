"""Signed check-in QR tokens, and the codes that carry them.

A token is `cq1.<kid>.<payload>.<signature>` (all URL-safe): the payload (base64url of
45 bytes) names the tenant, the location, the QR mode, the location's `qr_version`
and, in rotating mode, the start of the time window it was issued for (epoch seconds);
the signature is HMAC-SHA256 over `cq1.<kid>.<payload>`, truncated to 128 bits, with
a key derived once from the server secret and the key id.

- Keys rotate by id (`CLINICFLOW_CHECKIN_QR_KEY_IDS`, newest first): the newest signs,
  every listed one verifies; dropping an id revokes every code it signed.
- *Printed* codes hold the location's `qr_version`: bumping it revokes every copy.
- *Rotating* codes (a kiosk screen) change every `rotation_seconds`; the current window
  and the one before it are accepted (a code scanned as it changes still works), older
  ones are QR_CODE_EXPIRED.

Tampered, malformed, unknown-key, revoked, another tenant's or another location's
token: QR_CODE_INVALID, never saying which (nothing to learn by probing).
A code encodes `{public url}/app/check-in?t=<token>`, the patient app's check-in page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from urllib.parse import quote

import segno

from clinicflow.checkin.errors import QrCodeExpired, QrCodeInvalid
from clinicflow.checkin.models import QrMode

PREFIX = "cq1"
#: tenant (16), location (16), mode (1), qr_version (4), window start (8)
_PAYLOAD = struct.Struct(">16s16sBIQ")
_MODES = {QrMode.PRINTED: 0, QrMode.ROTATING: 1}
_MODE_OF = {code: mode for mode, code in _MODES.items()}
_MAC_BYTES = 16
#: A rotating code issued by a process whose clock runs this much ahead is still accepted.
CLOCK_SKEW = timedelta(seconds=5)
#: Where a code sends the patient (the patient app's check-in page).
CHECK_IN_PATH = "/app/check-in"


class QrFormat(StrEnum):
    SVG = "svg"
    PNG = "png"


MEDIA_TYPES = {QrFormat.SVG: "image/svg+xml", QrFormat.PNG: "image/png"}


@dataclass(frozen=True, slots=True)
class QrClaims:
    tenant_id: uuid.UUID
    location_id: uuid.UUID
    mode: QrMode
    version: int
    window_start: int  # epoch seconds; 0 for a printed code


@dataclass(frozen=True, slots=True)
class QrSettings:
    """What a location's current codes must carry (its check-in settings)."""

    tenant_id: uuid.UUID
    location_id: uuid.UUID
    mode: QrMode
    version: int
    rotation_seconds: int


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """The code a location shows now: the token, its URL, and (rotating) its window."""

    token: str
    url: str
    mode: QrMode
    rotates_at: datetime | None  # a newer code is current from then
    expires_at: datetime | None  # no longer accepted from then


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def window_start(now: datetime, rotation_seconds: int) -> int:
    """The start (epoch seconds) of the rotation window `now` falls in."""
    epoch = int(now.timestamp())
    return epoch - epoch % rotation_seconds


class QrKeys:
    """The check-in signing keys, derived once at start-up (never per request)."""

    def __init__(self, secret_key: str, key_ids: Sequence[str]) -> None:
        if not key_ids:
            raise ValueError("at least one check-in QR key id is needed")
        secret = secret_key.encode()
        self.signing_kid = key_ids[0]
        self._keys = {
            kid: hmac.digest(secret, b"clinicflow-checkin-qr:" + kid.encode(), "sha256") for kid in key_ids
        }

    def _mac(self, kid: str, payload: str) -> str:
        message = f"{PREFIX}.{kid}.{payload}".encode()
        return _b64(hmac.digest(self._keys[kid], message, "sha256")[:_MAC_BYTES])

    def sign(self, claims: QrClaims) -> str:
        """The token for `claims`, signed with the newest key."""
        raw = _PAYLOAD.pack(
            claims.tenant_id.bytes,
            claims.location_id.bytes,
            _MODES[claims.mode],
            claims.version,
            claims.window_start,
        )
        payload = _b64(raw)
        kid = self.signing_kid
        return f"{PREFIX}.{kid}.{payload}.{self._mac(kid, payload)}"

    def read(self, token: str) -> QrClaims:
        """The claims of a token signed by one of our keys; QR_CODE_INVALID otherwise.
        Says nothing yet about whether the code is still current (`check_current`)."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != PREFIX or parts[1] not in self._keys:
            raise QrCodeInvalid()
        _, kid, payload, signature = parts
        if not hmac.compare_digest(signature, self._mac(kid, payload)):
            raise QrCodeInvalid()
        try:
            tenant, location, mode, version, start = _PAYLOAD.unpack(_unb64(payload))
            return QrClaims(
                uuid.UUID(bytes=tenant), uuid.UUID(bytes=location), _MODE_OF[mode], version, start
            )
        except (binascii.Error, struct.error, KeyError, ValueError) as exc:
            raise QrCodeInvalid() from exc


def check_current(claims: QrClaims, settings: QrSettings, *, now: datetime) -> None:
    """QR_CODE_INVALID unless the code is the location's (same tenant, mode and version);
    QR_CODE_EXPIRED for a rotating code older than the previous window."""
    if (
        claims.tenant_id != settings.tenant_id
        or claims.location_id != settings.location_id
        or claims.mode is not settings.mode
        or claims.version != settings.version
    ):
        raise QrCodeInvalid()
    if settings.mode is QrMode.PRINTED:
        return
    current = window_start(now, settings.rotation_seconds)
    if claims.window_start > (now + CLOCK_SKEW).timestamp():
        raise QrCodeInvalid()  # not issued by us for any window yet
    if claims.window_start < current - settings.rotation_seconds:
        raise QrCodeExpired(expired_at=_instant(claims.window_start + 2 * settings.rotation_seconds))


def _instant(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def check_in_url(public_url: str, token: str) -> str:
    """The patient app's check-in page for this token."""
    return f"{public_url.rstrip('/')}{CHECK_IN_PATH}?t={quote(token, safe='.-_')}"


def issue(keys: QrKeys, settings: QrSettings, *, public_url: str, now: datetime) -> IssuedCode:
    """The location's current code (a rotating one for the window `now` falls in)."""
    start = window_start(now, settings.rotation_seconds) if settings.mode is QrMode.ROTATING else 0
    token = keys.sign(
        QrClaims(settings.tenant_id, settings.location_id, settings.mode, settings.version, start)
    )
    rotates_at = expires_at = None
    if settings.mode is QrMode.ROTATING:
        rotates_at = datetime.fromtimestamp(start + settings.rotation_seconds, UTC)
        expires_at = datetime.fromtimestamp(start + 2 * settings.rotation_seconds, UTC)
    return IssuedCode(token, check_in_url(public_url, token), settings.mode, rotates_at, expires_at)


def etag(url: str, fmt: QrFormat) -> str:
    """A strong ETag of the image: it changes with the token (version, key, window) and format."""
    return '"' + hashlib.sha256(f"{fmt.value}|{url}".encode()).hexdigest()[:32] + '"'


@lru_cache(maxsize=512)
def render(url: str, fmt: QrFormat) -> bytes:
    """The QR image of `url` (error correction M, quiet zone 4 modules); cached by content."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if fmt is QrFormat.SVG:
        code.save(out, kind="svg", scale=8, border=4, xmldecl=False, title="Check-in")
    else:
        code.save(out, kind="png", scale=8, border=4)
    return out.getvalue()
