"""Real time: the replay log of published events (`realtime_events`, pruned after an hour;
`txid` names the writing transaction, which is what the NOTIFY carries) and single-use
stream tickets (`realtime_stream_tickets`, only their SHA-256).

Revision ID: 0007
Revises: 0006 (0005 on the realtime branch until 0006_principal_notify is merged)
Create Date: 2026-12-03 07:40:53.788224
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
# The lead re-chains to "0006" when 0006_principal_notify is merged.
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "realtime_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_realtime_events_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_events")),
    )
    op.create_index("ix_realtime_events_created_at", "realtime_events", ["created_at"], unique=False)
    op.create_index(
        "ix_realtime_events_tenant_id_channel_id",
        "realtime_events",
        ["tenant_id", "channel", "id"],
        unique=False,
    )
    op.create_index("ix_realtime_events_txid", "realtime_events", ["txid"], unique=False)
    op.create_table(
        "realtime_stream_tickets",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_realtime_stream_tickets_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_realtime_stream_tickets")),
    )
    op.create_index(
        "ix_realtime_stream_tickets_expires_at", "realtime_stream_tickets", ["expires_at"], unique=False
    )
    op.create_index(
        "ix_realtime_stream_tickets_tenant_id_user_id",
        "realtime_stream_tickets",
        ["tenant_id", "user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_realtime_stream_tickets_tenant_id_user_id", table_name="realtime_stream_tickets")
    op.drop_index("ix_realtime_stream_tickets_expires_at", table_name="realtime_stream_tickets")
    op.drop_table("realtime_stream_tickets")
    op.drop_index("ix_realtime_events_txid", table_name="realtime_events")
    op.drop_index("ix_realtime_events_tenant_id_channel_id", table_name="realtime_events")
    op.drop_index("ix_realtime_events_created_at", table_name="realtime_events")
    op.drop_table("realtime_events")
