"""Authentication through the HTTP API: login, tokens, sessions, OTP, passwords."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from clinicflow.config import Settings
from clinicflow.identity.roles import Role
from clinicflow.identity.tokens import TokenKeys, issue_access_token
from clinicflow.platform.db import Database
from clinicflow.platform.jobs import run_worker
from clinicflow.tenancy.models import Tenant
from tests.conftest import ClientFactory, count_rows
from tests.factories import PASSWORD, bearer, login, make_tenant, make_user


async def _audit_actions(database: Database, tenant_id: uuid.UUID | None) -> list[str]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT action FROM audit_events WHERE tenant_id IS NOT DISTINCT FROM :t ORDER BY id"),
            {"t": tenant_id},
        )
        return [r[0] for r in rows]


async def _drain_messages() -> None:
    await run_worker(wait=False, queues=["messaging"], concurrency=1)


async def _outbox(database: Database, user_id: uuid.UUID) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT template, payload FROM notification_outbox WHERE user_id = :u ORDER BY id"),
            {"u": user_id},
        )
        return [{"template": r[0], "payload": r[1]} for r in rows]


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await make_tenant(database)


# --- login -------------------------------------------------------------------------------------


async def test_login_returns_tokens_and_me_shows_roles_and_permissions(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(
        database, tenant_id=tenant.id, email="Ada@Example.test", roles=(Role.RECEPTIONIST,)
    )
    tokens = await login(client, tenant=tenant.slug, email="ada@example.TEST")  # email ignores case
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900

    me = await client.get("/api/v1/users/me", headers=bearer(tokens))
    assert me.status_code == 200
    body = me.json()
    assert body["id"] == str(user.id)
    assert body["tenant_id"] == str(tenant.id)
    assert body["roles"] == ["RECEPTIONIST"]
    assert "users:create" in body["permissions"]
    assert "roles:assign" not in body["permissions"]
    assert await _audit_actions(database, tenant.id) == ["tenant.created", "auth.login"]


async def test_failed_logins_never_say_whether_the_account_exists(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    await make_user(database, tenant_id=tenant.id, email="known@example.test")
    attempts = [
        {"tenant": tenant.slug, "email": "known@example.test", "password": "wrong-password-1"},
        {"tenant": tenant.slug, "email": "nobody@example.test", "password": "wrong-password-1"},
        {"tenant": "no-such-tenant", "email": "known@example.test", "password": "wrong-password-1"},
    ]
    bodies = []
    for attempt in attempts:
        response = await client.post("/api/v1/auth/login", json=attempt)
        assert response.status_code == 401
        body = response.json()
        bodies.append((body["code"], body["detail"], body["title"]))
    assert len(set(bodies)) == 1
    assert bodies[0][0] == "UNAUTHENTICATED"
    assert await _audit_actions(database, tenant.id) == [
        "tenant.created",
        "auth.login_failed",
        "auth.login_failed",
    ]
    assert await count_rows(database, "auth_sessions") == 0


async def test_deactivated_and_passwordless_accounts_cannot_log_in(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    async with database.transaction() as uow:
        await uow.session.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": user.id})
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": tenant.slug, "email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"tenant": "t", "email": "a@b.c"},
        {"tenant": "acme", "email": "not-an-email", "password": "x"},
        {"tenant": "acme", "email": "a@b.c", "password": "x", "roles": ["TENANT_ADMIN"]},
    ],
)
async def test_login_rejects_malformed_bodies(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_FAILED"


async def test_login_rate_limit_answers_429_then_recovers(
    make_client: ClientFactory, database: Database, settings: Settings, tenant: Tenant
) -> None:
    tight = settings.model_copy(update={"login_rate_per_account": "3/2 seconds"})
    client = make_client(settings_override=tight)
    user = await make_user(database, tenant_id=tenant.id)
    wrong = {"tenant": tenant.slug, "email": user.email, "password": "wrong-password-1"}
    for _ in range(3):
        assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    limited = await client.post("/api/v1/auth/login", json={**wrong, "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["code"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    await asyncio.sleep(int(limited.headers["Retry-After"]) + 0.2)
    recovered = await client.post("/api/v1/auth/login", json={**wrong, "password": PASSWORD})
    assert recovered.status_code == 200


async def test_login_rate_limit_per_client_address(
    make_client: ClientFactory, database: Database, settings: Settings, tenant: Tenant
) -> None:
    tight = settings.model_copy(update={"login_rate_per_address": "4/minute"})
    client = make_client(settings_override=tight)
    statuses = []
    for i in range(6):  # different accounts, same address
        body = {"tenant": tenant.slug, "email": f"u{i}@example.test", "password": "wrong-password-1"}
        statuses.append((await client.post("/api/v1/auth/login", json=body)).status_code)
    assert statuses == [401, 401, 401, 401, 429, 429]


# --- tokens ------------------------------------------------------------------------------------


async def test_refresh_rotates_and_a_reused_token_kills_the_session(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    first = await login(client, tenant=tenant.slug, email=user.email)

    rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/users/me", headers=bearer(second))).status_code == 200

    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "REFRESH_TOKEN_REUSED"

    # The successor dies with the session, and so do the access tokens.
    successor = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert successor.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(second))).status_code == 401
    assert "auth.refresh_token_reused" in await _audit_actions(database, tenant.id)


async def test_concurrent_refreshes_with_one_token_issue_at_most_one_pair(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    tokens = await login(client, tenant=tenant.slug, email=user.email)
    responses = await asyncio.gather(
        *[
            client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            for _ in range(10)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1
    assert statuses.count(401) == 9
    # A stolen token raced against its owner: the session is revoked for both.
    async with database.engine.connect() as conn:
        revoked = (await conn.execute(text("SELECT revoked_reason FROM auth_sessions"))).scalar_one()
    assert revoked == "refresh_token_reused"


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def _forge(claims: dict[str, Any], key: bytes, *, kid: str, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


async def test_expired_and_tampered_access_tokens_are_401(
    client: httpx.AsyncClient, database: Database, settings: Settings, tenant: Tenant
) -> None:
    other = await make_tenant(database)
    user = await make_user(database, tenant_id=tenant.id)
    tokens = await login(client, tenant=tenant.slug, email=user.email)
    good = tokens["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    assert settings.secret_key is not None
    keys = TokenKeys(settings.secret_key)
    header, payload, signature = good.split(".")

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    expired = issue_access_token(
        keys,
        subject_id=user.id,
        tenant_id=tenant.id,
        session_id=uuid.UUID(claims["sid"]),
        roles=["PATIENT"],
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    bad_signature = f"{header}.{payload}.{signature[:-4]}AAAA"
    alg_none = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': str(tenant.id)})}.{payload}."
    wrong_audience = _forge(
        {**claims, "aud": "someone-else"}, keys.key_for(str(tenant.id)), kid=str(tenant.id)
    )
    wrong_issuer = _forge({**claims, "iss": "evil"}, keys.key_for(str(tenant.id)), kid=str(tenant.id))
    # Signed with the other tenant's key (its kid), claiming our tenant.
    other_tenant_key = _forge(claims, keys.key_for(str(other.id)), kid=str(other.id))
    # Signed with a key the server never derived.
    foreign_secret = _forge(claims, TokenKeys("not-our-secret").key_for(str(tenant.id)), kid=str(tenant.id))
    wrong_type = _forge({**claims, "typ": "refresh"}, keys.key_for(str(tenant.id)), kid=str(tenant.id))
    hs512 = _forge(claims, keys.key_for(str(tenant.id)), kid=str(tenant.id), alg="HS512")

    assert (await client.get("/api/v1/users/me", headers=bearer(good))).status_code == 200
    for name, token in {
        "expired": expired,
        "bad signature": bad_signature,
        "alg none": alg_none,
        "wrong audience": wrong_audience,
        "wrong issuer": wrong_issuer,
        "other tenant's key id": other_tenant_key,
        "foreign secret": foreign_secret,
        "wrong typ": wrong_type,
        "disallowed algorithm": hs512,
        "garbage": "not.a.jwt",
    }.items():
        response = await client.get("/api/v1/users/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer", name
    assert (await client.get("/api/v1/users/me")).status_code == 401
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert (await client.get("/api/v1/users/me", headers=basic)).status_code == 401


async def test_x_tenant_id_must_match_the_token(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    other = await make_tenant(database)
    user = await make_user(database, tenant_id=tenant.id)
    headers = bearer(await login(client, tenant=tenant.slug, email=user.email))
    same = await client.get("/api/v1/users/me", headers={**headers, "X-Tenant-Id": str(tenant.id)})
    assert same.status_code == 200
    for value in (str(other.id), "not-a-uuid"):
        response = await client.get("/api/v1/users/me", headers={**headers, "X-Tenant-Id": value})
        assert response.status_code == 403
        assert response.json()["code"] == "TENANT_MISMATCH"


# --- sessions ----------------------------------------------------------------------------------


async def test_logout_and_session_revocation_end_access_at_once(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    phone = await login(client, tenant=tenant.slug, email=user.email)
    laptop = await login(client, tenant=tenant.slug, email=user.email)

    listed = await client.get("/api/v1/auth/sessions", headers=bearer(laptop))
    assert listed.status_code == 200
    assert listed.json()["next_cursor"] is None
    sessions = listed.json()["items"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions] == [True, False]

    phone_session = sessions[1]["id"]
    revoked = await client.delete(f"/api/v1/auth/sessions/{phone_session}", headers=bearer(laptop))
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(phone))).status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refreshed.status_code == 401

    assert (await client.post("/api/v1/auth/logout", headers=bearer(laptop))).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(laptop))).status_code == 401
    assert (await _audit_actions(database, tenant.id)).count("auth.session_revoked") == 2


async def test_another_users_session_is_404(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    alice = await make_user(database, tenant_id=tenant.id)
    bob = await make_user(database, tenant_id=tenant.id)
    alice_tokens = await login(client, tenant=tenant.slug, email=alice.email)
    bob_tokens = await login(client, tenant=tenant.slug, email=bob.email)
    bob_session = (await client.get("/api/v1/auth/sessions", headers=bearer(bob_tokens))).json()["items"][0][
        "id"
    ]
    response = await client.delete(f"/api/v1/auth/sessions/{bob_session}", headers=bearer(alice_tokens))
    assert response.status_code == 404
    assert (await client.get("/api/v1/users/me", headers=bearer(bob_tokens))).status_code == 200


# --- registration ------------------------------------------------------------------------------


async def test_patient_self_registration(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    body = {
        "tenant": tenant.slug,
        "email": "new.patient@example.test",
        "password": "a-long-enough-password",
        "full_name": "New Patient",
        "date_of_birth": "1990-02-28",
        "phone": "+44 20 7946 0000",
        "preferred_language": "en",
    }
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    tokens = response.json()["tokens"]
    me = (await client.get("/api/v1/users/me", headers=bearer(tokens))).json()
    assert me["roles"] == ["PATIENT"]
    assert me["patient_profile"]["date_of_birth"] == "1990-02-28"
    assert me["patient_profile"]["preferred_language"] == "en"

    again = await client.post("/api/v1/auth/register", json={**body, "email": "NEW.patient@example.test"})
    assert again.status_code == 409
    assert again.json()["code"] == "EMAIL_TAKEN"
    assert await count_rows(database, "users") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tenant": "no-such-tenant"}, "tenant"),
        ({"password": "short"}, "password"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"roles": ["TENANT_ADMIN"]}, "roles"),
        ({"tenant_id": str(uuid.uuid4())}, "tenant_id"),
    ],
)
async def test_registration_refuses_bad_input_and_changes_nothing(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    body = {"tenant": tenant.slug, "email": "p@example.test", "password": "long-enough-pw", "full_name": "P"}
    response = await client.post("/api/v1/auth/register", json={**body, **change})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await count_rows(database, "users") == 0


# --- one-time codes ----------------------------------------------------------------------------


async def test_otp_login_through_the_outbox(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    target = {"tenant": tenant.slug, "email": user.email}
    requested = await client.post("/api/v1/auth/request-otp", json=target)
    assert requested.status_code == 202
    unknown = await client.post("/api/v1/auth/request-otp", json={**target, "email": "nobody@example.test"})
    assert unknown.status_code == 202
    assert unknown.json() == requested.json()

    await _drain_messages()
    messages = await _outbox(database, user.id)
    assert [m["template"] for m in messages] == ["otp_code"]
    code = messages[0]["payload"]["code"]
    assert len(code) == 6
    async with database.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT secret_hash FROM one_time_secrets"))).scalar_one()
    assert code.encode() not in stored  # stored hashed

    wrong = "000000" if code != "000000" else "111111"
    assert (await client.post("/api/v1/auth/verify-otp", json={**target, "code": wrong})).status_code == 401
    verified = await client.post("/api/v1/auth/verify-otp", json={**target, "code": code})
    assert verified.status_code == 200
    assert (await client.get("/api/v1/users/me", headers=bearer(verified.json()))).status_code == 200
    # Single use.
    assert (await client.post("/api/v1/auth/verify-otp", json={**target, "code": code})).status_code == 401


async def test_otp_allows_five_attempts_then_dies_and_expires(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    target = {"tenant": tenant.slug, "email": user.email}
    await client.post("/api/v1/auth/request-otp", json=target)
    await _drain_messages()
    code = (await _outbox(database, user.id))[0]["payload"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (
            await client.post("/api/v1/auth/verify-otp", json={**target, "code": wrong})
        ).status_code == 401
    exhausted = await client.post("/api/v1/auth/verify-otp", json={**target, "code": code})
    assert exhausted.status_code == 401

    await client.post("/api/v1/auth/request-otp", json=target)
    await _drain_messages()
    fresh = (await _outbox(database, user.id))[-1]["payload"]["code"]
    async with database.transaction() as uow:
        await uow.session.execute(
            text(
                "UPDATE one_time_secrets SET expires_at = now() - interval '1 second' "
                "WHERE consumed_at IS NULL"
            )
        )
    expired = await client.post("/api/v1/auth/verify-otp", json={**target, "code": fresh})
    assert expired.status_code == 401


# --- passwords ---------------------------------------------------------------------------------


async def test_forgot_and_reset_password_is_single_use_and_ends_sessions(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    old_session = await login(client, tenant=tenant.slug, email=user.email)
    target = {"tenant": tenant.slug, "email": user.email}
    assert (await client.post("/api/v1/auth/forgot-password", json=target)).status_code == 202
    await _drain_messages()
    token = (await _outbox(database, user.id))[0]["payload"]["token"]

    weak = await client.post("/api/v1/auth/reset-password", json={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    reset = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "brand-new-pass"}
    )
    assert reset.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(old_session))).status_code == 401
    await login(client, tenant=tenant.slug, email=user.email, password="brand-new-pass")
    again = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "another-pass-1"}
    )
    assert again.status_code == 422
    assert again.json()["code"] == "RESET_TOKEN_INVALID"


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    user = await make_user(database, tenant_id=tenant.id)
    here = await login(client, tenant=tenant.slug, email=user.email)
    elsewhere = await login(client, tenant=tenant.slug, email=user.email)
    wrong = await client.post(
        "/api/v1/auth/change-password",
        headers=bearer(here),
        json={"current_password": "not-it-at-all", "new_password": "brand-new-pass"},
    )
    assert wrong.status_code == 422
    changed = await client.post(
        "/api/v1/auth/change-password",
        headers=bearer(here),
        json={"current_password": PASSWORD, "new_password": "brand-new-pass"},
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(here))).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=bearer(elsewhere))).status_code == 401
    await login(client, tenant=tenant.slug, email=user.email, password="brand-new-pass")


async def test_sessions_come_in_pages_newest_first(client: httpx.AsyncClient, database: Database) -> None:
    tenant = await make_tenant(database)
    user = await make_user(database, tenant_id=tenant.id)
    tokens = [await login(client, tenant=tenant.slug, email=user.email) for _ in range(3)]
    first = await client.get("/api/v1/auth/sessions", params={"limit": 2}, headers=bearer(tokens[0]))
    assert first.status_code == 200
    second = await client.get(
        "/api/v1/auth/sessions",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=bearer(tokens[0]),
    )
    assert second.json()["next_cursor"] is None
    ids = [s["id"] for s in first.json()["items"] + second.json()["items"]]
    assert len(set(ids)) == 3
    assert ids == sorted(ids, reverse=True)
    assert [s["current"] for s in first.json()["items"] + second.json()["items"]] == [False, False, True]
