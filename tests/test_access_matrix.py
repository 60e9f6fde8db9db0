"""The access matrix: every API route x every role x (own tenant, other tenant, anonymous).

Read the MATRIX table below: one row per route, the expected status for each
role in the caller's own tenant, what the same caller gets when the request
targets another tenant, and what an anonymous caller gets.

- Roles are granted tenant-wide here (clinic scoping has its own tests).
- "Other tenant" means: path ids (and body references) point at tenant B's
  objects; routes without ids send `X-Tenant-Id` of tenant B instead.
- Statuses: 2xx allowed, 401 anonymous, 403 not allowed, 404 not visible,
  422 past access control but refused as input (e.g. a body naming another
  tenant's clinic, a wrong current password).

A test also checks that the table covers every route of the app, so a new
route cannot skip the matrix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.checkin import locations as checkin_locations
from clinicflow.checkin.models import QrMode
from clinicflow.checkin.qr import QrClaims, QrKeys
from clinicflow.checkin.schemas import CheckInLocationCreate
from clinicflow.config import Settings
from clinicflow.identity import family
from clinicflow.identity import service as identity
from clinicflow.identity.passwords import hash_password_sync
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.identity.schemas import DependantIn, Relationship
from clinicflow.identity.tokens import TokenKeys, verify_access_token
from clinicflow.platform.clock import SystemClock
from clinicflow.platform.db import Database, UnitOfWork
from clinicflow.realtime.display import DisplayClaims, DisplayKeys
from clinicflow.scheduling import booking
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.models import AvailabilityPlan, AvailabilityRule, TimeOff
from clinicflow.scheduling.schemas import BookingIn
from clinicflow.scheduling.video import InPersonOnly, SignedRoomProvider
from clinicflow.tenancy.models import Tenant
from clinicflow.waitlist import service as waitlist
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.schemas import JoinIn
from clinicflow.web.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    CookieSigner,
    PageSession,
    new_browser_secret,
)
from tests.architecture.test_routes import OPERATIONAL, _app, api_routes
from tests.conftest import ClientFactory
from tests.factories import PASSWORD, bearer, login, make_clinic, make_tenant, make_user
from tests.scheduling.conftest import tomorrow_at

R = Role
ALL_TENANT = frozenset(r for r in Role if r is not Role.SUPER_ADMIN)
ADMINS = frozenset({R.TENANT_ADMIN, R.CLINIC_ADMIN})
READERS = frozenset(
    {R.TENANT_ADMIN, R.CLINIC_ADMIN, R.DOCTOR, R.NURSE, R.THERAPIST, R.COUNSELOR, R.RECEPTIONIST}
)
# Scheduling: staff who see, book and manage appointments in scope; who manage rotas.
STAFF = READERS
SCHEDULERS = frozenset({R.TENANT_ADMIN, R.CLINIC_ADMIN, R.RECEPTIONIST})
PATIENT = frozenset({R.PATIENT})
DOCTORS = frozenset({R.DOCTOR})
DESK = frozenset({R.RECEPTIONIST, R.NURSE})
CREATORS = frozenset({R.TENANT_ADMIN, R.CLINIC_ADMIN, R.RECEPTIONIST})
# The queue: clinicians call and move patients (queue:call).
CLINICIANS = frozenset({R.DOCTOR, R.NURSE, R.THERAPIST, R.COUNSELOR})
# Check-in: the desk overrides the window and links families (with the admins).
OVERRIDERS = frozenset({R.TENANT_ADMIN, R.CLINIC_ADMIN, R.RECEPTIONIST})
FAMILY = OVERRIDERS


def row(
    ok: frozenset[Role] | set[Role],
    status: int,
    *,
    denied: int = 403,
    super_admin: int = 403,
    denied_overrides: dict[Role, int] | None = None,
) -> dict[Role, int]:
    """Expected status per role: `status` for `ok`, `denied` for the other tenant roles."""
    expected = {role: status if role in ok else denied for role in ALL_TENANT}
    expected.update(denied_overrides or {})
    expected[R.SUPER_ADMIN] = status if R.SUPER_ADMIN in ok else super_admin
    return expected


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # placeholders: {patient} {nurse} {clinic} {location} {session}
    own: dict[Role, int]
    other: dict[Role, int]
    anonymous: int = 401
    body: Callable[[dict[str, str]], dict[str, Any]] | None = None
    fresh_token: bool = False  # the call ends the caller's session
    other_via_body: bool = False  # "other tenant" = the body names tenant B's object
    params: Callable[[dict[str, str]], dict[str, str]] | None = None
    page: bool = False  # a server-rendered page: a cookie session and a form (with its CSRF token)


def _grant_doctor(t: dict[str, str]) -> dict[str, Any]:
    return {"grants": [{"role": "DOCTOR"}]}


def _new_patient(t: dict[str, str]) -> dict[str, Any]:
    return {
        "email": f"p-{uuid.uuid4().hex[:8]}@example.test",
        "full_name": "P",
        "grants": [{"role": "PATIENT"}],
    }


def _clinic(t: dict[str, str]) -> dict[str, Any]:
    return {"name": "Matrix Clinic", "slug": f"m-{uuid.uuid4().hex[:8]}", "timezone": "Europe/Paris"}


def _location(t: dict[str, str]) -> dict[str, Any]:
    return {"clinic_id": t["clinic"], "name": "Desk", "kind": "checkin_desk"}


def _tenant(t: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "New Org",
        "slug": f"org-{uuid.uuid4().hex[:8]}",
        "admin_email": "root@new.example",
        "admin_password": "a-long-enough-password",
    }


def _wrong_password(t: dict[str, str]) -> dict[str, Any]:
    return {"current_password": "not-the-password", "new_password": "another-long-one"}


def _slot(hour: int, days: int = 1) -> str:
    return tomorrow_at(hour, days=days).isoformat()


def _booking(t: dict[str, str]) -> dict[str, Any]:
    return {
        "doctor_id": t["doctor"],
        "clinic_id": t["sclinic"],
        "starts_at": _slot(10),
        "patient_id": t["patient"],
    }


def _own_booking(t: dict[str, str]) -> dict[str, Any]:
    """The booking form of the patient app: the caller books for themselves."""
    return {"doctor_id": t["doctor"], "clinic_id": t["sclinic"], "starts_at": _slot(11), "kind": "in_person"}


def _series(t: dict[str, str]) -> dict[str, Any]:
    return {
        "doctor_id": t["doctor"],
        "clinic_id": t["sclinic"],
        "first_starts_at": _slot(12),
        "occurrences": 2,
        "patient_id": t["patient"],
    }


def _availability(t: dict[str, str]) -> dict[str, Any]:
    return {
        "clinic_id": t["sclinic"],
        "min_notice_minutes": 0,
        "rules": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
    }


def _time_off(t: dict[str, str]) -> dict[str, Any]:
    return {"clinic_id": t["sclinic"], "starts_at": _slot(8, days=30), "ends_at": _slot(18, days=30)}


def _day(t: dict[str, str]) -> dict[str, str]:
    return {"from": _slot(0), "to": _slot(23)}


def _desk_booking(t: dict[str, str]) -> dict[str, Any]:
    """The desk's booking form: a free time of the target doctor, for the patient in the path."""
    return {"doctor_id": t["doctor"], "clinic_id": t["sclinic"], "starts_at": _slot(10), "kind": "in_person"}


