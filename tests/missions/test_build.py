"""build_mission: item sequences per delivery method, parameter needs, refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mission_samples import (
    AIRSPACE,
    DEPOT,
    DROPOFF,
    FAR_ZONE,
    SECOND_DEPOT,
    TURN_BACK,
    TURN_OUT,
    plan,
    profile,
)

from missions.build import (
    CONTINGENCY_NEEDS,
    GROUND_WAIT_MARGIN_S,
    MIN_FENCE_MARGIN_M,
    PAYLOAD_PLACE_SLACK_M,
    build_mission,
)
from missions.errors import MissionBuildError
from missions.items import Cmd, Frame, Mission, MissionItem, MissionType
from planner.geo import geodesic_m
from planner.model import Airspace, FlightPlan, LatLon
from planner.vehicle import DeliveryMethod, VehicleProfile, builtin_profile

WP, TAKEOFF, LAND, LOITER = Cmd.NAV_WAYPOINT, Cmd.NAV_TAKEOFF, Cmd.NAV_LAND, Cmd.NAV_LOITER_TIME
SPEED, GRIP, WINCH, DELAY = Cmd.DO_CHANGE_SPEED, Cmd.DO_GRIPPER, Cmd.DO_WINCH, Cmd.NAV_DELAY
HEAD = [WP, TAKEOFF, SPEED, WP, WP]  # home, takeoff, speed, turn, over the drop-off
TAIL = [WP, LAND]  # return turn, land at the depot

PROFILES = {
    DeliveryMethod.DESCEND_RELEASE: profile(),
    DeliveryMethod.WINCH: profile(delivery_method=DeliveryMethod.WINCH, winch_speed_ms=2.0),
    DeliveryMethod.PAYLOAD_PLACE: profile(delivery_method=DeliveryMethod.PAYLOAD_PLACE),
    DeliveryMethod.LAND: profile(delivery_method=DeliveryMethod.LAND, continue_after_land=True),
}


def _commands(mission: Mission) -> list[int]:
    return [item.command for item in mission.items]


def _at(item: MissionItem) -> LatLon:
    return LatLon(item.x, item.y)


@pytest.mark.parametrize("method", list(DeliveryMethod))
def test_common_layout(method: DeliveryMethod) -> None:
    mission = build_mission(plan(60.0), PROFILES[method])
    items = mission.items
    assert [i.seq for i in items] == list(range(len(items)))
    assert all(i.mission_type is MissionType.MISSION for i in items)
    home, takeoff, speed = items[:3]
    assert (home.command, home.frame) == (WP, Frame.GLOBAL)
    assert (_at(home), home.z) == (DEPOT.position, DEPOT.ground_alt_amsl_m)
    assert (takeoff.command, takeoff.frame, takeoff.z) == (
        TAKEOFF,
        Frame.GLOBAL_RELATIVE_ALT_INT,
        60.0,
    )
    assert (speed.command, speed.param2) == (SPEED, 22.0)
    assert [_at(i) for i in items[3:5]] == [TURN_OUT, DROPOFF]
    assert (items[-2].command, _at(items[-2]), items[-2].z) == (WP, TURN_BACK, 60.0)
    final = items[-1]
    assert (final.command, _at(final), final.z) == (LAND, DEPOT.position, 0.0)
    assert final.frame == Frame.GLOBAL_RELATIVE_ALT_INT
    assert mission.dropoff_seq is not None and _at(items[mission.dropoff_seq]) == DROPOFF
    assert mission.order_id == "o-1001" and mission.cruise_speed_ms == 22.0
    assert mission.meta["delivery_method"] == method.value
    for item in items:
        if item.command in (GRIP, WINCH, DELAY, SPEED):
            assert item.frame == Frame.MISSION  # what the recordings upload for DO items


def test_descend_release_descends_releases_hovers_and_climbs() -> None:
    mission = build_mission(plan(60.0), PROFILES[DeliveryMethod.DESCEND_RELEASE])
    assert _commands(mission) == [*HEAD, WP, GRIP, LOITER, WP, *TAIL]
    drop, grip, hover, climb = mission.items[5:9]
    assert (mission.dropoff_seq, mission.delivery_seq) == (5, 6)
    assert (_at(drop), drop.z) == (DROPOFF, 10.0)
    assert (grip.param1, grip.param2) == (1.0, 0.0)  # gripper 1, release
    assert (hover.param1, _at(hover), hover.z) == (5.0, DROPOFF, 10.0)
    assert (_at(climb), climb.z) == (DROPOFF, 60.0)
    assert [(r.name, r.value, r.check) for r in mission.required_params] == [
        ("GRIP_ENABLE", 1.0, "eq"),
        ("GRIP_TYPE", 0.0, "gt"),  # GRIP_TYPE 0: DO_GRIPPER is accepted but releases nothing
        *((r.name, r.value, r.check) for r in CONTINGENCY_NEEDS),
    ]


def test_winch_lowers_waits_retracts_waits_then_climbs() -> None:
    mission = build_mission(plan(60.0), PROFILES[DeliveryMethod.WINCH])
    assert _commands(mission) == [*HEAD, WP, WINCH, LOITER, WINCH, LOITER, WP, *TAIL]
    hover, lower, wait_out, retract, wait_in, climb = mission.items[5:11]
    assert mission.delivery_seq == lower.seq and mission.dropoff_seq == hover.seq
    assert hover.z == 10.0  # the line reaches the ground from here
    assert (lower.param1, lower.param2, lower.param3, lower.param4) == (1.0, 1.0, 10.0, 2.0)
    assert (retract.param2, retract.param3) == (1.0, -10.0)  # relative length: back up
    assert wait_out.param1 >= 10.0 / 2.0 + 5.0  # line out, then the hover time
    assert wait_in.param1 >= 10.0 / 2.0
    assert climb.z == 60.0
    needs = {r.name: r for r in mission.required_params}
    assert needs["WINCH_TYPE"].satisfied_by(1) and not needs["WINCH_TYPE"].satisfied_by(0)
    assert needs["WINCH_RATE_MAX"].satisfied_by(2.0)
    assert not needs["WINCH_RATE_MAX"].satisfied_by(1.0)  # ArduPilot's default is too slow


def test_winch_from_cruise_altitude_needs_no_descent() -> None:
    winch = builtin_profile("winch-quad")
    mission = build_mission(plan(winch.cruise_alt_agl_m), winch)
    assert _commands(mission) == [*HEAD, WINCH, LOITER, WINCH, LOITER, *TAIL]
    assert mission.dropoff_seq == 4  # the waypoint over the drop-off at cruise altitude
    assert mission.items[5].param3 == winch.release_alt_agl_m == winch.cruise_alt_agl_m


def test_payload_place_is_one_item_with_a_bounded_descent() -> None:
    mission = build_mission(plan(60.0), PROFILES[DeliveryMethod.PAYLOAD_PLACE])
    assert _commands(mission) == [*HEAD, Cmd.NAV_PAYLOAD_PLACE, *TAIL]
    place = mission.items[5]
    assert mission.delivery_seq == mission.dropoff_seq == 5
    assert (_at(place), place.z) == (DROPOFF, 60.0)
    assert place.param1 == 60.0 + PAYLOAD_PLACE_SLACK_M
    assert [r.name for r in mission.required_params] == [
        "GRIP_ENABLE",
        "GRIP_TYPE",
        *(r.name for r in CONTINGENCY_NEEDS),
    ]


# The 12 items real ArduCopter flew as one continuous delivery with MIS_OPTIONS=4
# (shared/reference/ardupilot-copter/delivery_flight_continue, first upload): home, takeoff,
# three waypoints, NAV_LAND, DO_GRIPPER [1,0,0,0], NAV_DELAY [5,-1,-1,-1], NAV_TAKEOFF, two
# waypoints, NAV_LAND at home.
RECORDED = [(16, 0), (22, 6), (16, 6), (16, 6), (16, 6), (21, 6), (211, 2), (93, 2), (22, 6),
            (16, 6), (16, 6), (21, 6)]  # fmt: skip


def test_land_delivery_has_the_shape_arducopter_flew() -> None:
    three_out = replace(plan(40.0), outbound=(DEPOT.position, TURN_OUT, TURN_BACK, DROPOFF))
    three_back = replace(three_out, inbound=(DROPOFF, TURN_OUT, TURN_BACK, DEPOT.position))
    mission = build_mission(three_back, PROFILES[DeliveryMethod.LAND])
    flown = [(i.command, i.frame) for i in mission.items if i.command != SPEED]
    assert flown == RECORDED
    land, grip, delay, takeoff = mission.items[6:10]
    assert (land.command, _at(land), land.z) == (LAND, DROPOFF, 0.0)
    assert (grip.param1, grip.param2, grip.param3, grip.param4) == (1.0, 0.0, 0.0, 0.0)
    assert (delay.param2, delay.param3, delay.param4) == (-1.0, -1.0, -1.0)
    assert (takeoff.command, takeoff.z) == (TAKEOFF, 40.0)
    assert (mission.dropoff_seq, mission.delivery_seq) == (land.seq, grip.seq)


def test_land_ground_wait_is_shorter_than_the_disarm_delay() -> None:
    for hover_s in (2.0, 5.0, 10.0, 15.0, 60.0):
        p = replace(PROFILES[DeliveryMethod.LAND], dropoff_hover_s=hover_s, disarm_delay_s=10.0)
        mission = build_mission(plan(), p)
        (delay,) = [i for i in mission.items if i.command == DELAY]
        assert delay.param1 <= hover_s
        assert delay.param1 + GROUND_WAIT_MARGIN_S <= p.disarm_delay_s
        needs = {r.name: r for r in mission.required_params}
        assert needs["DISARM_DELAY"].satisfied_by(10.0)
        assert not needs["DISARM_DELAY"].satisfied_by(delay.param1)
        assert needs["MIS_OPTIONS"].satisfied_by(4) and needs["MIS_OPTIONS"].satisfied_by(5)
        assert not needs["MIS_OPTIONS"].satisfied_by(0)  # the default: disarms at the drop-off
        assert needs["GRIP_ENABLE"].value == 1.0


def test_land_with_auto_disarm_off_keeps_the_whole_wait() -> None:
    p = replace(PROFILES[DeliveryMethod.LAND], dropoff_hover_s=30.0, disarm_delay_s=0.0)
    mission = build_mission(plan(), p)
    (delay,) = [i for i in mission.items if i.command == DELAY]
    assert delay.param1 == 30.0
    needs = {r.name: r for r in mission.required_params}
    assert needs["DISARM_DELAY"].satisfied_by(0) and not needs["DISARM_DELAY"].satisfied_by(10)


def test_land_is_refused_for_a_vehicle_that_stops_after_landing() -> None:
    p = profile(delivery_method=DeliveryMethod.LAND, continue_after_land=False)
    with pytest.raises(MissionBuildError) as err:
        build_mission(plan(), p)
    assert err.value.field == "profile.delivery_method"
    assert "MIS_OPTIONS" in err.value.problem and "disarms" in err.value.problem


def test_land_is_refused_when_the_disarm_delay_leaves_no_ground_time() -> None:
    p = replace(PROFILES[DeliveryMethod.LAND], disarm_delay_s=3.5)
    with pytest.raises(MissionBuildError, match="DISARM_DELAY") as err:
        build_mission(plan(), p)
    assert err.value.field == "profile.disarm_delay_s"


@pytest.mark.parametrize("name", ["delivery-quad", "winch-quad", "sitl-quad"])
def test_shipped_profiles_build(name: str) -> None:
    p = builtin_profile(name)
    mission = build_mission(plan(p.cruise_alt_agl_m), p, AIRSPACE)
    assert mission.items[1].z == p.cruise_alt_agl_m
    assert mission.delivery_seq is not None and mission.dropoff_seq is not None


# ---- fence, rally and what the vehicle must be set to ----------------------------------------


def test_without_airspace_there_is_no_fence_and_no_fence_parameters() -> None:
    mission = build_mission(plan(), profile())
    assert mission.fence == ()
    # FENCE_ACTION stays: the vehicle's own circle and altitude fences still act.
    fence_needs = [r.name for r in mission.required_params if r.name.startswith("FENCE")]
    assert fence_needs == ["FENCE_ACTION"]


def test_fence_parameters_against_arducopter_sitl_defaults() -> None:
    mission = build_mission(plan(60.0), profile(), AIRSPACE)
    needs = {r.name: r for r in mission.required_params}
    farthest = max(geodesic_m(DEPOT.position, p) for p in (TURN_OUT, DROPOFF, TURN_BACK))
    assert needs["FENCE_RADIUS"].value >= farthest + MIN_FENCE_MARGIN_M
    assert needs["FENCE_ALT_MAX"].value == 60.0 + MIN_FENCE_MARGIN_M
    # copter.parm: FENCE_ENABLE 0, FENCE_TYPE 7, FENCE_ALT_MAX 100, FENCE_RADIUS 150
    sitl = {"FENCE_ENABLE": 0, "FENCE_TYPE": 7, "FENCE_ALT_MAX": 100, "FENCE_RADIUS": 150}
    failing = sorted(n for n, v in sitl.items() if not needs[n].satisfied_by(v))
    assert failing == ["FENCE_ENABLE", "FENCE_RADIUS"]  # a 1.4 km mission breaches 150 m
    assert not needs["FENCE_TYPE"].satisfied_by(3)  # alt + circle only: polygons ignored


def test_fence_margin_is_at_least_the_minimum() -> None:
    wide = build_mission(plan(60.0), profile(), AIRSPACE, fence_margin_m=50.0)
    assert {r.name: r.value for r in wide.required_params}["FENCE_ALT_MAX"] == 110.0
    with pytest.raises(MissionBuildError, match="fence_margin_m"):
        build_mission(plan(), profile(), AIRSPACE, fence_margin_m=-1.0)


def test_fence_holds_only_zones_the_flight_can_meet() -> None:
    everything = build_mission(plan(60.0), profile(), AIRSPACE)
    near = build_mission(plan(60.0), profile(), AIRSPACE, fence_near_m=2000.0)
    far_corner = (FAR_ZONE.polygons[0][0].lat, FAR_ZONE.polygons[0][0].lon)
    assert far_corner in {(i.x, i.y) for i in everything.fence}
    assert far_corner not in {(i.x, i.y) for i in near.fence}
    assert len(near.fence) < len(everything.fence)


def test_rally_points_default_to_the_depot_and_follow_the_depots_given() -> None:
    alone = build_mission(plan(60.0), profile())
    assert [(r.x, r.y, r.z) for r in alone.rally] == [
        (DEPOT.position.lat, DEPOT.position.lon, 60.0)
    ]
    both = build_mission(plan(60.0), profile(), depots=(DEPOT, SECOND_DEPOT))
    assert [r.command for r in both.rally] == [Cmd.RALLY_POINT] * 2
    # relative to home: the north depot's ground is 6.5 m higher
    assert both.rally[1].z == pytest.approx(60.0 + 6.5)


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: build_mission(plan(130.0), profile()), "plan.cruise_alt_agl_m"),
        (
            lambda: build_mission(plan(100.0), profile(), Airspace(ceiling_agl_m=90.0)),
            "plan.cruise_alt_agl_m",
        ),
        (lambda: build_mission(plan(0.0), profile()), "plan.cruise_alt_agl_m"),
        (
            lambda: build_mission(plan(60.0), profile(release_alt_agl_m=60.0)),
            "profile.release_alt_agl_m",
        ),
        (
            lambda: build_mission(
                plan(60.0), profile(delivery_method=DeliveryMethod.WINCH, release_alt_agl_m=80.0)
            ),
            "profile.release_alt_agl_m",
        ),
        (
            lambda: build_mission(replace(plan(), outbound=(DEPOT.position,)), profile()),
            "plan.outbound",
        ),
        (lambda: build_mission(plan(), profile(cruise_speed_ms=0.0)), "profile.cruise_speed_ms"),
    ],
)
def test_inconsistent_input_is_refused_by_field(build: Callable[[], Mission], field: str) -> None:
    with pytest.raises(MissionBuildError) as err:
        build()
    assert err.value.field == field


# ---- properties over random plans and profiles -----------------------------------------------

_POINT = st.builds(LatLon, st.floats(-35.40, -35.32), st.floats(149.10, 149.22))


@st.composite
def _cases(draw: st.DrawFn) -> tuple[FlightPlan, VehicleProfile]:
    cruise = draw(st.floats(20.0, 120.0))
    method = draw(st.sampled_from(list(DeliveryMethod)))
    p = profile(
        delivery_method=method,
        release_alt_agl_m=draw(st.floats(2.0, cruise)),
        dropoff_hover_s=draw(st.floats(0.0, 30.0)),
        disarm_delay_s=draw(st.sampled_from([0.0, 5.0, 10.0, 15.0, 30.0])),
        continue_after_land=True,
        winch_speed_ms=draw(st.floats(0.2, 3.0)),
    )
    out = (DEPOT.position, *draw(st.lists(_POINT, max_size=4)), DROPOFF)
    back = (DROPOFF, *draw(st.lists(_POINT, max_size=4)), DEPOT.position)
    return replace(plan(cruise), outbound=out, inbound=back), p


_RELEASE = {
    DeliveryMethod.DESCEND_RELEASE: GRIP,
    DeliveryMethod.WINCH: WINCH,
    DeliveryMethod.PAYLOAD_PLACE: Cmd.NAV_PAYLOAD_PLACE,
    DeliveryMethod.LAND: GRIP,
}


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_any_plan_gives_a_flyable_mission(case: tuple[FlightPlan, VehicleProfile]) -> None:
    fp, p = case
    try:
        mission = build_mission(fp, p, AIRSPACE)
    except MissionBuildError as err:
        # the only refusals possible here: no room on the ground before the disarm, or a
        # release height at cruise altitude for a descending delivery
        assert err.field in ("profile.disarm_delay_s", "profile.release_alt_agl_m")
        return
    items = mission.items
    assert [i.seq for i in items] == list(range(len(items)))
    assert (items[0].frame, items[1].command, items[-1].command) == (Frame.GLOBAL, TAKEOFF, LAND)
    assert _at(items[-1]) == DEPOT.position
    route = {(round(q.lat, 7), round(q.lon, 7)) for q in (*fp.outbound, *fp.inbound)}
    assert all((i.x, i.y) in route for i in items if i.has_position)
    assert {i.z for i in items[1:] if i.has_position} <= {
        fp.cruise_alt_agl_m,
        p.release_alt_agl_m,
        0.0,
    }
    assert mission.delivery_seq is not None and mission.dropoff_seq is not None
    release = items[mission.delivery_seq]
    assert release.command == _RELEASE[p.delivery_method]
    # ArduPilot runs a DO item when the navigation item before it completes: that one must
    # be the drop-off itself, so the parcel leaves the drone there and nowhere else.
    before = [i for i in items[: mission.delivery_seq + 1] if i.has_position][-1]
    assert _at(before) == DROPOFF and before.seq == mission.dropoff_seq
    for delay in (i for i in items if i.command == DELAY):
        if p.disarm_delay_s > 0:
            assert delay.param1 + GROUND_WAIT_MARGIN_S <= p.disarm_delay_s
    needs = {r.name for r in mission.required_params}
    assert {"FENCE_ENABLE", "FENCE_TYPE", "FENCE_ALT_MAX", "FENCE_RADIUS"} <= needs
    assert ("MIS_OPTIONS" in needs) is (p.delivery_method is DeliveryMethod.LAND)
    assert ("WINCH_TYPE" in needs) is (p.delivery_method is DeliveryMethod.WINCH)


def test_every_mission_asks_for_returns_that_retrace_the_path_or_land() -> None:
    mission = build_mission(plan(), profile())
    needs = {r.name: (r.value, r.check) for r in mission.required_params}
    # 5 / 4 / 4: "SmartRTL or Land" for a fence breach, a lost GCS, a low battery.
    assert needs["FENCE_ACTION"] == (5.0, "eq")
    assert needs["FS_GCS_ENABLE"] == (4.0, "eq")
    assert needs["BATT_FS_LOW_ACT"] == (4.0, "eq")
    assert needs["BATT_FS_CRT_ACT"] == (1.0, "eq") and needs["FS_EKF_ACTION"] == (1.0, "eq")
    assert needs["SRTL_POINTS"][1] == "ge" and needs["SRTL_POINTS"][0] > 0
    assert needs["WPNAV_RADIUS"] == (200.0, "le")
