"""What a waiting room's screen shows: the tickets being called (to which doctor or room) and
the tickets next in line — never a patient's name or id.

The screen has no user: a signed display token (`realtime.display`) names the tenant and the
location, so the board is read by the token's claims. Three statements: the location, the
waiting tickets in order (`repository.snapshot`, without names), the called ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from clinicflow.checkin.queue import repository as queries
from clinicflow.checkin.queue.rows import Calling
from clinicflow.checkin.queue.service import local_day, location_or_raise
from clinicflow.platform.db import UnitOfWork

#: How many called tickets and waiting tickets a screen lists.
CALLING_SHOWN = 4
NEXT_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Board:
    """A location's display board at one moment."""

    location_id: uuid.UUID
    calling: list[Calling]  # newest call first
    next_tickets: list[str]  # the waiting tickets in queue order
    waiting: int  # how many wait in all


async def read_board(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    now: datetime,
    calling_shown: int = CALLING_SHOWN,
    next_shown: int = NEXT_SHOWN,
) -> Board:
    """The board of the location's clinic-local day (404 for an archived or unknown location).

    The caller has authorized the screen (its display token is for this tenant and location)."""
    location = await location_or_raise(uow, tenant_id=tenant_id, location_id=location_id)
    day = local_day(location, now)
    snapshot = await queries.snapshot(uow, tenant_id=tenant_id, location_id=location_id, day=day, now=now)
    called = await queries.calling(
        uow, tenant_id=tenant_id, location_id=location_id, day=day, limit=calling_shown
    )
    return Board(
        location_id=location_id,
        calling=called,
        next_tickets=[entry.ticket for entry in snapshot.waiting[:next_shown]],
        waiting=len(snapshot.waiting),
    )