def _my_hours(t: dict[str, str]) -> dict[str, Any]:
    """The planner's form: the caller's first hours at the target clinic (no plan there yet)."""
    return {
        "clinic_id": t["sclinic"],
        "version": "none",
        "rule_count": "1",
        "rules-0-weekday": "0",
        "rules-0-start": "09:00",
        "rules-0-end": "12:00",
        "rules-0-slot_minutes": "30",
    }


def _my_time_off(t: dict[str, str]) -> dict[str, Any]:
    return {"clinic_id": t["sclinic"], "from_date": "2031-01-06", "shown_clinic_id": t["sclinic"]}


def _new_staff(t: dict[str, str]) -> dict[str, Any]:
    """The admin console's new-staff form: a nurse, everywhere."""
    return {"full_name": "N", "email": f"n-{uuid.uuid4().hex[:8]}@example.test", "role": "NURSE"}


def _waitlist_form(t: dict[str, str]) -> dict[str, Any]:
    """The admin console's waitlist policy form, every field valid."""
    names = ("wait_time", "priority_tier", "chronic_condition", "window_fit")
    weights = {f"priority_weights.{name}": "1" for name in names}
    return {"max_queue_size": "100", "auto_expiry_hours": "24", "offer_response_minutes": "60", **weights}


def _wrong_sign_in(t: dict[str, str]) -> dict[str, Any]:
    """A sign-in form that reaches the credential check (a new account each time: no lockout)."""
    return {"tenant": t["slug"], "email": f"nobody-{uuid.uuid4().hex[:8]}@example.test", "password": "x"}


def everyone(status: int) -> dict[Role, int]:
    """The same answer for every role (public routes)."""
    return {role: status for role in Role}


def everyone_but_platform(status: int) -> dict[Role, int]:
    """`status` for every tenant role; 403 for SUPER_ADMIN (no tenant data)."""
    return row(set(), status, denied=status)


def _for(expected: dict[frozenset[Role] | set[Role], int], default: int = 403) -> dict[Role, int]:
    """Per-role statuses from groups of roles; SUPER_ADMIN gets 403 unless listed."""
    result = {role: default for role in Role}
    result[R.SUPER_ADMIN] = 403
    for roles, status in expected.items():
        for role in roles:
            result[role] = status
    return result


# What a role that may read users but not change them gets on a visible user, etc.
VISIBLE_NOT_ALLOWED = {role: 403 for role in READERS - ADMINS}
EVERYONE = ALL_TENANT | {R.SUPER_ADMIN}

