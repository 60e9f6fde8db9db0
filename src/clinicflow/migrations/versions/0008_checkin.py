"""The day of the visit: check-in locations and the clinic's check-in window, check-ins
(one per appointment, also the day's queue per location), ticket counters, guardian links
between patients, and where an appointment, plan or weekly rule takes place (`location_id`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:19:24.847538
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Same-tenant foreign keys below point at (tenant_id, id).
    op.create_unique_constraint(
        op.f("uq_clinic_locations_tenant_id_id"), "clinic_locations", ["tenant_id", "id"]
    )
    op.create_table(
        "clinic_checkin_policies",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("opens_before_minutes", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("closes_after_minutes", sa.Integer(), server_default=sa.text("120"), nullable=False),
        sa.Column("late_after_minutes", sa.Integer(), server_default=sa.text("15"), nullable=False),
        sa.Column("default_consult_minutes", sa.Integer(), server_default=sa.text("15"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "closes_after_minutes BETWEEN 0 AND 1440", name=op.f("ck_clinic_checkin_policies_closes_range")
        ),
        sa.CheckConstraint(
            "default_consult_minutes BETWEEN 1 AND 480", name=op.f("ck_clinic_checkin_policies_consult_range")
        ),
        sa.CheckConstraint(
            "late_after_minutes BETWEEN 0 AND 1440", name=op.f("ck_clinic_checkin_policies_late_range")
        ),
        sa.CheckConstraint(
            "opens_before_minutes BETWEEN 0 AND 1440", name=op.f("ck_clinic_checkin_policies_opens_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_clinic_checkin_policies_clinic_same_tenant",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_clinic_checkin_policies_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_checkin_policies")),
        sa.UniqueConstraint(
            "tenant_id", "clinic_id", name=op.f("uq_clinic_checkin_policies_tenant_id_clinic_id")
        ),
    )
    op.create_table(
        "patient_guardians",
        sa.Column("guardian_id", sa.Uuid(), nullable=False),
        sa.Column("dependant_id", sa.Uuid(), nullable=False),
        sa.Column("relationship", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("guardian_id <> dependant_id", name=op.f("ck_patient_guardians_not_self")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dependant_id"],
            ["users.tenant_id", "users.id"],
            name="fk_patient_guardians_dependant_same_tenant",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "guardian_id"],
            ["users.tenant_id", "users.id"],
            name="fk_patient_guardians_guardian_same_tenant",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_patient_guardians_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_guardians")),
        sa.UniqueConstraint(
            "tenant_id",
            "guardian_id",
            "dependant_id",
            name=op.f("uq_patient_guardians_tenant_id_guardian_id_dependant_id"),
        ),
    )
    op.create_index(
        "ix_patient_guardians_tenant_id_dependant_id",
        "patient_guardians",
        ["tenant_id", "dependant_id"],
        unique=False,
    )
    op.create_table(
        "checkin_locations",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("qr_mode", sa.String(length=10), server_default=sa.text("'printed'"), nullable=False),
        sa.Column("qr_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("rotation_seconds", sa.Integer(), server_default=sa.text("60"), nullable=False),
        sa.Column("geofence_mode", sa.String(length=10), server_default=sa.text("'off'"), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column("ticket_prefix", sa.String(length=3), server_default=sa.text("'A'"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "geofence_mode = 'off' OR latitude IS NOT NULL",
            name=op.f("ck_checkin_locations_geofence_has_centre"),
        ),
        sa.CheckConstraint(
            "geofence_mode IN ('off', 'warn', 'enforce')",
            name=op.f("ck_checkin_locations_geofence_mode_known"),
        ),
        sa.CheckConstraint(
            "qr_mode IN ('printed', 'rotating')", name=op.f("ck_checkin_locations_qr_mode_known")
        ),
        sa.CheckConstraint(
            "ticket_prefix ~ '^[A-Z]{1,3}$'", name=op.f("ck_checkin_locations_ticket_prefix_format")
        ),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL) = (radius_m IS NULL)",
            name=op.f("ck_checkin_locations_geofence_complete"),
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR latitude BETWEEN -90 AND 90",
            name=op.f("ck_checkin_locations_latitude_range"),
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180",
            name=op.f("ck_checkin_locations_longitude_range"),
        ),
        sa.CheckConstraint("qr_version >= 1", name=op.f("ck_checkin_locations_qr_version_positive")),
        sa.CheckConstraint(
            "radius_m IS NULL OR radius_m BETWEEN 10 AND 10000",
            name=op.f("ck_checkin_locations_radius_range"),
        ),
        sa.CheckConstraint(
            "rotation_seconds BETWEEN 10 AND 3600", name=op.f("ck_checkin_locations_rotation_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_checkin_locations_clinic_same_tenant",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["clinic_locations.tenant_id", "clinic_locations.id"],
            name="fk_checkin_locations_location_same_tenant",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_checkin_locations_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_locations")),
        sa.UniqueConstraint(
            "tenant_id", "location_id", name=op.f("uq_checkin_locations_tenant_id_location_id")
        ),
    )
    op.create_index(
        "ix_checkin_locations_tenant_id_clinic_id",
        "checkin_locations",
        ["tenant_id", "clinic_id"],
        unique=False,
    )
    op.create_table(
        "checkin_ticket_counters",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["clinic_locations.tenant_id", "clinic_locations.id"],
            name="fk_checkin_ticket_counters_location_same_tenant",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_checkin_ticket_counters_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "location_id", "local_day", name=op.f("pk_checkin_ticket_counters")
        ),
    )
    op.create_table(
        "check_ins",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("checked_in_by", sa.Uuid(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column(
            "checked_in_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("ticket_number", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("2"), nullable=False),
        sa.Column("late", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("queue_status", sa.String(length=20), server_default=sa.text("'waiting'"), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_by", sa.Uuid(), nullable=True),
        sa.Column("recall_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skip_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("long_wait_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("distance_m", sa.Integer(), nullable=True),
        sa.Column("outside_geofence", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "method <> 'override' OR override_reason IS NOT NULL",
            name=op.f("ck_check_ins_override_has_reason"),
        ),
        sa.CheckConstraint(
            "method IN ('qr', 'staff', 'override', 'kiosk')", name=op.f("ck_check_ins_method_known")
        ),
        sa.CheckConstraint(
            "queue_status IN ('waiting', 'called', 'in_consultation', 'completed', 'no_show', 'closed')",
            name=op.f("ck_check_ins_queue_status_known"),
        ),
        sa.CheckConstraint("priority BETWEEN 0 AND 2", name=op.f("ck_check_ins_priority_range")),
        sa.CheckConstraint("ticket_number > 0", name=op.f("ck_check_ins_ticket_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_check_ins_appointment_same_tenant",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "clinic_id"],
            ["clinics.tenant_id", "clinics.id"],
            name="fk_check_ins_clinic_same_tenant",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "doctor_id"],
            ["users.tenant_id", "users.id"],
            name="fk_check_ins_doctor_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["clinic_locations.tenant_id", "clinic_locations.id"],
            name="fk_check_ins_location_same_tenant",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["users.tenant_id", "users.id"],
            name="fk_check_ins_patient_same_tenant",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_check_ins_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
        sa.UniqueConstraint("tenant_id", "appointment_id", name="uq_check_ins_tenant_id_appointment_id"),
        sa.UniqueConstraint(
            "tenant_id",
            "location_id",
            "local_day",
            "ticket_number",
            name=op.f("uq_check_ins_tenant_id_location_id_local_day_ticket_number"),
        ),
    )
    op.create_index(
        "ix_check_ins_open_local_day",
        "check_ins",
        ["local_day"],
        unique=False,
        postgresql_where=sa.text("queue_status IN ('waiting', 'called', 'in_consultation')"),
    )
    op.create_index(
        "ix_check_ins_queue",
        "check_ins",
        ["tenant_id", "location_id", "local_day", "priority", "late", "appointment_starts_at", "queued_at"],
        unique=False,
        postgresql_include=["id", "doctor_id", "ticket"],
        postgresql_where=sa.text("queue_status = 'waiting'"),
    )
    op.create_index(
        "ix_check_ins_tenant_id_clinic_id_location_id_checked_in_at",
        "check_ins",
        ["tenant_id", "clinic_id", "location_id", "checked_in_at"],
        unique=False,
    )
    op.create_index(
        "ix_check_ins_tenant_id_doctor_id_completed_at",
        "check_ins",
        ["tenant_id", "doctor_id", "completed_at"],
        unique=False,
        postgresql_where=sa.text("completed_at IS NOT NULL AND started_at IS NOT NULL"),
    )
    op.create_index(
        "ix_check_ins_tenant_id_location_id_checked_in_at",
        "check_ins",
        ["tenant_id", "location_id", "checked_in_at"],
        unique=False,
    )
    op.create_index(
        "ix_check_ins_tenant_id_patient_id_checked_in_at",
        "check_ins",
        ["tenant_id", "patient_id", "checked_in_at"],
        unique=False,
    )
    op.add_column("appointments", sa.Column("location_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_appointments_location_same_tenant",
        "appointments",
        "clinic_locations",
        ["tenant_id", "location_id"],
        ["tenant_id", "id"],
    )
    op.add_column("availability_plans", sa.Column("location_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_availability_plans_location_same_tenant",
        "availability_plans",
        "clinic_locations",
        ["tenant_id", "location_id"],
        ["tenant_id", "id"],
    )
    op.add_column("availability_rules", sa.Column("location_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_availability_rules_location_same_tenant",
        "availability_rules",
        "clinic_locations",
        ["tenant_id", "location_id"],
        ["tenant_id", "id"],
    )


def downgrade() -> None:
    op.drop_constraint("fk_availability_rules_location_same_tenant", "availability_rules", type_="foreignkey")
    op.drop_column("availability_rules", "location_id")
    op.drop_constraint("fk_availability_plans_location_same_tenant", "availability_plans", type_="foreignkey")
    op.drop_column("availability_plans", "location_id")
    op.drop_constraint("fk_appointments_location_same_tenant", "appointments", type_="foreignkey")
    op.drop_column("appointments", "location_id")
    op.drop_index("ix_check_ins_tenant_id_patient_id_checked_in_at", table_name="check_ins")
    op.drop_index("ix_check_ins_tenant_id_location_id_checked_in_at", table_name="check_ins")
    op.drop_index(
        "ix_check_ins_tenant_id_doctor_id_completed_at",
        table_name="check_ins",
        postgresql_where=sa.text("completed_at IS NOT NULL AND started_at IS NOT NULL"),
    )
    op.drop_index("ix_check_ins_tenant_id_clinic_id_location_id_checked_in_at", table_name="check_ins")
    op.drop_index(
        "ix_check_ins_queue",
        table_name="check_ins",
        postgresql_include=["id", "doctor_id", "ticket"],
        postgresql_where=sa.text("queue_status = 'waiting'"),
    )
    op.drop_index(
        "ix_check_ins_open_local_day",
        table_name="check_ins",
        postgresql_where=sa.text("queue_status IN ('waiting', 'called', 'in_consultation')"),
    )
    op.drop_table("check_ins")
    op.drop_table("checkin_ticket_counters")
    op.drop_index("ix_checkin_locations_tenant_id_clinic_id", table_name="checkin_locations")
    op.drop_table("checkin_locations")
    op.drop_index("ix_patient_guardians_tenant_id_dependant_id", table_name="patient_guardians")
    op.drop_table("patient_guardians")
    op.drop_table("clinic_checkin_policies")
    op.drop_constraint(op.f("uq_clinic_locations_tenant_id_id"), "clinic_locations", type_="unique")
