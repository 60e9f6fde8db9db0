"""Queue error codes (409s carry the entry's current status and the refused move)."""

from __future__ import annotations

from clinicflow.errors import Conflict


class QueueEmpty(Conflict):
    code = "QUEUE_EMPTY"
    title = "Nobody is waiting for this doctor"


class QueueMoveInvalid(Conflict):
    code = "QUEUE_INVALID_TRANSITION"
    title = "This queue entry cannot make that move now"


class VisitNotMovable(Conflict):
    code = "INVALID_TRANSITION"
    title = "The appointment behind this queue entry cannot make that move"
