"""Identity error codes."""

from __future__ import annotations

from clinicflow.errors import Conflict, Forbidden, Unauthenticated, ValidationFailed
from clinicflow.platform.db.integrity import register_constraint_error


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    title = "A user with this email exists in this tenant"


register_constraint_error("uq_users_tenant_id_email_ci", EmailTaken)


class RefreshTokenReused(Unauthenticated):
    code = "REFRESH_TOKEN_REUSED"
    title = "This refresh token was already used; the session has been revoked"


class ResetTokenInvalid(ValidationFailed):
    code = "RESET_TOKEN_INVALID"
    title = "The password reset link is invalid, used or expired"


class LastTenantAdmin(Conflict):
    code = "LAST_TENANT_ADMIN"
    title = "The tenant's last active administrator cannot be removed"


class GrantRefused(Forbidden):
    """A role grant or change the caller may not make. Routes audit these refusals."""

    code = "ROLE_GRANT_FORBIDDEN"
    title = "You may not grant or change these roles"


register_constraint_error("uq_platform_admins_email_ci", EmailTaken)


class DependantAlreadyLinked(Conflict):
    code = "DEPENDANT_ALREADY_LINKED"
    title = "This patient is already a dependant of this guardian"


register_constraint_error("uq_patient_guardians_tenant_id_guardian_id_dependant_id", DependantAlreadyLinked)
