"""No-fly zones and the operating area in a metric frame, inflated by a safety margin.

``PreparedAirspace`` projects an ``Airspace`` once into a ``LocalFrame``: every zone becomes a
shapely polygon in metres (circles become a circumscribed regular polygon, so the polygon
contains the circle), inflated by the safety margin with mitred corners (mitred offsets contain
the round offset, with few vertices), and the operating area is deflated by the same margin.
For a selection of active zones, ``obstacles`` gives what the router needs: the union of the
inflated zones plus everything outside the deflated area, its convex corners, and a spatial
index that tells whether straight legs cross it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from planner.errors import InvalidInput
from planner.geo import LocalFrame
from planner.model import Airspace, LatLon, NoFlyZone

__all__ = [
    "CIRCLE_SIDES",
    "MAX_MARGIN_M",
    "MAX_ZONE_RADIUS_M",
    "MITRE_LIMIT",
    "TOUCH_TOLERANCE_M",
    "Obstacles",
    "PreparedAirspace",
    "PreparedZone",
    "ZoneHit",
    "area_polygon",
    "circumscribed_circle",
]

CIRCLE_SIDES = 24
"""Sides of the regular polygon that stands in for a circular zone (radius error < 0.9 %)."""
MITRE_LIMIT = 2.0
"""Mitre limit for inflating: corners sharper than ~60 degrees are squared off at twice the
margin, which still contains the round offset but keeps spikes bounded."""
MAX_ZONE_RADIUS_M = 100_000.0
"""Largest circular zone, metres: a 100 km radius covers any controlled airspace a delivery
flight meets (a 1e308 m circle made GEOS fail on infinite coordinates)."""
MAX_MARGIN_M = 10_000.0
"""Largest safety margin round the zones, metres (a 1e308 m margin made GEOS fail)."""
TOUCH_TOLERANCE_M = 1e-3
"""Obstacles are shrunk by this much before blocking tests, so legs that run along an edge or
touch a corner (as every shortest path does) are allowed."""

FloatArray = npt.NDArray[np.float64]
Geometry: TypeAlias = Polygon | MultiPolygon


def circumscribed_circle(x: float, y: float, radius_m: float, sides: int = CIRCLE_SIDES) -> Polygon:
    """A regular polygon that contains the circle: its edges are tangent to the circle.

    >>> poly = circumscribed_circle(0.0, 0.0, 100.0)
    >>> poly.buffer(1e-9).covers(Point(0.0, 0.0).buffer(100.0, quad_segs=64))
    True
    """
    if sides < 3:
        raise InvalidInput("sides", f"a polygon needs at least 3 sides, got {sides}")
    outer = radius_m / math.cos(math.pi / sides)
    angles = np.arange(sides) * (2.0 * math.pi / sides)
    return Polygon(np.column_stack([x + outer * np.cos(angles), y + outer * np.sin(angles)]))


def _inflate(geom: Geometry, margin_m: float) -> Geometry:
    if margin_m == 0.0:
        return geom
    return geom.buffer(margin_m, join_style="mitre", mitre_limit=MITRE_LIMIT)


def _ring_polygon(frame: LocalFrame, ring: Sequence[LatLon], field_name: str) -> Polygon:
    if len(ring) < 3:
        raise InvalidInput(field_name, f"a polygon needs at least 3 points, got {len(ring)}")
    poly = Polygon(frame.points_to_xy(ring))
    if not poly.is_valid:
        raise InvalidInput(field_name, f"invalid polygon: {shapely.is_valid_reason(poly)}")
    if poly.area <= 0.0:
        raise InvalidInput(field_name, "polygon has no area")
    return poly


def area_polygon(frame: LocalFrame, ring: Sequence[LatLon]) -> Polygon:
    """The operating area's polygon in metres.

    Raises:
        InvalidInput: when the ring is degenerate or self-intersecting.
    """
    return _ring_polygon(frame, ring, "operating_area")


@dataclass(frozen=True)
class PreparedZone:
    """One no-fly zone in metres: its raw shape and its shape inflated by the margin."""

    index: int
    """Position in ``Airspace.zones``."""
    zone: NoFlyZone
    raw: Geometry
    """The zone as drawn (circles: the circumscribed polygon)."""
    inflated: Geometry
    circle_xy: tuple[float, float] | None = None
    """Centre of a circular zone in metres, for exact distances to its edge."""

    @property
    def label(self) -> str:
        """How reasons name the zone: ``'name' (id x)`` or ``id x``."""
        name = self.zone.name
        return f"{name!r} (id {self.zone.id})" if name else f"id {self.zone.id}"

    def clearance_m(self, x: float, y: float) -> float:
        """Signed distance from the zone's drawn edge: positive outside, negative inside."""
        if self.circle_xy is not None and self.zone.circle_radius_m is not None:
            cx, cy = self.circle_xy
            return math.hypot(x - cx, y - cy) - self.zone.circle_radius_m
        point = Point(x, y)
        if self.raw.contains(point):
            return -float(self.raw.boundary.distance(point))
        return float(self.raw.distance(point))


