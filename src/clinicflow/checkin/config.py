"""What check-in's use cases need from the app: a clock, the QR keys, where codes point,
and the scan rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.checkin.qr import QrKeys
from clinicflow.platform.clock import Clock


@dataclass(frozen=True)
class CheckInConfig:
    clock: Clock
    qr: QrKeys
    public_url: str
    rate_per_patient: str  # `limits` notation, e.g. "10/minute"
    rate_per_location: str
