"""The roles of Clinicflow (see shared/API.md)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "SUPER_ADMIN"
    TENANT_ADMIN = "TENANT_ADMIN"
    CLINIC_ADMIN = "CLINIC_ADMIN"
    DOCTOR = "DOCTOR"
    NURSE = "NURSE"
    RECEPTIONIST = "RECEPTIONIST"
    PHARMACIST = "PHARMACIST"
    THERAPIST = "THERAPIST"
    LAB_TECHNICIAN = "LAB_TECHNICIAN"
    FINANCE_BILLING = "FINANCE_BILLING"
    SUPPORT_STAFF = "SUPPORT_STAFF"
    COUNSELOR = "COUNSELOR"
    PATIENT = "PATIENT"


#: Roles that exist inside a tenant (SUPER_ADMIN is a platform role).
TENANT_ROLES = tuple(r for r in Role if r is not Role.SUPER_ADMIN)
