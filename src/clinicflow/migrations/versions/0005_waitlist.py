"""Waitlist: policies, entries (one live entry per patient and target), offers; appointments
gain the `held` status, which blocks the doctor's time like any booking.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 07:19:37.902181
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waitlist_offers",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('pending', 'accepted', 'declined', 'expired')",
            name=op.f("ck_waitlist_offers_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_waitlist_offers_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
        sa.UniqueConstraint(
            "tenant_id",
            "entry_id",
            "doctor_id",
            "starts_at",
            name=op.f("uq_waitlist_offers_tenant_id_entry_id_doctor_id_starts_at"),
        ),
    )
    op.create_index(
        "ix_waitlist_offers_tenant_id_doctor_id_starts_at",
        "waitlist_offers",
        ["tenant_id", "doctor_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "waitlist_entries",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'active'"), nullable=False),
        sa.Column("priority_tier", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("chronic_condition", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("boost", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("priority_key", sa.Float(), nullable=False),
        sa.Column("window_from", sa.Date(), nullable=True),
        sa.Column("window_to", sa.Date(), nullable=True),
        sa.Column(
            "weekdays",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "day_parts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_appointment_id", sa.Uuid(), nullable=True),
        sa.Column("promoted_appointment_id", sa.Uuid(), nullable=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(status = 'invited') = (respond_by IS NOT NULL)",
            name=op.f("ck_waitlist_entries_invitation_deadline"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'invited', 'promoted', 'expired', 'cancelled')",
            name=op.f("ck_waitlist_entries_status_known"),
        ),
        sa.CheckConstraint("priority_tier BETWEEN 0 AND 5", name=op.f("ck_waitlist_entries_tier_range")),
        sa.CheckConstraint(
            "window_to IS NULL OR window_from IS NULL OR window_to >= window_from",
            name=op.f("ck_waitlist_entries_window"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_waitlist_entries_clinic_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_waitlist_entries_doctor_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["users.tenant_id", "users.id"],
            name="fk_waitlist_entries_patient_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_waitlist_entries_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index(
        "ix_waitlist_entries_expires_at",
        "waitlist_entries",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_waitlist_entries_queue",
        "waitlist_entries",
        ["tenant_id", "clinic_id", "status", sa.literal_column("priority_key DESC"), "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_waitlist_entries_respond_by",
        "waitlist_entries",
        ["respond_by"],
        unique=False,
        postgresql_where=sa.text("status = 'invited'"),
    )
    op.create_index(
        "ix_waitlist_entries_tenant_id_patient_id_status",
        "waitlist_entries",
        ["tenant_id", "patient_id", "status"],
        unique=False,
    )
    op.create_index(
        "uq_waitlist_entries_live_target",
        "waitlist_entries",
        [
            "tenant_id",
            "patient_id",
            "clinic_id",
            sa.literal_column("coalesce(doctor_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
        ],
        unique=True,
        postgresql_where=sa.text("status IN ('active', 'invited')"),
    )
    op.create_table(
        "waitlist_policies",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("max_queue_size", sa.Integer(), server_default=sa.text("500"), nullable=False),
        sa.Column("auto_expiry_hours", sa.Integer(), server_default=sa.text("720"), nullable=False),
        sa.Column("offer_response_minutes", sa.Integer(), server_default=sa.text("120"), nullable=False),
        sa.Column("auto_offer", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("weight_wait", sa.Float(), server_default=sa.text("1"), nullable=False),
        sa.Column("weight_tier", sa.Float(), server_default=sa.text("24"), nullable=False),
        sa.Column("weight_chronic", sa.Float(), server_default=sa.text("48"), nullable=False),
        sa.Column("weight_fit", sa.Float(), server_default=sa.text("12"), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column(
            "templates",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("live_entries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("live_entries >= 0", name=op.f("ck_waitlist_policies_live_entries")),
        sa.CheckConstraint("auto_expiry_hours BETWEEN 1 AND 8760", name=op.f("ck_waitlist_policies_expiry")),
        sa.CheckConstraint(
            "max_queue_size BETWEEN 1 AND 1000000", name=op.f("ck_waitlist_policies_queue_size")
        ),
        sa.CheckConstraint(
            "offer_response_minutes BETWEEN 1 AND 10080", name=op.f("ck_waitlist_policies_response")
        ),
        sa.CheckConstraint(
            "weight_wait >= 0 AND weight_tier >= 0 AND weight_chronic >= 0 AND weight_fit >= 0",
            name=op.f("ck_waitlist_policies_weights"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_waitlist_policies_clinic_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_waitlist_policies_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_policies")),
        sa.UniqueConstraint("tenant_id", "clinic_id", name=op.f("uq_waitlist_policies_tenant_id_clinic_id")),
    )

    # Appointments: a waitlist offer holds the slot with status `held`, inside the same
    # exclusion constraint as every booking.
    op.drop_constraint(op.f("ck_appointments_status_known"), "appointments", type_="check")
    op.create_check_constraint(
        op.f("ck_appointments_status_known"),
        "appointments",
        "status IN ('held', 'scheduled', 'confirmed', 'checked_in', 'in_consultation', 'completed', 'cancelled', 'no_show')",
    )
    op.drop_constraint(op.f("ex_appointments_no_double_booking"), "appointments")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_double_booking EXCLUDE USING gist "
        "(tenant_id WITH =, doctor_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&, "
        "slot_group_id WITH <>) WHERE (status IN ('held', 'scheduled', 'confirmed', 'checked_in', 'in_consultation'))"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ex_appointments_no_double_booking"), "appointments")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_double_booking EXCLUDE USING gist "
        "(tenant_id WITH =, doctor_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&, "
        "slot_group_id WITH <>) WHERE (status IN ('scheduled', 'confirmed', 'checked_in', 'in_consultation'))"
    )
    op.drop_constraint(op.f("ck_appointments_status_known"), "appointments", type_="check")
    op.create_check_constraint(
        op.f("ck_appointments_status_known"),
        "appointments",
        "status IN ('scheduled', 'confirmed', 'checked_in', 'in_consultation', 'completed', 'cancelled', 'no_show')",
    )
    op.drop_table("waitlist_policies")
    op.drop_index(
        "uq_waitlist_entries_live_target",
        table_name="waitlist_entries",
        postgresql_where=sa.text("status IN ('active', 'invited')"),
    )
    op.drop_index("ix_waitlist_entries_tenant_id_patient_id_status", table_name="waitlist_entries")
    op.drop_index(
        "ix_waitlist_entries_respond_by",
        table_name="waitlist_entries",
        postgresql_where=sa.text("status = 'invited'"),
    )
    op.drop_index("ix_waitlist_entries_queue", table_name="waitlist_entries")
    op.drop_index(
        "ix_waitlist_entries_expires_at",
        table_name="waitlist_entries",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("waitlist_entries")
    op.drop_index("ix_waitlist_offers_tenant_id_doctor_id_starts_at", table_name="waitlist_offers")
    op.drop_table("waitlist_offers")