@dataclass(frozen=True)
class ZoneHit:
    """A point inside a zone's inflated shape, and how close it is to the zone's drawn edge."""

    zone: PreparedZone
    clearance_m: float
    """Signed distance from the drawn edge, metres: positive outside the zone, negative inside."""


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [p for p in geom.geoms if not p.is_empty]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def _ring_corners(coords: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Convex corners of a ring oriented with the obstacle on its left, with neighbours."""
    pts = coords[:-1]
    prev = np.roll(pts, 1, axis=0)
    nxt = np.roll(pts, -1, axis=0)
    d1 = pts - prev
    d2 = nxt - pts
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    # A left turn with the obstacle on the left is a corner poking into free space: only there
    # can a shortest path bend. Tiny turns are rounding noise from the union/buffer.
    scale = np.hypot(d1[:, 0], d1[:, 1]) * np.hypot(d2[:, 0], d2[:, 1])
    keep = cross > 1e-12 * np.maximum(scale, 1e-12)
    return pts[keep], prev[keep], nxt[keep]


@dataclass(frozen=True, eq=False)
class Obstacles:
    """Everything a leg must not cross for one selection of active zones, in metres.

    ``geometry`` is the union of the active inflated zones and, with an operating area, of the
    region outside the deflated area (so staying inside is the same as avoiding obstacles).
    """

    geometry: Geometry
    corners: FloatArray
    """(n, 2) convex corners of the obstacles inside the deflated area: the graph's vertices."""
    prev: FloatArray
    """(n, 2) the ring neighbour before each corner."""
    next: FloatArray
    """(n, 2) the ring neighbour after each corner."""
    zone_indices: tuple[int, ...]
    """The active zones (positions in ``Airspace.zones``) this obstacle set was built from."""
    _boundary: BaseGeometry = field(repr=False)
    """Boundary of the obstacles shrunk by ``TOUCH_TOLERANCE_M``, prepared."""

    def blocked(self, a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
        """For legs ``a[i] -> b[i]`` ((m, 2) arrays), True where the leg crosses an obstacle.

        Legs that touch an obstacle's boundary (run along an edge, graze a corner) are free.
        """
        if len(a) == 0:
            return np.zeros(0, dtype=bool)
        legs = shapely.linestrings(np.stack([a, b], axis=1))
        return np.asarray(shapely.intersects(self._boundary, legs), dtype=bool)

    def contains(self, x: float, y: float) -> bool:
        """True when (x, y) is strictly inside an obstacle."""
        return bool(self.geometry.contains(Point(x, y)))


def _blocking_boundary(obstacles: Geometry) -> BaseGeometry:
    # A leg whose endpoints are outside a shrunk obstacle crosses it only by crossing its
    # boundary, and a prepared line geometry answers that with an index over its edges.
    if obstacles.is_empty:
        return shapely.MultiLineString()
    shrunk = obstacles.buffer(-TOUCH_TOLERANCE_M, join_style="mitre")
    boundary = shrunk.boundary
    shapely.prepare(boundary)
    return boundary


class PreparedAirspace:
    """An ``Airspace`` projected into a metric frame, with zones inflated by ``margin_m``.

    Args:
        airspace: the zones and optional operating area, in WGS84.
        margin_m: safety margin added around every zone and kept from the area's edge.
        frame: the metric frame; by default one centred on the airspace's geometry.

    Raises:
        InvalidInput: for a margin outside 0..10 km, or an unusable zone or area shape.
    """

    def __init__(
        self, airspace: Airspace, margin_m: float = 30.0, frame: LocalFrame | None = None
    ) -> None:
        if not isinstance(margin_m, (int, float)) or not 0 <= margin_m <= MAX_MARGIN_M:
            raise InvalidInput(
                "margin_m", f"must be a number within 0..{MAX_MARGIN_M:g} m, got {margin_m!r}"
            )
        self.airspace = airspace
        self.margin_m = float(margin_m)
        self.frame = frame or LocalFrame.for_points(_all_points(airspace) or [LatLon(0.0, 0.0)])
        self.zones = tuple(self._prepare(i, z) for i, z in enumerate(airspace.zones))
        self.area_raw: Polygon | None = None
        self.area: Geometry | None = None
        if airspace.operating_area is not None:
            self.area_raw = area_polygon(self.frame, airspace.operating_area)
            self.area = self.area_raw.buffer(
                -self.margin_m, join_style="mitre", mitre_limit=MITRE_LIMIT
            )
            shapely.prepare(self.area)
        self._obstacles: dict[tuple[int, ...], Obstacles] = {}
        self._inflated_tree = shapely.STRtree([z.inflated for z in self.zones])
        self._raw_tree = shapely.STRtree([z.raw for z in self.zones])

    def _prepare(self, index: int, zone: NoFlyZone) -> PreparedZone:
        where = f"zones[{index}] (id {zone.id})"
        if zone.is_circle:
            radius = zone.circle_radius_m
            if radius is None or not 0 < radius <= MAX_ZONE_RADIUS_M:
                raise InvalidInput(
                    f"{where}.circle_radius_m",
                    f"must be within 0 < radius <= {MAX_ZONE_RADIUS_M:g} m, got {radius!r}",
                )
            assert zone.circle_center is not None
            cx, cy = self.frame.to_xy(zone.circle_center)
            raw: Geometry = circumscribed_circle(cx, cy, radius)
            return PreparedZone(index, zone, raw, _inflate(raw, self.margin_m), (cx, cy))
        if not zone.polygons:
            raise InvalidInput(where, "a zone needs polygons or a circle")
        parts = [
            _ring_polygon(self.frame, ring, f"{where}.polygons[{k}]")
            for k, ring in enumerate(zone.polygons)
        ]
        raw = parts[0] if len(parts) == 1 else shapely.unary_union(parts)
        return PreparedZone(index, zone, raw, _inflate(raw, self.margin_m))

    def active_indices(self, low_agl_m: float, high_agl_m: float) -> tuple[int, ...]:
        """Positions of the zones whose altitude band overlaps [low, high] metres AGL."""
        return tuple(z.index for z in self.zones if z.zone.constrains(low_agl_m, high_agl_m))

    def active_zones(self, low_agl_m: float, high_agl_m: float) -> tuple[PreparedZone, ...]:
        """The zones whose altitude band overlaps [low, high] metres AGL."""
        return tuple(self.zones[i] for i in self.active_indices(low_agl_m, high_agl_m))

    def zones_containing(
        self, x: float, y: float, indices: Sequence[int], *, inflated: bool = True
    ) -> list[ZoneHit]:
        """The zones among ``indices`` whose inflated (or raw) shape strictly contains (x, y)."""
        point = Point(x, y)
        tree = self._inflated_tree if inflated else self._raw_tree
        # A point strictly inside a shape is "within" it; the tree only answers candidates.
        found = set(tree.query(point, predicate="within").tolist())
        return [
            ZoneHit(self.zones[i], self.zones[i].clearance_m(x, y)) for i in indices if i in found
        ]

    def area_clearance_m(self, x: float, y: float) -> float | None:
        """Signed distance from the operating area's edge: positive inside; None without one."""
        if self.area_raw is None:
            return None
        point = Point(x, y)
        if self.area_raw.covers(point):
            return float(self.area_raw.boundary.distance(point))
        return -float(self.area_raw.distance(point))

    def in_area(self, x: float, y: float) -> bool:
        """True when (x, y) is inside the deflated operating area (always without an area)."""
        return self.area is None or bool(self.area.covers(Point(x, y)))

    def obstacles(self, indices: Sequence[int]) -> Obstacles:
        """The obstacle set for the given active zones (cached per selection)."""
        key = tuple(sorted(set(indices)))
        if key not in self._obstacles:
            self._obstacles[key] = self._build_obstacles(key)
        return self._obstacles[key]

    def free_space(self, indices: Sequence[int], pad_m: float = 20_000.0) -> Geometry:
        """Where a flight constrained by the zones ``indices`` may be, in metres.

        The deflated operating area minus the inflated zones; without an area, a box reaching
        ``pad_m`` beyond every zone instead of the area.
        """
        inflated = shapely.unary_union([self.zones[i].inflated for i in indices])
        if self.area is not None:
            return self.area.difference(inflated)
        if inflated.is_empty:
            return shapely.box(-pad_m, -pad_m, pad_m, pad_m)
        minx, miny, maxx, maxy = inflated.bounds
        return shapely.box(minx - pad_m, miny - pad_m, maxx + pad_m, maxy + pad_m).difference(
            inflated
        )

    def _build_obstacles(self, key: tuple[int, ...]) -> Obstacles:
        inflated = shapely.unary_union([self.zones[i].inflated for i in key])
        if self.area is not None:
            minx, miny, maxx, maxy = (self.area_raw or self.area).bounds
            pad = 1000.0 + 4.0 * self.margin_m
            frame_box = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
            outside = frame_box.difference(self.area)
            inflated = shapely.unary_union([inflated.intersection(frame_box), outside])
        polys = [orient(p, sign=1.0) for p in _polygons(inflated)]
        geometry: Geometry = MultiPolygon(polys) if polys else Polygon()
        corners, prev, nxt = self._corners(polys)
        return Obstacles(geometry, corners, prev, nxt, key, _blocking_boundary(geometry))

    def _corners(self, polys: list[Polygon]) -> tuple[FloatArray, FloatArray, FloatArray]:
        found = [
            _ring_corners(np.asarray(ring.coords))
            for poly in polys
            for ring in (poly.exterior, *poly.interiors)
        ]
        if not found:
            empty = np.zeros((0, 2))
            return empty, empty, empty
        corners, prev, nxt = (np.concatenate(parts) for parts in zip(*found, strict=True))
        if self.area is not None:
            # Corners outside the deflated area (the padding box's, zones beyond the edge)
            # can never be reached.
            grown = self.area.buffer(TOUCH_TOLERANCE_M, join_style="mitre")
            shapely.prepare(grown)
            keep = shapely.covers(grown, shapely.points(corners))
            corners, prev, nxt = corners[keep], prev[keep], nxt[keep]
        return corners, prev, nxt


def _all_points(airspace: Airspace) -> list[LatLon]:
    points: list[LatLon] = []
    for zone in airspace.zones:
        if zone.circle_center is not None:
            points.append(zone.circle_center)
        for ring in zone.polygons:
            points.extend(ring)
    if airspace.operating_area:
        points.extend(airspace.operating_area)
    return points
