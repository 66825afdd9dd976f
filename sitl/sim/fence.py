"""Geofence as ArduCopter's AC_Fence checks it: altitude max, home circle, uploaded polygons and
circles (inclusion and exclusion).

Validation is ArduPilot's (latitudes, vertex counts and radii: a bow-tie polygon is
accepted). Geometry runs on the local flat-earth frame of physics.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntFlag

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .mission_server import StoredItem
from .physics import ne_offset_m

__all__ = ["Breach", "FenceGeometry", "parse_fence", "validate_fence"]

M = mavlink
_POLY_IN = M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
_POLY_OUT = M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
_CIRCLE_IN = M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
_CIRCLE_OUT = M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION


class Breach(IntFlag):
    """AC_Fence breach bits (FENCE_TYPE bits)."""

    NONE = 0
    ALT_MAX = 1
    CIRCLE = 2
    POLYGON = 4
    ALT_MIN = 8


@dataclass(frozen=True, slots=True)
class FenceGeometry:
    """Parsed fence: polygons as lat/lon vertex tuples, circles as (lat, lon, radius_m)."""

    inclusion_polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    exclusion_polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    inclusion_circles: tuple[tuple[float, float, float], ...] = ()
    exclusion_circles: tuple[tuple[float, float, float], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.inclusion_polygons or self.exclusion_polygons
                    or self.inclusion_circles or self.exclusion_circles)


def validate_fence(items: list[StoredItem]) -> list[str]:
    """ArduPilot's checks on an uploaded fence: error texts, empty when it is accepted."""
    if any(abs(item.lat) > 90.0 or abs(item.lon) > 180.0 for item in items):
        return ["Bad lat or lon", "Fence validation failed"]
    i = 0
    while i < len(items):
        item = items[i]
        if item.command in (_POLY_IN, _POLY_OUT):
            count = int(item.param1)
            if count < 3:
                return [f"Invalid vertex count ({count})", "Fence validation failed"]
            group = items[i:i + count]
            if len(group) < count or any(g.command != item.command for g in group):
                return ["Incorrect item count", "Fence validation failed"]
            i += count
            continue
        if item.command in (_CIRCLE_IN, _CIRCLE_OUT) and not item.param1 > 0:
            # SITL 4.7's text; an infinite radius passes (the item checks refused NaN).
            return ["Non-positive circle radius", "Fence validation failed"]
        i += 1
    return []


def parse_fence(items: list[StoredItem]) -> FenceGeometry:
    """Group validated fence items into polygons and circles."""
    inc_p: list[tuple[tuple[float, float], ...]] = []
    exc_p: list[tuple[tuple[float, float], ...]] = []
    inc_c: list[tuple[float, float, float]] = []
    exc_c: list[tuple[float, float, float]] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.command in (_POLY_IN, _POLY_OUT):
            count = max(1, int(item.param1))
            poly = tuple((g.lat, g.lon) for g in items[i:i + count])
            (inc_p if item.command == _POLY_IN else exc_p).append(poly)
            i += count
            continue
        if item.command == _CIRCLE_IN:
            inc_c.append((item.lat, item.lon, item.param1))
        elif item.command == _CIRCLE_OUT:
            exc_c.append((item.lat, item.lon, item.param1))
        i += 1
    return FenceGeometry(tuple(inc_p), tuple(exc_p), tuple(inc_c), tuple(exc_c))


def _inside_polygon(lat: float, lon: float, poly: tuple[tuple[float, float], ...]) -> bool:
    # Even-odd rule in the local frame of the point (the same crossing test AP_Math uses).
    pts = [ne_offset_m(lat, lon, p[0], p[1]) for p in poly]
    inside = False
    j = len(pts) - 1
    for i in range(len(pts)):
        ni, ei = pts[i]
        nj, ej = pts[j]
        if (ni > 0) != (nj > 0):
            e_cross = ei + (0 - ni) * (ej - ei) / (nj - ni)
            if e_cross > 0:
                inside = not inside
        j = i
    return inside


def _dist_m(lat0: float, lon0: float, lat: float, lon: float) -> float:
    # ArduPilot's Location::get_distance: 1e-7 deg = 0.011131884502145034 m, longitude
    # scaled at the mean latitude (its fence checks use it, not the ellipsoid).
    dlat = (lat - lat0) * 1e7
    dlon = (lon - lon0) * 1e7 * max(0.01, math.cos(math.radians((lat0 + lat) / 2)))
    return math.hypot(dlat, dlon) * 0.011131884502145034


def check_breaches(geom: FenceGeometry, fence_type: int, lat: float, lon: float, alt_rel_m: float,
                   home: tuple[float, float] | None, radius_m: float, alt_max_m: float) -> Breach:
    """Breaches of the enabled fence types at a position (alt relative to home)."""
    breach = Breach.NONE
    if fence_type & Breach.ALT_MAX and alt_rel_m > alt_max_m:
        breach |= Breach.ALT_MAX
    if fence_type & Breach.CIRCLE and home is not None \
            and _dist_m(home[0], home[1], lat, lon) > radius_m:
        breach |= Breach.CIRCLE
    if fence_type & Breach.POLYGON:
        outside = any(not _inside_polygon(lat, lon, p) for p in geom.inclusion_polygons)
        outside = outside or any(
            _dist_m(c[0], c[1], lat, lon) > c[2] for c in geom.inclusion_circles)
        inside_excl = any(_inside_polygon(lat, lon, p) for p in geom.exclusion_polygons)
        inside_excl = inside_excl or any(
            _dist_m(c[0], c[1], lat, lon) < c[2] for c in geom.exclusion_circles)
        if outside or inside_excl:
            breach |= Breach.POLYGON
    return breach


def segment_enters_exclusion(geom: FenceGeometry, lat: float, lon: float) -> bool:
    """True when the point lies inside an exclusion zone (GUIDED targets there are ignored)."""
    if any(_inside_polygon(lat, lon, p) for p in geom.exclusion_polygons):
        return True
    return any(_dist_m(c[0], c[1], lat, lon) < c[2] for c in geom.exclusion_circles)


__all__ += ["check_breaches", "segment_enters_exclusion"]
