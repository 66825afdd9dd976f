"""Geofence as ArduCopter's AC_Fence checks it: altitude max, home circle, uploaded polygons and
circles (inclusion and exclusion).

Validation is ArduPilot's (latitudes, vertex counts and radii: a bow-tie polygon is
accepted). Polygons are tested in degrees (the flat-earth frame of physics.py scaled, which
keeps every crossing) behind a bounding box; circles use ArduPilot's distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntFlag

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .mission_server import StoredItem
from .physics import ne_offset_m, offset_latlon, segment_distance_m

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
class _Ring:
    """A polygon ready for the crossing test: its vertices' latitudes and longitudes and its
    bounding box (a point outside the box is outside the polygon)."""

    lats: tuple[float, ...]
    lons: tuple[float, ...]
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    @classmethod
    def of(cls, poly: tuple[tuple[float, float], ...]) -> _Ring:
        lats = tuple(p[0] for p in poly)
        lons = tuple(p[1] for p in poly)
        return cls(lats, lons, min(lats), max(lats), min(lons), max(lons))

    def contains(self, lat: float, lon: float) -> bool:
        # Even-odd rule, the crossing test AP_Math's Polygon_outside uses. ArduPilot runs it on
        # north/east offsets; those are lat/lon scaled by positive constants (the flat earth of
        # physics.py at the point), an affine map that keeps every crossing, so the test runs
        # on degrees and skips the trigonometry per vertex.
        if not (self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max):
            return False
        lats, lons = self.lats, self.lons
        inside = False
        j = len(lats) - 1
        for i in range(len(lats)):
            ni, nj = lats[i] - lat, lats[j] - lat
            if (ni > 0) != (nj > 0):
                ei, ej = lons[i] - lon, lons[j] - lon
                if ei - ni * (ej - ei) / (nj - ni) > 0:
                    inside = not inside
            j = i
        return inside


@dataclass(frozen=True, slots=True)
class FenceGeometry:
    """Parsed fence: polygons as lat/lon vertex tuples, circles as (lat, lon, radius_m)."""

    inclusion_polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    exclusion_polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    inclusion_circles: tuple[tuple[float, float, float], ...] = ()
    exclusion_circles: tuple[tuple[float, float, float], ...] = ()
    _inclusion_rings: tuple[_Ring, ...] = field(init=False, repr=False, compare=False)
    _exclusion_rings: tuple[_Ring, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_inclusion_rings",
                           tuple(_Ring.of(p) for p in self.inclusion_polygons))
        object.__setattr__(self, "_exclusion_rings",
                           tuple(_Ring.of(p) for p in self.exclusion_polygons))

    @property
    def empty(self) -> bool:
        return not (self.inclusion_polygons or self.exclusion_polygons
                    or self.inclusion_circles or self.exclusion_circles)

    def outside_inclusion(self, lat: float, lon: float) -> bool:
        """True when the point is outside any inclusion polygon or circle."""
        if any(not r.contains(lat, lon) for r in self._inclusion_rings):
            return True
        return any(_dist_m(c[0], c[1], lat, lon) > c[2] for c in self.inclusion_circles)

    def inside_exclusion(self, lat: float, lon: float) -> bool:
        """True when the point is inside an exclusion polygon or circle."""
        if any(r.contains(lat, lon) for r in self._exclusion_rings):
            return True
        return any(_dist_m(c[0], c[1], lat, lon) < c[2] for c in self.exclusion_circles)


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
    if fence_type & Breach.POLYGON and (geom.outside_inclusion(lat, lon)
                                        or geom.inside_exclusion(lat, lon)):
        breach |= Breach.POLYGON
    return breach


def segment_enters_exclusion(geom: FenceGeometry, lat: float, lon: float) -> bool:
    """True when the point lies inside an exclusion zone (GUIDED targets there are ignored)."""
    return geom.inside_exclusion(lat, lon)


# What a copter may move, against the metres of a fence circle, before check_breaches' answer
# can change: ArduPilot's circle distance scales longitude at the mean latitude, the frame of
# physics.py at its start, so metres differ by a fraction of a percent across a city.
_CIRCLE_SHARE = 0.95
_SLACK_M = 0.05
FenceInputs = tuple[int, float, float, tuple[float, float] | None, float]


@dataclass(slots=True)
class FenceMemo:
    """``check_breaches``' answer at one point of a copter's flat-earth frame (physics.py, from
    its start) and the horizontal and vertical distances from there within which it stays
    the same: no polygon edge, circle or ceiling is nearer. AC_Fence checks at 25 Hz; the
    simulator steps at 50 and would test every polygon each step, so it tests again only
    when the copter has left that box (or the fence, its parameters or home changed).
    """

    geom: FenceGeometry
    inputs: FenceInputs
    """FENCE_TYPE, FENCE_RADIUS, FENCE_ALT_MAX, home (lat, lon), home's height in the frame."""
    breaches: Breach
    at: tuple[float, float, float]
    horizontal_m: float
    vertical_m: float

    def holds(self, geom: FenceGeometry, inputs: FenceInputs,
              n: float, e: float, up: float) -> bool:
        """True when ``breaches`` is still the answer at (n, e, up) with these inputs."""
        dn, de = n - self.at[0], e - self.at[1]
        return (dn * dn + de * de < self.horizontal_m * self.horizontal_m
                and abs(up - self.at[2]) < self.vertical_m
                and geom is self.geom and inputs == self.inputs)


def fence_memo(geom: FenceGeometry, inputs: FenceInputs, origin: tuple[float, float],
               at: tuple[float, float, float]) -> FenceMemo:
    """``check_breaches`` at ``at`` (north, east, up metres from ``origin``), and how far from
    there it holds."""
    fence_type, radius_m, alt_max_m, home, home_up_m = inputs
    n, e, up = at
    lat, lon = offset_latlon(origin[0], origin[1], n, e)
    alt_rel_m = up - home_up_m
    breaches = check_breaches(geom, fence_type, lat, lon, alt_rel_m, home, radius_m, alt_max_m)
    vertical = abs(alt_max_m - alt_rel_m) if fence_type & Breach.ALT_MAX else math.inf
    circles = [abs(_dist_m(c[0], c[1], lat, lon) - c[2]) for c in
               (geom.inclusion_circles + geom.exclusion_circles
                if fence_type & Breach.POLYGON else ())]
    if fence_type & Breach.CIRCLE and home is not None:
        circles.append(abs(_dist_m(home[0], home[1], lat, lon) - radius_m))
    horizontal = _CIRCLE_SHARE * min(circles, default=math.inf)
    if fence_type & Breach.POLYGON:
        for poly in geom.inclusion_polygons + geom.exclusion_polygons:
            pts = [ne_offset_m(origin[0], origin[1], v[0], v[1]) for v in poly]
            horizontal = min(horizontal, *(segment_distance_m((n, e), pts[i - 1], pts[i])
                                           for i in range(len(pts))))
    return FenceMemo(geom, inputs, breaches, at, horizontal - _SLACK_M, vertical - _SLACK_M)


__all__ += ["FenceMemo", "check_breaches", "fence_memo", "segment_enters_exclusion"]
