"""Rate limits with `limits`: moving windows, in memory or in Redis when `REDIS_URL` is set.

One machine needs nothing else; many API processes share Redis so a limit
holds across all of them.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from clinicflow.errors import RateLimitExceeded


def _storage(redis_url: str | None, prefix: str) -> Storage:
    if redis_url:
        uri = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
        storage = storage_from_string(uri, implementation="redispy", key_prefix=prefix)
    else:
        storage = storage_from_string("async+memory://")
    assert isinstance(storage, Storage)
    return storage


class RateLimiter:
    """Counts hits per key in moving windows and refuses with RateLimitExceeded (429)."""

    def __init__(self, *, redis_url: str | None = None, prefix: str = "clinicflow") -> None:
        self._limiter = MovingWindowRateLimiter(_storage(redis_url, prefix))
        self._rates: dict[str, RateLimitItem] = {}

    def _item(self, rate: str) -> RateLimitItem:
        item = self._rates.get(rate)
        if item is None:
            item = self._rates[rate] = parse(rate)
        return item

    async def ensure_open(self, rate: str, *key: str) -> None:
        """Raise RateLimitExceeded if the window for `key` is already full (records nothing)."""
        item = self._item(rate)
        if not await self._limiter.test(item, *key):
            raise await self._exceeded(item, key)

    async def hit(self, rate: str, *key: str) -> None:
        """Record one hit; raise RateLimitExceeded if it does not fit in the window."""
        item = self._item(rate)
        if not await self._limiter.hit(item, *key):
            raise await self._exceeded(item, key)

    async def record(self, rate: str, *key: str) -> None:
        """Record one hit without refusing anything (e.g. count a failure after answering it)."""
        await self._limiter.hit(self._item(rate), *key)

    async def _exceeded(self, item: RateLimitItem, key: tuple[str, ...]) -> RateLimitExceeded:
        stats = await self._limiter.get_window_stats(item, *key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimitExceeded("Too many attempts; try again later", retry_after=retry_after)
