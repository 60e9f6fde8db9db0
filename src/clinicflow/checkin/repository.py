"""Every query of check-in. Each repository starts from its tenant's statement
(`TenantScopedRepository`), so a use case cannot reach another tenant's rows.

Two statements read other domains' tables in SQL, as the unit of one query (the way
scheduling's schedule statement does): a check-in location is live while its clinic
location and clinic are (`archived_at` null: tenancy's rule, `tenancy.service.get_location`),
its clinic is the location's current one, and the scanning patient's dependants are their
guardian links (identity's `patient_guardians`, `identity.family.dependant_ids`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Uuid, and_, any_, bindparam, column, delete, select, table, text
from sqlalchemy.dialects.postgresql import ARRAY

from clinicflow.checkin.models import CheckIn, CheckInLocation, ClinicCheckInPolicy
from clinicflow.checkin.schemas import CheckInLocationRead
from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.platform.db.direct import Query
from clinicflow.platform.ids import uuid7
from clinicflow.platform.pagination import KeysetPages, PageParams

#: Tenancy's locations, only the columns a check-in location reads (no import of its models).
_places = table(
    "clinic_locations",
    column("tenant_id", Uuid),
    column("id", Uuid),
    column("clinic_id", Uuid),
    column("name"),
    column("archived_at"),
)
_settings = CheckInLocation.__table__


def _any_of(name: str) -> Any:
    """`= ANY(:name)` for a list of uuids: one SQL text for any length."""
    return any_(bindparam(name, type_=ARRAY(Uuid())))


_READ_COLUMNS = (
    _settings.c.location_id,
    _places.c.clinic_id,
    _places.c.name,
    *(
        _settings.c[name]
        for name in (
            "enabled",
            "qr_mode",
            "qr_version",
            "rotation_seconds",
            "geofence_mode",
            "latitude",
            "longitude",
            "radius_m",
            "ticket_prefix",
            "created_at",
            "updated_at",
        )
    ),
)
_LIVE_SETTINGS = (
    select(*_READ_COLUMNS)
    .select_from(_settings)
    .join(
        _places,
        and_(
            _places.c.tenant_id == _settings.c.tenant_id,
            _places.c.id == _settings.c.location_id,
            _places.c.archived_at.is_(None),
        ),
    )
    .where(_settings.c.tenant_id == bindparam("tenant_id"))
)
_SETTINGS_PAGES = KeysetPages(
    _LIVE_SETTINGS,
    _settings.c.location_id,
    CheckInLocationRead,
    filters={
        "clinic_id": lambda: _places.c.clinic_id == bindparam("clinic_id"),
        "only_clinics": lambda: _places.c.clinic_id == _any_of("only_clinics"),
    },
)
_ONE_SETTINGS = Query(_LIVE_SETTINGS.where(_settings.c.location_id == bindparam("location_id")))

#: A desk's settings, its clinic's zone and window, and (for a scan) the scanner's dependants:
#: everything a check-in reads before the appointments, in one round trip.
_DESK = Query(
    text(
        """
SELECT s.location_id, l.clinic_id, s.enabled, s.qr_mode, s.qr_version, s.rotation_seconds,
       s.geofence_mode, s.latitude, s.longitude, s.radius_m, s.ticket_prefix, c.timezone,
       p.opens_before_minutes, p.closes_after_minutes, p.late_after_minutes,
       p.default_consult_minutes,
       ARRAY(SELECT g.dependant_id FROM patient_guardians g
             WHERE g.tenant_id = s.tenant_id AND g.guardian_id = :patient_id
             ORDER BY g.dependant_id) AS dependants
