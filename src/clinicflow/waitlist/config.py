"""What the waitlist's use cases run with."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.platform import runtime
from clinicflow.platform.clock import Clock
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.video import InPersonOnly


@dataclass(frozen=True)
class WaitlistConfig:
    clock: Clock
    scheduling: SchedulingConfig

    @classmethod
    def for_jobs(cls) -> WaitlistConfig:
        """Jobs' configuration: the process clock; holds are in person, so no video provider."""
        clock = runtime.clock()
        return cls(clock=clock, scheduling=SchedulingConfig(clock=clock, video=InPersonOnly()))
