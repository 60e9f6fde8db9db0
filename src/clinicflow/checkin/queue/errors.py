"""Queue error codes (409s carry the entry's current status and the refused move)."""

from __future__ import annotations

from clinicflow.errors import Conflict
from clinicflow.scheduling.errors import InvalidTransition


class QueueEmpty(Conflict):
    code = "QUEUE_EMPTY"
    title = "Nobody is waiting for this doctor"


class QueueMoveInvalid(Conflict):
    code = "QUEUE_INVALID_TRANSITION"
    title = "This queue entry cannot make that move now"


#: The appointment behind a queue entry cannot make the move: scheduling's INVALID_TRANSITION
#: (one class per code; the detail says which move and from which status).
VisitNotMovable = InvalidTransition
