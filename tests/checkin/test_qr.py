"""Signed QR codes: tokens that cannot be forged, revoked by a version bump, rotating on a kiosk,
served as SVG or PNG with caching headers, and never another tenant's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clinicflow.checkin.errors import QrCodeExpired, QrCodeInvalid
from clinicflow.checkin.models import QrMode
from clinicflow.checkin.qr import (
    QrClaims,
    QrKeys,
    QrSettings,
    check_current,
    check_in_url,
    issue,
    window_start,
)
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from tests.checkin.conftest import book, code_of, make_desk, scan
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at

TENANT, LOCATION = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 12, 4, 9, 5, 17, tzinfo=UTC)
KEYS = QrKeys("a-server-secret-of-enough-length", ["1"])


def printed(version: int = 1) -> QrSettings:
    return QrSettings(TENANT, LOCATION, QrMode.PRINTED, version, 60)


def rotating(seconds: int = 60) -> QrSettings:
    return QrSettings(TENANT, LOCATION, QrMode.ROTATING, 1, seconds)


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


# --- tokens (no database) --------------------------------------------------------------------


def test_a_printed_token_reads_back_and_is_current_until_its_version_is_bumped() -> None:
    code = issue(KEYS, printed(), public_url="https://clinic.example/", now=NOW)
    claims = KEYS.read(code.token)
    assert claims == QrClaims(TENANT, LOCATION, QrMode.PRINTED, 1, 0)
    check_current(claims, printed(), now=NOW + timedelta(days=400))  # printed: no expiry
    assert code.url == f"https://clinic.example/app/check-in?t={code.token}"
    assert (code.rotates_at, code.expires_at) == (None, None)
    with pytest.raises(QrCodeInvalid):
        check_current(claims, printed(version=2), now=NOW)


@pytest.mark.parametrize("part", [1, 2, 3])
def test_a_tampered_token_is_invalid(part: int) -> None:
    token = issue(KEYS, printed(), public_url="http://x", now=NOW).token
    pieces = token.split(".")
    pieces[part] = _flip(pieces[part], min(3, len(pieces[part]) - 1))
    with pytest.raises(QrCodeInvalid):
        KEYS.read(".".join(pieces))


@pytest.mark.parametrize(
    "token",
    ["", "cq1", "cq1.1.x", "cq1.1.x.y", "cq2.1.AAAA.AAAA", "cq1.1..", "cq1.1.!!!.???", "a.b.c.d.e"],
)
def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(QrCodeInvalid):
        KEYS.read(token)


def test_keys_rotate_by_id_the_newest_signs_every_listed_one_verifies() -> None:
    old = issue(QrKeys("secret" * 8, ["1"]), printed(), public_url="http://x", now=NOW).token
    rotated = QrKeys("secret" * 8, ["2", "1"])
    assert rotated.read(old).location_id == LOCATION  # still accepted
    new = issue(rotated, printed(), public_url="http://x", now=NOW).token
    assert new.split(".")[1] == "2"
    with pytest.raises(QrCodeInvalid):  # "1" dropped: every code it signed is revoked
        QrKeys("secret" * 8, ["2"]).read(old)
    with pytest.raises(QrCodeInvalid):  # unknown key id
        QrKeys("secret" * 8, ["1"]).read(new)
    with pytest.raises(QrCodeInvalid):  # same id, another server secret
        QrKeys("another" * 8, ["1"]).read(old)


def test_a_token_is_only_current_for_its_own_tenant_location_and_mode() -> None:
    claims = KEYS.read(issue(KEYS, printed(), public_url="http://x", now=NOW).token)
    for other in (
        QrSettings(uuid.uuid4(), LOCATION, QrMode.PRINTED, 1, 60),
        QrSettings(TENANT, uuid.uuid4(), QrMode.PRINTED, 1, 60),
        rotating(),
    ):
        with pytest.raises(QrCodeInvalid):
            check_current(claims, other, now=NOW)


def test_a_rotating_code_is_accepted_in_its_window_and_the_next_then_expires() -> None:
    code = issue(KEYS, rotating(60), public_url="http://x", now=NOW)
    claims = KEYS.read(code.token)
    start = window_start(NOW, 60)
    assert claims.window_start == start == int(NOW.timestamp()) // 60 * 60
    assert code.rotates_at == datetime.fromtimestamp(start + 60, UTC)
    assert code.expires_at == datetime.fromtimestamp(start + 120, UTC)
    check_current(claims, rotating(60), now=NOW)
    check_current(claims, rotating(60), now=code.expires_at - timedelta(seconds=1))  # the next window
    with pytest.raises(QrCodeExpired) as expired:
        check_current(claims, rotating(60), now=code.expires_at)
    assert expired.value.extra["expired_at"] == code.expires_at.isoformat()


def test_a_rotating_code_from_a_future_window_is_invalid() -> None:
    later = issue(KEYS, rotating(60), public_url="http://x", now=NOW + timedelta(minutes=5))
    with pytest.raises(QrCodeInvalid):
        check_current(KEYS.read(later.token), rotating(60), now=NOW)


def test_the_url_escapes_nothing_it_does_not_need_to() -> None:
    assert check_in_url("http://h:8000", "cq1.1.a-b_c.d") == "http://h:8000/app/check-in?t=cq1.1.a-b_c.d"


# --- through the API -------------------------------------------------------------------------


async def test_the_code_is_served_as_svg_or_png_with_an_etag_and_304(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    url = f"/api/v1/locations/{desk}/qr-code"
    svg = await client.get(url, headers=practice.reception)
    assert svg.status_code == 200, svg.text
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<svg")
    assert svg.headers["cache-control"] == "private, no-cache"
    png = await client.get(url, params={"format": "png"}, headers=practice.reception)
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert png.headers["etag"] != svg.headers["etag"]

    again = await client.get(url, headers={**practice.reception, "If-None-Match": svg.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == svg.headers["etag"]

    bumped = await client.post(
        f"/api/v1/appointments/check-in/locations/{desk}/qr-version", headers=practice.admin
    )
    assert bumped.json()["qr_version"] == 2
    fresh = await client.get(url, headers={**practice.reception, "If-None-Match": svg.headers["etag"]})
    assert fresh.status_code == 200  # a new version: a new code
    assert fresh.headers["etag"] != svg.headers["etag"]


async def test_the_code_encodes_the_check_in_page_with_the_current_token(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    shown = await client.get(f"/api/v1/locations/{desk}/qr-token", headers=practice.reception)
    body = shown.json()
    assert shown.headers["cache-control"] == "no-store"
    assert body["qr_mode"] == "printed"
    assert body["url"] == f"http://127.0.0.1:8000/app/check-in?t={body['token']}"
    assert (body["rotates_at"], body["expires_at"]) == (None, None)


async def test_a_bumped_version_revokes_every_printed_copy(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice, clock: FrozenClock
) -> None:
    desk = await make_desk(client, practice)
    await book(client, practice, tomorrow_at(10, 30))
    printed_copy = await code_of(client, practice, desk)
    await client.post(f"/api/v1/appointments/check-in/locations/{desk}/qr-version", headers=practice.admin)

    refused = await scan(frozen, practice.patient, printed_copy)
    assert refused.status_code == 422
    assert refused.json()["code"] == "QR_CODE_INVALID"
    accepted = await scan(frozen, practice.patient, await code_of(client, practice, desk))
    assert accepted.status_code == 200, accepted.text


async def test_a_rotating_kiosk_code_expires_after_the_next_window(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice, clock: FrozenClock
) -> None:
    desk = await make_desk(client, practice, qr_mode="rotating", rotation_seconds=30)
    await book(client, practice, tomorrow_at(10, 30))
    shown = await frozen.get(f"/api/v1/locations/{desk}/qr-token", headers=practice.admin)
    token = shown.json()["token"]
    image = await frozen.get(f"/api/v1/locations/{desk}/qr-code", headers=practice.admin)
    max_age = int(image.headers["cache-control"].removeprefix("private, max-age="))
    assert 0 <= max_age <= 30
    assert datetime.fromisoformat(shown.json()["rotates_at"]) == clock.now().replace(second=30)

    clock.set(datetime.fromisoformat(shown.json()["expires_at"]))  # two windows on
    expired = await scan(frozen, practice.patient, token)
    assert expired.status_code == 422
    assert expired.json()["code"] == "QR_CODE_EXPIRED"
    clock.set(clock.now() - timedelta(seconds=1))  # still the window after its own
    assert (await scan(frozen, practice.patient, token)).status_code == 200


async def test_another_tenants_code_is_invalid_and_its_location_not_found(
    database: Database, client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    other = await make_practice(database, client)
    their_desk = await make_desk(client, other)
    await book(client, practice, tomorrow_at(10, 30))
    their_code = await code_of(client, other, their_desk)

    scanned = await scan(frozen, practice.patient, their_code)
    assert scanned.status_code == 422
    assert scanned.json()["code"] == "QR_CODE_INVALID"
    for path in (f"/api/v1/locations/{their_desk}/qr-code", f"/api/v1/locations/{their_desk}/qr-token"):
        assert (await client.get(path, headers=practice.admin)).status_code == 404
        assert (await client.get(path, headers=practice.reception)).status_code == 404


async def test_codes_need_staff_of_the_locations_clinic(
    database: Database, client: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    url = f"/api/v1/locations/{desk}/qr-code"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=practice.patient)).status_code == 403
    elsewhere = await make_practice(database, client, tenant=practice.tenant)  # another clinic's staff
    assert (await client.get(url, headers=elsewhere.reception)).status_code == 404
    assert (await client.get(url, headers=practice.doctor)).status_code == 200  # reads the queue there
    missing = await client.get(f"/api/v1/locations/{uuid.uuid4()}/qr-code", headers=practice.admin)
    assert missing.status_code == 404
    bad = await client.get(url, params={"format": "gif"}, headers=practice.admin)
    assert bad.status_code == 422
    assert bad.json()["code"] == "VALIDATION_FAILED"
