"""Fence and rally items: shapes, bands, ArduPilot's limits, the recorded upload, import."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mission_samples import (
    AIRPORT,
    AIRSPACE,
    AREA,
    DEPOT,
    FAR_ZONE,
    HELIPAD,
    PRISON,
    SECOND_DEPOT,
    STADIUM,
    fence_shape,
)

from missions.errors import MissionBuildError, MissionFormatError
from missions.fence import (
    FenceShape,
    ShapeKind,
    airspace_from_fence,
    fence_items,
    fence_shapes,
    is_clockwise,
    items_from_shapes,
)
from missions.items import Cmd, Frame, MissionItem, MissionType
from missions.rally import RallyPoint, rally_items, rally_points
from planner.model import Airspace, LatLon, NoFlyZone

INCL, EXCL = Cmd.FENCE_POLYGON_VERTEX_INCLUSION, Cmd.FENCE_POLYGON_VERTEX_EXCLUSION


def _pts(points: object) -> set[tuple[float, float]]:
    """Vertices as stored in mission items (1e-7 degrees), order ignored."""
    return {(round(p.lat, 7), round(p.lon, 7)) for p in points}  # type: ignore[attr-defined]


CIRCLE_EXCL = Cmd.FENCE_CIRCLE_EXCLUSION


def test_area_and_zones_become_inclusion_exclusion_and_circle_items() -> None:
    items = fence_items(AIRSPACE, high_agl_m=60.0)
    assert [i.seq for i in items] == list(range(len(items)))
    assert all(i.mission_type is MissionType.FENCE and i.frame == Frame.GLOBAL for i in items)
    assert all(i.z == 0.0 for i in items)
    commands = [i.command for i in items]
    # area (4), prison (4), airport part 1 (4), part 2 (4), far zone (4), helipad circle
    assert commands == [INCL] * 4 + [EXCL] * 16 + [CIRCLE_EXCL]
    assert all(i.param1 == 4.0 for i in items[:-1])  # every vertex carries the count
    circle = items[-1]
    assert (circle.param1, circle.x, circle.y) == (150.0, -35.359, 149.16)


def test_polygons_come_out_clockwise_whatever_the_input() -> None:
    shapes = fence_shapes(fence_items(AIRSPACE, high_agl_m=60.0))
    polygons = [s for s in shapes if s.kind is ShapeKind.POLYGON]
    assert all(is_clockwise(s.vertices) for s in polygons)
    assert _pts(polygons[0].vertices) == _pts(AREA)  # AREA is given counter-clockwise
    assert _pts(polygons[3].vertices) == _pts(AIRPORT.polygons[1])  # given clockwise


def test_multipolygon_zone_gives_one_exclusion_polygon_per_part() -> None:
    items = fence_items(Airspace(zones=(AIRPORT,)))
    shapes = fence_shapes(items)
    assert [s.inclusion for s in shapes] == [False, False]
    assert [_pts(s.vertices) for s in shapes] == [_pts(p) for p in AIRPORT.polygons]


@pytest.mark.parametrize(
    ("low", "high", "stadium_in"),
    [(0.0, 60.0, False), (0.0, 149.0, False), (0.0, 151.0, True), (310.0, 400.0, False)],
)
def test_only_zones_whose_band_meets_the_flight(low: float, high: float, stadium_in: bool) -> None:
    items = fence_items(Airspace(zones=(STADIUM,)), low_agl_m=low, high_agl_m=high)
    assert bool(items) is stadium_in


def test_route_filter_keeps_near_zones_only() -> None:
    route = (DEPOT.position, LatLon(-35.3540, 149.1760))
    near = fence_shapes(fence_items(AIRSPACE, high_agl_m=60.0, route=route, near_m=3000.0))
    far_vertices = set(FAR_ZONE.polygons[0])
    assert not any(far_vertices & set(s.vertices) for s in near)
    assert any(s.kind is ShapeKind.CIRCLE for s in near)  # the helipad is 1 km away
    tight = fence_shapes(fence_items(AIRSPACE, high_agl_m=60.0, route=route, near_m=1.0))
    assert len(tight) == 1 and tight[0].inclusion  # only the operating area is always kept


def test_closed_rings_are_accepted_once() -> None:
    ring = PRISON.polygons[0]
    closed = NoFlyZone("closed", polygons=((*ring, ring[0]),))
    items = fence_items(Airspace(zones=(closed,)))
    assert len(items) == 4 and items[0].param1 == 4.0


@pytest.mark.parametrize("count", [2, 256])
def test_polygons_arducopter_refuses_are_refused_here(count: int) -> None:
    ring = tuple(
        LatLon(
            -35.36 + 0.01 * math.sin(2 * math.pi * k / count),
            149.16 + 0.01 * math.cos(2 * math.pi * k / count),
        )
        for k in range(count)
    )
    with pytest.raises(MissionBuildError, match="Invalid vertex count") as err:
        fence_items(Airspace(zones=(NoFlyZone("thin", polygons=(ring,)),)))
    assert err.value.field == "airspace.zones[0] (id thin).polygons[0]"


def test_circle_without_radius_is_refused() -> None:
    zone = NoFlyZone("dot", circle_center=LatLon(-35.0, 149.0), circle_radius_m=0.0)
    with pytest.raises(MissionBuildError, match="circle_radius_m"):
        fence_items(Airspace(zones=(zone,)))


# The fence ArduCopter accepted in shared/reference/ardupilot-copter/fence_rally_transfer
# (MISSION_ITEM_INT x/y in 1e-7 degrees): a 5-vertex inclusion polygon, a 4-vertex exclusion
# polygon and a 150 m exclusion circle.
RECORDED_FENCE = [
    (5001, 5, -353497863, 1491652300), (5001, 5, -353590971, 1491809446),
    (5001, 5, -353741623, 1491749421), (5001, 5, -353741623, 1491555179),
    (5001, 5, -353590971, 1491495154), (5002, 4, -353619135, 1491641284),
    (5002, 4, -353619135, 1491663316), (5002, 4, -353610152, 1491663316),
    (5002, 4, -353610152, 1491641284), (5004, 150, -353659559, 1491707378),
]  # fmt: skip


def _recorded_items() -> tuple[MissionItem, ...]:
    return tuple(
        MissionItem(
            seq, cmd, Frame.GLOBAL, float(p1), x=x / 1e7, y=y / 1e7, mission_type=MissionType.FENCE
        )
        for seq, (cmd, p1, x, y) in enumerate(RECORDED_FENCE)
    )


def test_the_recorded_arducopter_fence_groups_and_imports() -> None:
    items = _recorded_items()
    assert [i.x_int for i in items] == [r[2] for r in RECORDED_FENCE]
    shapes = fence_shapes(items)
    assert [(s.kind, s.inclusion, len(s.vertices)) for s in shapes] == [
        (ShapeKind.POLYGON, True, 5),
        (ShapeKind.POLYGON, False, 4),
        (ShapeKind.CIRCLE, False, 0),
    ]
    airspace = airspace_from_fence(items)
    assert airspace.operating_area is not None and len(airspace.operating_area) == 5
    assert [z.id for z in airspace.zones] == ["fence-1", "fence-2"]
    assert airspace.zones[1].circle_radius_m == 150.0
    assert items_from_shapes(shapes) == items
    # Exported again: the clockwise inclusion polygon unchanged, the counter-clockwise
    # exclusion polygon turned round (QGroundControl's clockwise convention).
    again = fence_items(airspace)
    assert again[:5] == items[:5] and again[9:] == items[9:]
    assert [(i.x, i.y) for i in again[5:9]] == [(i.x, i.y) for i in items[5:9]][::-1]
    assert is_clockwise(fence_shapes(again)[1].vertices)
    assert not is_clockwise(shapes[1].vertices)


@pytest.mark.parametrize(
    ("items", "words"),
    [
        (_recorded_items()[:3], "cut short"),
        (_recorded_items()[1:], "cut short"),
        ((MissionItem(0, Cmd.NAV_WAYPOINT),), "not a fence item"),
        ((MissionItem(0, INCL, param1=2.0),) * 2, "invalid vertex count"),
        ((MissionItem(0, CIRCLE_EXCL, param1=-5.0),), "radius"),
    ],
)
def test_malformed_fence_items_are_reported(items: tuple[MissionItem, ...], words: str) -> None:
    with pytest.raises(MissionFormatError, match=words):
        fence_shapes(items)


def test_two_inclusion_polygons_cannot_become_one_operating_area() -> None:
    items = _recorded_items()[:5]
    twice = items_from_shapes([*fence_shapes(items), *fence_shapes(items)])
    with pytest.raises(MissionFormatError, match="only one inclusion"):
        airspace_from_fence(twice)


@settings(max_examples=100, deadline=None)
@given(st.lists(fence_shape(), max_size=5))
def test_shapes_items_shapes_keeps_every_shape(shapes: list[FenceShape]) -> None:
    back = fence_shapes(items_from_shapes(shapes))
    assert len(back) == len(shapes)
    for mine, theirs in zip(shapes, back, strict=True):
        assert (theirs.kind, theirs.inclusion) == (mine.kind, mine.inclusion)
        assert len(theirs.vertices) == len(mine.vertices)
        for a, b in zip(mine.vertices, theirs.vertices, strict=True):
            assert abs(a.lat - b.lat) <= 5e-8 and abs(a.lon - b.lon) <= 5e-8
        assert theirs.radius_m == mine.radius_m


def test_exported_zones_import_as_the_same_shapes() -> None:
    airspace = Airspace(zones=(PRISON, AIRPORT, HELIPAD), operating_area=AREA)
    back = airspace_from_fence(fence_items(airspace))
    assert back.operating_area is not None and _pts(back.operating_area) == _pts(AREA)
    polygons = [_pts(z.polygons[0]) for z in back.zones if not z.is_circle]
    assert polygons == [_pts(PRISON.polygons[0]), *(_pts(p) for p in AIRPORT.polygons)]
    (circle,) = [z for z in back.zones if z.is_circle]
    assert (circle.circle_center, circle.circle_radius_m) == (HELIPAD.circle_center, 150.0)


# ---- rally ---------------------------------------------------------------------------------


def test_rally_points_at_depots_relative_to_home() -> None:
    items = rally_items(
        (DEPOT, SECOND_DEPOT), alt_agl_m=40.0, home_alt_amsl_m=DEPOT.ground_alt_amsl_m
    )
    assert [(i.seq, i.command, i.frame, i.mission_type) for i in items] == [
        (0, Cmd.RALLY_POINT, Frame.GLOBAL_RELATIVE_ALT_INT, MissionType.RALLY),
        (1, Cmd.RALLY_POINT, Frame.GLOBAL_RELATIVE_ALT_INT, MissionType.RALLY),
    ]
    assert [(i.x, i.y) for i in items] == [
        (DEPOT.position.lat, DEPOT.position.lon),
        (SECOND_DEPOT.position.lat, SECOND_DEPOT.position.lon),
    ]
    assert [i.z for i in items] == [40.0, pytest.approx(46.5)]
    assert rally_points(items) == (
        RallyPoint(DEPOT.position, 40.0),
        RallyPoint(SECOND_DEPOT.position, items[1].z),
    )


def test_rally_without_home_altitude_treats_depots_as_level() -> None:
    items = rally_items((DEPOT, SECOND_DEPOT), alt_agl_m=30.0)
    assert [i.z for i in items] == [30.0, 30.0]


def test_rally_refuses_bad_altitude_and_foreign_items() -> None:
    with pytest.raises(MissionBuildError, match="alt_agl_m"):
        rally_items((DEPOT,), alt_agl_m=math.nan)
    with pytest.raises(MissionFormatError, match=r"rally\[0\]"):
        rally_points((MissionItem(0, Cmd.NAV_WAYPOINT),))
