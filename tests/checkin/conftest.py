"""A practice (clinic, doctor working every day, patient, reception, admin) for check-in tests."""

from __future__ import annotations

import httpx
import pytest

from clinicflow.platform.db import Database
from tests.scheduling.conftest import Practice, make_practice


@pytest.fixture
async def practice(database: Database, client: httpx.AsyncClient) -> Practice:
    p = await make_practice(database, client)
    await p.set_availability(client)
    return p
