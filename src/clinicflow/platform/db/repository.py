"""The tenant-scoped repository base: every query starts from the caller's tenant."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from clinicflow.platform.db.base import TenantOwned
from clinicflow.platform.db.database import UnitOfWork

ModelT = TypeVar("ModelT", bound=TenantOwned)


class TenantScopedRepository(Generic[ModelT]):
    """Queries for one tenant-owned model, always filtered by `tenant_id`.

    There is deliberately no way to build an unscoped statement from here:
    another tenant's row is invisible, so the API answers 404 for it exactly
    as for a missing one.
    """

    model: type[ModelT]

    def __init__(self, uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
        self.uow = uow
        self.tenant_id = tenant_id

    @property
    def session(self) -> AsyncSession:
        """The unit of work's ORM session, made on first use: Core-only reads never need one."""
        return self.uow.session

    def select(self) -> Select[ModelT]:
        """ORM entities of this tenant: for use cases that change them."""
        return select(self.model).where(self.model.tenant_id == self.tenant_id)

    def select_columns(self) -> Select[Any]:
        """Plain column rows of this tenant: for read-only lists.

        Skips ORM identity-map bookkeeping per row, which was the largest cost
        of a list read in bench/ (read models validate straight from the rows).
        """
        table: Any = self.model.__table__  # type: ignore[attr-defined]
        return select(*table.columns).where(table.c.tenant_id == self.tenant_id)

    async def get(self, id_: uuid.UUID, *, for_update: bool = False) -> ModelT | None:
        stmt = self.select().where(self.model.id == id_)  # type: ignore[attr-defined]
        if for_update:
            stmt = stmt.with_for_update()
        result = await self.uow.execute(stmt)
        return result.scalar_one_or_none()

    def add(self, obj: ModelT) -> ModelT:
        if obj.tenant_id != self.tenant_id:
            raise ValueError("object belongs to another tenant")
        self.session.add(obj)
        return obj

    async def list(self, stmt: Select[Any], *, limit: int) -> list[ModelT]:
        result = await self.uow.execute(stmt.limit(limit))
        return list(result.scalars().all())
