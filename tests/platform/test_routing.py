"""Prefixed routers answer "no match" for paths outside their prefix, and routing is unchanged."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from starlette.routing import Match

from clinicflow.platform.routing import PrefixedRouter


def _scope(path: str, root_path: str = "") -> dict[str, object]:
    return {"type": "http", "path": path, "root_path": root_path, "method": "GET", "headers": []}


def test_a_prefixed_router_skips_paths_outside_its_prefix_without_scanning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scanned: list[str] = []

    def scan(self: APIRouter, scope: dict[str, object]) -> tuple[Match, dict[str, object]]:
        scanned.append(str(scope["path"]))
        return Match.FULL, {}

    monkeypatch.setattr(APIRouter, "matches", scan)
    router = PrefixedRouter(prefix="/api/v1/things")
    assert router.matches(_scope("/api/v1/other/1")) == (Match.NONE, {})
    assert router.matches(_scope("/api/v1/thingsmore/1")) == (Match.NONE, {})  # not a path segment
    assert router.matches(_scope("/clinicflow/api/v1/other", root_path="/clinicflow")) == (Match.NONE, {})
    assert scanned == []
    assert router.matches(_scope("/api/v1/things/1"))[0] is Match.FULL
    assert router.matches(_scope("/clinicflow/api/v1/things", root_path="/clinicflow"))[0] is Match.FULL
    assert scanned == ["/api/v1/things/1", "/clinicflow/api/v1/things"]


async def test_routes_behind_prefixed_routers_still_match_exactly(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/api/v1/users/me")).status_code == 401  # matched, needs a token
    assert (await client.get("/api/v1/nothing-here")).status_code == 404
    wrong_method = await client.delete("/api/v1/auth/login")
    assert wrong_method.status_code == 405
