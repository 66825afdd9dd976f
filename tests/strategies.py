"""Shared Hypothesis strategies for the planner's domain values.

Everything is generated around a centre in metres (bearing and distance, or shapes drawn in a
local frame) and converted to WGS84, so the shapes are valid by construction: polygons are
star-shaped around their own centre with well-separated angles, circles have a positive radius,
bands have floor < ceiling. Keep them general: several test modules build on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from planner.geo import LocalFrame, destination
from planner.model import Airspace, Depot, LatLon, NoFlyZone, Order

__all__ = [
    "Scene",
    "SortieDay",
    "airspaces",
    "bands",
    "centres",
    "circle_zones",
    "latlons",
    "no_fly_zones",
    "operating_areas",
    "points_near",
    "polygon_rings",
    "polygon_zones",
    "scenes",
    "sortie_days",
]


def latlons(max_abs_lat: float = 80.0) -> st.SearchStrategy[LatLon]:
    """Any position with |lat| <= max_abs_lat."""
    return st.builds(
        LatLon,
        st.floats(-max_abs_lat, max_abs_lat, allow_nan=False),
        st.floats(-180.0, 180.0, allow_nan=False),
    )


def centres() -> st.SearchStrategy[LatLon]:
    """Centres of test scenes: away from the poles and the antimeridian."""
    return st.builds(
        LatLon,
        st.floats(-60.0, 60.0, allow_nan=False),
        st.floats(-170.0, 170.0, allow_nan=False),
    )


# Strategies built once: building them inside composites costs more than drawing from them.
_BEARING = st.floats(0.0, 360.0, exclude_max=True)
_UNIT = st.floats(0.0, 1.0)
_JITTER = st.floats(-0.3, 0.3)


def _near(draw: st.DrawFn, centre: LatLon, min_m: float, max_m: float) -> LatLon:
    return destination(centre, draw(_BEARING), min_m + (max_m - min_m) * draw(_UNIT))


@st.composite
def points_near(draw: st.DrawFn, centre: LatLon, max_m: float, min_m: float = 0.0) -> LatLon:
    """Positions between ``min_m`` and ``max_m`` metres from ``centre``."""
    return _near(draw, centre, min_m, max_m)


@st.composite
def polygon_rings(
    draw: st.DrawFn,
    centre: LatLon,
    min_radius_m: float = 50.0,
    max_radius_m: float = 600.0,
    max_vertices: int = 9,
    min_vertices: int = 3,
) -> tuple[LatLon, ...]:
    """A simple polygon (open ring, CCW or CW) star-shaped around ``centre``.

    Vertices sit at distinct angles (jitter below half the spacing) and radii in range, so the
    ring never self-intersects; concave shapes arise from uneven radii.
    """
    n = draw(st.integers(min_vertices, max_vertices))
    step = 2.0 * math.pi / n
    phase = step * draw(_UNIT)
    jitter = np.array(draw(st.lists(_JITTER, min_size=n, max_size=n)))
    share = np.array(draw(st.lists(_UNIT, min_size=n, max_size=n)))
    angles = phase + step * (np.arange(n) + jitter)
    radii = min_radius_m + (max_radius_m - min_radius_m) * share
    lats, lons = LocalFrame(centre).to_latlon_array(radii * np.cos(angles), radii * np.sin(angles))
    points = [LatLon(float(la), float(lo)) for la, lo in zip(lats, lons, strict=True)]
    if draw(st.booleans()):
        points.reverse()
    return tuple(points)


_BANDS = [
    (floor, ceiling)
    for floor in (0.0, 30.0, 60.0, 90.0, 150.0)
    for ceiling in (45.0, 80.0, 120.0, 200.0, math.inf)
    if ceiling > floor
]


def bands() -> st.SearchStrategy[tuple[float, float]]:
    """An altitude band (floor_m, ceiling_m) AGL: mostly ground to unlimited."""
    return st.one_of(st.just((0.0, math.inf)), st.sampled_from(_BANDS))


@st.composite
def polygon_zones(
    draw: st.DrawFn, centre: LatLon, spread_m: float, zone_id: str = "p"
) -> NoFlyZone:
    """A polygon zone (one or two rings) within ``spread_m`` of ``centre``."""
    rings = []
    for _ in range(draw(st.integers(1, 2))):
        at = _near(draw, centre, 0.0, spread_m)
        rings.append(draw(polygon_rings(at)))
    floor, ceiling = draw(bands())
    return NoFlyZone(zone_id, f"zone {zone_id}", tuple(rings), floor_m=floor, ceiling_m=ceiling)


@st.composite
def circle_zones(draw: st.DrawFn, centre: LatLon, spread_m: float, zone_id: str = "c") -> NoFlyZone:
    """A circular zone within ``spread_m`` of ``centre``."""
    at = _near(draw, centre, 0.0, spread_m)
    radius = 30.0 + 470.0 * draw(_UNIT)
    floor, ceiling = draw(bands())
    return NoFlyZone(
        zone_id,
        f"zone {zone_id}",
        circle_center=at,
        circle_radius_m=radius,
        floor_m=floor,
        ceiling_m=ceiling,
    )


def no_fly_zones(centre: LatLon, spread_m: float, zone_id: str) -> st.SearchStrategy[NoFlyZone]:
    """A polygon or circle zone within ``spread_m`` of ``centre``."""
    return st.one_of(
        polygon_zones(centre, spread_m, zone_id), circle_zones(centre, spread_m, zone_id)
    )


@st.composite
def operating_areas(draw: st.DrawFn, centre: LatLon, radius_m: float) -> tuple[LatLon, ...]:
    """A large, possibly concave operating area around ``centre`` (open ring)."""
    return draw(polygon_rings(centre, 0.8 * radius_m, 1.3 * radius_m, 12, min_vertices=6))


@dataclass(frozen=True)
class Scene:
    """An airspace and where it is: endpoints are drawn within ``spread_m`` of ``centre``."""

    centre: LatLon
    airspace: Airspace
    spread_m: float


@st.composite
def airspaces(
    draw: st.DrawFn,
    centre: LatLon,
    spread_m: float = 2000.0,
    max_zones: int = 6,
    area: bool | None = None,
) -> Airspace:
    """Random zones around ``centre`` and, optionally, an operating area.

    Args:
        centre: the middle of the scene.
        spread_m: zone centres lie within this distance of ``centre``.
        max_zones: at most this many zones (at least one).
        area: True always draws an operating area, False never, None either.
    """
    n = draw(st.integers(1, max_zones))
    zones = tuple(draw(no_fly_zones(centre, spread_m, f"z{k}")) for k in range(n))
    with_area = draw(st.booleans()) if area is None else area
    ring = draw(operating_areas(centre, 1.6 * spread_m)) if with_area else None
    return Airspace(zones=zones, operating_area=ring)


@st.composite
def scenes(
    draw: st.DrawFn, spread_m: float = 2000.0, max_zones: int = 6, area: bool | None = None
) -> Scene:
    """A centre somewhere on Earth and an airspace around it."""
    centre = draw(centres())
    return Scene(centre, draw(airspaces(centre, spread_m, max_zones, area)), spread_m)


@dataclass(frozen=True)
class SortieDay:
    """Depots a few kilometres apart, how many drones each has, and orders from them."""

    depots: tuple[Depot, ...]
    drones_per_depot: tuple[int, ...]
    orders: tuple[Order, ...]
    """By ``created_s``; drop-offs within ``reach_m`` of their depot."""


@st.composite
def sortie_days(
    draw: st.DrawFn,
    max_depots: int = 3,
    max_drones: int = 3,
    max_orders: int = 10,
    spread_m: float = 3000.0,
    reach_m: float = 4000.0,
    span_s: float = 900.0,
) -> SortieDay:
    """Sorties from shared depots: 1-``max_depots`` depots within ``spread_m`` of a centre,
    1-``max_drones`` drones at each, and orders placed over ``span_s`` seconds (often several
    at once, so that launches, routes and landings compete for the same airspace)."""
    centre = draw(centres())
    n = draw(st.integers(1, max_depots))
    depots = tuple(
        Depot(f"D{i}", _near(draw, centre, 0.0, spread_m) if i else centre) for i in range(n)
    )
    drones = tuple(draw(st.integers(1, max_drones)) for _ in depots)
    count = draw(st.integers(2, max_orders))
    orders = []
    t = 0.0
    for i in range(count):
        t += draw(st.sampled_from([0.0, 0.0, 30.0])) or span_s * draw(_UNIT) / count
        depot = draw(st.sampled_from(depots))
        dropoff = _near(draw, depot.position, 500.0, reach_m)
        orders.append(Order(f"o{i}", depot.id, dropoff, draw(st.floats(0.2, 2.0)), created_s=t))
    return SortieDay(depots, drones, tuple(orders))
