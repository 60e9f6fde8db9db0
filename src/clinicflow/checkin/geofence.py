"""Is the scanning phone near the location? Pure functions: no clock, no database.

Distance is the haversine great-circle distance on a sphere of the Earth's mean radius
(IUGG, 6,371,008.8 m): within 0.5 % of the ellipsoid, far below a phone's GPS error
and the 10 m smallest radius a location may set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from clinicflow.checkin.errors import OutsideGeofence
from clinicflow.checkin.models import GeofenceMode

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Metres between two points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Fence:
    mode: GeofenceMode
    latitude: Decimal | None
    longitude: Decimal | None
    radius_m: int | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the check-in records: the distance (when a position was sent) and the flag."""

    distance_m: int | None
    outside: bool


def judge(fence: Fence, latitude: float | None, longitude: float | None) -> Verdict:
    """`off`: nothing recorded. `warn`: the distance and whether it is outside, recorded, never
    refused. `enforce`: OUTSIDE_GEOFENCE when outside the radius or when no position is sent."""
    if fence.mode is GeofenceMode.OFF or fence.latitude is None or fence.longitude is None:
        return Verdict(None, False)
    assert fence.radius_m is not None  # a database check keeps centre and radius together
    if latitude is None or longitude is None:
        if fence.mode is GeofenceMode.ENFORCE:
            raise OutsideGeofence(
                "Share your position to check in here", radius_m=fence.radius_m, position_missing=True
            )
        return Verdict(None, False)
    metres = round(distance_m(float(fence.latitude), float(fence.longitude), latitude, longitude))
    outside = metres > fence.radius_m
    if outside and fence.mode is GeofenceMode.ENFORCE:
        raise OutsideGeofence(
            f"You are {metres} m from the clinic; check in within {fence.radius_m} m",
            distance_m=metres,
            radius_m=fence.radius_m,
            position_missing=False,
        )
    return Verdict(metres, outside)
