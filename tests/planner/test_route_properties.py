"""Properties of the router on random airspaces, checked against an independent oracle.

The oracle is extremitypathfinder (a separate visibility-graph implementation), fed the same
free space: the deflated operating area (or a big box) minus the union of the inflated active
zones. Safety is checked with shapely directly on the legs, not through the router's own index.
"""

from __future__ import annotations

import math

import numpy as np
from extremitypathfinder import PolygonEnvironment
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.polygon import orient
from strategies import Scene, points_near, scenes

from planner.geo import destination, geodesic_m
from planner.model import Airspace, LatLon, Rule
from planner.route import Route, RouteFailure, Router

TOLERANCE_M = 0.01
"""How far a leg may graze into an inflated zone (rounding of projections), metres."""
ORACLE_REL = 0.005

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def cases(draw: st.DrawFn, max_zones: int = 5) -> tuple[Scene, LatLon, LatLon, float, float]:
    scene = draw(scenes(spread_m=1500.0, max_zones=max_zones))
    start = draw(points_near(scene.centre, 2500.0))
    goal = draw(points_near(scene.centre, 2500.0))
    alt = draw(st.sampled_from([40.0, 60.0, 100.0, 120.0]))
    margin = draw(st.sampled_from([0.0, 15.0, 30.0, 60.0]))
    return scene, start, goal, alt, margin


@st.composite
def crossing_cases(draw: st.DrawFn) -> tuple[Scene, LatLon, LatLon, float, float]:
    """Endpoints on roughly opposite sides of the zones, so routes have to bend."""
    scene = draw(scenes(spread_m=1000.0, max_zones=6))
    bearing = draw(st.floats(0.0, 360.0))
    back = bearing + 180.0 + draw(st.floats(-50.0, 50.0))
    start = destination(scene.centre, bearing, draw(st.floats(600.0, 1500.0)))
    goal = destination(scene.centre, back % 360.0, draw(st.floats(600.0, 1500.0)))
    alt = draw(st.sampled_from([40.0, 60.0, 100.0, 120.0]))
    margin = draw(st.sampled_from([0.0, 15.0, 30.0, 60.0]))
    return scene, start, goal, alt, margin


def _xy(router: Router, p: LatLon) -> tuple[float, float]:
    return router.frame.to_xy(p)


def _expected_endpoint_rules(router: Router, start: LatLon, goal: LatLon, alt: float) -> set[Rule]:
    """What the failure reasons must be, computed with shapely on the prepared shapes."""
    prepared = router.prepared
    rules = set()
    for p, zone_rule in ((start, Rule.DEPOT_IN_NO_FLY_ZONE), (goal, Rule.DROPOFF_IN_NO_FLY_ZONE)):
        point = Point(_xy(router, p))
        if prepared.area is not None and not prepared.area.covers(point):
            rules.add(Rule.OUTSIDE_OPERATING_AREA)
        for zone in prepared.zones:
            if zone.zone.constrains(0.0, alt) and zone.inflated.contains(point):
                rules.add(zone_rule)
    return rules


def _oracle_length(router: Router, start: LatLon, goal: LatLon, alt: float) -> float | None:
    """Shortest path length from extremitypathfinder, or None when it finds no path."""
    a, b = Point(_xy(router, start)), Point(_xy(router, goal))
    free = router.prepared.free_space(router.active_indices(alt))
    parts = [p for p in getattr(free, "geoms", [free]) if isinstance(p, Polygon)]
    both = [p for p in parts if p.covers(a) and p.covers(b)]
    if not both:
        return None
    part = orient(both[0], sign=1.0)  # exterior counter-clockwise, holes clockwise
    env = PolygonEnvironment()
    env.store(
        list(part.exterior.coords)[:-1],
        [list(ring.coords)[:-1] for ring in part.interiors],
        validate=False,
    )
    _, length = env.find_shortest_path((a.x, a.y), (b.x, b.y), verify=False)
    return None if length is None else float(length)


