"""An APIRouter that other requests skip by path prefix.

FastAPI matches a request by scanning included routers in order, and each
router's routes one by one (regular expressions), so a request pays for every
route registered before its own: about 1.5 µs a route, 135 µs at the end of
our table (docs/benchmarks.md). A router whose routes all share a prefix
cannot match a path outside it, so it answers "no match" at once.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


class PrefixedRouter(APIRouter):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.prefix:
            path: str = scope.get("path", "")
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if not (path == self.prefix or path.startswith(self.prefix + "/")):
                return Match.NONE, {}
        return super().matches(scope)
