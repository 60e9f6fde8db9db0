"""Real time API schemas."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TicketRead(BaseModel):
    """A single-use ticket for `GET /api/v1/events/stream?ticket=…`, valid until `expires_at`."""

    ticket: str
    expires_at: datetime


class DisplayTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: uuid.UUID
    valid_days: int = Field(default=365, ge=1, le=3650)


class DisplayTokenRead(BaseModel):
    """For a location's screen: `GET /api/v1/events/stream?channels=queue:<location_id>&display_token=…`."""

    token: str
    location_id: uuid.UUID
    channel: str
    expires_at: datetime