def _assert_safe(router: Router, route: Route, alt: float) -> None:
    prepared = router.prepared
    xy = [_xy(router, p) for p in route.points]
    legs = [LineString([xy[k], xy[k + 1]]) for k in range(len(xy) - 1) if xy[k] != xy[k + 1]]
    for zone in prepared.zones:
        if not zone.zone.constrains(0.0, alt):
            continue
        core = zone.inflated.buffer(-TOLERANCE_M, join_style="mitre")
        for k, leg in enumerate(legs):
            assert not leg.intersects(core), f"leg {k} enters zone {zone.zone.id}"
    if prepared.area is not None:
        allowed = prepared.area.buffer(TOLERANCE_M, join_style="mitre")
        for k, leg in enumerate(legs):
            assert allowed.covers(leg), f"leg {k} leaves the operating area"


@PROPERTY_SETTINGS
@given(st.one_of(crossing_cases(), cases()))
def test_routes_are_safe_and_as_short_as_the_oracle(
    case: tuple[Scene, LatLon, LatLon, float, float],
) -> None:
    scene, start, goal, alt, margin = case
    router = Router(scene.airspace, margin_m=margin)
    result = router.route(start, goal, alt)
    expected = _expected_endpoint_rules(router, start, goal, alt)
    if expected:
        event(f"endpoint not free: {sorted(r.value for r in expected)}")
        assert isinstance(result, RouteFailure)
        assert {r.rule for r in result.reasons} == expected
        return
    oracle = _oracle_length(router, start, goal, alt)
    if oracle is None:
        event("no path")
        assert isinstance(result, RouteFailure)
        assert [r.rule for r in result.reasons] == [Rule.NO_PATH]
        return
    assert isinstance(result, Route), result
    event(f"route with {min(len(result.points) - 2, 3)}+ turns")
    assert result.points[0] == start and result.points[-1] == goal
    _assert_safe(router, result, alt)
    assert math.isclose(result.length_m, oracle, rel_tol=ORACLE_REL, abs_tol=0.05), (
        result.length_m,
        oracle,
    )


@settings(max_examples=100, deadline=None)
@given(cases(max_zones=8))
def test_straight_line_when_nothing_is_in_the_way(
    case: tuple[Scene, LatLon, LatLon, float, float],
) -> None:
    scene, start, goal, alt, margin = case
    router = Router(scene.airspace, margin_m=margin)
    a, b = _xy(router, start), _xy(router, goal)
    free = router.prepared.free_space(router.active_indices(alt))
    clear = free.covers(LineString([a, b]))
    result = router.route(start, goal, alt)
    if clear:
        assert isinstance(result, Route), result
        assert result.points == (start, goal)
        assert math.isclose(result.length_m, geodesic_m(start, goal), rel_tol=1e-12)
    elif isinstance(result, Route):
        # A detour is never shorter than the straight line.
        assert result.length_m >= geodesic_m(start, goal) * (1 - 1e-9)


@settings(max_examples=60, deadline=None)
@given(cases(max_zones=8))
def test_zones_outside_the_flight_band_do_not_constrain_it(
    case: tuple[Scene, LatLon, LatLon, float, float],
) -> None:
    scene, start, goal, alt, margin = case
    full = Router(scene.airspace, margin_m=margin)
    relevant = tuple(z for z in scene.airspace.zones if z.constrains(0.0, alt))
    only = Router(
        Airspace(zones=relevant, operating_area=scene.airspace.operating_area),
        margin_m=margin,
        frame=full.frame,
    )
    got = full.route(start, goal, alt)
    want = only.route(start, goal, alt)
    assert type(got) is type(want)
    if isinstance(got, Route) and isinstance(want, Route):
        assert np.allclose(
            [full.frame.to_xy(p) for p in got.points],
            [full.frame.to_xy(p) for p in want.points],
            atol=1e-6,
        )
    if isinstance(got, RouteFailure) and isinstance(want, RouteFailure):
        assert [r.rule for r in got.reasons] == [r.rule for r in want.reasons]


@settings(max_examples=60, deadline=None)
@given(cases())
def test_the_way_back_is_as_long_as_the_way_there(
    case: tuple[Scene, LatLon, LatLon, float, float],
) -> None:
    scene, start, goal, alt, margin = case
    router = Router(scene.airspace, margin_m=margin)
    there = router.route(start, goal, alt)
    back = router.route(goal, start, alt)
    assert type(there) is type(back)
    if isinstance(there, Route) and isinstance(back, Route):
        assert math.isclose(there.length_m, back.length_m, rel_tol=1e-9, abs_tol=1e-6)
