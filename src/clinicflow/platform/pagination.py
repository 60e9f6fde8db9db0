"""Keyset pagination over time-ordered (UUIDv7) ids: `?limit=&cursor=` → `{items, next_cursor}`.

Keyset, not OFFSET: page N costs the same as page 1 at 10M rows, and rows
inserted meanwhile do not shift pages.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Depends, Query
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import ColumnElement, Select, bindparam
from sqlalchemy.orm import InstrumentedAttribute

from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.platform.db import UnitOfWork, direct

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Ts = TypeVarTuple("Ts")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    after: uuid.UUID | None = None


def encode_cursor(last_id: uuid.UUID) -> str:
    """The opaque cursor of the page after `last_id` (its bytes, URL-safe base64)."""
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id a cursor stands for; 422 naming `cursor` if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed(
            "The cursor is not valid", errors=[FieldProblem(field="cursor", message="not a cursor")]
        ) from exc


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> PageParams:
    """FastAPI dependency for list endpoints (async: a sync one would cost a thread hop)."""
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]


def paginate(
    stmt: Select[*Ts],
    id_column: InstrumentedAttribute[Any],
    params: PageParams,
    *,
    newest_first: bool = False,
) -> Select[*Ts]:
    """Apply keyset order and bounds; fetch one extra row to know if there is a next page.

    Ids are UUIDv7, so id order is creation order; `newest_first` reverses it.
    """
    if params.after is not None:
        stmt = stmt.where(id_column < params.after if newest_first else id_column > params.after)
    return stmt.order_by(id_column.desc() if newest_first else id_column).limit(params.limit + 1)


async def read_page(
    uow: UnitOfWork,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[Any],
    params: PageParams,
    model: type[M],
) -> tuple[list[M], str | None]:
    """One keyset page of `stmt`'s column rows, validated as `model`, and the next cursor.

    The rows are validated in one call (a cached list adapter) from dicts
    built with the result's keys taken once, not one `model_validate` per row.
    """
    result = await uow.execute(paginate(stmt, id_column, params))
    keys = list(result.keys())
    items = _list_of(model).validate_python([dict(zip(keys, row, strict=True)) for row in result.all()])
    return page_of(items, params)


class KeysetPages(Generic[M]):
    """Keyset pages of one statement, for a hot list read: compiled once per filter combination.

    `base` names its fixed values as `bindparam`s (a repository's tenant-scoped
    statement: `tenant_id`); `filters` maps an optional parameter's name to the
    condition it adds, built with a `bindparam` of that name. `read` leaves out
    each filter whose value is None, so every combination has its own fixed SQL
    (compiled on first use by `direct.Query`, never per call) and its own plan.
    """

    def __init__(
        self,
        base: Select[Any],
        id_column: ColumnElement[Any],
        model: type[M],
        *,
        filters: Mapping[str, Callable[[], ColumnElement[bool]]] | None = None,
    ) -> None:
        self.base = base
        self.id_column = id_column
        self.model = model
        self.filters = dict(filters or {})
        self._queries: dict[tuple[frozenset[str], bool], direct.Query] = {}

    def query(self, filters: frozenset[str], *, after: bool) -> direct.Query:
        """The compiled page statement with these filters (and a cursor bound when `after`)."""
        key = (filters, after)
        query = self._queries.get(key)
        if query is None:
            stmt = self.base.where(*(self.filters[name]() for name in sorted(filters)))
            if after:
                stmt = stmt.where(self.id_column > bindparam("after"))
            stmt = stmt.order_by(self.id_column).limit(bindparam("limit"))
            query = self._queries[key] = direct.Query(stmt)
        return query

    async def read(self, uow: UnitOfWork, page: PageParams, **values: Any) -> tuple[list[M], str | None]:
        """One page (oldest first) and the next cursor; a filter whose value is None is left out."""
        present = frozenset(name for name in self.filters if values.get(name) is not None)
        bound = {k: v for k, v in values.items() if k not in self.filters or k in present}
        if page.after is not None:
            bound["after"] = page.after
        query = self.query(present, after=page.after is not None)
        rows = await uow.fetch(query, limit=page.limit + 1, **bound)
        return page_of(_list_of(self.model).validate_python(rows), page)


@functools.cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def page_of(rows: Sequence[Any], params: PageParams) -> tuple[list[Any], str | None]:
    """Split the fetched rows into this page's items and the next cursor."""
    items = list(rows[: params.limit])
    has_more = len(rows) > params.limit
    return items, encode_cursor(items[-1].id) if has_more and items else None
