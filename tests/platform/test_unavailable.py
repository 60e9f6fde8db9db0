"""`is_unavailable` on the exceptions the drivers really raise, and the 503 it makes of them."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from fastapi import APIRouter
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from clinicflow.platform.db import Database
from clinicflow.platform.db.unavailable import is_unavailable
from clinicflow.platform.db.url import libpq_url
from tests.conftest import ClientFactory

REFUSED = "postgresql+psycopg://nobody@127.0.0.1:1/none"


async def test_a_refused_connection_is_unavailable_as_psycopg_and_as_sqlalchemy_raise_it() -> None:
    with pytest.raises(psycopg.OperationalError) as raw:
        await psycopg.AsyncConnection.connect(libpq_url(REFUSED), connect_timeout=2)
    assert is_unavailable(raw.value)
    engine = create_async_engine(REFUSED)
    try:
        with pytest.raises(DBAPIError) as wrapped:
            async with engine.connect():
                pass
        assert is_unavailable(wrapped.value)
    finally:
        await engine.dispose()


async def test_exhausted_pools_are_unavailable(database_url: str) -> None:
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with engine.connect():
            with pytest.raises(sa_exc.TimeoutError) as orm_pool:
                async with engine.connect():
                    pass
        assert is_unavailable(orm_pool.value)
    finally:
        await engine.dispose()
    async with AsyncConnectionPool(libpq_url(database_url), min_size=1, max_size=1, open=False) as pool:
        async with pool.connection():
            with pytest.raises(PoolTimeout) as psycopg_pool:
                await pool.getconn(timeout=0.1)
        assert is_unavailable(psycopg_pool.value)


async def test_answers_about_the_data_are_not_unavailable(database: Database) -> None:
    async with database.engine.connect() as conn:
        with pytest.raises(DBAPIError) as syntax:
            await conn.execute(text("SELEC 1"))
    assert not is_unavailable(syntax.value)
    async with database.engine.connect() as conn:
        with pytest.raises(DBAPIError) as division:
            await conn.execute(text("SELECT 1/0"))
    assert not is_unavailable(division.value)
    # Serialization failures and deadlocks are OperationalErrors to psycopg, but they are
    # answers about the data (a conflict, 409), not a database that cannot serve.
    assert not is_unavailable(psycopg.errors.SerializationFailure("could not serialize access"))
    assert not is_unavailable(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert not is_unavailable(ValueError("not a database problem"))


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
    ],
)
def test_server_refusals_by_sqlstate_are_unavailable(error: psycopg.Error) -> None:
    """What PostgreSQL answers when it refuses service (SQLSTATE 53300, 57P01, 57P03)."""
    assert is_unavailable(error)
    wrapped = DBAPIError.instance("SELECT 1", None, error, psycopg.Error)
    assert is_unavailable(wrapped)


async def test_a_write_on_a_database_that_refuses_connections_is_503_not_500(
    make_client: ClientFactory,
) -> None:
    """Through the real middleware and handlers: an ORM transaction that cannot connect."""
    unreachable = Database(REFUSED, pool_size=1, max_overflow=0, connect_timeout=2)
    router = APIRouter()

    @router.post("/test/write")
    async def write() -> dict[str, str]:
        async with unreachable.transaction() as uow:
            await uow.session.execute(text("SELECT 1"))
        return {"ok": "yes"}

    try:
        client = make_client(router)
        response = await client.post("/test/write")
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "DATABASE_UNAVAILABLE"
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["request_id"] == response.headers["x-request-id"]
    finally:
        await unreachable.dispose()


async def test_an_unrelated_crash_is_still_500(make_client: ClientFactory) -> None:
    router = APIRouter()

    @router.get("/test/crash")
    async def crash() -> None:
        raise RuntimeError("a bug")

    client: httpx.AsyncClient = make_client(router)
    response = await client.get("/test/crash")
    assert response.status_code == 500
    assert "retry-after" not in response.headers
