"""Identity's public use cases for other domains, the CLI, seeding and tests.

Callers own the unit of work; nothing here commits. The use cases live by
use case in `identity.users` (accounts, reading, changes, grants) and
`identity.auth` (login, sessions, OTP, passwords, principals); the doctor
directory in `identity.directory`; who may do what in `identity.policy`.
"""

from __future__ import annotations

from clinicflow.identity.passwords import check_password_strength
from clinicflow.identity.users.accounts import (
    add_patient_profile,
    add_staff_profile,
    create_platform_admin,
    create_staff,
    create_user,
    deactivate_user,
    platform_admin_exists,
    user_id_by_email,
)
from clinicflow.identity.users.changes import record_refusal, update_user
from clinicflow.identity.users.grants import set_roles
from clinicflow.identity.users.reading import get_user, list_users, me

__all__ = [
    "add_patient_profile",
    "add_staff_profile",
    "check_password_strength",
    "create_platform_admin",
    "create_staff",
    "create_user",
    "deactivate_user",
    "get_user",
    "list_users",
    "me",
    "platform_admin_exists",
    "record_refusal",
    "set_roles",
    "update_user",
    "user_id_by_email",
]
