"""Video visit links. The provider is pluggable; the default signs a link to our own room page."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Protocol


class VideoProvider(Protocol):
    def join_url(self, *, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> str:
        """A link the patient and the doctor open to join the visit."""
        ...


class SignedRoomProvider:
    """Links to `/video/rooms/{appointment_id}?token=…`, a placeholder room page, HMAC-signed
    so a room cannot be guessed from an appointment id."""

    def __init__(self, *, secret_key: str, public_url: str) -> None:
        self._key = hashlib.sha256(b"clinicflow-video:" + secret_key.encode()).digest()
        self._base = public_url.rstrip("/")

    def token(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> str:
        return hmac.new(self._key, tenant_id.bytes + appointment_id.bytes, hashlib.sha256).hexdigest()[:32]

    def verify(self, tenant_id: uuid.UUID, appointment_id: uuid.UUID, token: str) -> bool:
        # Compared as bytes: compare_digest refuses a str with non-ASCII characters (é → TypeError).
        return hmac.compare_digest(self.token(tenant_id, appointment_id).encode(), token.encode())

    def join_url(self, *, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> str:
        token = self.token(tenant_id, appointment_id)
        return f"{self._base}/video/rooms/{appointment_id}?tenant={tenant_id}&token={token}"


class InPersonOnly:
    """For contexts that never create video visits (waitlist holds are in person)."""

    def join_url(self, *, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> str:
        raise RuntimeError("no video provider in this context")
