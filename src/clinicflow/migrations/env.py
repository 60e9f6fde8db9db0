"""Alembic environment: runs migrations on a synchronous psycopg connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from clinicflow.all_models import metadata
from clinicflow.platform.migrations import include_object

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "clinicflow.platform.migrations sets sqlalchemy.url"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            include_object=include_object,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            # One migrator at a time (several API processes may start together).
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
            context.run_migrations()


run_migrations_online()
