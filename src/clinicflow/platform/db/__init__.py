"""Database access: base models, the unit of work and the tenant-scoped repository."""

from clinicflow.platform.db.base import Base, IdMixin, TenantOwned, TimestampMixin
from clinicflow.platform.db.database import (
    Database,
    DatabaseUnavailable,
    NestedUnitOfWorkError,
    ReadOnlyUnitOfWorkError,
    UnitOfWork,
)
from clinicflow.platform.db.repository import TenantScopedRepository

__all__ = [
    "Base",
    "Database",
    "DatabaseUnavailable",
    "IdMixin",
    "NestedUnitOfWorkError",
    "ReadOnlyUnitOfWorkError",
    "TenantOwned",
    "TenantScopedRepository",
    "TimestampMixin",
    "UnitOfWork",
]
