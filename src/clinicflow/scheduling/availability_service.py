"""Availability use cases, by the names other domains and the routes call them.

Plans are in `plans.py`, time off in `time_off.py`, free slots in `slot_search.py`;
this module is their one public surface.
"""

from __future__ import annotations

from clinicflow.scheduling.plans import get_availability, put_availability, require_doctor_at
from clinicflow.scheduling.slot_search import (
    MAX_SLOT_RANGE,
    decode_slot_cursor,
    encode_slot_cursor,
    free_slots_for,
    free_slots_page,
)
from clinicflow.scheduling.time_off import add_time_off, list_time_off, remove_time_off

__all__ = [
    "MAX_SLOT_RANGE",
    "add_time_off",
    "decode_slot_cursor",
    "encode_slot_cursor",
    "free_slots_for",
    "free_slots_page",
    "get_availability",
    "list_time_off",
    "put_availability",
    "remove_time_off",
    "require_doctor_at",
]
