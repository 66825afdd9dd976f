"""The console's view model: the data boundary between the dispatcher console and the fleet.

The console shows frozen values and calls a ``ConsoleBackend`` for actions. It knows nothing
about MAVLink, the simulator, the store or the dispatcher: whoever wires a real fleet to the
console implements ``ConsoleBackend`` and translates its own state into the views below.

Contract for a backend (read this before writing one)
-----------------------------------------------------
1. ``start(sink)`` is called once, on the UI thread, after the app has mounted. The backend keeps
   the ``ConsoleSink`` and pushes every change to it from ITS OWN thread(s): a whole new
   ``VehicleView`` each time a vehicle changes (10 Hz per vehicle is fine), an ``OrderView``
   each time an order changes, a ``MapView`` when the static map or the routes change, and an
   ``EventView`` for each line worth a dispatcher's attention (STATUSTEXT, COMMAND_ACK results,
   failsafes, dispatcher decisions). Push the current state of everything right after
   ``start``: the console starts empty. The sink is thread-safe and never blocks; the console
   keeps only the latest view per vehicle/order and redraws at most ~5 times a second, so a
   backend needs no throttling of its own. ``put_clock(now_s)`` a few times a second lets the
   console show the scenario clock and count orders' time left down between order pushes.
2. Action methods (``add_order``, ``plan``, ``launch``, ``pause`` ...) are called from a worker
   thread, never from the UI's event loop, so they may block on MAVLink round trips; they must
   be thread-safe and should return within a few seconds (the console shows "working" until
   then). They return an ``ActionResult``: ``ok`` with a short message, or not ok with the
   reasons (one line each, e.g. ``str(Infeasibility)`` from the planner). They raise only for
   bugs; domain refusals are results.
3. ``stop()`` is called once when the console exits; it must return within ~2 s.

Times on views are seconds on the scenario clock (``_s``); the console shows them as HH:MM:SS of
the day, so a backend whose clock starts at midnight or at the scenario epoch both read well.
``map_view_from_airspace``, ``plan_view_from_flight_plan`` and ``mission_item_views`` turn the
planner's and the mission builder's values into views.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from groundcontrol.fleet.model import DroneActivity as VehicleState
from groundcontrol.fleet.model import mav_severity_name
from planner.model import Airspace, Depot, FlightPlan, LatLon

if TYPE_CHECKING:
    from groundcontrol.fleet.report import DayReport
    from groundcontrol.flight.vehicle_ops import VehicleOp

__all__ = [
    "ActionResult",
    "ConsoleBackend",
    "ConsoleSink",
    "DayReporter",
    "DepotView",
    "EkfHealth",
    "EventView",
    "MapView",
    "MissionItemView",
    "OperationResult",
    "OrderChecker",
    "OrderStatus",
    "OrderView",
    "PlanView",
    "RouteView",
    "Severity",
    "VehicleOperator",
    "VehicleState",
    "VehicleView",
    "ZoneView",
    "map_view_from_airspace",
    "mission_item_views",
    "plan_view_from_flight_plan",
]


class OrderStatus(Enum):
    """Where an order is in its life."""

    NEW = "new"
    INFEASIBLE = "infeasible"
    PLANNED = "planned"
    ASSIGNED = "assigned"
    IN_FLIGHT = "in flight"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (
            OrderStatus.INFEASIBLE,
            OrderStatus.DELIVERED,
            OrderStatus.FAILED,
            OrderStatus.CANCELLED,
        )


class Severity(Enum):
    """Event severity; the MAVLink STATUSTEXT severities folded into five."""

    DEBUG = "debug"
    INFO = "info"
    NOTICE = "notice"
    WARNING = "warning"
    ERROR = "error"

    @classmethod
    def from_mav_severity(cls, mav_severity: int) -> Severity:
        """Map MAV_SEVERITY (0 emergency .. 7 debug) to a console severity.

        >>> Severity.from_mav_severity(4)
        <Severity.WARNING: 'warning'>
        """
        return cls(mav_severity_name(mav_severity))  # the fleet's folding, kept in one place


class EkfHealth(Enum):
    """The autopilot's position estimate as a dispatcher needs it: can it navigate?"""

    OK = "ok"
    """Attitude, velocity and an absolute position: ready to fly a mission."""
    DEGRADED = "degraded"
    """Still estimating, but without everything a mission needs (no absolute position yet)."""
    BAD = "bad"
    """Uninitialised, glitching GPS or constant-position mode: it cannot navigate."""


