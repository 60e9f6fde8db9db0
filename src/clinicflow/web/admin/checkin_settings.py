"""A location's check-in settings as the admin console's location page shows and edits them:
reading them (None until the location takes check-ins), the form's values and choices, the
form into check-in's input schema."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.datastructures import FormData

from clinicflow.checkin import locations as checkin_locations
from clinicflow.checkin.schemas import CheckInLocationIn, CheckInLocationRead
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.web.admin.common import filled, parsed
from clinicflow.web.forms import text

#: The settings form's fields (the check-in schema's, `enabled` being a checkbox).
FIELDS = (
    "qr_mode",
    "rotation_seconds",
    "geofence_mode",
    "latitude",
    "longitude",
    "radius_m",
    "ticket_prefix",
)
#: The geofence's centre has its own names in the form: the location's form on the same page
#: has a latitude, longitude and radius of its own.
RENAMED = {"latitude": "fence_latitude", "longitude": "fence_longitude", "radius_m": "fence_radius_m"}
_FORM_FIELDS = tuple(RENAMED.get(name, name) for name in FIELDS)
#: The schema's QR and geofence modes (`checkin.schemas.CheckInLocationIn`), as select choices.
QR_MODES = (
    ("printed", "Printed: one code on paper (revoke it by issuing a new version)"),
    ("rotating", "Rotating: a kiosk screen shows a code that changes"),
)
GEOFENCE_MODES = (
    ("off", "Off"),
    ("warn", "Warn: check in, but flag scans from far away"),
    ("enforce", "Enforce: refuse scans from outside the radius"),
)
NOTICES = {
    "checkin-created": "The location takes check-ins now.",
    "checkin-saved": "The check-in settings are saved.",
    "codes-revoked": "Every code issued before is revoked: print the new one.",
}


async def check_in_settings(
    uow: UnitOfWork, principal: TenantPrincipal, location_id: uuid.UUID
) -> CheckInLocationRead | None:
    """The location's check-in settings, or None when it takes no check-ins (or the principal
    may not read them)."""
    try:
        return await checkin_locations.read_location(uow, principal, location_id=location_id)
    except NotFound:
        return None


def settings_values(settings: CheckInLocationRead | None) -> dict[str, Any]:
    """The settings as the form shows them (the schema's defaults for a new desk)."""
    source: Any = settings if settings is not None else CheckInLocationIn()
    values = {RENAMED.get(name, name): getattr(source, name) for name in FIELDS}
    values["enabled"] = source.enabled
    for name in ("qr_mode", "geofence_mode"):
        values[name] = str(values[name])
    return {name: value for name, value in values.items() if value is not None}


def settings_input(form: FormData) -> CheckInLocationIn:
    """The settings form as check-in's schema (422 naming each bad field by the schema's name:
    `errors_of(..., renamed=RENAMED)` puts them next to the form's)."""
    schema_names = {form_name: name for name, form_name in RENAMED.items()}
    values: dict[str, Any] = {
        schema_names.get(name, name): value for name, value in filled(form, _FORM_FIELDS).items()
    }
    values["enabled"] = text(form, "enabled") == "on"
    return parsed(CheckInLocationIn, values)


def submitted_values(form: FormData) -> dict[str, Any]:
    """What was typed, to show again next to its errors."""
    return {**filled(form, _FORM_FIELDS), "enabled": text(form, "enabled") == "on"}


def check_in_context(
    settings: CheckInLocationRead | None, *, values: dict[str, Any] | None
) -> dict[str, Any]:
    """The location page's check-in section."""
    return {
        "checkin": settings,
        "checkin_values": settings_values(settings) if values is None else values,
        "qr_modes": QR_MODES,
        "geofence_modes": GEOFENCE_MODES,
    }
