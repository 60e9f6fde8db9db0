"""Read statements built with SQLAlchemy Core, run on a psycopg connection directly.

Why: on a read, SQLAlchemy's async engine spends more CPU around the one
psycopg call than the call itself (greenlet hand-offs, execution context,
cursor result set-up): about 110 µs of the 370 µs `/health/ready` cost in
bench/, and the issue-2 target cannot be met with it (docs/decisions.md,
"Reads skip SQLAlchemy's async engine"). Statements are still built and
compiled by SQLAlchemy, with its types' bind and result processors, so a
service cannot tell the difference: `execute` returns a SQLAlchemy `Result`
and a database error is raised as SQLAlchemy's `DBAPIError` subclass.

What this keeps from SQLAlchemy's execution path:
- the compiled-statement cache, keyed by the statement's cache key, so a
  statement shape is compiled once and later calls only extract their values;
- "expanding" parameters (`IN` lists) and bind processors (JSONB values);
- result processors of the selected columns' types (none of ours have one
  under psycopg, but a type that does keeps working).

Writes never come here: they run in `Database.transaction()` through the ORM.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Executable, Result
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]


_UNKNOWN: Any = object()


@dataclass(slots=True)
class _Plan:
    """One compiled statement shape and what running it needs."""

    compiled: SQLCompiler
    expands: bool  # has IN lists or literal-execute parameters: SQL varies per call
    bind_processors: dict[str, Processor]
    # Per selected column; some types pick theirs by the column's wire type, so they
    # are resolved on the first run from the cursor's description. None: rows need none.
    result_processors: tuple[Processor | None, ...] | None = _UNKNOWN
    # The result's keys: fixed by the compiled SQL, so built on the first run and shared
    # (SQLAlchemy shares its cursor metadata per compiled statement the same way).
    metadata: SimpleResultMetaData | None = None

    def result_metadata(self, description: Sequence[Any]) -> SimpleResultMetaData:
        if self.metadata is None:
            self.metadata = SimpleResultMetaData([column.name for column in description])
        return self.metadata

    def row_processors(self, description: Sequence[Any]) -> tuple[Processor | None, ...] | None:
        if self.result_processors is _UNKNOWN:
            columns = self.compiled._result_columns
            processors: tuple[Processor | None, ...] = ()
            if len(columns) == len(description):
                processors = tuple(
                    column.type._cached_result_processor(self.compiled.dialect, wire.type_code)
                    for column, wire in zip(columns, description, strict=True)
                )
            self.result_processors = processors if any(p is not None for p in processors) else None
        return self.result_processors


class StatementCache:
    """Compiled statements by cache key, least recently used evicted first.

    Bounded: statement shapes are finite in our code, but a statement whose
    shape depends on input (an `IN` list is not such a case: it expands at
    run time) must not grow memory without limit.
    """

    def __init__(self, dialect: Dialect, *, size: int = 500) -> None:
        self.dialect = dialect
        self.size = size
        self._plans: OrderedDict[Any, _Plan] = OrderedDict()

    def prepare(self, statement: Executable) -> tuple[str, Mapping[str, Any] | None, _Plan]:
        """The SQL text and parameters to send for `statement`, compiled at most once per shape."""
        if not isinstance(statement, ClauseElement):
            raise TypeError(f"not a SQL statement: {statement!r}")
        cache_key = statement._generate_cache_key()
        plan = self._plans.get(cache_key.key) if cache_key is not None else None
        if plan is None:
            plan = self._compile(statement, cache_key)
            if cache_key is not None:
                self._plans[cache_key.key] = plan
                if len(self._plans) > self.size:
                    self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(cache_key.key)  # type: ignore[union-attr]
        compiled = plan.compiled
        params = compiled.construct_params(
            extracted_parameters=cache_key.bindparams if cache_key is not None else None
        )
        sql = compiled.string
        processors = plan.bind_processors
        if plan.expands:
            state = compiled._process_parameters_for_postcompile(params)
            sql, params, processors = state.statement, dict(state.parameters), dict(state.processors)
        for name, process in processors.items():
            if name in params:
                params[name] = process(params[name])
        return sql, (params or None), plan

    def _compile(self, statement: ClauseElement, cache_key: Any) -> _Plan:
        compiled = statement.compile(dialect=self.dialect, cache_key=cache_key)
        assert isinstance(compiled, SQLCompiler)
        if compiled.positional:  # psycopg's dialect is pyformat; a positional one needs other code
            raise TypeError("direct execution expects a named-parameter dialect")
        binds: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            process = bind.type._cached_bind_processor(self.dialect)
            if process is not None:
                binds[compiled.escaped_bind_names.get(name, name)] = process
        return _Plan(
            compiled=compiled,
            expands=bool(compiled.post_compile_params or compiled.literal_execute_params),
            bind_processors=binds,
        )


async def execute(
    connection: psycopg.AsyncConnection[Any], cache: StatementCache, statement: Executable
) -> Result[Any]:
    """Run one statement on `connection`; the rows come back as a buffered SQLAlchemy `Result`."""
    sql, params, plan = cache.prepare(statement)
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(sql, params)
            description = cursor.description or ()
            rows: Sequence[Any] = await cursor.fetchall() if cursor.description is not None else []
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
    metadata = plan.result_metadata(description)
    processors = plan.row_processors(description) if rows else None
    if processors is not None:
        rows = [
            tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True))
            for row in rows
        ]
    return IteratorResult(metadata, iter(rows))