@dataclass(frozen=True, slots=True)
class VehicleView:
    """One vehicle as the fleet panel and the map show it."""

    name: str
    """Unique key of the vehicle in the console (fleet panel row, map label)."""
    sysid: int
    state: VehicleState
    mode: str = ""
    """Flight mode name as the autopilot reports it (AUTO, RTL, LOITER ...)."""
    armed: bool = False
    battery_pct: float | None = None
    alt_m: float | None = None
    """Altitude above home."""
    ground_speed_ms: float | None = None
    heading_deg: float | None = None
    """Course over ground, degrees clockwise from north."""
    position: LatLon | None = None
    order_id: str | None = None
    """The order the vehicle is flying, if any."""
    eta_s: float | None = None
    """Seconds until the next milestone (drop-off when outbound, landing when returning)."""
    link_age_s: float | None = None
    """Seconds since any message was last heard from the vehicle."""
    link_pct: float | None = None
    """Messages received of those the vehicle sent over the last seconds, in percent (from
    the MAVLink sequence numbers; ``health.LinkQuality``); None when unknown."""
    mission_seq: int | None = None
    """Current mission item (MISSION_CURRENT)."""
    mission_count: int | None = None
    """Number of mission items on the vehicle, home included."""
    fault: str = ""
    """Why the vehicle is in FAULT or LINK_LOST, when known."""
    gps_fix_type: int | None = None
    """GPS_FIX_TYPE: 0-1 no fix, 2 2D, 3 3D, 4 DGPS, 5 RTK float, 6 RTK fixed."""
    gps_sats: int | None = None
    ekf: EkfHealth | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    energy_wh: float | None = None
    """Energy drawn from the battery so far."""
    battery_left_s: float | None = None
    """Flying time the battery has left at the present draw (None on the ground or unknown)."""
    fence_breached: bool = False
    depot: str = ""
    """The depot it flies from, when the console shows several sites' drones (a watch of the
    whole order book); "" otherwise."""


@dataclass(frozen=True, slots=True)
class MissionItemView:
    """One mission item as the detail views list it."""

    seq: int
    command: str
    """Command name without the MAV_CMD_ prefix (NAV_WAYPOINT, DO_GRIPPER ...)."""
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None
    note: str = ""
    """Parameters worth showing (hold time, gripper action ...)."""


