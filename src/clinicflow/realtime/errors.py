"""Real time error codes."""

from __future__ import annotations

from clinicflow.errors import Forbidden, ServiceUnavailable, Unauthenticated, ValidationFailed


class ChannelInvalid(ValidationFailed):
    code = "CHANNEL_INVALID"
    title = "Channels are `kind:<id>` (appointment, clinic, queue, patient), comma-separated"


class ChannelForbidden(Forbidden):
    code = "CHANNEL_FORBIDDEN"
    title = "You may not follow this channel"


class StreamTicketInvalid(Unauthenticated):
    code = "STREAM_TICKET_INVALID"
    title = "The stream ticket is unknown, used or expired; ask for a new one"


class DisplayTokenInvalid(Unauthenticated):
    code = "DISPLAY_TOKEN_INVALID"
    title = "The display token is not valid"


class RealtimeUnavailable(ServiceUnavailable):
    code = "REALTIME_UNAVAILABLE"
    title = "Live events are not available right now; retry shortly"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": "2"})
