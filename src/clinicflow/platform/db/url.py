"""Resolving the database URL the process should use."""

from __future__ import annotations

from clinicflow.config import Settings


def resolve_database_url(settings: Settings) -> str:
    """`DATABASE_URL` if set, else the embedded server (started on demand)."""
    if settings.database_url:
        return settings.database_url
    from clinicflow.platform.embedded_pg import start_embedded

    return start_embedded(settings.var_dir)


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix (for psycopg and procrastinate)."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
