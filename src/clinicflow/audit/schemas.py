"""Audit API shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from clinicflow.errors import FieldProblem, ValidationFailed


class AuditEventRead(BaseModel):
    id: uuid.UUID
    at: datetime
    tenant_id: uuid.UUID | None
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    subject_type: str
    subject_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    details: dict[str, Any]
    request_id: str | None
    client_address: str | None


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor_id: uuid.UUID | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValidationFailed(
                "The range is empty", errors=[FieldProblem(field="until", message="must be after since")]
            )
