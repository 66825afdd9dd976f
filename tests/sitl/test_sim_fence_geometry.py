"""The simulator's fence polygons answer as ArduPilot's crossing test does.

``FenceGeometry`` tests points in degrees behind a bounding box; ArduPilot (and this simulator
before) runs the even-odd test on north/east metres from the point. Both are compared here on
random simple polygons, with shapely as a third, independent opinion away from the edges.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon
from strategies import centres, points_near, polygon_rings

from planner.model import LatLon
from sitl.sim.fence import Breach, FenceGeometry, FenceInputs, check_breaches, fence_memo
from sitl.sim.physics import ne_offset_m, offset_latlon


def _local_frame_inside(lat: float, lon: float, ring: tuple[LatLon, ...]) -> bool:
    """The even-odd test on north/east offsets from the point (AP_Math's Polygon_outside)."""
    pts = [ne_offset_m(lat, lon, p.lat, p.lon) for p in ring]
    inside = False
    j = len(pts) - 1
    for i in range(len(pts)):
        (ni, ei), (nj, ej) = pts[i], pts[j]
        if (ni > 0) != (nj > 0) and ei - ni * (ej - ei) / (nj - ni) > 0:
            inside = not inside
        j = i
    return inside


@st.composite
def _scene(draw: st.DrawFn) -> tuple[tuple[LatLon, ...], list[LatLon]]:
    centre = draw(centres())
    ring = draw(polygon_rings(centre, 20.0, 800.0, max_vertices=12))
    points = draw(st.lists(points_near(centre, 1000.0), min_size=1, max_size=20))
    return ring, points


@settings(max_examples=150, deadline=None)
@given(_scene())
def test_polygon_tests_agree_with_the_local_frame_and_shapely(
        scene: tuple[tuple[LatLon, ...], list[LatLon]]) -> None:
    ring, points = scene
    verts = tuple((p.lat, p.lon) for p in ring)
    inclusion = FenceGeometry(inclusion_polygons=(verts,))
    exclusion = FenceGeometry(exclusion_polygons=(verts,))
    shape = Polygon([(p.lon, p.lat) for p in ring])
    for p in points:
        local = _local_frame_inside(p.lat, p.lon, ring)
        assert inclusion.outside_inclusion(p.lat, p.lon) is (not local)
        assert exclusion.inside_exclusion(p.lat, p.lon) is local
        if shape.exterior.distance(Point(p.lon, p.lat)) > 1e-7:  # not within ~1 cm of an edge
            assert local is shape.contains(Point(p.lon, p.lat))


def test_breach_bits_for_a_square_inclusion_and_a_circle_exclusion() -> None:
    lat0, lon0 = -35.36, 149.16
    d = 0.001  # ~111 m
    square = ((lat0 - d, lon0 - d), (lat0 - d, lon0 + d),
              (lat0 + d, lon0 + d), (lat0 + d, lon0 - d))
    geom = FenceGeometry(inclusion_polygons=(square,),
                         exclusion_circles=((lat0 + d / 2, lon0, 20.0),))

    def breach(lat: float, lon: float) -> Breach:
        return check_breaches(geom, int(Breach.POLYGON), lat, lon, 50.0, None, 0.0, 100.0)

    assert breach(lat0, lon0) == Breach.NONE
    assert breach(lat0 + 2 * d, lon0) == Breach.POLYGON  # outside the square's box
    assert breach(lat0 + d / 2, lon0) == Breach.POLYGON  # inside the circle
    assert breach(lat0 + d / 2, lon0 + d / 2) == Breach.NONE


@st.composite
def _walk(draw: st.DrawFn) -> tuple[FenceGeometry, FenceInputs, LatLon, list[tuple[float, ...]]]:
    """A fence (a polygon and a circle, inclusion or exclusion, a ceiling, a home circle) and a
    copter's path through it in steps of 0.1-3 m, from a start near the centre."""
    centre = draw(centres())
    ring = tuple((p.lat, p.lon) for p in draw(polygon_rings(centre, 20.0, 300.0)))
    spot = draw(points_near(centre, 200.0))
    circle = ((spot.lat, spot.lon, draw(st.floats(5.0, 80.0))),)
    inclusion = draw(st.booleans())
    geom = (FenceGeometry(inclusion_polygons=(ring,), exclusion_circles=circle) if inclusion
            else FenceGeometry(exclusion_polygons=(ring,), inclusion_circles=circle))
    inputs: FenceInputs = (draw(st.integers(0, 7)), draw(st.floats(20.0, 400.0)),
                           draw(st.floats(10.0, 120.0)), (centre.lat, centre.lon), 0.0)
    n, e, up = 0.0, 0.0, 0.0
    path = [(n, e, up)]
    for _ in range(draw(st.integers(20, 120))):
        heading = draw(st.floats(0.0, 6.3))
        step = draw(st.floats(0.1, 3.0))
        n, e = n + step * math.cos(heading), e + step * math.sin(heading)
        up = max(0.0, up + draw(st.floats(-2.0, 2.0)))
        path.append((n, e, up))
    return geom, inputs, centre, path


@settings(max_examples=120, deadline=None)
@given(_walk())
def test_a_memo_answers_what_a_fresh_check_answers_at_every_step(
        walk: tuple[FenceGeometry, FenceInputs, LatLon, list[tuple[float, ...]]]) -> None:
    geom, inputs, origin, path = walk
    fence_type, radius, alt_max, home, _ = inputs
    memo = None
    for n, e, up in path:
        if memo is None or not memo.holds(geom, inputs, n, e, up):
            memo = fence_memo(geom, inputs, (origin.lat, origin.lon), (n, e, up))
        lat, lon = offset_latlon(origin.lat, origin.lon, n, e)
        assert memo.breaches == check_breaches(geom, fence_type, lat, lon, up, home, radius,
                                               alt_max)
    # a change of fence or parameter is never answered from the memo
    assert memo is not None and not memo.holds(FenceGeometry(), inputs, *memo.at)
    assert not memo.holds(geom, (fence_type ^ 1, *inputs[1:]), *memo.at)  # type: ignore[arg-type]
