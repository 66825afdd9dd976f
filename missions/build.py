"""A feasible flight plan to the MAVLink mission ArduCopter flies from the ground in AUTO.

Layout (seq numbers are contiguous from 0)::

    0  home: the depot, frame GLOBAL, ground altitude AMSL (ArduPilot replaces it on upload)
    1  NAV_TAKEOFF to cruise altitude
    2  DO_CHANGE_SPEED to the profile's cruise speed
       NAV_WAYPOINT ... outbound turning points, the drop-off last, at cruise altitude
       the delivery action of the profile (below)
       NAV_WAYPOINT ... return turning points at cruise altitude
       NAV_LAND at the depot (explicit coordinates: ArduCopter flies there first)

The takeoffs carry the coordinates of where they happen for maps and ground stations;
ArduCopter uses only their altitude (ModeAuto::takeoff_start) and climbs straight up.

Delivery actions. ArduPilot runs the DO items that follow a navigation item when that item
completes (AP_Mission::advance_current_nav_cmd), so a DO_GRIPPER placed after the
release-height waypoint fires when the drone has arrived there, not on the way down.

* DESCEND_RELEASE: waypoint over the drop-off at the release height, DO_GRIPPER release,
  NAV_LOITER_TIME hover, waypoint back up at cruise altitude. No touchdown.
* WINCH: hover over the drop-off at the height of the line (release_alt_agl_m, usually the
  cruise altitude, so the drone stays high), DO_WINCH lower, NAV_LOITER_TIME while the line
  runs out and the parcel is unhooked, DO_WINCH retract (ArduPilot's length control is
  relative), NAV_LOITER_TIME while it comes back (so the drone does not leave with the line
  hanging), and back to cruise altitude if the hover was lower.
* PAYLOAD_PLACE: NAV_PAYLOAD_PLACE at the drop-off; ArduCopter descends until the thrust
  drops (touchdown), releases the gripper and climbs back to the item's altitude.
* LAND: NAV_LAND at the drop-off, DO_GRIPPER release, NAV_DELAY, NAV_TAKEOFF. Only for
  vehicles with MIS_OPTIONS bit 2 (ContinueAfterLand): otherwise ArduCopter disarms 2 s after
  touchdown and resets the mission to seq 1 (delivery_flight recording). The ground wait is
  kept below DISARM_DELAY, or the copter disarms mid-delay (delivery_flight_continue part 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from missions.errors import MissionBuildError, MissionFormatError
from missions.fence import fence_items
from missions.items import Cmd, Frame, Mission, MissionItem, ParamRequirement, mavlink
from missions.rally import rally_items
from missions.validate import validate_mission
from planner.corners import SRTL_ACCURACY_M, WPNAV_RADIUS_M
from planner.energy import PHASE_GROUPS, group_phases
from planner.geo import ardupilot_distance_m
from planner.model import Airspace, Depot, FlightPlan, LatLon
from planner.vehicle import DeliveryMethod, VehicleProfile

__all__ = [
    "CONTINGENCY_NEEDS",
    "GRIPPER_INSTANCE",
    "GRIPPER_RELEASE",
    "GROUND_WAIT_MARGIN_S",
    "MIN_FENCE_MARGIN_M",
    "MIN_GROUND_WAIT_S",
    "PAYLOAD_PLACE_SLACK_M",
    "PHASE_GROUPS",
    "SPEED_TYPE_GROUND",
    "WINCH_INSTANCE",
    "WINCH_LENGTH_CONTROL",
    "WINCH_SETTLE_S",
    "build_mission",
    "planned_meta",
]

GRIPPER_RELEASE = mavlink.GRIPPER_ACTION_RELEASE
"""DO_GRIPPER param2 (GRIPPER_ACTION_GRAB would close it)."""
GRIPPER_INSTANCE = 1
WINCH_INSTANCE = 1
WINCH_LENGTH_CONTROL = mavlink.WINCH_RELATIVE_LENGTH_CONTROL
"""DO_WINCH param2: param3 is a length change in metres, + lowers, - raises."""
SPEED_TYPE_GROUND = mavlink.SPEED_TYPE_GROUNDSPEED
"""DO_CHANGE_SPEED param1: ArduCopter applies anything but climb/descent to horizontal speed."""
WINCH_SETTLE_S = 5.0
"""Extra time per winch movement: ArduPilot slows the line down near its target length."""
MIN_FENCE_MARGIN_M = 10.0
"""Least room between the flight and FENCE_ALT_MAX / FENCE_RADIUS. Measured on ArduCopter 4.7
SITL (delivery-quad at 22 m/s, true position from the dataflash SIM message): the climb to a
100 m cruise topped out at 100.17 m and the farthest point flown was 0.3 m past the farthest
waypoint (CBR-040; a zig-zag of 45-90 degree turns stayed inside its waypoints). 10 m is over
five times the overshoot plus ArduPilot's own FENCE_MARGIN (2 m), so a fence only fires on a
real fault."""
GROUND_WAIT_MARGIN_S = 3.0
"""DISARM_DELAY must exceed the ground wait by this much: the disarm timer starts at touchdown,
the NAV_DELAY only after the land is verified and the gripper has run."""
MIN_GROUND_WAIT_S = 1.0
"""Shortest ground wait worth flying: the gripper needs a moment to open."""
PAYLOAD_PLACE_SLACK_M = 10.0
"""NAV_PAYLOAD_PLACE may descend this much more than the cruise altitude (drop-off ground below
home) before ArduCopter gives up and climbs back without releasing."""


@dataclass
class _Items:
    """Mission items under construction, numbered as they are added."""

    items: list[MissionItem] = field(default_factory=list)

    def nav(self, command: Cmd, at: LatLon, alt_m: float, *params: float) -> int:
        """A navigation item at ``at``, ``alt_m`` above home; returns its seq."""
        p = (*params, 0.0, 0.0, 0.0, 0.0)[:4]
        return self._add(command, Frame.GLOBAL_RELATIVE_ALT_INT, p, at.lat, at.lon, alt_m)

    def home(self, depot: Depot) -> int:
        """Seq 0: the depot, frame GLOBAL, absolute altitude (the ground AMSL)."""
        pos = depot.position
        return self._add(
            Cmd.NAV_WAYPOINT, Frame.GLOBAL, (0.0,) * 4, pos.lat, pos.lon, depot.ground_alt_amsl_m
        )

    def do(self, command: Cmd, *params: float) -> int:
        """A DO item (or NAV_DELAY) without a position, frame MISSION; returns its seq."""
        p = (*params, 0.0, 0.0, 0.0, 0.0)[:4]
        return self._add(command, Frame.MISSION, p, 0.0, 0.0, 0.0)

    def _add(
        self, command: Cmd, frame: Frame, p: tuple[float, ...], x: float, y: float, z: float
    ) -> int:
        seq = len(self.items)
        self.items.append(
            MissionItem(
                seq=seq,
                command=command,
                frame=frame,
                param1=float(p[0]),
                param2=float(p[1]),
                param3=float(p[2]),
                param4=float(p[3]),
                x=x,
                y=y,
                z=float(z),
            )
        )
        return seq


@dataclass(frozen=True, slots=True)
class _Delivery:
    dropoff_seq: int
    delivery_seq: int
    needs: tuple[ParamRequirement, ...]
    return_seq: int = 0
    """First item of the way home (the first inbound waypoint, or the final land)."""


def _require(ok: bool, field_name: str, problem: str) -> None:
    if not ok:
        raise MissionBuildError(field_name, problem)


def _check_plan(plan: FlightPlan, profile: VehicleProfile, airspace: Airspace | None) -> None:
    cruise = plan.cruise_alt_agl_m
    _require(len(plan.outbound) >= 2, "plan.outbound", "needs the depot and the drop-off")
    _require(len(plan.inbound) >= 2, "plan.inbound", "needs the drop-off and the depot")
    _require(
        math.isfinite(cruise) and cruise > 0,
        "plan.cruise_alt_agl_m",
        f"must be a finite altitude > 0 m, got {cruise!r}",
    )
    _require(
        cruise <= profile.ceiling_agl_m,
        "plan.cruise_alt_agl_m",
        f"{cruise:g} m is above the vehicle ceiling {profile.ceiling_agl_m:g} m",
    )
    if airspace is not None:
        _require(
            cruise <= airspace.ceiling_agl_m,
            "plan.cruise_alt_agl_m",
            f"{cruise:g} m is above the airspace ceiling {airspace.ceiling_agl_m:g} m",
        )


def _positive(value: float, field_name: str, unit: str, *, zero_ok: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0 if zero_ok else value > 0)
    _require(ok, field_name, f"must be {'>=' if zero_ok else '>'} 0 {unit}, got {value!r}")


def _check_profile(profile: VehicleProfile, cruise: float) -> None:
    _positive(profile.cruise_speed_ms, "profile.cruise_speed_ms", "m/s")
    _positive(profile.dropoff_hover_s, "profile.dropoff_hover_s", "s", zero_ok=True)
    release = profile.release_alt_agl_m
    if profile.delivery_method is DeliveryMethod.DESCEND_RELEASE:
        _require(
            math.isfinite(release) and 0 < release < cruise,
            "profile.release_alt_agl_m",
            f"must be between 0 and the cruise altitude {cruise:g} m, got {release!r}",
        )
    if profile.delivery_method is DeliveryMethod.WINCH:
        _require(
            math.isfinite(release) and 0 < release <= cruise,
            "profile.release_alt_agl_m",
            f"the winch line must be 0 < length <= cruise altitude {cruise:g} m, got {release!r}",
        )
        _positive(profile.winch_speed_ms, "profile.winch_speed_ms", "m/s")


_GRIPPER = (
    ParamRequirement(
        "GRIP_ENABLE",
        1.0,
        "eq",
        "DO_GRIPPER releases the parcel; with GRIP_ENABLE=0 ArduCopter refuses it, and after "
        "enabling it only acts after a reboot",
    ),
    ParamRequirement(
        "GRIP_TYPE",
        0.0,
        "gt",
        "with GRIP_TYPE=0 (none) ArduCopter accepts DO_GRIPPER but nothing is released; "
        "1 = servo, 2 = EPM",
    ),
)


def _descend_release(b: _Items, drop: LatLon, plan: FlightPlan, p: VehicleProfile) -> _Delivery:
    release = p.release_alt_agl_m
    dropoff_seq = b.nav(Cmd.NAV_WAYPOINT, drop, release)
    delivery_seq = b.do(Cmd.DO_GRIPPER, GRIPPER_INSTANCE, GRIPPER_RELEASE)
    b.nav(Cmd.NAV_LOITER_TIME, drop, release, p.dropoff_hover_s)
    b.nav(Cmd.NAV_WAYPOINT, drop, plan.cruise_alt_agl_m)
    return _Delivery(dropoff_seq, delivery_seq, _GRIPPER)


def _winch(b: _Items, drop: LatLon, plan: FlightPlan, p: VehicleProfile) -> _Delivery:
    line_m = p.release_alt_agl_m
    rate = p.winch_speed_ms
    # The winch slows down near its target length (a P controller on the length), so each
    # movement gets WINCH_SETTLE_S on top of length / rate.
    run_s = line_m / rate + WINCH_SETTLE_S
    lowered = line_m < plan.cruise_alt_agl_m
    # Hover where a line of line_m reaches the ground; at cruise altitude when they agree,
    # then the last outbound waypoint is already that place.
    dropoff_seq = b.nav(Cmd.NAV_WAYPOINT, drop, line_m) if lowered else len(b.items) - 1
    delivery_seq = b.do(Cmd.DO_WINCH, WINCH_INSTANCE, WINCH_LENGTH_CONTROL, line_m, rate)
    b.nav(Cmd.NAV_LOITER_TIME, drop, line_m, float(math.ceil(run_s + p.dropoff_hover_s)))
    b.do(Cmd.DO_WINCH, WINCH_INSTANCE, WINCH_LENGTH_CONTROL, -line_m, rate)
    b.nav(Cmd.NAV_LOITER_TIME, drop, line_m, float(math.ceil(run_s)))
    if lowered:
        b.nav(Cmd.NAV_WAYPOINT, drop, plan.cruise_alt_agl_m)
    needs = (
        ParamRequirement(
            "WINCH_TYPE", 0.0, "gt", "DO_WINCH fails with WINCH_TYPE=0 (and until a reboot after)"
        ),
        ParamRequirement(
            "WINCH_RATE_MAX",
            rate,
            "ge",
            f"the loiter times assume the line moves at {rate:g} m/s",
        ),
    )
    return _Delivery(dropoff_seq, delivery_seq, needs)


def _payload_place(b: _Items, drop: LatLon, plan: FlightPlan, p: VehicleProfile) -> _Delivery:
    max_descent_m = plan.cruise_alt_agl_m + PAYLOAD_PLACE_SLACK_M
    seq = b.nav(Cmd.NAV_PAYLOAD_PLACE, drop, plan.cruise_alt_agl_m, max_descent_m)
    return _Delivery(seq, seq, _GRIPPER)


def _ground_wait_s(p: VehicleProfile) -> float:
    if p.disarm_delay_s <= 0:
        return p.dropoff_hover_s  # DISARM_DELAY=0: ArduCopter never disarms by itself
    wait = min(p.dropoff_hover_s, p.disarm_delay_s - GROUND_WAIT_MARGIN_S)
    _require(
        wait >= MIN_GROUND_WAIT_S,
        "profile.disarm_delay_s",
        f"{p.disarm_delay_s:g} s leaves no time on the ground: the wait must be at least "
        f"{MIN_GROUND_WAIT_S:g} s and {GROUND_WAIT_MARGIN_S:g} s shorter than DISARM_DELAY",
    )
    return wait


def _land(b: _Items, drop: LatLon, plan: FlightPlan, p: VehicleProfile) -> _Delivery:
    _require(
        p.continue_after_land,
        "profile.delivery_method",
        "LAND needs a vehicle set to continue after landing (MIS_OPTIONS bit 2, "
        "continue_after_land): otherwise ArduCopter disarms at the drop-off, resets the "
        "mission to its first item, and the parcel is never released",
    )
    wait_s = _ground_wait_s(p)
    dropoff_seq = b.nav(Cmd.NAV_LAND, drop, 0.0)
    delivery_seq = b.do(Cmd.DO_GRIPPER, GRIPPER_INSTANCE, GRIPPER_RELEASE)
    # NAV_DELAY: param1 seconds; -1 for hour/minute/second means "no time of day".
    b.do(Cmd.NAV_DELAY, wait_s, -1, -1, -1)
    b.nav(Cmd.NAV_TAKEOFF, drop, plan.cruise_alt_agl_m)
    if p.disarm_delay_s <= 0:
        disarm = ParamRequirement(
            "DISARM_DELAY", 0.0, "eq", "the profile expects auto-disarm to be off (0)"
        )
    else:
        disarm = ParamRequirement(
            "DISARM_DELAY",
            wait_s + GROUND_WAIT_MARGIN_S,
            "ge",
            f"the copter waits {wait_s:g} s on the ground at the drop-off; a shorter "
            "DISARM_DELAY disarms it mid-wait and resets the mission",
        )
    continue_after_land = ParamRequirement(
        "MIS_OPTIONS",
        4.0,
        "bits",
        "bit 2 (ContinueAfterLand) keeps the copter armed after the NAV_LAND at the drop-off",
    )
    return _Delivery(dropoff_seq, delivery_seq, (continue_after_land, disarm, *_GRIPPER))


_ACTIONS = {
    DeliveryMethod.DESCEND_RELEASE: _descend_release,
    DeliveryMethod.WINCH: _winch,
    DeliveryMethod.PAYLOAD_PLACE: _payload_place,
    DeliveryMethod.LAND: _land,
}


def _fence_needs(
    cruise_alt_m: float, farthest_m: float, margin_m: float
) -> tuple[ParamRequirement, ...]:
    return (
        ParamRequirement("FENCE_ENABLE", 1.0, "eq", "the uploaded fence only acts when enabled"),
        ParamRequirement(
            "FENCE_TYPE", 4.0, "bits", "bit 2 (polygon) makes ArduPilot use the uploaded fence"
        ),
        ParamRequirement(
            "FENCE_ALT_MAX",
            cruise_alt_m + margin_m,
            "ge",
            f"cruise altitude {cruise_alt_m:g} m plus {margin_m:g} m, in case FENCE_TYPE "
            "includes the altitude fence (bit 0)",
        ),
        ParamRequirement(
            "FENCE_RADIUS",
            float(math.ceil(farthest_m + margin_m)),
            "ge",
            f"the mission goes {farthest_m:.0f} m from home; the circle fence (FENCE_TYPE bit "
            "1, on by default) must enclose it with room to spare",
        ),
    )


SMART_RTL_OR_LAND = {"FENCE_ACTION": 5.0, "FS_GCS_ENABLE": 4.0, "BATT_FS_LOW_ACT": 4.0}
"""The failsafe action values that mean "SmartRTL, else Land" (ArduCopter 4.7)."""
CONTINGENCY_NEEDS: tuple[ParamRequirement, ...] = (
    *(
        ParamRequirement(
            name,
            value,
            "eq",
            f"{what} retraces the path flown (SmartRTL), which the plan keeps clear of every "
            "zone, else lands where it is; a plain RTL flies straight home through zones",
        )
        for (name, value), what in zip(
            SMART_RTL_OR_LAND.items(),
            ("a fence breach", "losing the ground station", "a low battery"),
            strict=True,
        )
    ),
    ParamRequirement(
        "FS_OPTIONS",
        2.0,
        "bits",
        "bit 1: a lost ground station in AUTO flies the planned mission on (its route keeps the "
        "margin and ends at the depot, and a restarted ground station picks it up); in any "
        "other mode FS_GCS_ENABLE's SmartRTL applies",
    ),
    ParamRequirement(
        "BATT_FS_CRT_ACT",
        1.0,
        "eq",
        "a critical battery lands where the copter is: the route never passes over a zone "
        "whose band reaches the ground",
    ),
    ParamRequirement(
        "FS_EKF_ACTION", 1.0, "eq", "without a position nothing can navigate round a zone: land"
    ),
    ParamRequirement(
        "SRTL_POINTS",
        100.0,
        "ge",
        "SmartRTL keeps the path in this many points; 0 disables it and every return lands",
    ),
    ParamRequirement(
        "SRTL_ACCURACY",
        SRTL_ACCURACY_M,
        "le",
        f"SmartRTL may stray from the path flown by this much (m); the route's turning points "
        f"allow {SRTL_ACCURACY_M:g} m for it",
    ),
    ParamRequirement(
        "WPNAV_RADIUS",
        100.0 * WPNAV_RADIUS_M,
        "le",
        f"ArduCopter cuts corners by up to WPNAV_RADIUS (cm); the route's turning points "
        f"allow {WPNAV_RADIUS_M:g} m for it",
    ),
)
"""What every delivery mission relies on for a return that never crosses a no-fly zone."""


def planned_meta(plan: FlightPlan) -> dict[str, str]:
    """The plan's figures a flight is judged against, as ``Mission.meta`` strings: total time
    (s) and energy (Wh), the time and energy of each of ``PHASE_GROUPS``, and the inputs the
    plan was computed from (cruise lengths out and back in m, payload in kg), so a flown
    record can be re-planned with another profile (``planner.calibrate``).
    """
    meta: dict[str, str] = {}
    for name, (seconds, wh) in group_phases(plan.phases).items():
        meta[f"planned_{name}_s"] = f"{seconds:.1f}"
        meta[f"planned_{name}_wh"] = f"{wh:.2f}"
    lengths = {"cruise_out": 0.0, "cruise_back": 0.0}
    for phase in plan.phases:
        if phase.name in lengths:
            lengths[phase.name] += phase.distance_m
    meta["planned_s"] = f"{plan.flight_time_s:.1f}"
    meta["planned_wh"] = f"{plan.energy_wh:.2f}"
    meta["out_m"] = f"{lengths['cruise_out']:.1f}"
    meta["back_m"] = f"{lengths['cruise_back']:.1f}"
    meta["payload_kg"] = f"{plan.order.payload_kg:g}"
    meta["cruise_alt_m"] = f"{plan.cruise_alt_agl_m:g}"
    return meta


def _farthest_m(home: LatLon, items: Sequence[MissionItem]) -> float:
    # As the autopilot measures it for FENCE_RADIUS, not on the ellipsoid.
    return max(
        (ardupilot_distance_m(home, LatLon(it.x, it.y)) for it in items if it.has_position),
        default=0.0,
    )


def _route_items(b: _Items, plan: FlightPlan, profile: VehicleProfile) -> _Delivery:
    depot = plan.depot
    cruise = plan.cruise_alt_agl_m
    b.home(depot)
    b.nav(Cmd.NAV_TAKEOFF, depot.position, cruise)
    # param3 -1: leave the throttle alone.
    b.do(Cmd.DO_CHANGE_SPEED, SPEED_TYPE_GROUND, profile.cruise_speed_ms, -1, 0)
    for point in plan.outbound[1:]:
        b.nav(Cmd.NAV_WAYPOINT, point, cruise)
    delivery = _ACTIONS[profile.delivery_method](b, plan.outbound[-1], plan, profile)
    delivery = replace(delivery, return_seq=len(b.items))
    for point in plan.inbound[1:-1]:
        b.nav(Cmd.NAV_WAYPOINT, point, cruise)
    b.nav(Cmd.NAV_LAND, plan.inbound[-1], 0.0)
    return delivery


def build_mission(
    plan: FlightPlan,
    profile: VehicleProfile,
    airspace: Airspace | None = None,
    *,
    depots: Sequence[Depot] = (),
    fence_margin_m: float = 0.0,
    fence_near_m: float | None = None,
) -> Mission:
    """The mission, fence and rally points for one planned delivery.

    Args:
        plan: a feasible plan (routes out and back, cruise altitude).
        profile: the vehicle type; its delivery method chooses the action at the drop-off.
        airspace: when given, its operating area and the zones that constrain this flight
            become fence items, and the mission asks for the fence to be enabled.
        depots: rally points; by default the plan's depot.
        fence_margin_m: room required between the flight and the vehicle's own altitude and
            circle fences (FENCE_ALT_MAX, FENCE_RADIUS); raised to ``MIN_FENCE_MARGIN_M``.
        fence_near_m: leave out zones farther than this from the route (small fence storage);
            None keeps them all.

    Raises:
        MissionBuildError: inconsistent plan or profile (cruise altitude above a ceiling,
            release height not below cruise), LAND for a vehicle that does not continue after
            landing or whose DISARM_DELAY leaves no ground wait, an unusable fence shape,
            or a mission ``missions.validate`` refuses (a fence beyond ArduCopter's storage).
    """
    _check_plan(plan, profile, airspace)
    _check_profile(profile, plan.cruise_alt_agl_m)
    _positive(fence_margin_m, "fence_margin_m", "m", zero_ok=True)
    b = _Items()
    delivery = _route_items(b, plan, profile)
    fence: tuple[MissionItem, ...] = ()
    if airspace is not None:
        route = (*plan.outbound, *plan.inbound)
        fence = fence_items(
            airspace, high_agl_m=plan.cruise_alt_agl_m, route=route, near_m=fence_near_m
        )
    needs = delivery.needs + CONTINGENCY_NEEDS
    if fence:
        margin = max(fence_margin_m, MIN_FENCE_MARGIN_M)
        farthest = _farthest_m(plan.depot.position, b.items)
        needs += _fence_needs(plan.cruise_alt_agl_m, farthest, margin)
    rally = rally_items(
        depots or (plan.depot,),
        alt_agl_m=plan.cruise_alt_agl_m,
        home_alt_amsl_m=plan.depot.ground_alt_amsl_m,
    )
    mission = Mission(
        name=f"order {plan.order.id}",
        items=tuple(b.items),
        fence=fence,
        rally=rally,
        required_params=needs,
        delivery_seq=delivery.delivery_seq,
        dropoff_seq=delivery.dropoff_seq,
        order_id=plan.order.id,
        cruise_speed_ms=profile.cruise_speed_ms,
        meta={
            "profile": profile.name,
            "depot": plan.depot.id,
            "delivery_method": profile.delivery_method.value,
            "return_seq": str(delivery.return_seq),
            **planned_meta(plan),
        },
    )
    try:
        # What fly would refuse must not be written: a fence beyond the vehicle's storage,
        # a speed or altitude out of range, an order id with control characters.
        return validate_mission(mission)
    except MissionFormatError as exc:
        raise MissionBuildError(exc.field or "mission", exc.problem) from None
