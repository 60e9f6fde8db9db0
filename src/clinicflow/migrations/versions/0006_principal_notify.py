"""Principal changes are announced: triggers `NOTIFY principal_changed` when a session, a user,
a platform admin or a role grant changes, so every process's principal cache drops what it holds.

Payloads are ids only: `s:<session id>` (a session revoked, expired, moved or deleted),
`u:<user or platform admin id>` (deactivated, email changed, a grant added, changed or
removed), `*` (a table truncated: forget everything). Triggers catch every writer,
the ORM, raw SQL and the CLI alike; a NOTIFY is delivered only when its transaction
commits, and PostgreSQL folds identical payloads of one transaction into one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "principal_changed"

# (trigger and function name, table, event, WHEN clause or "", payload expressions...)
_ROW_TRIGGERS = (
    (
        "auth_sessions_principal_changed",
        "auth_sessions",
        "UPDATE",
        "WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at"
        " OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id"
        " OR OLD.platform_admin_id IS DISTINCT FROM NEW.platform_admin_id)",
        "'s:' || OLD.id",
    ),
    ("auth_sessions_principal_deleted", "auth_sessions", "DELETE", "", "'s:' || OLD.id"),
    (
        "users_principal_changed",
        "users",
        "UPDATE",
        "WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.email IS DISTINCT FROM NEW.email"
        " OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)",
        "'u:' || OLD.id",
    ),
    ("users_principal_deleted", "users", "DELETE", "", "'u:' || OLD.id"),
    (
        "platform_admins_principal_changed",
        "platform_admins",
        "UPDATE",
        "WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.email IS DISTINCT FROM NEW.email)",
        "'u:' || OLD.id",
    ),
    ("platform_admins_principal_deleted", "platform_admins", "DELETE", "", "'u:' || OLD.id"),
    ("role_grants_principal_added", "role_grants", "INSERT", "", "'u:' || NEW.user_id"),
    (
        "role_grants_principal_changed",
        "role_grants",
        "UPDATE",
        "",
        "'u:' || OLD.user_id",
        "'u:' || NEW.user_id",
    ),
    ("role_grants_principal_deleted", "role_grants", "DELETE", "", "'u:' || OLD.user_id"),
)
_TRUNCATED_TABLES = ("auth_sessions", "users", "platform_admins", "role_grants")


def upgrade() -> None:
    for name, table, event, when, *payloads in _ROW_TRIGGERS:
        notify = " ".join(f"PERFORM pg_notify('{CHANNEL}', {payload});" for payload in payloads)
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {notify} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {when} EXECUTE FUNCTION {name}()"
        )
    op.execute(
        "CREATE FUNCTION principals_truncated() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_notify('{CHANNEL}', '*'); RETURN NULL; END $$"
    )
    for table in _TRUNCATED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_principals_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION principals_truncated()"
        )


def downgrade() -> None:
    for table in _TRUNCATED_TABLES:
        op.execute(f"DROP TRIGGER {table}_principals_truncated ON {table}")
    op.execute("DROP FUNCTION principals_truncated()")
    for name, table, *_ in reversed(_ROW_TRIGGERS):
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
