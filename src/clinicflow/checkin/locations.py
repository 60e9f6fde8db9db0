"""Check-in locations: giving a clinic location check-in settings, changing and removing
them, revoking its printed codes, and the code it shows now. Callers own the unit of work.

Every change is audited (`checkin_location.*`, the subject being the location: the API
addresses a location's settings by the location's id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from clinicflow.audit import service as audit
from clinicflow.checkin import policy
from clinicflow.checkin import qr as codes
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.errors import CheckInLocationExists
from clinicflow.checkin.models import CheckInLocation, GeofenceMode, QrMode
from clinicflow.checkin.qr import IssuedCode, QrSettings
from clinicflow.checkin.repository import SettingsRepository
from clinicflow.checkin.schemas import CheckInLocationCreate, CheckInLocationIn, CheckInLocationRead
from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams
from clinicflow.tenancy import service as tenancy

#: A geofence centred on the location's coordinates without a radius of its own.
DEFAULT_RADIUS_M = 100
_MIN_RADIUS_M = 10


@dataclass(frozen=True, slots=True)
class LocationSubject:
    """The audit trail knows a location's check-in settings by the location's id."""

    id: uuid.UUID
    tenant_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Place:
    """The clinic location settings hang off (tenancy's, read through its service)."""

    clinic_id: uuid.UUID
    latitude: Decimal | None
    longitude: Decimal | None
    radius_m: int | None


async def _place(uow: UnitOfWork, tenant_id: uuid.UUID, location_id: uuid.UUID) -> Place | None:
    location = await tenancy.get_location(uow, tenant_id=tenant_id, location_id=location_id)
    if location is None:
        return None
    return Place(location.clinic_id, location.latitude, location.longitude, location.radius_m)


def _stored(data: CheckInLocationIn, place: Place) -> dict[str, Any]:
    """The row's values: a geofence without a centre of its own takes the location's
    coordinates (422 naming `latitude` when there are none)."""
    latitude, longitude, radius = data.latitude, data.longitude, data.radius_m
    if latitude is None and data.geofence_mode is not GeofenceMode.OFF:
        latitude, longitude = place.latitude, place.longitude
        radius = radius or place.radius_m
        if latitude is None:
            raise ValidationFailed(
                "A geofence needs a centre",
                errors=[
                    FieldProblem(
                        field="latitude", message="give latitude and longitude, or set the location's"
                    )
                ],
            )
    if latitude is not None and radius is None:
        radius = DEFAULT_RADIUS_M
    return {
        "enabled": data.enabled,
        "qr_mode": data.qr_mode.value,
        "rotation_seconds": data.rotation_seconds,
        "geofence_mode": data.geofence_mode.value,
        "latitude": latitude,
        "longitude": longitude,
        "radius_m": None if latitude is None else max(_MIN_RADIUS_M, radius or DEFAULT_RADIUS_M),
        "ticket_prefix": data.ticket_prefix,
    }


async def read_location(
    uow: UnitOfWork, principal: TenantPrincipal, *, location_id: uuid.UUID
) -> CheckInLocationRead:
    """A check-in location whose settings the principal reads (NotFound otherwise: missing,
    archived, or at a clinic where they neither configure check-in nor read the queue)."""
    found = await SettingsRepository(uow, principal.tenant_id).read(location_id)
    if found is None:
        raise NotFound("Check-in location not found")
    policy.check_reads_settings(principal, found.clinic_id)
    return found


async def _configurable(
    uow: UnitOfWork, principal: TenantPrincipal, location_id: uuid.UUID
) -> tuple[CheckInLocation, Place]:
    """The settings row, locked, of a location the principal configures (404 / 403)."""
    place = await _place(uow, principal.tenant_id, location_id)
    row = await SettingsRepository(uow, principal.tenant_id).of_location(location_id, for_update=True)
    if place is None or row is None:
        raise NotFound("Check-in location not found")
    policy.check_configures(principal, place.clinic_id)
    return row, place


async def list_locations(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID | None, page: PageParams
) -> tuple[list[CheckInLocationRead], str | None]:
    """Check-in locations of the clinics where the principal configures check-in or reads the
    queue (optionally one clinic's), by location id."""
    return await SettingsRepository(uow, principal.tenant_id).page(
        page, clinic_id=clinic_id, only_clinics=policy.listed_clinics(principal)
    )


async def create_location(
    uow: UnitOfWork, principal: TenantPrincipal, *, data: CheckInLocationCreate
) -> CheckInLocationRead:
    """Give a clinic location check-in settings (version 1 of its QR code). 422 for a location
    the principal cannot see, 403 without `checkin:configure` at its clinic, 409
    CHECK_IN_LOCATION_EXISTS if it has settings already (the unique constraint decides)."""
    tenant_id = principal.tenant_id
    place = await _place(uow, tenant_id, data.location_id)
    clinic_id = policy.check_names_location(principal, place.clinic_id if place else None)
    assert place is not None
    values = _stored(data, place)
    repo = SettingsRepository(uow, tenant_id)
    repo.add(
        CheckInLocation(tenant_id=tenant_id, location_id=data.location_id, clinic_id=clinic_id, **values)
    )
    await uow.flush()
    subject = LocationSubject(data.location_id, tenant_id)
    await audit.record_change(uow, principal.actor, "checkin_location.created", subject, after=values)
    created = await repo.read(data.location_id)
    if created is None:  # its location was archived meanwhile
        raise CheckInLocationExists("The location changed while its check-in was set up")
    return created


async def update_location(
    uow: UnitOfWork, principal: TenantPrincipal, *, location_id: uuid.UUID, data: CheckInLocationIn
) -> CheckInLocationRead:
    """Replace a location's check-in settings (row-locked); the changed fields are audited.
    Changing the QR mode invalidates every code of the other mode at once."""
    row, place = await _configurable(uow, principal, location_id)
    values = _stored(data, place)
    before = {name: getattr(row, name) for name in values}
    for name, value in values.items():
        setattr(row, name, value)
    row.clinic_id = place.clinic_id  # the location may have moved to another clinic
    old, new = audit.changed_fields(before, values)
    await uow.flush()
    if new:
        subject = LocationSubject(location_id, principal.tenant_id)
        await audit.record_change(
            uow, principal.actor, "checkin_location.updated", subject, before=old, after=new
        )
    return await read_location(uow, principal, location_id=location_id)


async def remove_location(uow: UnitOfWork, principal: TenantPrincipal, *, location_id: uuid.UUID) -> None:
    """The location stops taking check-ins: its settings go (its past check-ins stay), audited."""
    row, _ = await _configurable(uow, principal, location_id)
    before = {"enabled": row.enabled, "qr_mode": row.qr_mode, "qr_version": row.qr_version}
    await SettingsRepository(uow, principal.tenant_id).remove(location_id)
    subject = LocationSubject(location_id, principal.tenant_id)
    await audit.record_change(uow, principal.actor, "checkin_location.removed", subject, before=before)


async def revoke_codes(
    uow: UnitOfWork, principal: TenantPrincipal, *, location_id: uuid.UUID
) -> CheckInLocationRead:
    """Bump the location's QR version: every code issued before (printed copies, a kiosk's
    current one) stops working at once. Audited with both versions."""
    row, _ = await _configurable(uow, principal, location_id)
    before = row.qr_version
    row.qr_version = before + 1
    await uow.flush()
    subject = LocationSubject(location_id, principal.tenant_id)
    await audit.record_change(
        uow,
        principal.actor,
        "checkin_location.codes_revoked",
        subject,
        before={"qr_version": before},
        after={"qr_version": before + 1},
    )
    return await read_location(uow, principal, location_id=location_id)


async def current_code(
    uow: UnitOfWork, cfg: CheckInConfig, principal: TenantPrincipal, *, location_id: uuid.UUID, now: datetime
) -> IssuedCode:
    """The code the location shows now (its printed code, or the rotating code of this window),
    for staff who configure check-in or read the queue at its clinic (404 for anyone else)."""
    found = await read_location(uow, principal, location_id=location_id)
    settings = QrSettings(
        tenant_id=principal.tenant_id,
        location_id=location_id,
        mode=QrMode(found.qr_mode),
        version=found.qr_version,
        rotation_seconds=found.rotation_seconds,
    )
    return codes.issue(cfg.qr, settings, public_url=cfg.public_url, now=now)
