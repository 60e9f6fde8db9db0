"""Engine, sessions and the unit of work.

One unit of work carries one use case: the rows it writes, the jobs it defers
(procrastinate, on the same connection) and the notifications it issues all
commit together or not at all. Only the edge (a request handler, a job, a CLI
command) opens one; services receive it and never commit.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Executable, Result, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from clinicflow.errors import ServiceUnavailable
from clinicflow.platform.db import direct
from clinicflow.platform.db.integrity import translate_db_error
from clinicflow.platform.db.unavailable import RECONNECT_WINDOW_SECONDS, RETRY_AFTER_SECONDS

_current_uow: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "clinicflow_current_uow", default=None
)


_READ_ONLY = "clinicflow_read_only"
_READ_ONLY_SESSION = "-c default_transaction_read_only=on"
#: Every connection's session settings. JIT off: our statements are short OLTP ones, and
#: when a stale or skewed estimate crosses `jit_above_cost` PostgreSQL spends tens of
#: milliseconds compiling a query that runs in one (docs/decisions.md, 2026-12-04).
SESSION_OPTIONS = "-c jit=off"


@event.listens_for(Session, "before_flush")
def _refuse_writes_when_read_only(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(_READ_ONLY):
        raise ReadOnlyUnitOfWorkError("a read-only unit of work cannot write")


class DatabaseUnavailable(ServiceUnavailable):
    """The database refused, dropped or timed out a connection, or every connection is busy.

    `platform.db.unavailable.is_unavailable` decides which exceptions mean this.
    """

    code = "DATABASE_UNAVAILABLE"

    def __init__(self, detail: str = "The database is busy or unreachable; try again shortly") -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class NestedUnitOfWorkError(RuntimeError):
    """A unit of work was opened inside another one: a use case must have one transaction."""


class ReadOnlyUnitOfWorkError(RuntimeError):
    """A write (flush, deferred job) was attempted in a read-only unit of work."""


class _Reader:
    """What a read-only unit of work reads through; each connection is taken on first use."""

    __slots__ = ("connection", "orm_engine", "pool")

    def __init__(
        self, pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]], orm_engine: AsyncEngine
    ) -> None:
        self.pool = pool
        self.orm_engine = orm_engine
        self.connection: psycopg.AsyncConnection[Any] | None = None

    async def psycopg_connection(self) -> psycopg.AsyncConnection[Any]:
        if self.connection is None:
            try:
                self.connection = await self.pool.getconn()
            except PoolTimeout as exc:
                raise DatabaseUnavailable() from exc
        return self.connection

    async def release(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await self.pool.putconn(connection)


class UnitOfWork:
    """One use case's database work: an ORM session plus access to its connection.

    Two ways to read, one for each kind of statement (docs/decisions.md, "One way
    to query"): `execute` runs any SQLAlchemy statement (Core rows or ORM entities)
    through SQLAlchemy's public async API; `fetch` runs a `direct.Query`, a hot
    read compiled once at import, on the psycopg connection itself. Entities are
    added, deleted and flushed through `session`.

    A writing unit of work is one transaction. A read-only one (`Database.reading`)
    runs in autocommit on read-only connections, taken only when a statement needs
    one, so a `fetch` costs one round trip and no SQLAlchemy engine work.
    """

    def __init__(
        self,
        *,
        session: AsyncSession | None = None,
        reader: _Reader | None = None,
    ) -> None:
        self._session = session
        self._reader = reader
        self.read_only = session is None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            assert self._reader is not None
            # Bound to the autocommit engine: it takes a connection on its first statement.
            self._session = AsyncSession(bind=self._reader.orm_engine, expire_on_commit=False)
            self._session.sync_session.info[_READ_ONLY] = True
        return self._session

    async def execute(self, statement: Executable) -> Result[Any]:
        """Run any SQLAlchemy statement in this unit of work (a buffered `Result`)."""
        return await self.session.execute(statement)

    async def fetch(self, query: direct.Query, **values: Any) -> list[direct.Row]:
        """Run a hot read compiled once (`direct.Query`): its rows as dicts.

        In a writing unit of work it runs inside the transaction, after pending
        ORM changes are flushed, so it sees this use case's own writes.
        """
        if self._reader is not None:
            connection = await self._reader.psycopg_connection()
        else:
            await self.flush()
            connection = await self.driver_connection()
        return await direct.fetch(connection, query, values)

    async def fetch_one(self, query: direct.Query, **values: Any) -> direct.Row | None:
        """The one row of `fetch`, or None; more than one row is a `LookupError`."""
        rows = await self.fetch(query, **values)
        if len(rows) > 1:
            raise LookupError(f"{query.name}: {len(rows)} rows where at most one was expected")
        return rows[0] if rows else None

    async def close(self) -> None:
        """Give back what this unit of work holds (called by `Database`, which opened it)."""
        if self._session is not None:
            await self._session.close()
        if self._reader is not None:
            await self._reader.release()

    async def driver_connection(self) -> psycopg.AsyncConnection[Any]:
        """The psycopg connection running this transaction (for procrastinate, NOTIFY)."""
        if self.read_only:
            raise ReadOnlyUnitOfWorkError("a read-only unit of work has no transaction to write in")
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, psycopg.AsyncConnection)
        return driver

    @asynccontextmanager
    async def pipeline(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The transaction's psycopg connection in pipeline mode: what the block sends travels
        together and is answered in one round trip when the block ends or a result is read
        (BEGIN too, if the transaction has not started). Pending ORM changes are flushed
        first. A database error surfaces by the end of the block, as the domain error it
        means (`translate_db_error`: 409 for a unique or exclusion constraint)."""
        await self.flush()
        connection = await self.driver_connection()
        try:
            async with connection.pipeline():
                yield connection
        except psycopg.Error as exc:
            wrapped = DBAPIError.instance(None, None, exc, psycopg.Error)
            assert isinstance(wrapped, DBAPIError)
            raise translate_db_error(wrapped) or wrapped from exc

    async def flush(self) -> None:
        """Send pending writes now, so constraint violations surface inside the use case."""
        try:
            await self.session.flush()
        except DBAPIError as exc:
            raise translate_db_error(exc) or exc from exc


class Database:
    """Owns the engine; opens units of work."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        read_timeout: float = 5.0,
        read_pool_size: int | None = None,
        orm_read_pool_size: int | None = None,
        pool_timeout: float = 5.0,
        connect_timeout: int = 5,
        application_name: str | None = None,
    ) -> None:
        """Pools: writes `pool_size` + `max_overflow`; hot reads (`UnitOfWork.fetch`) `read_pool_size`
        (default: the writes' total); other reads (`UnitOfWork.execute`) `orm_read_pool_size`
        (default: half the writes'). The most connections this opens is the sum of the three.

        `read_timeout`: seconds a hot read waits for a connection, and `pool_timeout` seconds
        a write or other read waits, before DatabaseUnavailable (503). `connect_timeout` bounds
        a connection attempt to a server that does not answer. Every connection carries
        `application_name` (default `clinicflow-<pid>`) plus its pool's name (pg_stat_activity).
        """
        self.url = url
        self.application_name = application_name or f"clinicflow-{os.getpid()}"
        # No pool_pre_ping: it costs a round trip on every checkout (it halved
        # throughput in bench/). A connection that dies is invalidated by
        # SQLAlchemy on the first disconnect error; recycling bounds idle age.
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_recycle=1800,
            connect_args={
                "application_name": f"{self.application_name}-write",
                "connect_timeout": connect_timeout,
                "options": session_options(url),
            },
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Reads: their own autocommit, read-only connections (see _read_engine), connected
        # as the engine connects (the dialect's arguments, including its psycopg adapters).
        _, connect_args = self.engine.dialect.create_connect_args(make_url(url))
        read_options = f"{session_options(url)} {_READ_ONLY_SESSION}"
        if orm_read_pool_size is None:
            orm_read_pool_size = max(1, pool_size // 2) + max_overflow // 2
        self.read_engine = _read_engine(
            url,
            {"options": read_options, "connect_timeout": connect_timeout},
            name=f"{self.application_name}-read-orm",
            size=orm_read_pool_size,
            timeout=pool_timeout,
        )
        self.read_pool = _hot_read_pool(
            {**connect_args, "options": read_options, "connect_timeout": connect_timeout},
            name=f"{self.application_name}-read",
            max_size=read_pool_size or pool_size + max_overflow,
            timeout=read_timeout,
        )
        self._read_pool_open = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """Open a unit of work; commit when the block ends, roll back if it raises.

        Integrity errors raised at commit become domain errors (409/422).
        Opening one inside another raises NestedUnitOfWorkError.
        """
        if _current_uow.get() is not None:
            raise NestedUnitOfWorkError("a unit of work is already open in this context")
        async with self._sessions() as session:
            uow = UnitOfWork(session=session)
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

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[UnitOfWork]:
        """Open a read-only unit of work for use cases that only read.

        Its statements run in autocommit: no BEGIN/ROLLBACK round trips, which
        were a third of a read's cost in bench/. Under READ COMMITTED (our
        isolation level) a transaction gives a sequence of reads no extra
        consistency: each statement takes its own snapshot either way. Any
        flush raises ReadOnlyUnitOfWorkError, and so does deferring a job.
        """
        if _current_uow.get() is not None:
            raise NestedUnitOfWorkError("a unit of work is already open in this context")
        if not self._read_pool_open:
            await self.read_pool.open()
            self._read_pool_open = True
        uow = UnitOfWork(reader=_Reader(self.read_pool, self.read_engine))
        token = _current_uow.set(uow)
        try:
            yield uow
        finally:
            _current_uow.reset(token)
            await uow.close()

    def pool_status(self) -> dict[str, dict[str, int]]:
        """Connections by pool (write, read, read_orm) and state (size, checked_out, overflow)."""
        stats = self.read_pool.get_stats()
        return {
            "write": _engine_pool_status(self.engine),
            "read": {
                "size": stats["pool_size"],
                "checked_out": stats["pool_size"] - stats["pool_available"],
                "overflow": max(0, stats["pool_size"] - stats["pool_min"]),
            },
            "read_orm": _engine_pool_status(self.read_engine),
        }

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()
        if self._read_pool_open:
            await self.read_pool.close()


def session_options(url: str) -> str:
    """The `options` every connection starts with: the URL's own, then `SESSION_OPTIONS`."""
    in_url = make_url(url).query.get("options")
    return " ".join(filter(None, [in_url if isinstance(in_url, str) else None, SESSION_OPTIONS]))


def _read_engine(
    url: str, connect_args: dict[str, Any], *, name: str, size: int, timeout: float
) -> AsyncEngine:
    """The engine of reads other than hot ones: autocommit, connections opened as reads need them.

    Reads get their own autocommit connections: toggling the isolation level
    per checkout on the shared pool cost more CPU than the round trips it saved.
    Hot reads (`direct.Query`) run on a psycopg pool directly (`_hot_read_pool`);
    this engine serves every other read (`UnitOfWork.execute`). Both are the seam
    for pointing reads at a replica later, and both are read-only sessions: in
    autocommit a Core UPDATE would otherwise commit; PostgreSQL refuses it instead
    (SQLSTATE 25006).
    """
    return create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=size,
        max_overflow=0,
        pool_timeout=timeout,
        pool_recycle=1800,
        connect_args={**connect_args, "application_name": name},
    )


def _hot_read_pool(
    connect_args: dict[str, Any], *, name: str, max_size: int, timeout: float
) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    """The psycopg pool of hot reads: autocommit connections, opened on the first read."""
    return AsyncConnectionPool(
        "",
        min_size=1,
        max_size=max_size,
        kwargs={**connect_args, "autocommit": True, "application_name": name},
        max_lifetime=1800,
        # The pool connects in the background and a reader waits for it: with the
        # database down, reads would hang for psycopg_pool's 30 s default.
        timeout=timeout,
        reconnect_timeout=RECONNECT_WINDOW_SECONDS,
        open=False,
    )


def _engine_pool_status(engine: AsyncEngine) -> dict[str, int]:
    pool: Any = engine.pool
    return {"size": int(pool.size()), "checked_out": int(pool.checkedout()), "overflow": int(pool.overflow())}
