"""A check-in location as a check-in reads it: where tickets are drawn (`Desk`), the clinic's
window, the geofence and what its QR codes must carry, from one round trip."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from clinicflow.checkin.arrivals import Desk, Window
from clinicflow.checkin.geofence import Fence
from clinicflow.checkin.models import (
    DEFAULT_CLOSES_AFTER_MINUTES,
    DEFAULT_CONSULT_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_OPENS_BEFORE_MINUTES,
    GeofenceMode,
    QrMode,
)
from clinicflow.checkin.qr import QrSettings
from clinicflow.checkin.repository import DeskRow, SettingsRepository
from clinicflow.platform.db import UnitOfWork


@dataclass(frozen=True, slots=True)
class Station:
    location_id: uuid.UUID
    clinic_id: uuid.UUID
    enabled: bool
    zone: ZoneInfo
    desk: Desk
    window: Window
    fence: Fence
    qr: QrSettings
    dependants: tuple[uuid.UUID, ...]  # of the patient the station was loaded for


def _minutes(value: int | None, default: int) -> timedelta:
    return timedelta(minutes=default if value is None else value)


def station_of(tenant_id: uuid.UUID, row: DeskRow) -> Station:
    zone = ZoneInfo(row.timezone)
    return Station(
        location_id=row.location_id,
        clinic_id=row.clinic_id,
        enabled=row.enabled,
        zone=zone,
        desk=Desk(location_id=row.location_id, ticket_prefix=row.ticket_prefix, zone=zone),
        window=Window(
            opens_before=_minutes(row.opens_before_minutes, DEFAULT_OPENS_BEFORE_MINUTES),
            closes_after=_minutes(row.closes_after_minutes, DEFAULT_CLOSES_AFTER_MINUTES),
            late_after=_minutes(row.late_after_minutes, DEFAULT_LATE_AFTER_MINUTES),
            default_consult=_minutes(row.default_consult_minutes, DEFAULT_CONSULT_MINUTES),
        ),
        fence=Fence(GeofenceMode(row.geofence_mode), row.latitude, row.longitude, row.radius_m),
        qr=QrSettings(
            tenant_id=tenant_id,
            location_id=row.location_id,
            mode=QrMode(row.qr_mode),
            version=row.qr_version,
            rotation_seconds=row.rotation_seconds,
        ),
        dependants=tuple(row.dependants),
    )


async def load_station(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, patient_id: uuid.UUID | None = None
) -> Station | None:
    """The live check-in location (None: none, or its location or clinic is archived), with
    `patient_id`'s dependants when given. One round trip."""
    row = await SettingsRepository(uow, tenant_id).desk(location_id, patient_id=patient_id)
    return station_of(tenant_id, row) if row is not None else None
