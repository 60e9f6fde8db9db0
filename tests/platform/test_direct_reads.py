"""Reads: `execute` in a read unit of work answers as in a transaction; hot reads (`direct.Query`,
compiled once, run on psycopg) answer with the same rows and the same errors as the engine."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Executable, any_, bindparam, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.exc import IntegrityError, ProgrammingError

from clinicflow.platform.db import Database
from clinicflow.platform.db.direct import Query
from clinicflow.tenancy.models import Clinic, ClinicLocation
from tests.factories import make_clinic, make_tenant

clinics = Clinic.__table__
locations = ClinicLocation.__table__


async def _both(database: Database, statement: Executable, *, hot: bool = False) -> tuple[Any, Any]:
    """(keys, rows) through a read unit of work (as a hot `Query` when `hot`) and through
    SQLAlchemy's engine in a transaction."""
    async with database.reading() as uow:
        if hot:
            rows = await uow.fetch(Query(statement))  # type: ignore[arg-type]
            direct_out = (list(rows[0]) if rows else [], [tuple(r.values()) for r in rows])
        else:
            direct = await uow.execute(statement)
            direct_out = (list(direct.keys()), [tuple(r) for r in direct.all()])
    async with database.transaction() as uow:
        engine = await uow.execute(statement)
        engine_out = (list(engine.keys()), [tuple(r) for r in engine.all()])
    return direct_out, engine_out


@pytest.fixture
async def world(database: Database) -> dict[str, Any]:
    a, b = await make_tenant(database), await make_tenant(database)
    a_clinics = [await make_clinic(database, tenant_id=a.id) for _ in range(3)]
    b_clinic = await make_clinic(database, tenant_id=b.id)
    async with database.transaction() as uow:
        uow.session.add_all(
            [
                ClinicLocation(
                    tenant_id=a.id,
                    clinic_id=a_clinics[0].id,
                    name="Front desk",
                    kind="checkin_desk",
                    latitude=Decimal("52.520008"),
                    longitude=Decimal("13.404954"),
                    radius_m=50,
                ),
                ClinicLocation(tenant_id=a.id, clinic_id=a_clinics[0].id, name="Room 1", kind="room"),
            ]
        )
    return {"a": a.id, "b": b.id, "a_clinics": [c.id for c in a_clinics], "b_clinic": b_clinic.id}


@pytest.mark.parametrize("hot", [False, True], ids=["execute", "hot-query"])
async def test_rows_and_keys_match_the_engine_for_every_column_type(
    database: Database, world: dict[str, Any], hot: bool
) -> None:
    statement = select(locations).order_by(locations.c.name)
    direct, engine = await _both(database, statement, hot=hot)
    assert direct == engine
    keys, rows = direct
    assert {"id", "name", "latitude", "longitude", "radius_m"} <= set(keys)
    by_name = {row[keys.index("name")]: row for row in rows}
    assert by_name["Front desk"][keys.index("latitude")] == Decimal("52.520008")
    assert by_name["Room 1"][keys.index("latitude")] is None
    assert isinstance(by_name["Room 1"][keys.index("id")], uuid.UUID)


async def test_a_cached_statement_shape_runs_with_each_call_s_own_values(
    database: Database, world: dict[str, Any]
) -> None:
    """The second call reuses the first call's compiled SQL but must not reuse its values."""

    def of(tenant_id: uuid.UUID) -> Executable:
        return select(clinics.c.id).where(clinics.c.tenant_id == tenant_id).order_by(clinics.c.id)

    async with database.reading() as uow:
        first = (await uow.execute(of(world["a"]))).scalars().all()
        second = (await uow.execute(of(world["b"]))).scalars().all()
    assert first == sorted(world["a_clinics"])
    assert second == [world["b_clinic"]]


async def test_in_lists_of_any_length_expand_including_empty(
    database: Database, world: dict[str, Any]
) -> None:
    wanted = world["a_clinics"]
    for ids in (wanted[:1], wanted, [], [world["b_clinic"], *wanted[:2]]):
        statement = select(clinics.c.id).where(clinics.c.id.in_(ids)).order_by(clinics.c.id)
        direct, engine = await _both(database, statement)
        assert direct == engine
        assert sorted(row[0] for row in direct[1]) == sorted(ids)


async def test_bind_processors_apply_jsonb_values(database: Database) -> None:
    statement = select(literal({"weekdays": [1, 3]}, JSONB).label("doc"))
    direct, engine = await _both(database, statement)
    assert direct == engine == (["doc"], [({"weekdays": [1, 3]},)])


async def test_text_with_parameters_aggregates_and_labels(database: Database, world: dict[str, Any]) -> None:
    counted = select(clinics.c.tenant_id, func.count().label("n")).group_by(clinics.c.tenant_id)
    direct, engine = await _both(database, counted)
    assert sorted(direct[1]) == sorted(engine[1]) == sorted([(world["a"], 3), (world["b"], 1)])
    typed = text("SELECT CAST(:x AS int) + 1 AS y").bindparams(x=41)
    async with database.reading() as uow:
        assert (await uow.execute(typed)).scalar_one() == 42


