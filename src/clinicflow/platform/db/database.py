"""Engine, sessions and the unit of work.

One unit of work carries one use case: the rows it writes, the jobs it defers
(procrastinate, on the same connection) and the notifications it issues all
commit together or not at all. Only the edge (a request handler, a job, a CLI
command) opens one; services receive it and never commit.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from clinicflow.platform.db.integrity import translate_db_error

_current_uow: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "clinicflow_current_uow", default=None
)


class NestedUnitOfWorkError(RuntimeError):
    """A unit of work was opened inside another one: a use case must have one transaction."""


class UnitOfWork:
    """One database transaction: an ORM session plus access to its raw connection."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def driver_connection(self) -> psycopg.AsyncConnection[Any]:
        """The psycopg connection running this transaction (for procrastinate, NOTIFY)."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, psycopg.AsyncConnection)
        return driver

    async def flush(self) -> None:
        """Send pending writes now, so constraint violations surface inside the use case."""
        try:
            await self.session.flush()
        except DBAPIError as exc:
            raise translate_db_error(exc) or exc from exc


class Database:
    """Owns the engine; opens units of work."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            # No pool_pre_ping: it costs a round trip on every checkout (it halved
            # throughput in bench/). A connection that dies is invalidated by
            # SQLAlchemy on the first disconnect error; recycling bounds idle age.
            pool_recycle=1800,
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """Open a unit of work; commit when the block ends, roll back if it raises.

        Integrity errors raised at commit become domain errors (409/422).
        Opening one inside another raises NestedUnitOfWorkError.
        """
        if _current_uow.get() is not None:
            raise NestedUnitOfWorkError("a unit of work is already open in this context")
        async with self._sessions() as session:
            uow = UnitOfWork(session)
            token = _current_uow.set(uow)
            try:
                async with session.begin():
                    yield uow
            except DBAPIError as exc:
                domain = translate_db_error(exc)
                if domain is None:
                    raise
                raise domain from exc
            finally:
                _current_uow.reset(token)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def pool_status(self) -> dict[str, int]:
        pool: Any = self.engine.pool
        return {
            "size": int(pool.size()),
            "checked_out": int(pool.checkedout()),
            "overflow": int(pool.overflow()),
        }

    async def dispose(self) -> None:
        await self.engine.dispose()
