"""What scheduling's use cases need from the app: a clock and a video provider."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.platform.clock import Clock
from clinicflow.scheduling.video import VideoProvider


@dataclass(frozen=True)
class SchedulingConfig:
    clock: Clock
    video: VideoProvider
