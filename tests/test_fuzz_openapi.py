"""Schemathesis over the whole OpenAPI document: no input makes Clinicflow answer 5xx or off-contract.

A real `clinicflow serve --demo` on its own database is fuzzed three times:
as the demo tenant admin and anonymously, every operation through
schemathesis's coverage phase (boundary and invalid values of every parameter
and field) and its fuzzing phase (random cases), and as the demo patient
through the fuzzing phase. Each run fails on
any 5xx and on any response whose status, content type, headers or body the
document does not declare. The seed is fixed so a failure reproduces; the
number of cases per operation is bounded so the file fits the suite's time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from clinicflow.demo import DEMO_LOGINS, DEMO_TENANT_SLUG
from tests.conftest import server_slot
from tests.demo_server import serve_demo

pytestmark = pytest.mark.slow

#: Cases per operation and phase; ~70 operations.
MAX_EXAMPLES = 8
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
#: Operations that end the fuzzer's own session (every later case would be a 401).
SESSION_ENDING = r"^(POST /api/v1/auth/logout|DELETE /api/v1/auth/sessions/\{session_id\})$"


@pytest.fixture(scope="module")
def live_server(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`clinicflow serve --demo` on a fresh database of its own; yields its base URL."""
    with server_slot():
        yield from serve_demo(server_url, tmp_path_factory.mktemp("fuzz"), purpose="fuzz")


def _token(base: str, email: str, tenant: str | None) -> str:
    body = {"email": email, "password": DEMO_LOGINS[0].password}
    if tenant:
        body["tenant"] = tenant
    response = httpx.post(f"{base}/api/v1/auth/login", json=body, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _known_ids(base: str, admin_token: str) -> dict[str, str]:
    """Ids of real demo objects, so cases reach past the 404 of a random id.

    A doctor, their clinic, the tenant, the patient and an appointment booked
    for them. User ids are left random: a real one would let the fuzzer
    deactivate the account whose token it holds.
    """
    headers = {"Authorization": f"Bearer {admin_token}"}
    me = httpx.get(f"{base}/api/v1/users/me", headers=headers, timeout=10).json()
    doctor = httpx.get(f"{base}/api/v1/doctors", headers=headers, timeout=10).json()["items"][0]
    users = httpx.get(f"{base}/api/v1/users", params={"limit": 200}, headers=headers, timeout=10).json()
    patient = next(u for u in users["items"] if u["grants"][0]["role"] == "PATIENT")
    start = datetime.now(UTC) + timedelta(days=2)
    slots = httpx.get(
        f"{base}/api/v1/doctors/{doctor['id']}/slots",
        params={"from": start.isoformat(), "to": (start + timedelta(days=7)).isoformat()},
        headers=headers,
        timeout=10,
    ).json()["items"]
    booked = httpx.post(
        f"{base}/api/v1/appointments",
        json={
            "doctor_id": doctor["id"],
            "clinic_id": slots[0]["clinic_id"],
            "starts_at": slots[0]["starts_at"],
            "patient_id": patient["id"],
        },
        headers=headers,
        timeout=10,
    )
    assert booked.status_code == 201, booked.text
    return {
        "path.doctor_id": doctor["id"],
        "path.clinic_id": doctor["clinic_ids"][0],
        "path.tenant_id": me["tenant_id"],
        "path.patient_id": patient["id"],
        "path.appointment_id": booked.json()["id"],
    }


def _fuzz(
    base: str,
    tmp_path: Path,
    *headers: str,
    exclude: str | None = None,
    ids: dict[str, str] | None = None,
    phases: str = "coverage,fuzzing",
) -> FuzzRun:
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n" + "".join(f'"{key}" = "{value}"\n' for key, value in (ids or {}).items())
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--phases",
        phases,
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "11",
        "--no-shrink",
        # One worker: hypothesis describes strategies with `ast`, which CPython 3.11
        # does not guard across threads ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    for header in headers:
        command += ["--header", header]
    if exclude:
        command += ["--exclude-name-regex", exclude]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    counted = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    return FuzzRun(
        exit_code=result.returncode,
        generated=int(counted.group(1)) if counted else 0,
        passed=int(counted.group(2)) if counted else 0,
        output=result.stdout[-6000:] + result.stderr[-2000:],
    )


@dataclass(frozen=True)
class FuzzRun:
    exit_code: int
    generated: int
    passed: int
    output: str


@pytest.fixture(scope="module")
def tokens(live_server: str) -> dict[str, str]:
    """Both tokens, taken before any fuzzing: the fuzzer's own logins use up the rate limit."""
    patient = next(login for login in DEMO_LOGINS if login.role == "patient")
    return {
        "admin": _token(live_server, DEMO_LOGINS[0].email, DEMO_TENANT_SLUG),
        "patient": _token(live_server, patient.email, DEMO_TENANT_SLUG),
    }


@pytest.fixture(scope="module")
def known_ids(live_server: str, tokens: dict[str, str]) -> dict[str, str]:
    return _known_ids(live_server, tokens["admin"])


def test_fuzzing_as_a_patient_finds_nothing(
    live_server: str, tokens: dict[str, str], known_ids: dict[str, str], tmp_path: Path
) -> None:
    # Random cases only: the coverage phase's ~3,400 deterministic ones run as the admin
    # and anonymously, and a patient's differ from those only in the 403s they meet.
    auth = f"Authorization: Bearer {tokens['patient']}"
    run = _fuzz(live_server, tmp_path, auth, exclude=SESSION_ENDING, ids=known_ids, phases="fuzzing")
    assert run.exit_code == 0, run.output
    assert run.passed == run.generated >= 200, run.output


def test_fuzzing_anonymously_finds_nothing(
    live_server: str, known_ids: dict[str, str], tmp_path: Path
) -> None:
    run = _fuzz(live_server, tmp_path, ids=known_ids)
    assert run.exit_code == 0, run.output
    assert run.passed == run.generated >= 2000, run.output


def test_fuzzing_as_the_tenant_admin_finds_nothing(
    live_server: str, tokens: dict[str, str], known_ids: dict[str, str], tmp_path: Path
) -> None:
    # Last: the admin may archive the clinic or cancel the appointment the others use.
    auth = f"Authorization: Bearer {tokens['admin']}"
    run = _fuzz(live_server, tmp_path, auth, exclude=SESSION_ENDING, ids=known_ids)
    assert run.exit_code == 0, run.output
    assert run.passed == run.generated >= 2000, run.output
