"""Scripted vehicles for the in-memory backend: a phase machine that flies a route on a timer.

Not a flight model: vehicles move at a constant speed along straight legs, climb and descend at
constant rates, and drain the battery linearly. Good enough to exercise every panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from groundcontrol.console.model import (
    EkfHealth,
    MapView,
    MissionItemView,
    PlanView,
    Severity,
    VehicleState,
    VehicleView,
)
from planner.model import LatLon
from scripted.geo import (
    bearing_deg,
    distance_m,
    move_towards,
    route_length_m,
    segment_hits_circle,
)

__all__ = ["CRUISE_ALT_M", "CRUISE_SPEED_MS", "Phase", "SimVehicle", "fly_plan", "rough_plan"]

CRUISE_SPEED_MS = 15.0
CRUISE_ALT_M = 60.0
DROP_ALT_M = 10.0
CLIMB_MS = 3.0
DESCENT_MS = 2.0
DROP_HOLD_S = 5.0
USABLE_WH = 320.0
RESERVE_WH = 64.0

Event = tuple[Severity, str]


class Phase(Enum):
    IDLE = "idle"
    PREFLIGHT = "preflight"
    UPLOADING = "uploading"
    TAKEOFF = "takeoff"
    OUTBOUND = "outbound"
    DROP = "drop"
    INBOUND = "inbound"
    RTL = "rtl"
    LANDING = "landing"
    LAND_HERE = "land_here"
    POST_LANDED = "post_landed"
    LANDED_AWAY = "landed_away"
    CHARGING = "charging"


_STATE = {
    Phase.IDLE: VehicleState.IDLE,
    Phase.PREFLIGHT: VehicleState.PREFLIGHT,
    Phase.UPLOADING: VehicleState.UPLOADING,
    Phase.TAKEOFF: VehicleState.EN_ROUTE,
    Phase.OUTBOUND: VehicleState.EN_ROUTE,
    Phase.DROP: VehicleState.DELIVERING,
    Phase.INBOUND: VehicleState.RETURNING,
    Phase.RTL: VehicleState.RETURNING,
    Phase.LANDING: VehicleState.RETURNING,
    Phase.LAND_HERE: VehicleState.RETURNING,
    Phase.POST_LANDED: VehicleState.LANDED,
    Phase.LANDED_AWAY: VehicleState.LANDED,
    Phase.CHARGING: VehicleState.CHARGING,
}
_FLYING = (
    Phase.TAKEOFF,
    Phase.OUTBOUND,
    Phase.DROP,
    Phase.INBOUND,
    Phase.RTL,
    Phase.LANDING,
    Phase.LAND_HERE,
)


def _bounding_circle(ring: tuple[LatLon, ...]) -> tuple[LatLon, float]:
    center = LatLon(sum(p.lat for p in ring) / len(ring), sum(p.lon for p in ring) / len(ring))
    return center, max(distance_m(center, p) for p in ring)


def rough_plan(home: LatLon, dest: LatLon, payload_kg: float, map_view: MapView) -> PlanView:
    """Straight legs, one detour per zone in the way, there and back the same way."""
    outbound = [home, dest]
    for zone in map_view.zones:
        if zone.center is not None and zone.radius_m is not None:
            circles = [(zone.center, zone.radius_m)]
        else:
            circles = [_bounding_circle(ring) for ring in zone.rings]
        for center, radius in circles:
            for i in range(len(outbound) - 1):
                detour = segment_hits_circle(outbound[i], outbound[i + 1], center, radius)
                if detour is not None:
                    outbound.insert(i + 1, detour)
                    break
    route = tuple(outbound + outbound[-2::-1])
    distance = route_length_m(route)
    flight_time = distance / CRUISE_SPEED_MS + 2 * CRUISE_ALT_M / CLIMB_MS + 30.0
    energy = flight_time * (350.0 + 40.0 * payload_kg) / 3600.0
    return PlanView(
        distance_m=distance,
        energy_wh=energy,
        reserve_left_wh=USABLE_WH - RESERVE_WH - energy,
        flight_time_s=flight_time,
        cruise_alt_m=CRUISE_ALT_M,
        route=route,
        items=_items(tuple(outbound), dest),
        vehicle_profile="scripted-quad",
    )


def _items(outbound: tuple[LatLon, ...], dest: LatLon) -> tuple[MissionItemView, ...]:
    home = outbound[0]
    rows: list[tuple[str, LatLon | None, float | None, str]] = [
        ("NAV_WAYPOINT", home, 0.0, "home"),
        ("NAV_TAKEOFF", None, CRUISE_ALT_M, ""),
    ]
    rows += [("NAV_WAYPOINT", p, CRUISE_ALT_M, "") for p in outbound[1:]]
    rows += [
        ("NAV_WAYPOINT", dest, DROP_ALT_M, "descend"),
        ("DO_GRIPPER", None, None, "release"),
        ("NAV_LOITER_TIME", dest, DROP_ALT_M, f"{DROP_HOLD_S:g} s"),
        ("NAV_WAYPOINT", dest, CRUISE_ALT_M, "climb"),
    ]
    rows += [("NAV_WAYPOINT", p, CRUISE_ALT_M, "") for p in outbound[-2:0:-1]]
    rows.append(("NAV_LAND", home, 0.0, ""))
    return tuple(
        MissionItemView(seq, cmd, p.lat if p else None, p.lon if p else None, alt, note)
        for seq, (cmd, p, alt, note) in enumerate(rows)
    )


@dataclass
class SimVehicle:
    """One scripted vehicle. Action methods return a problem string, or "" when accepted."""

    name: str
    sysid: int
    depot_id: str
    home: LatLon
    position: LatLon
    phase: Phase = Phase.IDLE
    alt_m: float = 0.0
    battery_pct: float = 100.0
    heading_deg: float = 0.0
    speed_ms: float = 0.0
    mode: str = "STABILIZE"
    armed: bool = False
    paused: bool = False
    delivered: bool = False
    order_id: str | None = None
    route: tuple[LatLon, ...] = ()
    drop_index: int = 0
    leg: int = 1
    timer_s: float = 0.0
    payload_kg: float = 0.0
    mission_count: int | None = None
    link_lost_until_s: float = -math.inf
    released: bool = field(default=False)
    fence_breached: bool = False
    """Set by a test: the vehicle reports a fence breach."""

    @property
    def state(self) -> VehicleState:
        return _STATE[self.phase]

    def view(self, now_s: float = 0.0) -> VehicleView:
        lost = now_s < self.link_lost_until_s
        return VehicleView(
            name=self.name,
            sysid=self.sysid,
            state=VehicleState.LINK_LOST if lost else self.state,
            mode=self.mode,
            armed=self.armed,
            battery_pct=round(self.battery_pct, 1),
            alt_m=round(self.alt_m, 1),
            ground_speed_ms=round(self.speed_ms, 1),
            heading_deg=round(self.heading_deg) % 360,
            position=self.position,
            order_id=self.order_id,
            eta_s=self._eta_s(),
            link_age_s=round(now_s - self.link_lost_until_s + 30.0, 1) if lost else 0.2,
            mission_seq=self._mission_seq(),
            mission_count=self.mission_count,
            fault="no messages heard" if lost else "",
            gps_fix_type=3, gps_sats=14, ekf=EkfHealth.OK, fence_breached=self.fence_breached,
            **self._power(),
        )

    def _power(self) -> dict[str, float | None]:
        """A 6S pack: volts from the charge, amps from the drain ``step`` applies."""
        volts = round(21.0 + 4.2 * self.battery_pct / 100.0, 1)
        drain_pct_s = 0.06 + 0.01 * self.payload_kg if self.phase in _FLYING else 0.0
        watts = drain_pct_s / 100.0 * USABLE_WH * 3600.0 if drain_pct_s else 5.0
        left = round(self.battery_pct / drain_pct_s) if drain_pct_s and not self.paused else None
        return {"voltage_v": volts, "current_a": round(watts / volts, 1),
                "energy_wh": round(USABLE_WH * (100.0 - self.battery_pct) / 100.0, 1),
                "battery_left_s": left}

    def _remaining_m(self, upto: int) -> float:
        if self.leg > upto:
            return 0.0
        rest = route_length_m(self.route[self.leg : upto + 1])
        return distance_m(self.position, self.route[self.leg]) + rest

    def _eta_s(self) -> float | None:
        if self.phase in (Phase.TAKEOFF, Phase.OUTBOUND):
            return self._remaining_m(self.drop_index) / CRUISE_SPEED_MS
        if self.phase is Phase.INBOUND:
            return self._remaining_m(len(self.route) - 1) / CRUISE_SPEED_MS + 30.0
        if self.phase is Phase.RTL:
            return distance_m(self.position, self.home) / CRUISE_SPEED_MS + 30.0
        if self.phase in (Phase.LANDING, Phase.LAND_HERE):
            return self.alt_m / DESCENT_MS
        return None

    def _mission_seq(self) -> int | None:
        if self.mission_count is None or self.phase in (Phase.IDLE, Phase.CHARGING):
            return None
        if self.phase in (Phase.PREFLIGHT, Phase.UPLOADING):
            return 0
        if self.phase is Phase.TAKEOFF:
            return 1
        if self.phase is Phase.OUTBOUND:
            return 1 + self.leg
        if self.phase is Phase.DROP:
            return self.drop_index + 2 + (1 if self.released else 0)
        if self.phase is Phase.INBOUND:
            return self.leg + 5
        return self.mission_count - 1

    # -- commands ----------------------------------------------------------------------------

    def pause(self) -> str:
        if self.phase not in _FLYING:
            return f"not flying ({self.state.value})"
        if self.paused:
            return "already paused"
        self.paused, self.mode = True, "BRAKE"
        return ""

    def resume(self) -> str:
        if not self.paused:
            return "not paused"
        self.paused = False
        self.mode = {Phase.RTL: "RTL", Phase.LAND_HERE: "LAND"}.get(self.phase, "AUTO")
        return ""

    def rtl(self) -> str:
        if self.phase not in _FLYING or self.phase in (Phase.LANDING, Phase.RTL):
            return f"cannot RTL while {self.phase.value}"
        self.phase, self.mode, self.paused = Phase.RTL, "RTL", False
        return ""

    def land(self) -> str:
        if self.phase not in _FLYING or self.phase in (Phase.LANDING, Phase.LAND_HERE):
            return f"cannot land while {self.phase.value}"
        self.phase, self.mode, self.paused = Phase.LAND_HERE, "LAND", False
        return ""

    def abort(self) -> str:
        if self.phase in (Phase.PREFLIGHT, Phase.UPLOADING):
            self.stand_down()
            return ""
        return self.rtl()

    def stand_down(self) -> None:
        """Back to idle on the ground (order cancelled before take-off)."""
        self.phase, self.order_id, self.mission_count = Phase.IDLE, None, None
        self.mode = "STABILIZE"

    # -- time ----------------------------------------------------------------------------------

    def step(self, dt_s: float, now_s: float) -> list[Event]:
        events: list[Event] = []
        if self.phase in _FLYING and not self.paused:
            self.battery_pct = max(0.0, self.battery_pct - dt_s * (0.06 + 0.01 * self.payload_kg))
        if self.paused:
            self.speed_ms = 0.0
            return events
        handler = getattr(self, f"_step_{self.phase.value}", None)
        if handler is not None:
            handler(dt_s, events)
        return events

    def _timer(self, dt_s: float) -> bool:
        self.timer_s -= dt_s
        return self.timer_s <= 0.0

    def _step_preflight(self, dt_s: float, events: list[Event]) -> None:
        if self._timer(dt_s):
            self.phase, self.timer_s = Phase.UPLOADING, 2.0
            events.append((Severity.INFO, f"uploading mission ({self.mission_count} items)"))

    def _step_uploading(self, dt_s: float, events: list[Event]) -> None:
        if self._timer(dt_s):
            self.phase, self.mode, self.armed = Phase.TAKEOFF, "AUTO", True
            events.append((Severity.INFO, "Arming motors; Mission: 1 Takeoff"))

    def _step_takeoff(self, dt_s: float, events: list[Event]) -> None:
        self.alt_m = min(CRUISE_ALT_M, self.alt_m + CLIMB_MS * dt_s)
        if self.alt_m >= CRUISE_ALT_M:
            self.phase, self.leg = Phase.OUTBOUND, 1

    def _fly(self, target: LatLon, dt_s: float) -> bool:
        if self.position != target:
            self.heading_deg = bearing_deg(self.position, target)
        self.position, reached = move_towards(self.position, target, CRUISE_SPEED_MS * dt_s)
        self.speed_ms = CRUISE_SPEED_MS
        return reached

    def _step_outbound(self, dt_s: float, events: list[Event]) -> None:
        if self._fly(self.route[self.leg], dt_s):
            events.append((Severity.DEBUG, f"Reached waypoint #{1 + self.leg}"))
            if self.leg >= self.drop_index:
                self.phase, self.timer_s, self.speed_ms = Phase.DROP, 0.0, 0.0
            else:
                self.leg += 1

    def _step_drop(self, dt_s: float, events: list[Event]) -> None:
        if not self.released:
            self.alt_m = max(DROP_ALT_M, self.alt_m - DESCENT_MS * dt_s)
            if self.alt_m <= DROP_ALT_M and self._timer(dt_s):
                self.released, self.delivered, self.timer_s = True, True, DROP_HOLD_S
                events.append((Severity.NOTICE, "Gripper: released"))
            return
        if self._timer(dt_s):
            self.alt_m = min(CRUISE_ALT_M, self.alt_m + CLIMB_MS * dt_s)
            if self.alt_m >= CRUISE_ALT_M:
                self.phase, self.leg = Phase.INBOUND, self.drop_index + 1

    def _step_inbound(self, dt_s: float, events: list[Event]) -> None:
        if self._fly(self.route[self.leg], dt_s):
            if self.leg >= len(self.route) - 1:
                self.phase, self.mode, self.speed_ms = Phase.LANDING, "LAND", 0.0
                events.append((Severity.INFO, "Mission: NAV_LAND"))
            else:
                self.leg += 1

    def _step_rtl(self, dt_s: float, events: list[Event]) -> None:
        if self._fly(self.home, dt_s):
            self.phase, self.speed_ms = Phase.LANDING, 0.0

    def _descend(self, dt_s: float, events: list[Event], then: Phase) -> None:
        self.speed_ms = 0.0
        self.alt_m = max(0.0, self.alt_m - DESCENT_MS * dt_s)
        if self.alt_m <= 0.0:
            self.phase, self.timer_s = then, 3.0
            events.append((Severity.INFO, "Land complete"))

    def _step_landing(self, dt_s: float, events: list[Event]) -> None:
        self._descend(dt_s, events, Phase.POST_LANDED)

    def _step_land_here(self, dt_s: float, events: list[Event]) -> None:
        self._descend(dt_s, events, Phase.LANDED_AWAY)

    def _step_post_landed(self, dt_s: float, events: list[Event]) -> None:
        if self.armed and self._timer(dt_s):
            self.armed, self.mode = False, "STABILIZE"
            events.append((Severity.INFO, "Disarming motors"))
            self.phase, self.mission_count = Phase.CHARGING, None
            self.order_id = None

    def _step_landed_away(self, dt_s: float, events: list[Event]) -> None:
        if self.armed and self._timer(dt_s):
            self.armed, self.mode = False, "STABILIZE"
            events.append((Severity.WARNING, "Disarming motors (landed away from the depot)"))

    def _step_charging(self, dt_s: float, events: list[Event]) -> None:
        self.battery_pct = min(100.0, self.battery_pct + 0.5 * dt_s)
        if self.battery_pct >= 95.0:
            self.phase = Phase.IDLE
            events.append((Severity.INFO, f"battery {self.battery_pct:.0f}%: ready"))


def fly_plan(sim: SimVehicle, order_id: str, plan: PlanView, payload_kg: float = 0.0) -> None:
    """Give a vehicle its mission: preflight, upload, then the route."""
    route = plan.route
    far = max(range(len(route)), key=lambda i: distance_m(route[0], route[i]))
    sim.order_id, sim.route, sim.drop_index = order_id, route, len(route) // 2
    if not 0 < sim.drop_index < len(route):
        sim.drop_index = far
    sim.phase, sim.timer_s, sim.leg = Phase.PREFLIGHT, 2.0, 1
    sim.delivered = sim.released = sim.paused = False
    sim.payload_kg = payload_kg
    sim.mission_count = len(plan.items) or len(route) + 4
    sim.position, sim.alt_m = sim.home, 0.0
