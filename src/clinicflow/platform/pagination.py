"""Keyset pagination over time-ordered (UUIDv7) ids: `?limit=&cursor=` → `{items, next_cursor}`.

Keyset, not OFFSET: page N costs the same as page 1 at 10M rows, and rows
inserted meanwhile do not shift pages.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Depends, Query
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.platform.db import UnitOfWork

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
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
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


@functools.cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def page_of(rows: Sequence[Any], params: PageParams) -> tuple[list[Any], str | None]:
    """Split the fetched rows into this page's items and the next cursor."""
    items = list(rows[: params.limit])
    has_more = len(rows) > params.limit
    return items, encode_cursor(items[-1].id) if has_more and items else None
