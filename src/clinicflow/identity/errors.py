"""Identity error codes."""

from __future__ import annotations

from clinicflow.errors import Conflict
from clinicflow.platform.db.integrity import register_constraint_error


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"
    title = "A user with this email exists in this tenant"


register_constraint_error("uq_users_tenant_id_email_ci", EmailTaken)
