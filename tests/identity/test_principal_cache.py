"""The principal cache's rules, without a database: trust, invalidation, races, expiry."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from clinicflow.identity.auth import PrincipalCache
from clinicflow.identity.principal import Grant, Principal, principal_of
from clinicflow.identity.roles import Role
from clinicflow.identity.tokens import AccessClaims

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def a_principal(subject: uuid.UUID | None = None, tenant: uuid.UUID | None = None) -> Principal:
    return principal_of(
        subject_id=subject or uuid.uuid4(),
        tenant_id=tenant or uuid.uuid4(),
        session_id=uuid.uuid4(),
        grants=(Grant(Role.NURSE, None),),
    )


def claims_of(principal: Principal) -> AccessClaims:
    return AccessClaims(principal.subject_id, principal.tenant_id, principal.session_id)


def trusted_cache(clock: Clock | None = None) -> tuple[PrincipalCache, list[bool]]:
    trust = [True]
    cache = PrincipalCache(ttl_seconds=60, monotonic=clock or Clock())
    cache.trust_while(lambda: trust[0])
    return cache, trust


def test_an_untrusted_cache_stores_and_serves_nothing() -> None:
    cache = PrincipalCache()  # no listener tied to it
    principal = a_principal()
    cache.put(cache.begin(), principal, session_expires_at=LATER)
    assert cache.get(claims_of(principal), now=NOW) is None
    assert len(cache) == 0


def test_a_kept_principal_is_served_for_its_own_token_only() -> None:
    cache, _ = trusted_cache()
    principal = a_principal()
    cache.put(cache.begin(), principal, session_expires_at=LATER)
    assert cache.get(claims_of(principal), now=NOW) is principal
    forged = AccessClaims(uuid.uuid4(), principal.tenant_id, principal.session_id)
    assert cache.get(forged, now=NOW) is None


def test_a_session_notification_drops_that_session_only() -> None:
    cache, _ = trusted_cache()
    subject, tenant = uuid.uuid4(), uuid.uuid4()
    laptop, phone = a_principal(subject, tenant), a_principal(subject, tenant)
    for principal in (laptop, phone):
        cache.put(cache.begin(), principal, session_expires_at=LATER)
    cache.forget(f"s:{phone.session_id}")
    assert cache.get(claims_of(phone), now=NOW) is None
    assert cache.get(claims_of(laptop), now=NOW) is laptop


def test_a_user_notification_drops_every_session_of_the_user() -> None:
    cache, _ = trusted_cache()
    subject, tenant = uuid.uuid4(), uuid.uuid4()
    mine = [a_principal(subject, tenant) for _ in range(3)]
    other = a_principal()
    for principal in [*mine, other]:
        cache.put(cache.begin(), principal, session_expires_at=LATER)
    cache.forget(f"u:{subject}")
    assert all(cache.get(claims_of(p), now=NOW) is None for p in mine)
    assert cache.get(claims_of(other), now=NOW) is other


def test_a_truncate_or_an_unknown_payload_forgets_everything() -> None:
    for payload in ("*", "x:whatever", "s:not-a-uuid"):
        cache, _ = trusted_cache()
        principal = a_principal()
        cache.put(cache.begin(), principal, session_expires_at=LATER)
        cache.forget(payload)
        assert cache.get(claims_of(principal), now=NOW) is None, payload


def test_a_load_overlapping_a_notification_is_not_kept() -> None:
    cache, _ = trusted_cache()
    principal = a_principal()
    epoch = cache.begin()  # the load starts...
    cache.forget(f"u:{uuid.uuid4()}")  # ...a change is announced while it reads...
    cache.put(epoch, principal, session_expires_at=LATER)  # ...so what it read may be stale
    assert cache.get(claims_of(principal), now=NOW) is None


def test_entries_expire_after_the_ttl_and_with_their_session() -> None:
    clock = Clock()
    cache, _ = trusted_cache(clock)
    principal = a_principal()
    cache.put(cache.begin(), principal, session_expires_at=LATER)
    clock.now += 59
    assert cache.get(claims_of(principal), now=NOW) is principal
    clock.now += 2
    assert cache.get(claims_of(principal), now=NOW) is None

    short = a_principal()
    cache.put(cache.begin(), short, session_expires_at=NOW + timedelta(seconds=5))
    assert cache.get(claims_of(short), now=NOW) is short
    assert cache.get(claims_of(short), now=NOW + timedelta(seconds=5)) is None


def test_losing_trust_empties_the_cache_and_regaining_it_starts_empty() -> None:
    cache, trust = trusted_cache()
    principal = a_principal()
    cache.put(cache.begin(), principal, session_expires_at=LATER)
    trust[0] = False
    assert cache.get(claims_of(principal), now=NOW) is None
    cache.put(cache.begin(), principal, session_expires_at=LATER)
    trust[0] = True
    assert cache.get(claims_of(principal), now=NOW) is None
    assert len(cache) == 0


def test_the_cache_is_bounded() -> None:
    cache, _ = trusted_cache()
    cache.max_entries = 10
    for _ in range(25):
        cache.put(cache.begin(), a_principal(), session_expires_at=LATER)
    assert len(cache) <= 10


async def test_a_barrier_drops_nothing_and_releases_who_waits_for_it() -> None:
    cache, trust = trusted_cache()
    principal = a_principal()
    cache.put(cache.begin(), principal, session_expires_at=LATER)

    async def hear_soon() -> None:
        await asyncio.sleep(0.05)
        cache.forget("b:one")

    started = time.monotonic()
    hearing = asyncio.create_task(hear_soon())
    await cache.settled("b:one")
    await hearing
    assert time.monotonic() - started < 0.5, "released by the barrier, not by the timeout"
    assert cache.get(claims_of(principal), now=NOW) is principal, "a barrier names nothing to drop"

    cache.forget("b:early")  # heard before anyone waits: no wait at all
    started = time.monotonic()
    await cache.settled("b:early")
    assert time.monotonic() - started < 0.1

    trust[0] = False  # nothing is served while untrusted, so nothing to wait for
    started = time.monotonic()
    await cache.settled("b:never")
    assert time.monotonic() - started < 0.1
