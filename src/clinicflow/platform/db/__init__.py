"""Database access: base models, the unit of work and the tenant-scoped repository."""

from clinicflow.platform.db.base import Base, IdMixin, TenantOwned, TimestampMixin
from clinicflow.platform.db.database import (
    Database,
    NestedUnitOfWorkError,
    ReadOnlyUnitOfWorkError,
    UnitOfWork,
)
from clinicflow.platform.db.repository import TenantScopedRepository

__all__ = [
    "Base",
    "Database",
    "IdMixin",
    "NestedUnitOfWorkError",
    "ReadOnlyUnitOfWorkError",
    "TenantOwned",
    "TenantScopedRepository",
    "TimestampMixin",
    "UnitOfWork",
]