# fmt: off
MATRIX: list[Case] = [
    # --- the caller's own things
    Case("GET", "/api/v1/users/me", own=row(EVERYONE, 200), other=row(set(), 200)),
    Case("GET", "/api/v1/auth/sessions", own=row(EVERYONE, 200), other=row(set(), 200)),
    Case("POST", "/api/v1/auth/logout", own=row(EVERYONE, 204), other=row(set(), 204), fresh_token=True),
    Case("DELETE", "/api/v1/auth/sessions/{session}",  # someone else's session: never visible
         own=everyone(404), other=everyone(404)),
    Case("POST", "/api/v1/auth/change-password", body=_wrong_password,
         own=row(ALL_TENANT, 422), other=row(set(), 422)),
    # --- users
    Case("GET", "/api/v1/users", own=row(READERS, 200), other=row(set(), 200)),
    Case("POST", "/api/v1/users", body=_new_patient, own=row(CREATORS, 201), other=row(set(), 201)),
    Case("GET", "/api/v1/users/{patient}",
         own=row(READERS, 200, denied=404), other=everyone_but_platform(404)),
    Case("PATCH", "/api/v1/users/{patient}", body=lambda t: {"full_name": "Renamed"},
         own=row(ADMINS, 200, denied=404, denied_overrides=VISIBLE_NOT_ALLOWED),
         other=everyone_but_platform(404)),
    Case("DELETE", "/api/v1/users/{nurse}", own=row(ADMINS, 204),
         other=row(set(), 204, denied_overrides={r: 404 for r in ADMINS})),
    Case("PUT", "/api/v1/users/{nurse}/roles", body=_grant_doctor, own=row(ADMINS, 200),
         other=row(set(), 200, denied_overrides={r: 404 for r in ADMINS})),
    # --- tenants (platform)
    Case("POST", "/api/v1/tenants", body=_tenant, own=row({R.SUPER_ADMIN}, 201), other=row(set(), 201)),
    Case("GET", "/api/v1/tenants", own=row({R.SUPER_ADMIN}, 200), other=row(set(), 200)),
    # --- clinics
    Case("GET", "/api/v1/clinics", own=row(ALL_TENANT, 200), other=row(set(), 200)),
    Case("POST", "/api/v1/clinics", body=_clinic, own=row({R.TENANT_ADMIN}, 201), other=row(set(), 201)),
    Case("GET", "/api/v1/clinics/{clinic}", own=row(ALL_TENANT, 200), other=everyone_but_platform(404)),
    Case("PUT", "/api/v1/clinics/{clinic}", body=_clinic, own=row(ADMINS, 200),
         other=row(set(), 200, denied_overrides={r: 404 for r in ADMINS})),
    Case("DELETE", "/api/v1/clinics/{clinic}", own=row({R.TENANT_ADMIN}, 204),
         other=row(set(), 204, denied_overrides={R.TENANT_ADMIN: 404})),
    # --- clinic locations
    Case("GET", "/api/v1/clinic-locations", own=row(ALL_TENANT, 200), other=row(set(), 200)),
    Case("POST", "/api/v1/clinic-locations", body=_location, own=row(ADMINS, 201), other_via_body=True,
         other=row(set(), 201, denied_overrides={r: 422 for r in ADMINS})),  # names B's clinic
    Case("GET", "/api/v1/clinic-locations/{location}", own=row(ALL_TENANT, 200),
         other=everyone_but_platform(404)),
    Case("PUT", "/api/v1/clinic-locations/{location}", body=_location, own=row(ADMINS, 200),
         other=row(set(), 200, denied_overrides={r: 404 for r in ADMINS})),
    Case("DELETE", "/api/v1/clinic-locations/{location}", own=row(ADMINS, 204),
         other=row(set(), 204, denied_overrides={r: 404 for r in ADMINS})),
    # --- scheduling
    Case("GET", "/api/v1/doctors", own=row(ALL_TENANT, 200), other=row(set(), 200)),
    Case("GET", "/api/v1/doctors/{doctor}/availability", params=lambda t: {"clinic_id": t["sclinic"]},
         own=row(ALL_TENANT, 200), other=everyone_but_platform(404)),
    Case("PUT", "/api/v1/doctors/{doctor}/availability", body=_availability,
         own=row(SCHEDULERS, 200), other=everyone_but_platform(404)),
    Case("GET", "/api/v1/doctors/{doctor}/time-off",
         own=row(ALL_TENANT, 200), other=everyone_but_platform(404)),
    Case("POST", "/api/v1/doctors/{doctor}/time-off", body=_time_off,
         own=row(SCHEDULERS, 201), other=_for({SCHEDULERS: 404})),
    Case("DELETE", "/api/v1/doctors/{doctor}/time-off/{time_off}",
         own=row(SCHEDULERS, 204), other=everyone_but_platform(404)),
    Case("GET", "/api/v1/doctors/{doctor}/slots", params=_day,
         own=row(ALL_TENANT, 200), other=everyone_but_platform(404)),
    Case("POST", "/api/v1/appointments", body=_booking, other_via_body=True,  # for the target patient
         own=_for({STAFF: 201}), other=_for({STAFF: 422})),
    Case("GET", "/api/v1/appointments", own=_for({STAFF | PATIENT: 200}), other=row(set(), 200)),
    Case("GET", "/api/v1/appointments/{appointment}",
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("GET", "/api/v1/appointments/{appointment}.ics",
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/cancel",
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/confirm",
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/reschedule", body=lambda t: {"starts_at": _slot(11)},
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/start",
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/complete",  # scheduled: not yet completable
         own=_for({STAFF: 409}), other=_for({STAFF: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/no-show",
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/follow-ups",
         body=lambda t: {"due_from": "2031-01-01", "due_to": "2031-01-31"},
         own=_for({STAFF: 201}), other=_for({STAFF: 404})),
    Case("POST", "/api/v1/appointment-series", body=_series, other_via_body=True,
         own=_for({STAFF: 201}), other=_for({STAFF | PATIENT: 422})),
    Case("GET", "/api/v1/clinics/{clinic}/scheduling-policy", own=row(ALL_TENANT, 200),
         other=everyone_but_platform(404)),
    Case("PUT", "/api/v1/clinics/{clinic}/scheduling-policy",
         body=lambda t: {"patient_cancel_cutoff_minutes": 60},
         own=row(ADMINS, 200), other=_for({ADMINS: 404})),
    Case("GET", "/video/rooms/{appointment}", anonymous=422,  # without its signed query: refused as input
         own=everyone(422), other=everyone(422)),
    # --- waitlist
    Case("POST", "/api/v1/waitlists", other_via_body=True,
         body=lambda t: {"clinic_id": t["sclinic"], "patient_id": t["patient2"]},
         own=_for({STAFF: 201}), other=_for({STAFF | PATIENT: 422})),
    Case("GET", "/api/v1/waitlists", other_via_body=True, params=lambda t: {"clinic_id": t["sclinic"]},
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("GET", "/api/v1/waitlists/stats", other_via_body=True, params=lambda t: {"clinic_id": t["sclinic"]},
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("GET", "/api/v1/waitlists/{entry}",
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("PATCH", "/api/v1/waitlists/{entry}", body=lambda t: {"notes": "called back"},
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/waitlists/{entry}/accept",  # the entry is not invited
         own=_for({STAFF: 409, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/waitlists/{entry}/decline",
         own=_for({STAFF: 409, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/waitlists/{entry}/promote", body=lambda t: {"starts_at": _slot(14)},
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("GET", "/api/v1/patients/{patient}/waitlists",
         own=_for({STAFF: 200, PATIENT: 404}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/waitlist/invite",  # a booked slot is not free
         own=_for({STAFF: 409}), other=_for({STAFF: 404})),
    Case("GET", "/api/v1/tenants/{tenant_id}/clinics/{clinic}/waitlist-policy",
         own=row(ALL_TENANT, 200), other=everyone_but_platform(404)),
    Case("PUT", "/api/v1/tenants/{tenant_id}/clinics/{clinic}/waitlist-policy",
         body=lambda t: {"auto_offer": False},
         own=row(ADMINS, 200), other=_for({ADMINS: 404})),
    # --- real time (in process the app has no hub: a stream past access control answers 503)
    Case("POST", "/api/v1/events/tickets", own=row(ALL_TENANT, 201), other=row(set(), 201)),
    Case("POST", "/api/v1/events/display-tokens", body=lambda t: {"location_id": t["location"]},
         other_via_body=True, own=row(ADMINS, 201),
         other=row(set(), 201, denied_overrides={r: 404 for r in ADMINS})),
    Case("GET", "/api/v1/events/stream", params=lambda t: {"channels": f"clinic:{t['clinic']}"},
         other_via_body=True, own=row(READERS, 503), other=everyone_but_platform(404)),
    # --- check-in: locations, the clinic's window, QR codes, scans, staff check-in, families
    Case("GET", "/api/v1/appointments/check-in/locations", own=_for({STAFF: 200}), other=row(set(), 200)),
    Case("POST", "/api/v1/appointments/check-in/locations", other_via_body=True,  # names B's location
         body=lambda t: {"location_id": t["location"]},
         own=_for({ADMINS: 201}), other=_for({ADMINS: 422})),
    Case("GET", "/api/v1/appointments/check-in/locations/{desk}",
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("PUT", "/api/v1/appointments/check-in/locations/{desk}", body=lambda t: {"ticket_prefix": "B"},
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("DELETE", "/api/v1/appointments/check-in/locations/{desk}",
         own=_for({ADMINS: 204}), other=_for({ADMINS: 404})),
    Case("POST", "/api/v1/appointments/check-in/locations/{desk}/qr-version",
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("GET", "/api/v1/clinics/{clinic}/check-in-policy", own=row(ALL_TENANT, 200),
         other=everyone_but_platform(404)),
    Case("PUT", "/api/v1/clinics/{clinic}/check-in-policy", body=lambda t: {"opens_before_minutes": 45},
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("GET", "/api/v1/locations/{desk}/qr-code", own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    Case("GET", "/api/v1/locations/{desk}/qr-token", own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    # A patient without appointments today: nothing to check in; B's code is not valid in A.
    Case("POST", "/api/v1/appointments/check-in/scan-qr", body=lambda t: {"token": t["qr"]},
         other_via_body=True, own=_for({PATIENT: 404}), other=_for({PATIENT: 422})),
    Case("POST", "/api/v1/appointments/{appointment}/check-in",  # tomorrow 09:00: not open yet
         own=_for({STAFF: 409}), other=_for({STAFF: 404})),
    Case("POST", "/api/v1/appointments/{appointment}/check-in/override",
         body=lambda t: {"reason": "arrived early for a test"},
         own=_for({OVERRIDERS: 201}), other=_for({OVERRIDERS: 404})),
    Case("GET", "/api/v1/patients/{patient}/dependants",  # someone else's: a patient sees only their own
         own=_for({FAMILY: 200, PATIENT: 404}), other=_for({FAMILY | PATIENT: 404})),
    Case("POST", "/api/v1/patients/{patient}/dependants",
         body=lambda t: {"dependant_id": t["patient2"], "relationship": "child"},
         own=_for({FAMILY: 201}), other=_for({FAMILY: 404})),
    Case("DELETE", "/api/v1/patients/{patient}/dependants/{dependant}",
         own=_for({FAMILY: 204}), other=_for({FAMILY: 404})),
    # (end of check-in rows)
    # --- queues (the target waits in tomorrow's queue: today's, which call-next serves, is empty)
    Case("GET", "/api/v1/queues/{qlocation}",  # staff: the full queue; a patient: their own place
         own=_for({STAFF | PATIENT: 200}), other=_for({STAFF | PATIENT: 404})),
    Case("POST", "/api/v1/queues/{qlocation}/call-next", body=lambda t: {"doctor_id": t["doctor"]},
         own=_for({CLINICIANS: 409}), other=_for({CLINICIANS: 404})),
    Case("POST", "/api/v1/queues/entries/{check_in}/recall",  # waiting: not called yet
         own=_for({CLINICIANS: 409}), other=_for({CLINICIANS: 404})),
    Case("POST", "/api/v1/queues/entries/{check_in}/skip", own=_for({CLINICIANS: 200}),
         other=_for({CLINICIANS: 404})),
    Case("POST", "/api/v1/queues/entries/{check_in}/start",
         own=_for({CLINICIANS: 409}), other=_for({CLINICIANS: 404})),
    Case("POST", "/api/v1/queues/entries/{check_in}/complete",
         own=_for({CLINICIANS: 409}), other=_for({CLINICIANS: 404})),
    Case("POST", "/api/v1/queues/entries/{check_in}/no-show",
         own=_for({CLINICIANS: 409}), other=_for({CLINICIANS: 404})),
    Case("PUT", "/api/v1/queues/entries/{check_in}/priority", body=lambda t: {"priority": 0},
         own=_for({STAFF: 200}), other=_for({STAFF: 404})),
    # (end of queue rows)
    # --- oversight
    Case("GET", "/api/v1/audit-events", own=row({R.TENANT_ADMIN}, 200), other=row(set(), 200)),
    Case("GET", "/api/v1/notifications/outbox", own=row({R.TENANT_ADMIN}, 200), other=row(set(), 200)),
    # --- public routes: same answer for everyone, signed in or not
    Case("POST", "/api/v1/auth/request-otp", anonymous=202,
         body=lambda t: {"tenant": t["slug"], "email": "nobody@example.test"},
         own=everyone(202), other=everyone(202)),
    Case("POST", "/api/v1/auth/forgot-password", anonymous=202,
         body=lambda t: {"tenant": t["slug"], "email": "nobody@example.test"},
         own=everyone(202), other=everyone(202)),
    Case("POST", "/api/v1/auth/verify-otp", anonymous=401,
         body=lambda t: {"tenant": t["slug"], "email": "nobody@example.test", "code": "123456"},
         own=everyone(401), other=everyone(401)),
    Case("POST", "/api/v1/auth/reset-password", anonymous=422,
         body=lambda t: {"token": "x" * 43, "new_password": "a-long-password"},
         own=everyone(422), other=everyone(422)),
    Case("POST", "/api/v1/auth/refresh", anonymous=401, body=lambda t: {"refresh_token": "y" * 43},
         own=everyone(401), other=everyone(401)),
    Case("POST", "/api/v1/auth/login", anonymous=401,
         body=lambda t: {"tenant": t["slug"], "email": "nobody@example.test", "password": "wrong-password"},
         own=everyone(401), other=everyone(401)),
    Case("POST", "/api/v1/auth/register", anonymous=201,
         body=lambda t: {"tenant": t["slug"], "email": f"r-{uuid.uuid4().hex[:8]}@example.test",
                         "password": "a-long-password", "full_name": "R"},
         own=everyone(201), other=everyone(201)),
    Case("GET", "/", anonymous=200, own=everyone(200), other=everyone(200)),
    Case("GET", "/docs", anonymous=200, own=everyone(200), other=everyone(200)),
    Case("GET", "/redoc", anonymous=200, own=everyone(200), other=everyone(200)),
    # Pages: the caller holds a page session (cookie), not a bearer token. No path ids yet,
    # so "other tenant" is the same request; a platform admin has no pages (403).
    Case("GET", "/login", page=True, anonymous=200, own=everyone(200), other=everyone(200)),
    Case("POST", "/login", page=True, body=_wrong_sign_in, anonymous=401,
         own=everyone(401), other=everyone(401)),
    # The patient app: patients only (staff get 403; their apps come with the web issue).
    Case("GET", "/app", page=True, anonymous=303, own=_for({PATIENT: 200}), other=_for({PATIENT: 200})),
    Case("GET", "/app/doctors", page=True, anonymous=303,
         own=_for({PATIENT: 200}), other=_for({PATIENT: 200})),
    Case("GET", "/app/doctors/{doctor}", page=True, anonymous=303,
         own=_for({PATIENT: 200}), other=_for({PATIENT: 404})),
    Case("POST", "/app/appointments", page=True, body=_own_booking, anonymous=303,
         own=_for({PATIENT: 303}), other=_for({PATIENT: 404})),
    # The target appointment is another patient's: invisible to a patient, like another tenant's.
    Case("POST", "/app/appointments/{appointment}/cancel", page=True, anonymous=303,
         own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    Case("GET", "/app/appointments/{appointment}.ics", page=True, anonymous=303,
         own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    Case("GET", "/app/appointments/{appointment}", page=True, anonymous=303,
         own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    Case("POST", "/app/appointments/{appointment}/reschedule", page=True, anonymous=303,
         body=lambda t: {"starts_at": _slot(11)}, own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    # Joining names the clinic and doctor in the form: tenant B's are no clinic and no doctor here.
    Case("POST", "/app/waitlists", page=True, anonymous=303, other_via_body=True,
         body=lambda t: {"clinic_id": t["sclinic"], "doctor_id": t["doctor"]},
         own=_for({PATIENT: 303}), other=_for({PATIENT: 404})),
    Case("GET", "/app/waitlists", page=True, anonymous=303,
         own=_for({PATIENT: 200}), other=_for({PATIENT: 200})),
    # The target entry is another patient's (and not invited): invisible to a patient.
    Case("POST", "/app/waitlists/{entry}/accept", page=True, anonymous=303,
         own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    Case("POST", "/app/waitlists/{entry}/decline", page=True, anonymous=303,
         own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    Case("POST", "/app/waitlists/{entry}/leave", page=True, anonymous=303,
         own=_for({PATIENT: 404}), other=_for({PATIENT: 404})),
    Case("GET", "/app/profile", page=True, anonymous=303,
         own=_for({PATIENT: 200}), other=_for({PATIENT: 200})),
    Case("POST", "/app/profile", page=True, anonymous=303, body=lambda t: {"full_name": "Renamed"},
         own=_for({PATIENT: 303}), other=_for({PATIENT: 303})),
    # --- doctor hub pages
    # Doctors only (a nurse holds the same permissions but has no calendar: 403, like the rest).
    # The callers are tenant-wide doctors; the targets are another doctor's, so "mine" is 404.
    Case("GET", "/doctor", page=True, anonymous=303, own=_for({DOCTORS: 200}), other=_for({DOCTORS: 200})),
    Case("GET", "/doctor/waitlist", page=True, anonymous=303,
         own=_for({DOCTORS: 200}), other=_for({DOCTORS: 200})),
    Case("GET", "/doctor/availability", page=True, anonymous=303,
         own=_for({DOCTORS: 200}), other=_for({DOCTORS: 200})),
    Case("POST", "/doctor/availability", page=True, body=_my_hours, anonymous=303,  # B's clinic: 404
         own=_for({DOCTORS: 303}), other=_for({DOCTORS: 404})),
    Case("POST", "/doctor/time-off", page=True, body=_my_time_off, anonymous=303,
         own=_for({DOCTORS: 303}), other=_for({DOCTORS: 404})),
    Case("POST", "/doctor/time-off/{time_off}/delete", page=True, anonymous=303,  # the target doctor's
         own=_for({DOCTORS: 404}), other=_for({DOCTORS: 404})),
    Case("GET", "/doctor/appointments/{appointment}", page=True, anonymous=303,
         own=_for({DOCTORS: 200}), other=_for({DOCTORS: 404})),
    Case("POST", "/doctor/appointments/{appointment}/follow-ups", page=True, anonymous=303,
         body=lambda t: {"due_from": "2031-01-01", "due_to": "2031-01-31"},
         own=_for({DOCTORS: 303}), other=_for({DOCTORS: 404})),
    # (end of doctor hub rows)
    # --- front desk pages
    # Reception and nurses only (doctors and admins hold the permissions, not the desk: 403).
    Case("GET", "/desk", page=True, anonymous=303, own=_for({DESK: 200}), other=_for({DESK: 200})),
    Case("GET", "/desk/patients", page=True, anonymous=303, params=lambda t: {"email": "nobody@example.test"},
         own=_for({DESK: 200}), other=_for({DESK: 200})),
    Case("GET", "/desk/patients/{patient}", page=True, anonymous=303,
         own=_for({DESK: 200}), other=_for({DESK: 404})),
    Case("GET", "/desk/patients/{patient}/doctors/{doctor}", page=True, anonymous=303,
         own=_for({DESK: 200}), other=_for({DESK: 404})),
    Case("POST", "/desk/patients/{patient}/appointments", page=True, body=_desk_booking, anonymous=303,
         own=_for({DESK: 303}), other=_for({DESK: 404})),
    Case("POST", "/desk/appointments/{appointment}/cancel", page=True, anonymous=303,
         body=lambda t: {"reason": "matrix"}, own=_for({DESK: 303}), other=_for({DESK: 404})),
    Case("GET", "/desk/appointments/{appointment}/reschedule", page=True, anonymous=303,
         own=_for({DESK: 200}), other=_for({DESK: 404})),
    Case("POST", "/desk/appointments/{appointment}/reschedule", page=True, anonymous=303,
         body=lambda t: {"starts_at": _slot(11)}, own=_for({DESK: 303}), other=_for({DESK: 404})),
    Case("GET", "/desk/waitlists", page=True, anonymous=303, params=lambda t: {"clinic_id": t["sclinic"]},
         own=_for({DESK: 200}), other=_for({DESK: 404})),
    Case("POST", "/desk/waitlists/{entry}/pin", page=True, anonymous=303,
         body=lambda t: {"pinned": "true", "reason": "matrix"},
         own=_for({DESK: 303}), other=_for({DESK: 404})),
    Case("POST", "/desk/waitlists/{entry}/boost", page=True, anonymous=303,
         body=lambda t: {"boost": "5", "reason": "matrix"}, own=_for({DESK: 303}), other=_for({DESK: 404})),
    Case("POST", "/desk/appointments/{appointment}/invite", page=True, anonymous=303,  # booked: not freed
         own=_for({DESK: 409}), other=_for({DESK: 404})),
    # (end of front desk rows)
    # --- admin console pages
    # The console is for tenant and clinic admins (`clinics:update`); a path naming tenant B's
    # clinic, location or user is the 404 page; with no path ids "other tenant" is the same request.
    Case("GET", "/admin", page=True, anonymous=303, own=_for({ADMINS: 200}), other=_for({ADMINS: 200})),
    Case("GET", "/admin/clinics", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 200})),
    Case("GET", "/admin/clinics/new", page=True, anonymous=303,
         own=_for({frozenset({R.TENANT_ADMIN}): 200}), other=_for({frozenset({R.TENANT_ADMIN}): 200})),
    Case("POST", "/admin/clinics", page=True, body=_clinic, anonymous=303,
         own=_for({frozenset({R.TENANT_ADMIN}): 303}), other=_for({frozenset({R.TENANT_ADMIN}): 303})),
    Case("GET", "/admin/clinics/{clinic}", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/clinics/{clinic}", page=True, body=_clinic, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/clinics/{clinic}/archive", page=True, anonymous=303,
         own=_for({frozenset({R.TENANT_ADMIN}): 303}), other=_for({frozenset({R.TENANT_ADMIN}): 404})),
    Case("GET", "/admin/clinics/{clinic}/locations/new", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/clinics/{clinic}/locations", page=True, anonymous=303,
         body=lambda t: {"name": "Desk", "kind": "checkin_desk"},
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("GET", "/admin/locations/{location}", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/locations/{location}", page=True, anonymous=303,
         body=lambda t: {"clinic_id": t["clinic"], "name": "Desk 2"},
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/locations/{location}/delete", page=True, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("GET", "/admin/users", page=True, anonymous=303, own=_for({ADMINS: 200}), other=_for({ADMINS: 200})),
    Case("GET", "/admin/users/new", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 200})),
    Case("POST", "/admin/users", page=True, body=_new_staff, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 303})),
    Case("GET", "/admin/users/{nurse}", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/users/{nurse}", page=True, body=lambda t: {"full_name": "Renamed"}, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/users/{nurse}/deactivate", page=True, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/users/{nurse}/roles", page=True, anonymous=303,
         body=lambda t: {"add_role": "DOCTOR"},
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("GET", "/admin/clinics/{clinic}/policies", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/clinics/{clinic}/policies/scheduling", page=True, anonymous=303,
         body=lambda t: {"patient_cancel_cutoff_minutes": "60", "no_show_after_minutes": "30"},
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/clinics/{clinic}/policies/waitlist", page=True, body=_waitlist_form, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("GET", "/admin/audit", page=True, anonymous=303,  # tenant-wide audit:read only
         own=_for({frozenset({R.TENANT_ADMIN}): 200}), other=_for({frozenset({R.TENANT_ADMIN}): 200})),
    # (end of admin console rows)
    # --- check-in, queue and display pages
    # The QR code's page: B's code is not valid in A (the page never names B's location).
    Case("GET", "/app/check-in", page=True, anonymous=303, params=lambda t: {"t": t["qr"]},
         own=_for({PATIENT: 200}), other=_for({PATIENT: 422})),
    Case("POST", "/app/check-in", page=True, anonymous=303, body=lambda t: {"t": t["qr"]},
         other_via_body=True, own=_for({PATIENT: 404}), other=_for({PATIENT: 422})),
    Case("GET", "/app/visit/{desk}", page=True, anonymous=303,
         own=_for({PATIENT: 200}), other=_for({PATIENT: 404})),
    # The desk checks in (tomorrow's visit: TOO_EARLY, said on the page); the override is for
    # reception (a nurse is shown the service's 403); B's appointment is the 404 page.
    Case("POST", "/desk/appointments/{appointment}/check-in", page=True, anonymous=303,
         own=_for({DESK: 409}), other=_for({DESK: 404})),
    Case("POST", "/desk/appointments/{appointment}/check-in/override", page=True, anonymous=303,
         body=lambda t: {"reason": "matrix"},
         own=_for({frozenset({R.RECEPTIONIST}): 303, frozenset({R.NURSE}): 403}), other=_for({DESK: 404})),
    # The waiting room's screen: its display token authorizes it, not a session (B's token opens
    # B's board; another location's or a forged token is a 404: tests/web/test_display_pages.py).
    Case("GET", "/display/{desk}", page=True, anonymous=200, params=lambda t: {"token": t["display"]},
         own={role: 200 for role in Role}, other={role: 200 for role in Role}),
    # The admin console's check-in window form (clinics:update and checkin:configure).
    Case("POST", "/admin/clinics/{clinic}/policies/check-in", page=True, anonymous=303,
         body=lambda t: {"opens_before_minutes": "20", "closes_after_minutes": "60",
                         "late_after_minutes": "10", "default_consult_minutes": "15"},
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    # A location's check-in in the console: settings, revoking codes, printable QR, kiosk, display.
    Case("POST", "/admin/locations/{location}/check-in", page=True, anonymous=303,
         body=lambda t: {"enabled": "on", "qr_mode": "printed", "rotation_seconds": "60",
                         "ticket_prefix": "B"},
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/locations/{desk}/check-in/revoke", page=True, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    Case("GET", "/admin/locations/{desk}/qr/print", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("GET", "/admin/locations/{desk}/kiosk", page=True, anonymous=303,
         own=_for({ADMINS: 200}), other=_for({ADMINS: 404})),
    Case("POST", "/admin/locations/{desk}/display", page=True, anonymous=303,
         own=_for({ADMINS: 303}), other=_for({ADMINS: 404})),
    # The doctor's live queue: doctors only. The target waits in tomorrow's queue for another
    # doctor, so my call-next finds nobody and only skip can move it (409 otherwise).
    Case("GET", "/doctor/queue", page=True, anonymous=303, params=lambda t: {"location": t["qlocation"]},
         own=_for({DOCTORS: 200}), other=_for({DOCTORS: 404})),
    Case("POST", "/doctor/queue/call-next", page=True, anonymous=303,
         body=lambda t: {"location": t["qlocation"]}, other_via_body=True,
         own=_for({DOCTORS: 409}), other=_for({DOCTORS: 404})),
    Case("POST", "/doctor/queue/entries/{check_in}/skip", page=True, anonymous=303,
         own=_for({DOCTORS: 303}), other=_for({DOCTORS: 404})),
    *(
        Case("POST", f"/doctor/queue/entries/{{check_in}}/{move}", page=True, anonymous=303,
             own=_for({DOCTORS: 409}), other=_for({DOCTORS: 404}))
        for move in ("start", "complete", "recall", "no-show")
    ),
    # (end of check-in page rows)
    # --- family pages
    # A patient's own family; reception links and unlinks (a nurse is shown the service's 403),
    # a path naming B's patient is the 404 page.
    Case("GET", "/app/family", page=True, anonymous=303,
         own=_for({PATIENT: 200}), other=_for({PATIENT: 200})),
    Case("POST", "/desk/patients/{patient}/dependants", page=True, anonymous=303,
         body=lambda t: {"dependant": t["patient2"], "relationship": "child"},
         own=_for({frozenset({R.RECEPTIONIST}): 303, frozenset({R.NURSE}): 403}), other=_for({DESK: 404})),
    Case("POST", "/desk/patients/{patient}/dependants/{dependant}/unlink", page=True, anonymous=303,
         own=_for({frozenset({R.RECEPTIONIST}): 303, frozenset({R.NURSE}): 403}), other=_for({DESK: 404})),
    # (end of family page rows)
    Case("POST", "/logout", page=True, fresh_token=True, anonymous=303,
         own=everyone_but_platform(303), other=everyone_but_platform(303)),
]
# fmt: on


def test_the_matrix_covers_every_route() -> None:
    placeholder = {
        "{user_id}": "{x}",
        "{clinic_id}": "{x}",
        "{location_id}": "{x}",
        "{session_id}": "{x}",
        "{doctor_id}": "{x}",
        "{appointment_id}": "{x}",
        "{time_off_id}": "{x}",
        "{entry_id}": "{x}",
        "{patient_id}": "{x}",
        "{tenant_id}": "{x}",
        "{check_in_id}": "{x}",
        "{dependant_id}": "{x}",
    }

    def normalise(path: str) -> str:
        names = ("{patient}", "{nurse}", "{clinic}", "{location}", "{session}", "{doctor}", "{appointment}")
        for name in (
            *names,
            "{time_off}",
            "{entry}",
            "{qlocation}",
            "{check_in}",
            "{desk}",
            "{dependant}",
            *placeholder,
        ):
            path = path.replace(name, "{x}")
        return path

    routes = {
        (method, normalise(path))
        for path, methods, _ in api_routes(_app())
        if path not in OPERATIONAL
        for method in methods
    }
    covered = {(case.method, normalise(case.path)) for case in MATRIX}
    assert routes - covered == set(), "routes missing from the access matrix"
    assert covered - routes == set(), "matrix rows for routes that do not exist"


@dataclass
class World:
    own: Tenant
    other: Tenant
    tokens: dict[Role, str]


async def _targets(
    database: Database,
    tenant: Tenant,
    client: httpx.AsyncClient,
    qr: QrKeys | None = None,
    display: DisplayKeys | None = None,
) -> dict[str, str]:
    """Fresh objects for one cell to act on (mutations must not see each other's leftovers)."""
    clinic = await make_clinic(database, tenant_id=tenant.id)
    # Scheduling targets live at their own clinic, so deleting `clinic` is not refused for
    # its upcoming appointments.
    sclinic = await make_clinic(database, tenant_id=tenant.id)
    async with database.transaction() as uow:
        patient = await identity.create_user(
            uow,
            tenant_id=tenant.id,
            email=f"tp-{uuid.uuid4().hex[:8]}@example.test",
            full_name="Target Patient",
            password=None,
            roles=[Role.PATIENT],
        )
        nurse = await identity.create_user(
            uow,
            tenant_id=tenant.id,
            email=f"tn-{uuid.uuid4().hex[:8]}@example.test",
            full_name="Target Nurse",
            password=None,
            roles=[Role.NURSE],
        )
        from clinicflow.tenancy import service as tenancy
        from clinicflow.tenancy.schemas import LocationCreate

        location = await tenancy.create_location(
            uow, tenant_id=tenant.id, data=LocationCreate(clinic_id=clinic.id, name="Room 1")
        )
        doctor = await identity.create_user(
            uow,
            tenant_id=tenant.id,
            email=f"td-{uuid.uuid4().hex[:8]}@example.test",
            full_name="Target Doctor",
            password=None,
            roles=[Role.DOCTOR],
            clinic_id=sclinic.id,
        )
        plan = AvailabilityPlan(
            tenant_id=tenant.id, doctor_id=doctor.id, clinic_id=sclinic.id, min_notice_minutes=0
        )
        uow.session.add(plan)
        await uow.flush()
        for weekday in range(7):
            uow.session.add(
                AvailabilityRule(
                    tenant_id=tenant.id,
                    plan_id=plan.id,
                    weekday=weekday,
                    start_local=time(8),
                    end_local=time(18),
                    slot_minutes=30,
                )
            )
        away = TimeOff(
            tenant_id=tenant.id,
            doctor_id=doctor.id,
            clinic_id=sclinic.id,
            starts_at=tomorrow_at(8, days=40),
            ends_at=tomorrow_at(9, days=40),
        )
        uow.session.add(away)
        await uow.flush()
        booker = TenantPrincipal(
            subject_id=doctor.id,
            tenant_id=tenant.id,
            session_id=uuid.uuid4(),
            grants=(Grant(Role.TENANT_ADMIN, None),),
        )
        appointment = await booking.book(
            uow,
            SchedulingConfig(
                clock=SystemClock(), video=SignedRoomProvider(secret_key="k" * 40, public_url="http://x")
            ),
            booker,
            data=BookingIn(
                doctor_id=doctor.id, clinic_id=sclinic.id, starts_at=tomorrow_at(9), patient_id=patient.id
            ),
        )
        patient2 = await identity.create_user(
            uow,
            tenant_id=tenant.id,
            email=f"tq-{uuid.uuid4().hex[:8]}@example.test",
            full_name="Waiting Patient",
            password=None,
            roles=[Role.PATIENT],
        )
        waitlist_cfg = WaitlistConfig(
            clock=SystemClock(),
            scheduling=SchedulingConfig(clock=SystemClock(), video=InPersonOnly()),
        )
        entry = await waitlist.join(
            uow,
            waitlist_cfg,
            booker,
            data=JoinIn(clinic_id=sclinic.id, doctor_id=doctor.id, patient_id=patient.id),
        )
        queued = await _queued_check_in(uow, tenant.id, booker, sclinic.id, doctor.id, patient2.id)
        checkin = await _checkin_targets(uow, tenant, booker, sclinic.id, patient.id, qr, display)
    return {
        **queued,
        **checkin,
        "entry": str(entry.id),
        "patient2": str(patient2.id),
        "doctor": str(doctor.id),
        "sclinic": str(sclinic.id),
        "appointment": str(appointment.id),
        "time_off": str(away.id),
        "patient": str(patient.id),
        "nurse": str(nurse.id),
        "clinic": str(clinic.id),
        "location": str(location.id),
        "slug": tenant.slug,
        "tenant_id": str(tenant.id),
    }


async def _queued_check_in(
    uow: Any,
    tenant_id: uuid.UUID,
    booker: TenantPrincipal,
    clinic_id: uuid.UUID,
    doctor_id: uuid.UUID,
    patient_id: uuid.UUID,
) -> dict[str, str]:
    """A patient waiting in a location's queue (tomorrow's: today's queue stays empty)."""
    from zoneinfo import ZoneInfo

    from clinicflow.audit.service import SYSTEM
    from clinicflow.checkin.arrivals import Desk, Window, admit
    from clinicflow.checkin.models import Method
    from clinicflow.scheduling import visits
    from clinicflow.tenancy import service as tenancy
    from clinicflow.tenancy.schemas import LocationCreate

    location = await tenancy.create_location(
        uow, tenant_id=tenant_id, data=LocationCreate(clinic_id=clinic_id, name="Waiting room")
    )
    appointment = await booking.book(
        uow,
        SchedulingConfig(clock=SystemClock(), video=InPersonOnly()),
        booker,
        data=BookingIn(
            doctor_id=doctor_id, clinic_id=clinic_id, starts_at=tomorrow_at(16), patient_id=patient_id
        ),
    )
    visit = await visits.get_visit(uow, tenant_id=tenant_id, appointment_id=appointment.id)
    assert visit is not None
    check_in = await admit(
        uow,
        SYSTEM,
        visit=visit,
        desk=Desk(location_id=location.id, ticket_prefix="A", zone=ZoneInfo("Europe/Berlin")),
        window=Window(),
        method=Method.STAFF,
        now=datetime.now(UTC),
        checked_in_by=None,
    )
    return {"qlocation": str(location.id), "check_in": str(check_in.id)}


async def _checkin_targets(
    uow: UnitOfWork,
    tenant: Tenant,
    admin: TenantPrincipal,
    clinic_id: uuid.UUID,
    patient_id: uuid.UUID,
    qr: QrKeys | None,
    display: DisplayKeys | None = None,
) -> dict[str, str]:
    """A check-in desk at the scheduling clinic (its only one), its code, its screen's display
    token, and a dependant."""
    from clinicflow.tenancy import service as tenancy
    from clinicflow.tenancy.schemas import LocationCreate

    desk = await tenancy.create_location(
        uow, tenant_id=tenant.id, data=LocationCreate(clinic_id=clinic_id, name="Desk")
    )
    await checkin_locations.create_location(uow, admin, data=CheckInLocationCreate(location_id=desk.id))
    dependant = await identity.create_user(
        uow,
        tenant_id=tenant.id,
        email=f"tk-{uuid.uuid4().hex[:8]}@example.test",
        full_name="Dependant",
        password=None,
        roles=[Role.PATIENT],
    )
    await family.link_dependant(
        uow,
        admin,
        patient_id=patient_id,
        data=DependantIn(dependant_id=dependant.id, relationship=Relationship.CHILD),
    )
    keys = qr or QrKeys("unused", ["1"])
    token = keys.sign(QrClaims(tenant.id, desk.id, QrMode.PRINTED, 1, 0))
    screen = (display or DisplayKeys("unused")).issue(
        DisplayClaims(tenant.id, desk.id, datetime.now(UTC) + timedelta(days=1))
    )
    return {"desk": str(desk.id), "qr": token, "display": screen, "dependant": str(dependant.id)}


async def _someone_elses_session(database: Database, client: httpx.AsyncClient, tenant: Tenant) -> str:
    user = await make_user(database, tenant_id=tenant.id)
    tokens = await login(client, tenant=tenant.slug, email=user.email)
    sessions = await client.get("/api/v1/auth/sessions", headers=bearer(tokens))
    return str(sessions.json()["items"][0]["id"])


async def _login_as(
    database: Database, client: httpx.AsyncClient, tenant: Tenant, role: Role, emails: dict[Role, str]
) -> str:
    if role is Role.SUPER_ADMIN:
        tokens = await login(client, tenant=None, email=emails[role])
    else:
        tokens = await login(client, tenant=tenant.slug, email=emails[role])
    return str(tokens["access_token"])


async def _call(
    client: httpx.AsyncClient, case: Case, targets: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    path = case.path.format(**targets)
    body = case.body(targets) if case.body else None
    params = case.params(targets) if case.params else None
    if case.page:
        form = {**(body or {}), CSRF_FIELD: headers.pop("x-form-token", "")}
        return await client.request(case.method, path, data=form, headers=headers, params=params)
    return await client.request(case.method, path, json=body, headers=headers, params=params)


def _page_headers(signer: CookieSigner, access_token: str | None, keys: TokenKeys) -> dict[str, str]:
    """A browser's cookies for the page session behind `access_token`, and its form token."""
    browser_secret = new_browser_secret()
    cookies = [f"{CSRF_COOKIE}={browser_secret}"]
    if access_token is not None:
        claims = verify_access_token(keys, access_token)
        session = PageSession(claims.session_id, claims.subject_id, claims.tenant_id, datetime.now(UTC))
        cookies.append(f"{SESSION_COOKIE}={signer.encode(session)}")
    return {"Cookie": "; ".join(cookies), "x-form-token": signer.csrf_token(browser_secret)}


_SHARED_HASH = hash_password_sync(PASSWORD)


@pytest.fixture
async def world(
    database: Database, make_client: ClientFactory
) -> tuple[httpx.AsyncClient, World, dict[Role, str]]:
    client = make_client()
    own = await make_tenant(database)
    other = await make_tenant(database)
    emails: dict[Role, str] = {}
    async with database.transaction() as uow:
        for role in ALL_TENANT:
            user = await identity.create_user(
                uow,
                tenant_id=own.id,
                email=f"{role.lower()}-{uuid.uuid4().hex[:6]}@example.test",
                full_name=role.title(),
                password=None,
                roles=[role],
            )
            emails[role] = user.email
        # One real argon2id hash shared by all: hashing 13 times per case would dominate the run.
        await uow.session.execute(
            text("UPDATE users SET password_hash = :h WHERE tenant_id = :t"),
            {"h": _SHARED_HASH, "t": own.id},
        )
    async with database.transaction() as uow:
        emails[Role.SUPER_ADMIN] = f"ops-{uuid.uuid4().hex[:6]}@platform.example"
        await identity.create_platform_admin(
            uow, email=emails[Role.SUPER_ADMIN], full_name="Ops", password=PASSWORD
        )
    tokens = {role: await _login_as(database, client, own, role, emails) for role in Role}
    world = World(own=own, other=other, tokens=tokens)
    return client, world, emails


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: f"{c.method} {c.path}")
async def test_access_matrix(
    case: Case,
    database: Database,
    settings: Settings,
    world: tuple[httpx.AsyncClient, World, dict[Role, str]],
) -> None:
    client, w, emails = world
    keys = TokenKeys(settings.secret_key or "")
    qr = QrKeys(settings.secret_key or "", settings.checkin_qr_key_ids.split(","))
    signer = CookieSigner(settings.secret_key or "", idle_timeout=timedelta(minutes=30))
    display = DisplayKeys(settings.secret_key or "")
    shared_own = await _targets(database, w.own, client, qr, display)
    shared_other = await _targets(database, w.other, client, qr, display)
    session_own = await _someone_elses_session(database, client, w.own)
    session_other = await _someone_elses_session(database, client, w.other)
    mutating = case.method != "GET"
    mismatches: list[str] = []

    for context in ("own", "other"):
        for role in Role:
            tenant = w.own if context == "own" else w.other
            targets = (
                await _targets(database, tenant, client, qr, display)
                if mutating
                else (shared_own if context == "own" else shared_other)
            )
            targets = {**targets, "session": session_own if context == "own" else session_other}
            if context == "other":
                # Body references (a location's clinic) point at tenant B too; the slug of
                # public routes stays the caller's tenant.
                targets["slug"] = w.own.slug
            token = (
                await _login_as(database, client, w.own, role, emails) if case.fresh_token else w.tokens[role]
            )
            headers = _page_headers(signer, token, keys) if case.page else bearer(token)
            if context == "other" and "{" not in case.path and not case.other_via_body and not case.page:
                headers["X-Tenant-Id"] = str(w.other.id)
            expected = (case.own if context == "own" else case.other)[role]
            response = await _call(client, case, targets, headers)
            if response.status_code != expected:
                mismatches.append(f"{context:5} {role:16} expected {expected}, got {response.status_code}")

    anonymous_targets = {**shared_own, "session": session_own}
    anonymous_headers = _page_headers(signer, None, keys) if case.page else {}
    anonymous = await _call(client, case, anonymous_targets, anonymous_headers)
    if anonymous.status_code != case.anonymous:
        mismatches.append(f"anonymous expected {case.anonymous}, got {anonymous.status_code}")
    assert mismatches == [], "\n".join(mismatches)
