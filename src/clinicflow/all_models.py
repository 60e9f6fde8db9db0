"""Imports every domain's models so that `Base.metadata` knows all tables (Alembic, tests)."""

from __future__ import annotations

import clinicflow.audit.models
import clinicflow.checkin.models
import clinicflow.identity.models
import clinicflow.messaging.models
import clinicflow.platform.idempotency_models
import clinicflow.platform.realtime.models
import clinicflow.realtime.models
import clinicflow.scheduling.models
import clinicflow.tenancy.models
import clinicflow.waitlist.models  # noqa: F401
from clinicflow.platform.db.base import Base

metadata = Base.metadata
