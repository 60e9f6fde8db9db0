"""Tenancy API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from clinicflow.identity.schemas import Email, FullName, NewPassword
from clinicflow.tenancy.models import LocationKind as LocationKind  # part of the API: location kinds

Slug = Annotated[
    str,
    StringConstraints(min_length=2, max_length=63, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    """IANA zone names from the `tzdata` package: the same list on every machine.

    (`zoneinfo.available_timezones()` also lists host files such as `localtime`.)
    """
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(name for name in names if name != "Factory")


def _check_timezone(value: str) -> str:
    if value not in _iana_zones():
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    return value


IanaTimezone = Annotated[str, AfterValidator(_check_timezone)]


class _Input(BaseModel):
    # Unknown fields (tenant_id, id, ...) are refused, never silently applied.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TenantCreate(_Input):
    name: Name
    slug: Slug


class TenantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    slug: str
    status: str
    created_at: datetime


class ClinicCreate(_Input):
    name: Name
    slug: Slug
    timezone: IanaTimezone
    address_line1: Annotated[str, StringConstraints(max_length=200)] | None = None
    address_line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    region: Annotated[str, StringConstraints(max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    max_daily_appointments: Annotated[int, Field(gt=0, le=100_000)] | None = None
    max_concurrent_patients: Annotated[int, Field(gt=0, le=10_000)] | None = None


class ClinicRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    slug: str
    timezone: str
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country_code: str | None
    phone: str | None
    max_daily_appointments: int | None
    max_concurrent_patients: int | None
    created_at: datetime
    updated_at: datetime


class LocationCreate(_Input):
    clinic_id: uuid.UUID
    name: Name
    kind: LocationKind = LocationKind.SITE
    latitude: Annotated[Decimal, Field(ge=-90, le=90, decimal_places=6)] | None = None
    longitude: Annotated[Decimal, Field(ge=-180, le=180, decimal_places=6)] | None = None
    radius_m: Annotated[int, Field(ge=1, le=10_000)] | None = None

    @model_validator(mode="after")
    def _coordinates_paired(self) -> LocationCreate:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


class LocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    clinic_id: uuid.UUID
    name: str
    kind: LocationKind
    latitude: Decimal | None
    longitude: Decimal | None
    radius_m: int | None
    created_at: datetime


class TenantOnboard(BaseModel):
    """A new tenant with its first administrator (`POST /tenants`)."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    slug: Slug
    admin_email: Email
    admin_password: NewPassword
    admin_full_name: FullName = "Administrator"