@dataclass(frozen=True, slots=True)
class PlanView:
    """What the planner decided for an order: the numbers a dispatcher checks."""

    distance_m: float
    energy_wh: float
    reserve_left_wh: float
    """Usable energy left at landing beyond the required reserve."""
    flight_time_s: float
    cruise_alt_m: float
    route: tuple[LatLon, ...] = ()
    """Depot, turning points, drop-off, turning points, depot."""
    items: tuple[MissionItemView, ...] = ()
    vehicle_profile: str = ""


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order as the orders panel shows it."""

    id: str
    status: OrderStatus
    depot_id: str
    destination: LatLon
    payload_kg: float
    created_s: float | None = None
    promised_s: float | None = None
    """Promised drop-off time, scenario clock."""
    time_left_s: float | None = None
    """Seconds until the promise (negative when late); None once the order is final."""
    vehicle: str | None = None
    reason: str = ""
    """Why it is infeasible, failed or cancelled."""
    plan: PlanView | None = None
    priority: int = 0
    """Higher goes first among orders that can all be kept (``planner.model.Order``)."""
    eta_s: float | None = None
    """Expected drop-off, scenario clock (the dispatcher's schedule; the drop-off once made)."""


@dataclass(frozen=True, slots=True)
class DepotView:
    id: str
    position: LatLon
    name: str = ""


@dataclass(frozen=True, slots=True)
class ZoneView:
    """A no-fly zone: polygon rings (open) or a circle."""

    id: str
    rings: tuple[tuple[LatLon, ...], ...] = ()
    center: LatLon | None = None
    radius_m: float | None = None
    name: str = ""

    def outline(self, segments: int = 48) -> tuple[tuple[LatLon, ...], ...]:
        """The zone as rings; a circle becomes a polygon of ``segments`` points."""
        if self.center is None or self.radius_m is None:
            return self.rings
        dlat = self.radius_m / 111_320.0
        dlon = dlat / max(math.cos(math.radians(self.center.lat)), 1e-6)
        ring = tuple(
            LatLon(
                self.center.lat + dlat * math.sin(2 * math.pi * k / segments),
                self.center.lon + dlon * math.cos(2 * math.pi * k / segments),
            )
            for k in range(segments)
        )
        return (ring,)


@dataclass(frozen=True, slots=True)
class RouteView:
    """A planned route drawn on the map."""

    order_id: str
    points: tuple[LatLon, ...]
    vehicle: str | None = None
    active: bool = False
    """True while a vehicle flies it (drawn bright); planned-only routes are dim."""
    dropoff_index: int | None = None
    """Index of the drop-off in ``points``; None means the middle point (out and back)."""

    @property
    def dropoff(self) -> LatLon:
        if self.dropoff_index is not None:
            return self.points[self.dropoff_index]
        return self.points[len(self.points) // 2]


@dataclass(frozen=True, slots=True)
class MapView:
    """Everything static on the map plus the planned routes."""

    depots: tuple[DepotView, ...] = ()
    zones: tuple[ZoneView, ...] = ()
    operating_area: tuple[LatLon, ...] | None = None
    routes: tuple[RouteView, ...] = ()

    def points(self) -> Iterable[LatLon]:
        """Every point on the map, for fitting the view to the scenario."""
        if self.operating_area:
            yield from self.operating_area
        for depot in self.depots:
            yield depot.position
        for zone in self.zones:
            for ring in zone.outline(16):
                yield from ring
        for route in self.routes:
            yield from route.points


@dataclass(frozen=True, slots=True)
class EventView:
    """One line of the event log."""

    time_s: float
    source: str
    """Vehicle name, 'dispatch', 'planner', 'console' ..."""
    severity: Severity
    text: str


@dataclass(frozen=True, slots=True)
class ActionResult:
    """A backend's answer to an action: done, or every reason it was refused."""

    ok: bool
    message: str = ""
    reasons: tuple[str, ...] = ()
    order_id: str | None = None
    """The order the action created or touched, when there is one."""
    offer_due_s: float | None = None
    """With a refusal for the deadline: a later due time (scenario clock) the backend can
    promise; ``add_order`` again with it to accept."""

    @classmethod
    def accepted(cls, message: str, order_id: str | None = None) -> ActionResult:
        return cls(ok=True, message=message, order_id=order_id)

    @classmethod
    def refused(cls, *reasons: str, order_id: str | None = None,
                offer_due_s: float | None = None) -> ActionResult:
        if not reasons:
            raise ValueError("reasons: a refusal needs at least one reason")
        return cls(ok=False, message=reasons[0], reasons=tuple(reasons), order_id=order_id,
                   offer_due_s=offer_due_s)


class ConsoleSink(Protocol):
    """Where a backend pushes views. Thread-safe; never blocks; latest view wins."""

    def put_vehicle(self, view: VehicleView) -> None: ...

    def put_order(self, view: OrderView) -> None: ...

    def put_map(self, view: MapView) -> None: ...

    def put_event(self, view: EventView) -> None: ...

    def put_clock(self, now_s: float) -> None:
        """The scenario clock now. Optional but recommended a few times a second: the console
        then shows the clock and counts every order's time left down itself."""
        ...


class ConsoleBackend(Protocol):
    """What the console drives. See the module docstring for the threading contract."""

    title: str
    """Shown in the console's header, e.g. 'canberra · builtin sim x10'."""

    def start(self, sink: ConsoleSink) -> None: ...

    def stop(self) -> None: ...

    def add_order(self, depot_id: str, lat: float, lon: float, payload_kg: float,
                  due_s: float | None = None, priority: int = 0) -> ActionResult:
        """Take a new order (``due_s`` None: the backend's promise applies); refuse it with
        reasons when it cannot be flown, and when only the due time is out of reach, with the
        earliest it can promise instead (``ActionResult.offer_due_s``)."""
        ...

    def plan(self, order_id: str) -> ActionResult: ...

    def launch(self, order_id: str | None = None, vehicle: str | None = None) -> ActionResult:
        """Assign and fly an order (the backend picks the vehicle when none is given), or fly
        the order already assigned to ``vehicle``."""
        ...

    def pause(self, vehicle: str) -> ActionResult: ...

    def resume(self, vehicle: str) -> ActionResult: ...

    def rtl(self, vehicle: str) -> ActionResult: ...

    def land(self, vehicle: str) -> ActionResult: ...

    def abort(self, vehicle: str) -> ActionResult: ...

    def cancel_order(self, order_id: str) -> ActionResult: ...


@dataclass(frozen=True, slots=True)
class OperationResult(ActionResult):
    """An operation's answer with more to show than one line."""

    details: tuple[str, ...] = ()
    """Further lines (the parameters a search found, ``NAME value`` each)."""


@runtime_checkable
class VehicleOperator(Protocol):
    """A backend that can operate one vehicle as a ground station does (the console's ``v``
    screen); the scripted and replay backends need not. Same threading contract as the
    actions: called from a worker thread, may block on MAVLink round trips."""

    def operate(self, vehicle: str, op: VehicleOp) -> ActionResult:
        """Carry out ``op``; refuse, with the reason, what would disturb a delivery."""
        ...


@runtime_checkable
class OrderChecker(Protocol):
    """A backend that can say, storing nothing, why an order cannot be flown: the console asks
    before a retry, so a never-flyable order is refused again in one line instead of adding
    a new refused order each time. Called from a worker thread."""

    def check_order(self, depot_id: str, lat: float, lon: float,
                    payload_kg: float) -> tuple[str, ...]:
        """Every reason no drone of the fleet can fly this order now; empty: place it."""
        ...


@runtime_checkable
class DayReporter(Protocol):
    """A backend with a dispatch store behind it: the console's day screen (``y``) shows its
    day. Called from a worker thread (it reads the store)."""

    def day_report(self) -> DayReport | None:
        """The day as ``drone-delivery report`` reads it, as it stands at the backend's moment
        (a replay's: its clock); None when there is no store to read."""
        ...


def map_view_from_airspace(
    depots: Sequence[Depot], airspace: Airspace, routes: Sequence[RouteView] = ()
) -> MapView:
    """Build the map from the planner's depots and airspace."""
    zones = tuple(
        ZoneView(
            id=z.id,
            rings=z.polygons,
            center=z.circle_center,
            radius_m=z.circle_radius_m,
            name=z.name,
        )
        for z in airspace.zones
    )
    return MapView(
        depots=tuple(DepotView(d.id, d.position, d.name) for d in depots),
        zones=zones,
        operating_area=airspace.operating_area,
        routes=tuple(routes),
    )


def plan_view_from_flight_plan(plan: FlightPlan, items: Sequence[MissionItemView] = ()) -> PlanView:
    """Summarise a planner ``FlightPlan`` (and its mission items) for the detail view."""
    route = tuple(plan.outbound) + tuple(plan.inbound[1:])
    return PlanView(
        distance_m=plan.distance_m,
        energy_wh=plan.energy_wh,
        reserve_left_wh=plan.reserve_left_wh,
        flight_time_s=plan.flight_time_s,
        cruise_alt_m=plan.cruise_alt_agl_m,
        route=route,
        items=tuple(items),
        vehicle_profile=plan.profile_name,
    )


def mission_item_views(items: Iterable[object]) -> tuple[MissionItemView, ...]:
    """Turn ``missions.items.MissionItem`` values into views (duck-typed: seq, command, x, y, z,
    param1, frame)."""
    from missions.items import Cmd, Frame

    views = []
    for item in items:
        command = int(getattr(item, "command"))  # noqa: B009 - duck-typed on purpose
        try:
            name = Cmd(command).name
        except ValueError:
            name = f"CMD_{command}"
        frame = int(getattr(item, "frame", Frame.GLOBAL_RELATIVE_ALT_INT))
        x, y = float(getattr(item, "x", 0.0)), float(getattr(item, "y", 0.0))
        positional = frame != Frame.MISSION and (x != 0.0 or y != 0.0)
        param1 = float(getattr(item, "param1", 0.0))
        views.append(
            MissionItemView(
                seq=int(getattr(item, "seq")),  # noqa: B009
                command=name,
                lat=x if positional else None,
                lon=y if positional else None,
                alt_m=float(getattr(item, "z", 0.0)) if positional else None,
                note=f"p1={param1:g}" if param1 else "",
            )
        )
    return tuple(views)
