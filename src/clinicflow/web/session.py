"""Cookie sessions and CSRF tokens for the server-rendered pages.

A page session is an identity session (the same row an API login opens): the
cookie names it, with the subject and tenant, and the time of the last request.
It is HMAC-signed with a key derived from the server secret, HttpOnly,
`SameSite=Lax` and `Secure` outside dev/test. The principal behind it is loaded
like a bearer token's (a revoked session or deactivated user is refused at
once); the cookie only adds the idle timeout: a request more than
`web_idle_timeout_minutes` after the previous one finds the session logged off.

CSRF: every state-changing form carries a token bound to a random per-browser
cookie (`cf_csrf`, double submit with an HMAC, so a forged cookie alone is not
enough), and a request whose `Sec-Fetch-Site` says `cross-site` or whose
`Origin` is another site is refused before any token is compared.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SESSION_COOKIE = "cf_session"
CSRF_COOKIE = "cf_csrf"
CSRF_FIELD = "csrf_token"
#: A sliding cookie is re-issued at most this often (not on every request).
_REFRESH_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class PageSession:
    session_id: uuid.UUID
    subject_id: uuid.UUID
    tenant_id: uuid.UUID | None
    last_active: datetime

    def stale(self, now: datetime) -> bool:
        """Old enough that the sliding cookie should be re-issued."""
        return now - self.last_active >= _REFRESH_AFTER


class SessionExpired(Exception):
    """A well-signed cookie whose idle timeout has passed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class CookieSigner:
    """Signs page-session cookies and CSRF tokens with keys derived from the server secret."""

    def __init__(self, secret_key: str, *, idle_timeout: timedelta) -> None:
        root = secret_key.encode()
        self._session_key = hmac.new(root, b"clinicflow web session v1", hashlib.sha256).digest()
        self._csrf_key = hmac.new(root, b"clinicflow web csrf v1", hashlib.sha256).digest()
        self.idle_timeout = idle_timeout

    def _mac(self, key: bytes, payload: str) -> str:
        return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())

    def encode(self, session: PageSession) -> str:
        tenant = str(session.tenant_id) if session.tenant_id else "-"
        stamp = int(session.last_active.timestamp())
        payload = f"{session.session_id}.{session.subject_id}.{tenant}.{stamp}"
        return f"{payload}.{self._mac(self._session_key, payload)}"

    def decode(self, value: str, *, now: datetime) -> PageSession | None:
        """The session a cookie names; None if it is malformed or forged.

        Raises `SessionExpired` when it is genuine but idle for too long.
        """
        payload, _, mac = value.rpartition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(self._session_key, payload)):
            return None
        try:
            session_id, subject_id, tenant, stamp = payload.split(".")
            session = PageSession(
                session_id=uuid.UUID(session_id),
                subject_id=uuid.UUID(subject_id),
                tenant_id=None if tenant == "-" else uuid.UUID(tenant),
                last_active=datetime.fromtimestamp(int(stamp), tz=now.tzinfo),
            )
        except ValueError:
            return None
        if now - session.last_active > self.idle_timeout:
            raise SessionExpired
        return session

    def csrf_token(self, browser_secret: str) -> str:
        """The form token for a browser's `cf_csrf` cookie."""
        return self._mac(self._csrf_key, browser_secret)

    def csrf_valid(self, browser_secret: str | None, token: str | None) -> bool:
        if not browser_secret or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(browser_secret))


def new_browser_secret() -> str:
    return secrets.token_urlsafe(24)


def cross_site(headers: Mapping[str, str], *, host: str) -> bool:
    """Whether the browser says the request comes from another site (Fetch Metadata, Origin)."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "same-site", "none"}:
        return True
    origin = headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc != host
    return origin == "null"
