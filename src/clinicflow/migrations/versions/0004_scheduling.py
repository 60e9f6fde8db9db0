"""Scheduling: availability plans and rules, time off, appointments with the no-double-booking
exclusion constraint, group seats, series, follow-ups, clinic policies; idempotency keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 06:54:29.409762
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # btree_gist gives GiST indexes the = and <> operators on uuid for the exclusion constraint.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # unaccent: the doctor directory searches names ignoring accents ("jose" finds "José").
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.create_table(
        "appointment_series",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("interval_weeks", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "mode IN ('all_or_nothing', 'skip_conflicts')", name=op.f("ck_appointment_series_mode_known")
        ),
        sa.CheckConstraint("interval_weeks IN (1, 2)", name=op.f("ck_appointment_series_interval_known")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_appointment_series_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_series")),
    )
    op.create_index(
        "ix_appointment_series_tenant_id_patient_id",
        "appointment_series",
        ["tenant_id", "patient_id"],
        unique=False,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("caller_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_idempotency_keys_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "tenant_id",
            "caller_id",
            "scope",
            "key",
            name=op.f("uq_idempotency_keys_tenant_id_caller_id_scope_key"),
        ),
    )
    op.create_table(
        "appointments",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_group_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'scheduled'"), nullable=False),
        sa.Column("kind", sa.String(length=20), server_default=sa.text("'in_person'"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("video_url", sa.String(length=500), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("series_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        postgresql.ExcludeConstraint(
            (sa.column("tenant_id"), "="),
            (sa.column("doctor_id"), "="),
            (sa.text("tstzrange(blocked_from, blocked_until)"), "&&"),
            (sa.column("slot_group_id"), "<>"),
            where=sa.text("status IN ('scheduled', 'confirmed', 'checked_in', 'in_consultation')"),
            using="gist",
            name="ex_appointments_no_double_booking",
        ),
        sa.CheckConstraint("kind IN ('in_person', 'video')", name=op.f("ck_appointments_kind_known")),
        sa.CheckConstraint(
            "status IN ('scheduled', 'confirmed', 'checked_in', 'in_consultation', 'completed', 'cancelled', 'no_show')",
            name=op.f("ck_appointments_status_known"),
        ),
        sa.CheckConstraint(
            "ends_at > starts_at AND blocked_from <= starts_at AND blocked_until >= ends_at",
            name=op.f("ck_appointments_times"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_appointments_clinic_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_appointments_doctor_id_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["users.tenant_id", "users.id"],
            name="fk_appointments_patient_id_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_appointments_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_appointments_tenant_id_id")),
    )
    op.create_index(
        "ix_appointments_open_ends_at",
        "appointments",
        ["ends_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('scheduled', 'confirmed')"),
    )
    op.create_index(
        "ix_appointments_tenant_id_clinic_id_starts_at",
        "appointments",
        ["tenant_id", "clinic_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_tenant_id_doctor_id_starts_at",
        "appointments",
        ["tenant_id", "doctor_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_tenant_id_patient_id_starts_at",
        "appointments",
        ["tenant_id", "patient_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "availability_plans",
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False),
        sa.Column("horizon_days", sa.Integer(), server_default=sa.text("90"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "horizon_days BETWEEN 1 AND 730", name=op.f("ck_availability_plans_horizon_range")
        ),
        sa.CheckConstraint(
            "min_notice_minutes BETWEEN 0 AND 43200", name=op.f("ck_availability_plans_notice_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_availability_plans_clinic_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_availability_plans_doctor_id_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_availability_plans_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_plans")),
        sa.UniqueConstraint(
            "tenant_id",
            "doctor_id",
            "clinic_id",
            name=op.f("uq_availability_plans_tenant_id_doctor_id_clinic_id"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_availability_plans_tenant_id_id")),
    )
    op.create_table(
        "clinic_scheduling_policies",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column(
            "patient_cancel_cutoff_minutes", sa.Integer(), server_default=sa.text("1440"), nullable=False
        ),
        sa.Column("no_show_after_minutes", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "no_show_after_minutes BETWEEN 0 AND 1440",
            name=op.f("ck_clinic_scheduling_policies_no_show_range"),
        ),
        sa.CheckConstraint(
            "patient_cancel_cutoff_minutes BETWEEN 0 AND 43200",
            name=op.f("ck_clinic_scheduling_policies_cutoff_range"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_clinic_scheduling_policies_clinic_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_clinic_scheduling_policies_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_scheduling_policies")),
        sa.UniqueConstraint(
            "tenant_id", "clinic_id", name=op.f("uq_clinic_scheduling_policies_tenant_id_clinic_id")
        ),
    )
    op.create_table(
        "group_slots",
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name=op.f("ck_group_slots_seats")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_group_slots_doctor_id_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_group_slots_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_slots")),
        sa.UniqueConstraint(
            "tenant_id", "doctor_id", "starts_at", name=op.f("uq_group_slots_tenant_id_doctor_id_starts_at")
        ),
    )
    op.create_table(
        "time_off",
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_time_off_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_time_off_clinic_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_time_off_doctor_id_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_time_off_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    op.create_index(
        "ix_time_off_tenant_id_doctor_id_starts_at",
        "time_off",
        ["tenant_id", "doctor_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "availability_rules",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_local", sa.Time(), nullable=False),
        sa.Column("end_local", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_before", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("buffer_after", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("capacity", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "buffer_before BETWEEN 0 AND 240 AND buffer_after BETWEEN 0 AND 240",
            name=op.f("ck_availability_rules_buffers"),
        ),
        sa.CheckConstraint("capacity BETWEEN 1 AND 500", name=op.f("ck_availability_rules_capacity_range")),
        sa.CheckConstraint("slot_minutes BETWEEN 5 AND 480", name=op.f("ck_availability_rules_slot_range")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_availability_rules_validity"),
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_availability_rules_weekday_range")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "plan_id"],
            ["availability_plans.tenant_id", "availability_plans.id"],
            name="fk_availability_rules_plan_same_tenant",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_availability_rules_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_rules")),
    )
    op.create_index(
        "ix_availability_rules_tenant_id_plan_id",
        "availability_rules",
        ["tenant_id", "plan_id"],
        unique=False,
    )
    op.create_table(
        "follow_up_plans",
        sa.Column("parent_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("due_from", sa.Date(), nullable=False),
        sa.Column("due_to", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'open'"), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'booked', 'cancelled')", name=op.f("ck_follow_up_plans_status_known")
        ),
        sa.CheckConstraint("due_to >= due_from", name=op.f("ck_follow_up_plans_due_window")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_follow_up_plans_parent_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_follow_up_plans_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_plans")),
    )
    op.create_index(
        "ix_follow_up_plans_tenant_id_patient_id",
        "follow_up_plans",
        ["tenant_id", "patient_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_follow_up_plans_tenant_id_patient_id", table_name="follow_up_plans")
    op.drop_table("follow_up_plans")
    op.drop_index("ix_availability_rules_tenant_id_plan_id", table_name="availability_rules")
    op.drop_table("availability_rules")
    op.drop_index("ix_time_off_tenant_id_doctor_id_starts_at", table_name="time_off")
    op.drop_table("time_off")
    op.drop_table("group_slots")
    op.drop_table("clinic_scheduling_policies")
    op.drop_table("availability_plans")
    op.drop_index("ix_appointments_tenant_id_patient_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_tenant_id_doctor_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_tenant_id_clinic_id_starts_at", table_name="appointments")
    op.drop_index(
        "ix_appointments_open_ends_at",
        table_name="appointments",
        postgresql_where=sa.text("status IN ('scheduled', 'confirmed')"),
    )
    op.drop_table("appointments")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_appointment_series_tenant_id_patient_id", table_name="appointment_series")
    op.drop_table("appointment_series")
