"""Who may follow which channel: the rules, applied after the scoped fetch of the channel's object.

Channels are `kind:<uuid>`:

- `appointment:<id>`: the appointment's patient, and staff who read appointments of its clinic;
- `clinic:<id>`, `queue:<location_id>`: staff who read appointments of that clinic (where
  they hold a grant); a location display (signed display token) follows its own `queue:`;
- `patient:<user_id>`: that patient only (their own events: queue position, waitlist).

Another tenant's object is not found (404), like a missing one; a known object the
caller may not follow is 403. A display sees events without people's ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.realtime import StoredEvent
from clinicflow.realtime.errors import ChannelForbidden, ChannelInvalid

#: Most channels one stream may follow.
MAX_CHANNELS = 20

#: The only data keys a location display receives: no person is named or identified.
DISPLAY_FIELDS = frozenset(
    {"location_id", "clinic_id", "doctor_id", "ticket", "status", "position", "called"}
)


class Kind(StrEnum):
    APPOINTMENT = "appointment"
    CLINIC = "clinic"
    QUEUE = "queue"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class Channel:
    kind: Kind
    id: uuid.UUID

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


def appointment_channel(appointment_id: uuid.UUID) -> str:
    return str(Channel(Kind.APPOINTMENT, appointment_id))


def clinic_channel(clinic_id: uuid.UUID) -> str:
    return str(Channel(Kind.CLINIC, clinic_id))


def queue_channel(location_id: uuid.UUID) -> str:
    return str(Channel(Kind.QUEUE, location_id))


def patient_channel(patient_id: uuid.UUID) -> str:
    return str(Channel(Kind.PATIENT, patient_id))


def parse_channel(raw: str) -> Channel:
    kind, _, ident = raw.strip().partition(":")
    try:
        return Channel(Kind(kind), uuid.UUID(ident))
    except ValueError:
        raise ChannelInvalid(f"Not a channel: {raw.strip()[:80]!r}", channel=raw.strip()[:80]) from None


def parse_channels(raw: str) -> list[Channel]:
    """The distinct channels of a comma-separated list (422 CHANNEL_INVALID for a bad one)."""
    names = [name for name in raw.split(",") if name.strip()]
    if not names:
        raise ChannelInvalid("Name at least one channel: ?channels=appointment:<id>,…")
    if len(names) > MAX_CHANNELS:
        raise ChannelInvalid(f"At most {MAX_CHANNELS} channels per stream")
    return list(dict.fromkeys(parse_channel(name) for name in names))


def _refuse(channel: Channel) -> ChannelForbidden:
    return ChannelForbidden(f"You may not follow {channel}", channel=str(channel))


def check_staff_channel(principal: TenantPrincipal, channel: Channel, *, clinic_id: uuid.UUID) -> None:
    """`clinic:` and `queue:` channels: staff with a grant that reads this clinic's appointments."""
    if not principal.can(Permission.APPOINTMENTS_READ, clinic_id=clinic_id):
        raise _refuse(channel)


def check_patient_channel(principal: TenantPrincipal, channel: Channel) -> None:
    """`patient:` channels: one's own only."""
    if channel.id != principal.user_id:
        raise _refuse(channel)


def check_display_channel(location_id: uuid.UUID, channel: Channel) -> None:
    """A display follows its own location's queue and nothing else."""
    if channel != Channel(Kind.QUEUE, location_id):
        raise _refuse(channel)


def display_data(event: StoredEvent) -> dict[str, Any]:
    """What a location display sees of an event: DISPLAY_FIELDS only."""
    return {key: value for key, value in event.data.items() if key in DISPLAY_FIELDS}
