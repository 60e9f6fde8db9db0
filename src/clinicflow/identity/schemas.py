"""Identity API shapes. Inputs refuse unknown fields: `tenant_id`, `roles` or `id`
sent where they do not belong are a 422, never silently applied."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from clinicflow.identity.passwords import MIN_PASSWORD_LENGTH
from clinicflow.identity.permissions import Permission
from clinicflow.identity.roles import Role
from clinicflow.platform.instants import Day

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
#: A password being set: the strength rule is in the schema, so a 422 names the body's own field.
NewPassword = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=256)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TenantSlug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=63)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{5,32}$")]
Language = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Input):
    tenant: TenantSlug | None = Field(
        default=None, description="Tenant slug; omit only for a platform (SUPER_ADMIN) login"
    )
    email: Email
    password: Password


class TokenPairRead(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


class RefreshRequest(_Input):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class RegisterRequest(_Input):
    tenant: TenantSlug
    email: Email
    password: NewPassword
    full_name: FullName
    date_of_birth: Day | None = None
    phone: Phone | None = None
    preferred_language: Language | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("must not be in the future")
        return value


class RegisteredRead(BaseModel):
    user_id: uuid.UUID
    tokens: TokenPairRead


class OtpRequest(_Input):
    tenant: TenantSlug
    email: Email


class OtpVerify(_Input):
    tenant: TenantSlug
    email: Email
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class ForgotPasswordRequest(_Input):
    tenant: TenantSlug
    email: Email


class ResetPasswordRequest(_Input):
    token: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    new_password: NewPassword


class ChangePasswordRequest(_Input):
    current_password: Password
    new_password: NewPassword


class AcceptedRead(BaseModel):
    detail: str


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_address: str | None
    current: bool


class GrantIn(_Input):
    role: Role
    clinic_id: uuid.UUID | None = Field(default=None, description="Scope the role to one clinic")


class GrantRead(BaseModel):
    role: Role
    clinic_id: uuid.UUID | None


class StaffProfileIn(_Input):
    specialty: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    license_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


class StaffProfileRead(BaseModel):
    specialty: str | None
    license_number: str | None
    clinic_ids: list[uuid.UUID]


class PatientProfileRead(BaseModel):
    date_of_birth: date | None
    phone: str | None
    preferred_language: str | None
    notification_preferences: dict[str, Any]


class StaffCreate(_Input):
    email: Email
    full_name: FullName
    password: NewPassword | None = Field(default=None, description="Omit to let the user set one by reset")
    grants: Annotated[list[GrantIn], Field(min_length=1, max_length=50)]
    profile: StaffProfileIn | None = None


class UserUpdate(_Input):
    full_name: FullName | None = None
    profile: StaffProfileIn | None = None
    date_of_birth: Day | None = None
    phone: Phone | None = None
    preferred_language: Language | None = None


class RolesUpdate(_Input):
    grants: Annotated[list[GrantIn], Field(max_length=50)]


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    created_at: datetime
    grants: list[GrantRead]
    staff_profile: StaffProfileRead | None = None
    patient_profile: PatientProfileRead | None = None


class MeRead(UserRead):
    tenant_id: uuid.UUID | None
    roles: list[Role]
    permissions: list[Permission]


class UserSummaryRead(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    grants: list[GrantRead]


class DoctorRead(BaseModel):
    id: uuid.UUID
    full_name: str
    specialty: str | None
    clinic_ids: list[uuid.UUID] | None = Field(description="Clinics they practise at; null: every clinic")


class ContactRead(BaseModel):
    user_id: uuid.UUID
    email: str
    full_name: str
    phone: str | None
    preferred_language: str | None


class Relationship(StrEnum):
    """What a dependant is to their guardian."""

    CHILD = "child"
    PARENT = "parent"
    SPOUSE = "spouse"
    SIBLING = "sibling"
    WARD = "ward"
    OTHER = "other"


class DependantIn(_Input):
    dependant_id: uuid.UUID = Field(description="The patient the guardian may act for")
    relationship: Relationship


class DependantRead(BaseModel):
    """A guardian link: the guardian may see and check in the dependant's visits."""

    id: uuid.UUID
    guardian_id: uuid.UUID
    dependant_id: uuid.UUID
    relationship: Relationship
    full_name: str  # the dependant's
    created_at: datetime


class GuardianRead(BaseModel):
    """A guardian link seen from the dependant: who may see and check in their visits."""

    id: uuid.UUID
    guardian_id: uuid.UUID
    dependant_id: uuid.UUID
    relationship: Relationship  # what the dependant is to the guardian
    full_name: str  # the guardian's
    created_at: datetime
