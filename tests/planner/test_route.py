"""Router and prepared airspace: exact detours, every failure reason, bands, caching, bad input.

Shapes are drawn in metres in a fixed local frame and converted to WGS84, so expected paths
can be worked out by hand on the plane (the frame's distortion is ~1e-8 at this scale).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from shapely.geometry import LineString, Point
from strategies import centres, polygon_rings

import planner.route as route_module
from planner.airspace import PreparedAirspace, circumscribed_circle
from planner.errors import InvalidInput
from planner.geo import LocalFrame, geodesic_m
from planner.model import Airspace, LatLon, NoFlyZone, Rule
from planner.route import Route, RouteFailure, Router, VisibilityGraph

FRAME = LocalFrame(LatLon(-35.3, 149.1))
MARGIN = 30.0
CRUISE = 60.0


def at(x: float, y: float) -> LatLon:
    return FRAME.to_latlon(x, y)


def ring(*xy: tuple[float, float]) -> tuple[LatLon, ...]:
    return tuple(at(x, y) for x, y in xy)


def box(x0: float, y0: float, x1: float, y1: float) -> tuple[LatLon, ...]:
    return ring((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def zone(zone_id: str, *rings: tuple[LatLon, ...], **kw: float) -> NoFlyZone:
    return NoFlyZone(zone_id, f"Zone {zone_id.upper()}", tuple(rings), **kw)  # type: ignore[arg-type]


def router(*zones: NoFlyZone, area: tuple[LatLon, ...] | None = None) -> Router:
    return Router(Airspace(zones=zones, operating_area=area), margin_m=MARGIN, frame=FRAME)


def xy_points(route: Route) -> np.ndarray:
    return np.array([FRAME.to_xy(p) for p in route.points])


def planar_length(points: list[tuple[float, float]]) -> float:
    return sum(math.dist(points[k], points[k + 1]) for k in range(len(points) - 1))


def only_route(result: Route | RouteFailure) -> Route:
    assert isinstance(result, Route), result
    return result


def only_reasons(result: Route | RouteFailure) -> list[tuple[Rule, float | str]]:
    assert isinstance(result, RouteFailure), result
    return [(r.rule, r.measured) for r in result.reasons]


# A U open to the north: a cavity x in (-150, 150), y in (150, 400).
U_SHAPE = ring(
    (-300, 0), (300, 0), (300, 400), (150, 400), (150, 150), (-150, 150), (-150, 400), (-300, 400)
)


def test_route_into_a_concave_zone_wraps_its_arm() -> None:
    r = router(zone("u", U_SHAPE))
    start, goal = (100.0, -200.0), (0.0, 300.0)
    got = only_route(r.route(at(*start), at(*goal), CRUISE))
    # Round the mitred outer corner, up the right arm, over its tip, down into the cavity.
    expected = [start, (330.0, -30.0), (330.0, 430.0), (120.0, 430.0), goal]
    assert np.allclose(xy_points(got), expected, atol=1e-3)
    assert got.length_m == pytest.approx(planar_length(expected), rel=1e-6)


def test_a_line_that_misses_the_zone_but_not_its_margin_is_not_the_route() -> None:
    r = router(zone("u", U_SHAPE))
    # y = 420 clears the drawn U (top at 400) but not its 30 m margin (top at 430).
    got = only_route(r.route(at(-400, 420), at(400, 420), CRUISE))
    expected = [(-400.0, 420.0), (-330.0, 430.0), (330.0, 430.0), (400.0, 420.0)]
    assert len(got.points) > 2
    assert got.length_m == pytest.approx(planar_length(expected), rel=1e-6)
    # Above the margin the straight line is the route.
    straight = only_route(r.route(at(-400, 440), at(400, 440), CRUISE))
    assert straight.points == (at(-400, 440), at(400, 440))
    assert straight.length_m == pytest.approx(geodesic_m(at(-400, 440), at(400, 440)))


def test_route_around_a_circle_stays_outside_it_and_is_nearly_the_arc() -> None:
    radius, d = 200.0, 1000.0
    circle = NoFlyZone("c", "Helipad", circle_center=at(0, 0), circle_radius_m=radius)
    got = only_route(router(circle).route(at(-d, 0), at(d, 0), CRUISE))
    safe = radius + MARGIN
    pts = xy_points(got)
    for k in range(len(pts) - 1):
        assert LineString(pts[k : k + 2]).distance(Point(0, 0)) >= safe - 1e-3
    # Tangent, arc, tangent: the exact shortest path around the inflated circle.
    arc = 2 * math.sqrt(d * d - safe * safe) + safe * (math.pi - 2 * math.acos(safe / d))
    assert arc <= got.length_m <= arc * 1.01


def test_depot_inside_a_zone_names_it_and_measures_how_deep() -> None:
    r = router(zone("a", box(-100, -100, 100, 100)))
    result = r.route(at(0, 0), at(1000, 0), CRUISE)
    [(rule, measured)] = only_reasons(result)
    assert rule is Rule.DEPOT_IN_NO_FLY_ZONE
    assert measured == pytest.approx(-100.0, abs=1e-3)
    reason = result.reasons[0]  # type: ignore[union-attr]
    assert reason.limit == MARGIN and reason.unit == "m"
    assert "Zone A" in reason.detail and "id a" in reason.detail and "inside" in reason.detail


def test_dropoff_within_the_margin_is_refused_with_its_clearance() -> None:
    r = router(zone("a", box(-100, -100, 100, 100)))
    result = r.route(at(1000, 0), at(110, 0), CRUISE)
    [(rule, measured)] = only_reasons(result)
    assert rule is Rule.DROPOFF_IN_NO_FLY_ZONE
    assert measured == pytest.approx(10.0, abs=1e-3)
    assert "within its 30 m margin" in result.reasons[0].detail  # type: ignore[union-attr]


def test_the_mitred_corner_of_the_buffer_counts_and_is_explained() -> None:
    # Inflating with mitred joins squares the corners off: (125, 125) is 35 m from the
    # drawn corner, beyond the round 30 m margin but inside the conservative buffer.
    r = router(zone("a", box(-100, -100, 100, 100)))
    result = r.route(at(125, 125), at(1000, 0), CRUISE)
    [(rule, measured)] = only_reasons(result)
    assert rule is Rule.DEPOT_IN_NO_FLY_ZONE
    assert measured == pytest.approx(math.hypot(25, 25), abs=1e-3)
    assert "squared-off corner" in result.reasons[0].detail  # type: ignore[union-attr]


def test_circle_clearance_is_measured_from_the_true_circle() -> None:
    circle = NoFlyZone("c", "Helipad", circle_center=at(0, 0), circle_radius_m=200.0)
    [(rule, measured)] = only_reasons(router(circle).route(at(0, 215), at(1000, 0), CRUISE))
    assert rule is Rule.DEPOT_IN_NO_FLY_ZONE
    assert measured == pytest.approx(15.0, abs=1e-3)


def test_outside_the_operating_area_and_in_a_zone_are_all_reported() -> None:
    area = box(-1000, -1000, 1000, 1000)
    r = router(zone("a", box(-100, -100, 100, 100)), area=area)
    reasons = only_reasons(r.route(at(0, 50), at(1500, 0), CRUISE))
    assert [rule for rule, _ in reasons] == [Rule.DEPOT_IN_NO_FLY_ZONE, Rule.OUTSIDE_OPERATING_AREA]
    assert reasons[0][1] == pytest.approx(-50.0, abs=1e-3)
    # Measured is the signed distance inside the area's edge: 500 m outside.
    assert reasons[1][1] == pytest.approx(-500.0, abs=1e-3)
    [(rule, measured)] = only_reasons(r.route(at(0, 500), at(990, 0), CRUISE))
    assert rule is Rule.OUTSIDE_OPERATING_AREA and measured == pytest.approx(10.0, abs=1e-3)


def test_routes_stay_inside_a_concave_operating_area() -> None:
    # An L-shaped area: the direct line between its arms crosses the missing corner.
    area = ring((0, 0), (2000, 0), (2000, 500), (500, 500), (500, 2000), (0, 2000))
    got = only_route(router(area=area).route(at(1800, 250), at(250, 1800), CRUISE))
    inner_corner = (500 - MARGIN, 500 - MARGIN)
    expected = [(1800.0, 250.0), inner_corner, (250.0, 1800.0)]
    assert np.allclose(xy_points(got), expected, atol=1e-3)


def _ring_of_walls(half: float, thick: float) -> list[NoFlyZone]:
    return [
        zone("n", box(-half, half - thick, half, half)),
        zone("s", box(-half, -half, half, -half + thick)),
        zone("w", box(-half, -half, -half + thick, half)),
        zone("e", box(half - thick, -half, half, half)),
    ]


def test_an_enclosed_dropoff_has_no_path_and_says_what_encloses_it() -> None:
    r = router(*_ring_of_walls(400, 100))
    result = r.route(at(1000, 0), at(0, 0), CRUISE)
    [(rule, _)] = only_reasons(result)
    assert rule is Rule.NO_PATH
    detail = result.reasons[0].detail  # type: ignore[union-attr]
    assert "drop-off" in detail
    assert all(f"Zone {name}" in detail for name in "NSWE")
    # Inside the pocket, a flight is fine.
    assert isinstance(r.route(at(-100, 0), at(100, 100), CRUISE), Route)


def test_a_zone_across_the_operating_area_cuts_it_in_two() -> None:
    area = box(-1000, -1000, 1000, 1000)
    wall = zone("w", box(-50, -1100, 50, 1100))
    result = router(wall, area=area).route(at(-500, 0), at(500, 0), CRUISE)
    [(rule, _)] = only_reasons(result)
    assert rule is Rule.NO_PATH
    assert "Zone W" in result.reasons[0].detail  # type: ignore[union-attr]


def test_only_zones_whose_band_the_flight_crosses_constrain_it() -> None:
    area = box(-1000, -1000, 1000, 1000)
    high = zone("h", box(-50, -1100, 50, 1100), floor_m=150.0)
    r = router(high, area=area)
    assert isinstance(r.route(at(-500, 0), at(500, 0), 100.0), Route)
    assert only_reasons(r.route(at(-500, 0), at(500, 0), 200.0))[0][0] is Rule.NO_PATH
    # A low band still constrains a flight that cruises above it: it climbs through it.
    low = zone("l", box(-50, -1100, 50, 1100), ceiling_m=50.0)
    assert only_reasons(router(low, area=area).route(at(-500, 0), at(500, 0), 100.0))


def test_graphs_are_built_once_per_zone_selection_and_sources_are_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[int] = []
    runs: list[int] = []
    original_init = VisibilityGraph.__init__
    original_dijkstra = route_module.dijkstra

    def counting_init(self: VisibilityGraph, *args: object, **kw: object) -> None:
        builds.append(1)
        original_init(self, *args, **kw)  # type: ignore[arg-type]

    def counting_dijkstra(*args: object, **kw: object) -> object:
        runs.append(1)
        return original_dijkstra(*args, **kw)

    monkeypatch.setattr(VisibilityGraph, "__init__", counting_init)
    monkeypatch.setattr(route_module, "dijkstra", counting_dijkstra)
    r = router(zone("u", U_SHAPE), zone("h", box(1000, -500, 1200, 500), floor_m=100.0))
    depot = at(100, -200)
    goals = [at(0, 300), at(-50, 250), at(80, 200), at(600, 600)]
    first = [r.route(depot, g, CRUISE) for g in goals]
    assert builds == [1] and runs == [1]
    assert r.graph_for(CRUISE) is r.graph_for(80.0)
    # The way back from each drop-off reuses the depot's tree too.
    back = [r.route(g, depot, CRUISE) for g in goals]
    assert runs == [1]
    for there, home in zip(first, back, strict=True):
        assert only_route(home).points == only_route(there).points[::-1]
    r.route(depot, goals[0], 150.0)  # zone h joins: a second graph
    assert len(builds) == 2


def test_start_equal_to_goal_is_a_zero_length_route() -> None:
    r = router(zone("u", U_SHAPE))
    got = only_route(r.route(at(0, 300), at(0, 300), CRUISE))
    assert got.points == (at(0, 300), at(0, 300)) and got.length_m == 0.0


def test_no_zones_at_all_gives_the_straight_line() -> None:
    r = Router(Airspace())
    a, b = LatLon(51.5, -0.1), LatLon(51.6, 0.1)
    got = only_route(r.route(a, b, CRUISE))
    assert got.points == (a, b) and got.length_m == pytest.approx(geodesic_m(a, b))


@pytest.mark.parametrize(
    ("start", "alt", "field"),
    [
        (LatLon(-35.3, 149.1), float("nan"), "cruise_alt_agl_m"),
        (LatLon(-35.3, 149.1), -5.0, "cruise_alt_agl_m"),
        (LatLon(-35.3, 149.1), "high", "cruise_alt_agl_m"),
        ((-35.3, 149.1), 60.0, "start"),
        (None, 60.0, "start"),
    ],
)
def test_bad_queries_raise_invalid_input(start: object, alt: object, field: str) -> None:
    r = router(zone("a", box(-100, -100, 100, 100)))
    with pytest.raises(InvalidInput) as err:
        r.route(start, at(500, 0), alt)  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_airspaces_raise_invalid_input_naming_the_zone() -> None:
    bowtie = ring((0, 0), (100, 100), (100, 0), (0, 100))
    with pytest.raises(InvalidInput, match=r"zones\[0\] \(id b\)\.polygons\[0\]"):
        router(zone("b", bowtie))
    with pytest.raises(InvalidInput, match="circle_radius_m"):
        router(NoFlyZone("c", circle_center=at(0, 0), circle_radius_m=-1.0))
    with pytest.raises(InvalidInput, match="operating_area"):
        router(area=ring((0, 0), (100, 0)))
    with pytest.raises(InvalidInput, match="margin_m"):
        Router(Airspace(), margin_m=float("nan"))


def test_circles_become_polygons_that_contain_them() -> None:
    poly = circumscribed_circle(10.0, -20.0, 150.0)
    assert len(poly.exterior.coords) == 25
    # Up to rounding where the edges touch the circle.
    assert poly.buffer(1e-9).covers(Point(10.0, -20.0).buffer(150.0, quad_segs=64))
    # The edges touch the circle: the polygon is no bigger than it has to be.
    assert poly.exterior.distance(Point(10.0, -20.0)) == pytest.approx(150.0)


@settings(max_examples=50, deadline=None)
@given(centres().flatmap(lambda c: polygon_rings(c).map(lambda r: (c, r))))
def test_inflated_zones_contain_the_round_margin_and_the_area_shrinks_by_it(
    case: tuple[LatLon, tuple[LatLon, ...]],
) -> None:
    _, rng = case
    prepared = PreparedAirspace(
        Airspace(zones=(NoFlyZone("z", polygons=(rng,)),), operating_area=rng), MARGIN
    )
    z = prepared.zones[0]
    round_grown = z.raw.buffer(MARGIN, quad_segs=32)
    assert z.inflated.buffer(1e-6).covers(round_grown)
    assert prepared.area is not None and prepared.area_raw is not None
    round_shrunk = prepared.area_raw.buffer(-MARGIN, quad_segs=32)
    assert prepared.area.is_empty or round_shrunk.buffer(1e-6).covers(prepared.area)
