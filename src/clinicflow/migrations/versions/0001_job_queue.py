"""job queue: procrastinate's schema (pinned procrastinate 3.10.0)

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Upgrading procrastinate later means adding its SQL migrations for the new
version as our own revisions (see docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Run on the raw psycopg connection (same transaction): the schema contains
    # literal % signs that a parameterised execute would misread.
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    driver.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type CASCADE;
        """
    )
