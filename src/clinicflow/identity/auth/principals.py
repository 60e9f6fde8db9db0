"""The principal of a request: loaded from its session, and cached while the cache can be trusted.

Every request with an access token needs its principal: the token's session
must be live and its subject active, and the grants decide what it may do.
Loading that is one query; `PrincipalCache` keeps the result per session so the
common request makes no round trip at all.

Why a cached principal is still refused at once when it should be: triggers on
the sessions, users, platform admins and role grants tables (migration 0006)
`NOTIFY principal_changed` with the session or subject id, every process listens
on its one LISTEN connection (`platform.listener`), and the cache drops the
entries named (`identity.events.register`). Fail closed:

- while the listener is not healthy the cache is bypassed and emptied (a
  notification sent while nobody listened is lost, not delayed), and after a
  reconnection it starts empty;
- a load that overlaps a notification is not stored (an epoch counter: the
  row it read may be the one just changed);
- every entry expires after `ttl_seconds` anyway, and never outlives its
  session's `expires_at`.

What remains is the delivery delay of a notification between processes:
PostgreSQL sends it when the revoking transaction commits, so on one host it
arrives well before the revoking request's response does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from clinicflow.errors import Unauthenticated
from clinicflow.identity.auth.config import AuthConfig
from clinicflow.identity.principal import Grant, Principal, principal_of
from clinicflow.identity.repository import PrincipalRow, SessionRepository
from clinicflow.identity.roles import Role
from clinicflow.identity.tokens import AccessClaims
from clinicflow.platform.db import Database, UnitOfWork
from clinicflow.platform.metrics import REGISTRY

#: Upper bound on how long any cached principal is served (a backstop: notifications drop it sooner).
PRINCIPAL_TTL_SECONDS = 60.0
#: Longest a principal-changing request waits to hear its own change (a stuck listener must not stall it).
SETTLE_SECONDS = 1.0


PRINCIPAL_LOOKUPS = Counter(
    "clinicflow_principal_lookups_total",
    "Principals of authenticated requests, by where they came from (cache, database).",
    ["source"],
    registry=REGISTRY,
)
_FROM_CACHE = PRINCIPAL_LOOKUPS.labels(source="cache")
_FROM_DATABASE = PRINCIPAL_LOOKUPS.labels(source="database")


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    session_expires_at: datetime
    stale_at: float  # monotonic


class PrincipalCache:
    """Principals by session id, trusted only while `trusted()` says change notifications arrive.

    Untrusted (the default, and whenever the listener is down) it stores and serves
    nothing, so without a listener every request loads its principal.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = PRINCIPAL_TTL_SECONDS,
        max_entries: int = 50_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._trusted: Callable[[], bool] = lambda: False
        self._entries: dict[uuid.UUID, _Entry] = {}
        self._sessions_of: dict[uuid.UUID, set[uuid.UUID]] = {}
        self._epoch = 0
        self._heard: dict[str, float] = {}  # barrier payloads heard, when (monotonic)
        self._heard_changed = asyncio.Event()

    def trust_while(self, trusted: Callable[[], bool]) -> None:
        """Serve entries only while `trusted()` is true (the listener's `healthy`)."""
        self._trusted = trusted
        self.clear()

    def get(self, claims: AccessClaims, *, now: datetime) -> Principal | None:
        """The cached principal of this token's session, or None (load it)."""
        if not self._trusted():
            if self._entries:
                self.clear()
            return None
        entry = self._entries.get(claims.session_id)
        if entry is None:
            return None
        principal = entry.principal
        if entry.stale_at <= self._monotonic() or entry.session_expires_at <= now:
            self._drop_session(claims.session_id)
            return None
        if principal.subject_id != claims.subject_id or principal.tenant_id != claims.tenant_id:
            return None
        return principal

    def begin(self) -> int:
        """Call before loading a principal; pass the result to `put`."""
        return self._epoch

    def put(self, epoch: int, principal: Principal, *, session_expires_at: datetime) -> None:
        """Keep a loaded principal, unless a change was announced since `begin()` or trust is lost."""
        if epoch != self._epoch or not self._trusted():
            return
        if len(self._entries) >= self.max_entries:
            self.clear()  # crude but bounded; a principal is one query to rebuild
        self._entries[principal.session_id] = _Entry(
            principal, session_expires_at, self._monotonic() + self.ttl
        )
        self._sessions_of.setdefault(principal.subject_id, set()).add(principal.session_id)

    def forget(self, payload: str) -> None:
        """Drop what a change notification names: `s:<session id>`, `u:<subject id>`, `*` (all).

        `b:<token>` is a barrier (see `settled`): it names nothing to drop.
        """
        kind, _, ident = payload.partition(":")
        if kind == "b":
            self._hear(payload)
            return
        self._epoch += 1
        try:
            key = uuid.UUID(ident)
        except ValueError:
            key = None
        if key is None or kind not in ("s", "u"):
            self.clear()  # `*` or anything unexpected: forget everything
        elif kind == "s":
            self._drop_session(key)
        else:
            for session_id in list(self._sessions_of.get(key, ())):
                self._drop_session(session_id)

    async def settled(self, barrier: str) -> None:
        """Wait (at most `SETTLE_SECONDS`) until this process's listener heard `barrier`, a
        notification sent last in the transaction that changed principals.

        Notifications of one transaction arrive together, and every listening process was
        signalled at the same commit: once this process heard the barrier, the change has
        reached the others' listeners too, barring a scheduling delay. Returns at once
        while the cache is untrusted (nothing is served from it then).
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_SECONDS):
                while self._trusted() and barrier not in self._heard:
                    await self._heard_changed.wait()
        self._heard.pop(barrier, None)

    def _hear(self, barrier: str) -> None:
        if len(self._heard) > 1000:  # barriers nobody waited for (another process's)
            self._heard.clear()
        self._heard[barrier] = self._monotonic()
        changed, self._heard_changed = self._heard_changed, asyncio.Event()
        changed.set()

    def clear(self) -> None:
        """Forget every entry (the listener reconnected: notifications may have been missed)."""
        self._epoch += 1
        self._entries.clear()
        self._sessions_of.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop_session(self, session_id: uuid.UUID) -> None:
        entry = self._entries.pop(session_id, None)
        if entry is None:
            return
        sessions = self._sessions_of.get(entry.principal.subject_id)
        if sessions is not None:
            sessions.discard(session_id)
            if not sessions:
                del self._sessions_of[entry.principal.subject_id]


async def announce_principal_change(uow: UnitOfWork) -> str:
    """End a transaction that changes sessions, users or grants with a barrier notification;
    after the commit, `PrincipalCache.settled(barrier)` waits until it was heard."""
    return await SessionRepository(uow).announce_barrier()


async def load_principal(uow: UnitOfWork, cfg: AuthConfig, claims: AccessClaims) -> Principal:
    """The principal of a verified access token, if its session is live and its user active.

    Raises Unauthenticated otherwise: revoking a session or deactivating a user
    takes effect at once, not when the access token expires. One query.
    """
    principal, _ = await _load(uow, cfg, claims)
    return principal


async def resolve_principal(
    db: Database, cfg: AuthConfig, cache: PrincipalCache, claims: AccessClaims
) -> Principal:
    """The principal of a verified access token: from `cache` when it holds it and is trusted,
    else loaded (one read) and kept. Same guarantees as `load_principal`."""
    cached = cache.get(claims, now=cfg.clock.now())
    if cached is not None:
        _FROM_CACHE.inc()
        return cached
    _FROM_DATABASE.inc()
    epoch = cache.begin()
    async with db.reading() as uow:
        principal, session_expires_at = await _load(uow, cfg, claims)
    cache.put(epoch, principal, session_expires_at=session_expires_at)
    return principal


async def _load(uow: UnitOfWork, cfg: AuthConfig, claims: AccessClaims) -> tuple[Principal, datetime]:
    row: PrincipalRow | None = await SessionRepository(uow).principal_row(
        session_id=claims.session_id,
        subject_id=claims.subject_id,
        tenant_id=claims.tenant_id,
        now=cfg.clock.now(),
    )
    if row is None:
        raise Unauthenticated("The session has ended; log in again")
    principal = principal_of(
        subject_id=claims.subject_id,
        tenant_id=claims.tenant_id,
        session_id=claims.session_id,
        grants=tuple(Grant(Role(role), clinic) for role, clinic in row.grants),
        email=row.email,
    )
    return principal, row.session_expires_at