FROM checkin_locations s
JOIN clinic_locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id AND l.archived_at IS NULL
JOIN clinics c ON c.tenant_id = l.tenant_id AND c.id = l.clinic_id AND c.archived_at IS NULL
LEFT JOIN clinic_checkin_policies p ON p.tenant_id = l.tenant_id AND p.clinic_id = l.clinic_id
WHERE s.tenant_id = :tenant_id AND s.location_id = :location_id
"""
    ).bindparams(bindparam("patient_id", type_=Uuid)),
    name="checkin.desk",
)
_CLINIC_DESKS = Query(
    _LIVE_SETTINGS.with_only_columns(_settings.c.location_id).where(
        _places.c.clinic_id == bindparam("clinic_id"), _settings.c.enabled.is_(True)
    ),
    name="checkin.clinic_desks",
)


@dataclass(frozen=True, slots=True)
class DeskRow:
    """A check-in location as a check-in reads it (`_DESK`); window fields are None when the
    clinic has no policy row (the defaults apply)."""

    location_id: uuid.UUID
    clinic_id: uuid.UUID
    enabled: bool
    qr_mode: str
    qr_version: int
    rotation_seconds: int
    geofence_mode: str
    latitude: Decimal | None
    longitude: Decimal | None
    radius_m: int | None
    ticket_prefix: str
    timezone: str
    opens_before_minutes: int | None
    closes_after_minutes: int | None
    late_after_minutes: int | None
    default_consult_minutes: int | None
    dependants: list[uuid.UUID]


def ticket_label(prefix: str, number: int) -> str:
    """`A-007`: the prefix and the number, zero-padded to three digits (more when needed)."""
    return f"{prefix}-{number:03d}"


#: The arrival in one statement: the location's next ticket of the day (the counter row
#: stays locked until commit, so numbers are unique and gap-free but for rollbacks) and the
#: check-in row with it (`uq_check_ins_tenant_id_appointment_id` decides: of concurrent
#: inserts one row is made, the others return nothing). The label is `ticket_label` in SQL.
_ARRIVAL = """
WITH counter AS (
  INSERT INTO checkin_ticket_counters AS c (tenant_id, location_id, local_day, last_number)
  VALUES (%(tenant_id)s, %(location_id)s, %(local_day)s, 1)
  ON CONFLICT (tenant_id, location_id, local_day) DO UPDATE SET last_number = c.last_number + 1
  RETURNING last_number
)
INSERT INTO check_ins (
  id, tenant_id, clinic_id, location_id, appointment_id, patient_id, doctor_id,
  appointment_starts_at, method, checked_in_by, override_reason, checked_in_at, queued_at,
  local_day, ticket_number, ticket, priority, late, distance_m, outside_geofence
)
SELECT
  %(id)s, %(tenant_id)s, %(clinic_id)s, %(location_id)s, %(appointment_id)s, %(patient_id)s,
  %(doctor_id)s, %(appointment_starts_at)s, %(method)s, %(checked_in_by)s, %(override_reason)s,
  %(checked_in_at)s, %(queued_at)s, %(local_day)s, counter.last_number,
  %(prefix)s || '-' || CASE WHEN counter.last_number < 1000 THEN lpad(counter.last_number::text, 3, '0')
                            ELSE counter.last_number::text END,
  %(priority)s, %(late)s, %(distance_m)s, %(outside_geofence)s
FROM counter
ON CONFLICT ON CONSTRAINT uq_check_ins_tenant_id_appointment_id DO NOTHING
RETURNING *
"""


async def queue_arrival(
    connection: psycopg.AsyncConnection[Any], *, tenant_id: uuid.UUID, prefix: str, values: dict[str, object]
) -> psycopg.AsyncCursor[Any]:
    """Send the arrival (next ticket and check-in row, `_ARRIVAL`) in the caller's pipeline;
    `arrival(cursor)` reads the row after it. `values`: the row's columns but the ticket."""
    params = {"id": uuid7(), "tenant_id": tenant_id, "prefix": prefix, **values}
    return await connection.cursor(row_factory=dict_row).execute(_ARRIVAL, params)


#: The savepoint before an arrival's statements (undone when the arrival is refused).
_ATTEMPT = "clinicflow_arrival"


async def queue_savepoint(connection: psycopg.AsyncConnection[Any]) -> None:
    """Send the savepoint an arrival's statements follow, in the caller's pipeline."""
    await connection.execute(f"SAVEPOINT {_ATTEMPT}")


async def undo_attempt(uow: UnitOfWork) -> None:
    """Undo everything sent since `queue_savepoint` (the transaction goes on)."""
    await uow.session.execute(text(f"ROLLBACK TO SAVEPOINT {_ATTEMPT}"))


async def arrival(cursor: psycopg.AsyncCursor[Any]) -> CheckIn | None:
    """The check-in `queue_arrival` made (a detached row), or None: the appointment had one."""
    row = await cursor.fetchone()
    return CheckIn(**row) if row is not None else None


class CheckInRepository(TenantScopedRepository[CheckIn]):
    model = CheckIn

    async def for_appointment(self, appointment_id: uuid.UUID) -> CheckIn | None:
        """The appointment's check-in, if it has one."""
        stmt = self.select().where(CheckIn.appointment_id == appointment_id)
        return (await self.uow.execute(stmt)).scalar_one_or_none()


