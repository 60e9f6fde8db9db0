"""Every error renders the documented problem+json, and bad requests change nothing."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from clinicflow import errors
from clinicflow.errors import ClinicflowError
from clinicflow.platform.db import Database
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import TenantCreate
from tests.conftest import ClientFactory, count_rows


def _all_error_classes() -> list[type[ClinicflowError]]:
    found: list[type[ClinicflowError]] = [ClinicflowError]
    stack = [ClinicflowError]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def _instance(cls: type[ClinicflowError]) -> ClinicflowError:
    if issubclass(cls, errors.RateLimitExceeded):
        return cls("slow down", retry_after=7)
    return cls("it went wrong in a documented way")


class Payload(BaseModel):
    name: str
    slug: str


def _router(database: Database) -> APIRouter:
    router = APIRouter()

    @router.get("/_test/raise/{code}")
    async def raise_error(code: str) -> None:
        for cls in _all_error_classes():
            if cls.code == code:
                raise _instance(cls)

    @router.get("/_test/crash")
    async def crash() -> None:
        raise RuntimeError("secret internal detail: password=hunter2")

    @router.post("/_test/tenants", status_code=201)
    async def create(body: Payload) -> dict[str, str]:
        async with database.transaction() as uow:
            tenant = await tenancy.create_tenant(uow, data=TenantCreate(name=body.name, slug=body.slug))
        return {"id": str(tenant.id)}

    return router


@pytest.fixture
async def api(make_client: ClientFactory, database: Database) -> httpx.AsyncClient:
    return make_client(_router(database))


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.code)
async def test_every_error_class_renders_problem_json(
    api: httpx.AsyncClient, cls: type[ClinicflowError]
) -> None:
    response = await api.get(f"/_test/raise/{cls.code}", headers={"X-Request-Id": "req-1"})
    assert response.status_code == cls.status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == cls.code
    assert body["status"] == cls.status
    assert body["title"] == cls.title
    assert body["detail"] in ("it went wrong in a documented way", "slow down")
    assert body["type"].endswith(cls.code.lower().replace("_", "-"))
    assert body["request_id"] == "req-1"
    if cls is errors.RateLimitExceeded:
        assert response.headers["retry-after"] == "7"


def test_error_codes_are_unique_upper_snake() -> None:
    codes = [cls.code for cls in _all_error_classes()]
    assert len(codes) == len(set(codes))
    assert all(code.isupper() and " " not in code for code in codes)


async def test_validation_lists_each_field(api: httpx.AsyncClient, database: Database) -> None:
    response = await api.post("/_test/tenants", json={"name": 5})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"name", "slug"}
    assert await count_rows(database, "tenants") == 0


async def test_malformed_json_is_422_and_changes_nothing(api: httpx.AsyncClient, database: Database) -> None:
    response = await api.post(
        "/_test/tenants", content=b'{"name": "x", "slug": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert response.json()["detail"] == "The request body is not valid JSON"
    assert await count_rows(database, "tenants") == 0


async def test_five_mib_body_is_413_and_changes_nothing(api: httpx.AsyncClient, database: Database) -> None:
    big = b'{"name": "' + b"x" * (5 * 1024 * 1024) + b'", "slug": "big"}'
    response = await api.post("/_test/tenants", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert await count_rows(database, "tenants") == 0


async def test_oversized_streamed_body_without_length_is_413(
    api: httpx.AsyncClient, database: Database
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"x" * (1024 * 1024)

    response = await api.post(
        "/_test/tenants", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert await count_rows(database, "tenants") == 0


async def test_unknown_route_is_404_problem(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/nothing-here", json={})
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


async def test_wrong_method_is_405_problem(api: httpx.AsyncClient, database: Database) -> None:
    response = await api.delete("/_test/tenants")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert await count_rows(database, "tenants") == 0


async def test_integrity_error_becomes_a_409_domain_conflict(
    api: httpx.AsyncClient, database: Database
) -> None:
    first = await api.post("/_test/tenants", json={"name": "A", "slug": "same-slug"})
    assert first.status_code == 201
    second = await api.post("/_test/tenants", json={"name": "B", "slug": "same-slug"})
    assert second.status_code == 409
    assert second.json()["code"] == "TENANT_SLUG_TAKEN"
    assert await count_rows(database, "tenants") == 1


async def test_unexpected_error_is_500_without_internals(api: httpx.AsyncClient) -> None:
    response = await api.get("/_test/crash", headers={"X-Request-Id": "trace-me"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "INTERNAL_ERROR"
    assert body["request_id"] == "trace-me"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-request-id"] == "trace-me"