async def test_errors_are_sqlalchemy_errors_and_the_connection_stays_usable(database: Database) -> None:
    async with database.reading() as uow:
        with pytest.raises(ProgrammingError) as missing:
            await uow.execute(text("SELECT * FROM no_such_table"))
        assert "no_such_table" in str(missing.value)
        with pytest.raises(IntegrityError):  # each psycopg error class maps to SQLAlchemy's
            await uow.execute(text("DO $$ BEGIN RAISE unique_violation; END $$"))
        assert (await uow.execute(text("SELECT 1"))).scalar_one() == 1
    async with database.reading() as uow:
        assert (await uow.execute(text("SELECT 2"))).scalar_one() == 2


async def test_a_query_is_compiled_once_and_never_shares_values(
    database: Database, world: dict[str, Any]
) -> None:
    """The SQL text is fixed at construction (statements built once); the values are each call's own."""
    query = Query(
        select(clinics.c.id).where(clinics.c.tenant_id == bindparam("tenant_id")).order_by(clinics.c.id)
    )
    sql = query.sql
    async with database.reading() as uow:
        first = [row["id"] for row in await uow.fetch(query, tenant_id=world["a"])]
        second = [row["id"] for row in await uow.fetch(query, tenant_id=world["b"])]
    assert query.sql == sql
    assert "%(tenant_id)s" in sql
    assert first == sorted(world["a_clinics"])
    assert second == [world["b_clinic"]]
    literal_seven = Query(select(literal(7).label("seven")))
    assert "seven" in literal_seven.sql
    assert 7 in literal_seven.parameters({}).values()


async def test_query_lists_of_any_length_through_any(database: Database, world: dict[str, Any]) -> None:
    query = Query(
        select(clinics.c.id)
        .where(clinics.c.id == any_(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))))
        .order_by(clinics.c.id)
    )
    wanted = world["a_clinics"]
    for ids in (wanted[:1], wanted, [], [world["b_clinic"], *wanted[:2]]):
        async with database.reading() as uow:
            rows = await uow.fetch(query, ids=ids)
        assert sorted(row["id"] for row in rows) == sorted(ids)


async def test_query_bind_processors_apply_jsonb_values(database: Database) -> None:
    query = Query(select(bindparam("doc", type_=JSONB).label("doc")))
    async with database.reading() as uow:
        assert await uow.fetch(query, doc={"weekdays": [1, 3]}) == [{"doc": {"weekdays": [1, 3]}}]


def test_a_query_refuses_what_would_change_its_sql_or_values_it_does_not_name() -> None:
    with pytest.raises(TypeError, match="ANY"):
        Query(select(clinics.c.id).where(clinics.c.id.in_([uuid.uuid4()])))
    query = Query(select(clinics.c.id).where(clinics.c.tenant_id == bindparam("tenant_id")))
    with pytest.raises(TypeError, match="no parameter named tenant"):
        query.parameters({"tenant": uuid.uuid4()})
    with pytest.raises(TypeError, match="needed for tenant_id"):
        query.parameters({})


async def test_query_errors_are_sqlalchemy_errors_and_the_connection_stays_usable(database: Database) -> None:
    async with database.reading() as uow:
        with pytest.raises(ProgrammingError) as missing:
            await uow.fetch(Query(text("SELECT * FROM no_such_table")))
        assert "no_such_table" in str(missing.value)
        with pytest.raises(IntegrityError):  # each psycopg error class maps to SQLAlchemy's
            await uow.fetch(Query(text("DO $$ BEGIN RAISE unique_violation; END $$")))
        assert await uow.fetch_one(Query(text("SELECT 1 AS one"))) == {"one": 1}


async def test_a_query_in_a_transaction_sees_its_own_pending_writes(database: Database) -> None:
    tenant = await make_tenant(database)
    query = Query(
        select(func.count().label("n")).select_from(clinics).where(clinics.c.tenant_id == bindparam("t"))
    )
    async with database.transaction() as uow:
        uow.session.add(Clinic(tenant_id=tenant.id, name="New", slug="new", timezone="Europe/Berlin"))
        assert await uow.fetch_one(query, t=tenant.id) == {"n": 1}


async def test_parallel_reads_each_get_their_own_tenant_s_rows(
    database: Database, world: dict[str, Any]
) -> None:
    """60 concurrent read units of work share compiled shapes and pooled connections, never values."""

    async def read(tenant_id: uuid.UUID) -> tuple[uuid.UUID, list[uuid.UUID]]:
        async with database.reading() as uow:
            stmt = select(clinics.c.id).where(clinics.c.tenant_id == tenant_id).order_by(clinics.c.id)
            return tenant_id, list((await uow.execute(stmt)).scalars().all())

    results = await asyncio.gather(*(read(world["a"] if n % 2 else world["b"]) for n in range(60)))
    expected = {world["a"]: sorted(world["a_clinics"]), world["b"]: [world["b_clinic"]]}
    assert all(rows == expected[tenant] for tenant, rows in results)
    assert database.pool_status()["read"]["size"] <= database.read_pool.max_size  # 60 readers queued
