"""A small in-process TTL cache with per-namespace invalidation.

For short-lived read caches (e.g. the doctor directory). In-process only: with
several API processes each holds its own copy for at most `ttl` seconds after
a change elsewhere; a change in this process invalidates at once. A shared
(Redis) cache is the step when that staleness matters.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any


class TTLCache:
    def __init__(self, *, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._data: dict[tuple[Hashable, Hashable], tuple[float, int, Any]] = {}
        self._versions: dict[Hashable, int] = {}

    def get(self, namespace: Hashable, key: Hashable) -> Any | None:
        entry = self._data.get((namespace, key))
        if entry is None:
            return None
        expires, version, value = entry
        if expires < time.monotonic() or version != self._versions.get(namespace, 0):
            self._data.pop((namespace, key), None)
            return None
        return value

    def set(self, namespace: Hashable, key: Hashable, value: Any) -> None:
        if len(self._data) >= self.max_entries:
            self._data.clear()  # crude but bounded; entries are cheap to rebuild
        self._data[(namespace, key)] = (time.monotonic() + self.ttl, self._versions.get(namespace, 0), value)

    def invalidate(self, namespace: Hashable) -> None:
        """Forget everything cached under `namespace` (e.g. one tenant's directory)."""
        self._versions[namespace] = self._versions.get(namespace, 0) + 1
