"""Flat-earth helpers for the scripted backend (small areas only; the real planner uses pyproj).

>>> round(distance_m(LatLon(-35.0, 149.0), LatLon(-35.0, 149.01)))
912
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from planner.model import LatLon

__all__ = [
    "bearing_deg",
    "distance_m",
    "move_towards",
    "point_in_ring",
    "route_length_m",
    "segment_hits_circle",
]

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


def _xy(origin: LatLon, p: LatLon) -> tuple[float, float]:
    coslat = math.cos(math.radians(origin.lat))
    return (p.lon - origin.lon) * _M_PER_DEG_LON_EQ * coslat, (p.lat - origin.lat) * _M_PER_DEG_LAT


def _from_xy(origin: LatLon, x: float, y: float) -> LatLon:
    coslat = math.cos(math.radians(origin.lat))
    return LatLon(origin.lat + y / _M_PER_DEG_LAT, origin.lon + x / (_M_PER_DEG_LON_EQ * coslat))


def distance_m(a: LatLon, b: LatLon) -> float:
    x, y = _xy(a, b)
    return math.hypot(x, y)


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Course from a to b, degrees clockwise from north."""
    x, y = _xy(a, b)
    return math.degrees(math.atan2(x, y)) % 360.0


def move_towards(a: LatLon, b: LatLon, step_m: float) -> tuple[LatLon, bool]:
    """Move from a towards b by step_m; returns the new point and whether b was reached."""
    x, y = _xy(a, b)
    d = math.hypot(x, y)
    if d <= step_m or d == 0.0:
        return b, True
    f = step_m / d
    return _from_xy(a, x * f, y * f), False


def route_length_m(points: Sequence[LatLon]) -> float:
    return sum(distance_m(a, b) for a, b in itertools.pairwise(points))


def point_in_ring(p: LatLon, ring: Sequence[LatLon]) -> bool:
    """Even-odd test in degrees (fine for small rings)."""
    inside = False
    n = len(ring)
    for i in range(n):
        a, b = ring[i], ring[(i + 1) % n]
        if (a.lat > p.lat) != (b.lat > p.lat):
            x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat)
            if p.lon < x:
                inside = not inside
    return inside


def segment_hits_circle(a: LatLon, b: LatLon, center: LatLon, radius_m: float) -> LatLon | None:
    """None when the segment a-b stays outside the circle, else a detour point beside the
    circle (on the side of the segment's closest approach) at 1.3 radii from the centre."""
    ax, ay = _xy(center, a)
    bx, by = _xy(center, b)
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    t = 0.0 if seg2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / seg2))
    cx, cy = ax + t * dx, ay + t * dy
    dist = math.hypot(cx, cy)
    if dist >= radius_m:
        return None
    if dist < 1.0:  # passes through the centre: go round on the left of the track
        cx, cy, dist = -dy, dx, math.hypot(dx, dy) or 1.0
    k = 1.3 * radius_m / dist
    return _from_xy(center, cx * k, cy * k)
