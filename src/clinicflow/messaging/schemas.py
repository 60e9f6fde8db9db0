"""Messaging API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    PUSH = "push"


class OutboxMessageRead(BaseModel):
    id: uuid.UUID
    channel: str
    recipient: str
    template: str
    payload: dict[str, Any]
    user_id: uuid.UUID | None
    created_at: datetime