class SettingsRepository(TenantScopedRepository[CheckInLocation]):
    """Check-in locations: one row of settings per clinic location."""

    model = CheckInLocation

    async def of_location(
        self, location_id: uuid.UUID, *, for_update: bool = False
    ) -> CheckInLocation | None:
        stmt = self.select().where(CheckInLocation.location_id == location_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.uow.execute(stmt)).scalar_one_or_none()

    async def read(self, location_id: uuid.UUID) -> CheckInLocationRead | None:
        """The live location's settings as read model (None: none, or its location is archived)."""
        row = await self.uow.fetch_one(_ONE_SETTINGS, tenant_id=self.tenant_id, location_id=location_id)
        return CheckInLocationRead.model_validate(row) if row is not None else None

    async def page(
        self, page: PageParams, *, clinic_id: uuid.UUID | None, only_clinics: frozenset[uuid.UUID] | None
    ) -> tuple[list[CheckInLocationRead], str | None]:
        return await _SETTINGS_PAGES.read(
            self.uow,
            page,
            tenant_id=self.tenant_id,
            clinic_id=clinic_id,
            only_clinics=None if only_clinics is None else list(only_clinics),
        )

    async def remove(self, location_id: uuid.UUID) -> None:
        await self.uow.execute(
            delete(CheckInLocation).where(
                CheckInLocation.tenant_id == self.tenant_id, CheckInLocation.location_id == location_id
            )
        )

    async def desk(self, location_id: uuid.UUID, *, patient_id: uuid.UUID | None) -> DeskRow | None:
        """The live check-in location with its clinic's zone and window, and `patient_id`'s
        dependants (none when None): one round trip."""
        row = await self.uow.fetch_one(
            _DESK, tenant_id=self.tenant_id, location_id=location_id, patient_id=patient_id
        )
        return DeskRow(**row) if row is not None else None

    async def clinic_desks(self, clinic_id: uuid.UUID) -> list[uuid.UUID]:
        """The clinic's live, enabled check-in locations."""
        rows = await self.uow.fetch(_CLINIC_DESKS, tenant_id=self.tenant_id, clinic_id=clinic_id)
        return [row["location_id"] for row in rows]


class WindowRepository(TenantScopedRepository[ClinicCheckInPolicy]):
    """Clinics' check-in windows."""

    model = ClinicCheckInPolicy

    async def of_clinic(
        self, clinic_id: uuid.UUID, *, for_update: bool = False
    ) -> ClinicCheckInPolicy | None:
        stmt = self.select().where(ClinicCheckInPolicy.clinic_id == clinic_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.uow.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class DayFigures:
    """A clinic's check-ins of one clinic-local day in figures."""

    waiting: int
    called: int
    in_consultation: int
    seen: int  # called at least once today
    average_wait_seconds: float | None  # arrival to (first) call, of those called
    no_shows: int  # the day's appointments that ended as no-shows


#: One statement: the day's check-ins of the clinic by `ix_check_ins_tenant_id_clinic_id_location_id_
#: checked_in_at` (the arrival range widened by a day both ways, then the exact local day), and
#: the day's no-shows by scheduling's `ix_appointments_tenant_id_clinic_id_starts_at` (read in
#: SQL as the unit of one query, like the statements named in the module's docstring).
DAY_FIGURES = Query(
    text(
        """
SELECT
  count(*) FILTER (WHERE c.queue_status = 'waiting') AS waiting,
  count(*) FILTER (WHERE c.queue_status = 'called') AS called,
  count(*) FILTER (WHERE c.queue_status = 'in_consultation') AS in_consultation,
  count(*) FILTER (WHERE c.called_at IS NOT NULL) AS seen,
  avg(EXTRACT(EPOCH FROM c.called_at - c.checked_in_at)::float8)
    FILTER (WHERE c.called_at IS NOT NULL) AS average_wait_seconds,
  (SELECT count(*) FROM appointments a
   WHERE a.tenant_id = :tenant_id AND a.clinic_id = :clinic_id
     AND a.starts_at >= :day_start AND a.starts_at < :day_end AND a.status = 'no_show') AS no_shows
FROM check_ins c
WHERE c.tenant_id = :tenant_id AND c.clinic_id = :clinic_id
  AND c.checked_in_at >= :day_start - interval '1 day' AND c.checked_in_at < :day_end + interval '1 day'
  AND c.local_day = :day
"""
    ),
    name="checkin.day_figures",
)
