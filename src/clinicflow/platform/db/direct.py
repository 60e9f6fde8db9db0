"""Hot reads: a statement built and compiled once, run on a psycopg connection directly.

Why: on a read, SQLAlchemy's async engine spends more CPU around the one
psycopg call than the call itself (greenlet hand-offs, execution context,
cursor result set-up): about 110 µs of the 370 µs `/health/ready` cost in
bench/ (docs/decisions.md, "Reads skip SQLAlchemy's async engine"). The
few reads on the core path (readiness, a tenant's first list page, a
request's principal) are therefore declared once, at import, as a `Query`:

    CLINICS = Query(
        select(clinics.c.id, clinics.c.name)
        .where(clinics.c.tenant_id == bindparam("tenant_id"))
        .order_by(clinics.c.id)
    )
    rows = await uow.fetch(CLINICS, tenant_id=tenant_id)   # list[dict[str, Any]]

Only SQLAlchemy's public API is used: `statement.compile(dialect=...)`,
`compiled.string`, `compiled.construct_params(...)`, and the types' public
`bind_processor` / `result_processor`. Values are named `bindparam`s; an
`IN` list is written `column == any_(bindparam("ids", type_=ARRAY(...)))`
(one SQL text for any length), since an expanding `IN` would need the
statement re-rendered per call. A psycopg error is raised as SQLAlchemy's
`DBAPIError` subclass, exactly as the engine would raise it, so callers
catch one family of errors whichever path a read took.

Every other statement runs through `UnitOfWork.execute` (SQLAlchemy's public
async API); docs/decisions.md, "One way to query", says which to use when.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
Row = dict[str, Any]

#: The dialect every `Query` compiles for: the one our engines use (`postgresql+psycopg`).
DIALECT: Dialect = psycopg_dialect.dialect()  # type: ignore[no-untyped-call]


class Query:
    """One read statement, compiled once for psycopg; run it with `UnitOfWork.fetch`.

    Guarantees: the SQL text is fixed at construction (no compilation per
    call); each call's values are its own (the statement's literals fill the
    rest); a value the statement does not name, or a missing one, is a
    `TypeError` before anything is sent.
    """

    __slots__ = (
        "_binds",
        "_columns",
        "_compiled",
        "_names",
        "_required",
        "_resolved",
        "_results",
        "name",
        "sql",
    )

    def __init__(self, statement: ClauseElement, *, name: str | None = None) -> None:
        compiled = statement.compile(dialect=DIALECT)
        if not isinstance(compiled, SQLCompiler) or compiled.positional:
            raise TypeError("a Query needs a SQL statement compiled with named parameters")
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise TypeError(
                "an expanding IN list would change the SQL per call: write `column = ANY(:name)`, "
                "`column == any_(bindparam(name, type_=ARRAY(...)))`"
            )
        if compiled.escaped_bind_names:
            raise TypeError("a Query's parameter names must be plain identifiers")
        self.sql: str = compiled.string
        self.name = name or " ".join(self.sql.split())[:60]
        self._compiled = compiled
        self._names = frozenset(compiled.bind_names.values())
        self._required = frozenset(key for bind, key in compiled.bind_names.items() if bind.required)
        self._binds: dict[str, Processor] = {}
        for bind, key in compiled.bind_names.items():
            process = bind.type.dialect_impl(DIALECT).bind_processor(DIALECT)
            if process is not None:
                self._binds[key] = process
        selected = getattr(statement, "selected_columns", None)
        self._columns = tuple(c.type.dialect_impl(DIALECT) for c in selected) if selected is not None else ()
        self._results: tuple[Processor | None, ...] | None = None
        self._resolved = False

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters to send with `sql` for one call's `values`."""
        unknown = set(values) - self._names
        if unknown:
            raise TypeError(f"{self.name}: no parameter named {', '.join(sorted(unknown))}")
        missing = self._required - set(values)
        if missing:
            raise TypeError(f"{self.name}: a value is needed for {', '.join(sorted(missing))}")
        params = dict(self._compiled.construct_params(dict(values)))
        for key, process in self._binds.items():
            if params.get(key) is not None:
                params[key] = process(params[key])
        return params

    def processors(self, description: Sequence[Any]) -> tuple[Processor | None, ...] | None:
        """Result processors per column (None: the rows need none), resolved on the first run.

        Some types pick their processor by the column's wire type, which only the
        first cursor's description tells.
        """
        if not self._resolved:
            found: tuple[Processor | None, ...] = ()
            if len(self._columns) == len(description):
                found = tuple(
                    kind.result_processor(DIALECT, wire.type_code)
                    for kind, wire in zip(self._columns, description, strict=True)
                )
            self._results = found if any(p is not None for p in found) else None
            self._resolved = True
        return self._results


async def fetch(
    connection: psycopg.AsyncConnection[Any], query: Query, values: Mapping[str, Any]
) -> list[Row]:
    """Run `query` on `connection`; every row as a dict keyed by the selected column names."""
    async with connection.cursor() as cursor:
        await send(cursor, query, values)
        return await rows_of(cursor, query)


async def send(cursor: psycopg.AsyncCursor[Any], query: Query, values: Mapping[str, Any]) -> None:
    """Send `query` on `cursor` without reading its rows: inside a pipeline it waits for the
    pipeline's round trip, and `rows_of(cursor, query)` reads them after it."""
    params = query.parameters(values)
    try:
        await cursor.execute(query.sql, params or None)
    except psycopg.Error as exc:
        raise DBAPIError.instance(query.sql, params, exc, psycopg.Error) from exc


async def rows_of(cursor: psycopg.AsyncCursor[Any], query: Query) -> list[Row]:
    """The rows `send` asked for, as dicts keyed by the selected column names."""
    try:
        raw = await cursor.fetchall()
    except psycopg.Error as exc:
        raise DBAPIError.instance(query.sql, None, exc, psycopg.Error) from exc
    description = cursor.description
    assert description is not None  # fetchall raised for a statement without rows
    keys = [column.name for column in description]
    processors = query.processors(description) if raw else None
    if processors is None:
        return [dict(zip(keys, row, strict=True)) for row in raw]
    return [
        {
            key: value if process is None or value is None else process(value)
            for key, process, value in zip(keys, processors, row, strict=True)
        }
        for row in raw
    ]
