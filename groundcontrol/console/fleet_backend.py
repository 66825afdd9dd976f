"""The real ``ConsoleBackend``: a running ``FleetController`` seen through the console's views.

A pusher thread sends every vehicle's view a few times a second (the console keeps the
latest), the orders the controller's events name, and the map when the routes change; each
fleet event also becomes an event-log line. Actions go to the controller, which carries them
out on its own thread; refusals come back as ``ActionResult.refused`` with the reasons.
"""

from __future__ import annotations

import itertools
import threading
import time

from groundcontrol.console.health import EnergyRate, LinkQuality, battery_left_s, ekf_health
from groundcontrol.console.model import (
    ActionResult,
    ConsoleSink,
    EventView,
    OperationResult,
    OrderStatus,
    OrderView,
    PlanView,
    RouteView,
    Severity,
    VehicleView,
    map_view_from_airspace,
    mission_item_views,
    plan_view_from_flight_plan,
)
from groundcontrol.console.widgets.format import clock
from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.controller import FleetActionError, FleetController
from groundcontrol.fleet.intake import check_flyable
from groundcontrol.fleet.model import DroneActivity, DroneView, FleetEvent, FleetEventKind
from groundcontrol.fleet.operator import FleetOperator
from groundcontrol.fleet.report import DayReport, build_report
from groundcontrol.fleet.report import clock as hhmm
from groundcontrol.fleet.store.sqlite import DuplicateOrder, OrderState, StoredOrder
from groundcontrol.flight.vehicle_ops import VehicleOp
from missions.errors import MissionBuildError
from planner.dispatch_model import Assign, CancelAnswer, Reject, Sortie
from planner.dispatch_options import promise_for
from planner.errors import InvalidInput
from planner.model import Infeasibility, LatLon, Order, Rule

__all__ = ["FleetConsoleBackend"]

_STATUS = {
    OrderState.NEW: OrderStatus.NEW, OrderState.INFEASIBLE: OrderStatus.INFEASIBLE,
    OrderState.PLANNED: OrderStatus.PLANNED, OrderState.ASSIGNED: OrderStatus.ASSIGNED,
    OrderState.IN_FLIGHT: OrderStatus.IN_FLIGHT, OrderState.DELIVERED: OrderStatus.DELIVERED,
    OrderState.FAILED: OrderStatus.FAILED, OrderState.CANCELLED: OrderStatus.CANCELLED,
}
ANSWER_WALL_S = 10.0
"""Wall seconds a dispatcher may take to accept an offered promise: the fleet flies on
meanwhile, so an offer keeps this much (at the fleet's speedup, at least a minute) in hand."""
_SEVERITY = {"debug": Severity.DEBUG, "info": Severity.INFO, "notice": Severity.NOTICE,
             "warning": Severity.WARNING, "error": Severity.ERROR}


class FleetConsoleBackend:
    """``ConsoleBackend`` over a started ``FleetController``.

    Args:
        controller: the fleet (started by the caller; ``stop`` does not stop it).
        title: the console's header.
        refresh_s: wall seconds between pushes of the vehicles and changed orders.
        quit_note: what becomes of the drones in the air when the console quits (the quit
            dialog says it; the default is for vehicles that live on without the console).
    """

    def __init__(self, controller: FleetController, title: str, refresh_s: float = 0.25,
                 quit_note: str = "they keep flying their missions; resume with the same "
                                  "command") -> None:
        self.controller = controller
        self.title = title
        self.speedup: float = controller.config.speedup
        """Asked of the vehicles; the console shows it next to the pace it measures."""
        self.quit_note = quit_note
        self.refresh_s = refresh_s
        self._sink: ConsoleSink | None = None
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._remove_observer = lambda: None
        self._routes: tuple[RouteView, ...] = ()
        self._links: dict[str, LinkQuality] = {}
        """Each drone's share of messages received (wall seconds: the radio's time)."""
        self._rates: dict[str, EnergyRate] = {}
        """Each drone's power from its energy counter, for batteries that report no current."""
        self._last_flown: dict[str, tuple[str, PlanView | None]] = {}
        """Drone and plan of each order's latest sortie: the dispatcher drops a sortie once it
        ends, but a delivered order should still say who flew it and how."""

    # ------------------------------------------------------------------------- lifecycle

    def start(self, sink: ConsoleSink) -> None:
        self._sink = sink
        self._remove_observer = self.controller.add_observer(self._on_event)
        self._push_map(force=True)
        for stored in self.controller.store.orders():
            sink.put_order(self._order_view(stored))
        self._push_vehicles()
        self._thread = threading.Thread(target=self._run, name="console-backend", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._remove_observer()
        if self._thread is not None:
            self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self._push_vehicles()
            with self._lock:
                dirty, self._dirty = self._dirty, set()
            for order_id in sorted(dirty):
                self._push_order(order_id)
            self._push_map()

    # ---------------------------------------------------------------------------- pushes

    def _on_event(self, event: FleetEvent) -> None:
        if event.order_id is not None:
            with self._lock:
                self._dirty.add(event.order_id)
        if event.kind is FleetEventKind.ORDER or self._sink is None:
            return
        source = "dispatch" if event.kind is FleetEventKind.DECISION else (
            event.drone_id or "fleet")
        self._sink.put_event(EventView(event.t_s, source,
                                       _SEVERITY.get(event.severity, Severity.INFO), event.text))

    def _push_vehicles(self) -> None:
        if self._sink is None:
            return
        now = self.controller.now_s()
        put_clock = getattr(self._sink, "put_clock", None)  # newer consoles show the clock
        if put_clock is not None:
            put_clock(now)
        wall = time.monotonic()
        for view in self.controller.drone_views():
            s = view.vehicle
            link = self._links.setdefault(view.drone_id, LinkQuality()).update(
                wall, s.link_received, s.link_lost)
            self._sink.put_vehicle(_vehicle_view(view, now, self._battery_left_s(view, now),
                                                 link))

    def _battery_left_s(self, view: DroneView, now_s: float) -> float | None:
        """Flying time left: the charge left of the profile's capacity at the draw now (volts
        times amps, else the energy counter's rise)."""
        s = view.vehicle
        rate = self._rates.setdefault(view.drone_id, EnergyRate()).update(now_s, s.energy_wh)
        draw = s.voltage_v * s.current_a if s.voltage_v and s.current_a else rate
        drone = self.controller.drones.get(view.drone_id)
        capacity = None if drone is None else \
            self.controller.scenario.profile_for(drone).battery_wh
        return battery_left_s(s.battery_pct, capacity, draw, s.energy_wh)

    def _push_order(self, order_id: str) -> None:
        if self._sink is None:
            return
        try:
            stored = self.controller.store.order(order_id)
        except ValueError:
            return  # an id the dispatcher refused before it was stored
        self._sink.put_order(self._order_view(stored))

    def _sorties(self) -> dict[str, Sortie]:
        return {s.order_id: s for s in self.controller.dispatcher.schedule()}

    def _push_map(self, force: bool = False) -> None:
        if self._sink is None:
            return
        flying = {job.order_id: job.drone_id for job in list(self.controller.jobs.values())}
        routes = tuple(
            RouteView(s.order_id, (*s.plan.outbound, *s.plan.inbound[1:]), s.drone_id,
                      s.order_id in flying, len(s.plan.outbound) - 1)
            for s in self._sorties().values())
        if force or routes != self._routes:
            self._routes = routes
            scenario = self.controller.scenario
            self._sink.put_map(map_view_from_airspace(scenario.depots, scenario.airspace,
                                                      routes))

    def _order_view(self, stored: StoredOrder) -> OrderView:
        order, status = stored.order, _STATUS[stored.state]
        due = self.controller.scenario.due_s(order)
        sortie = self._sorties().get(order.id)
        rejected = self.controller.rejected.get(order.id, ())
        reason = "; ".join(_reason_text(r, order, due) for r in rejected) or \
            "; ".join(stored.reasons) or self._flight_note(stored)
        dropped_s = self.controller.delivered_at.get(order.id)
        if dropped_s is not None and status in (OrderStatus.IN_FLIGHT, OrderStatus.DELIVERED):
            # Delivered once the flight saw the release; the store waits for the landing.
            back = "; drone returning" if status is OrderStatus.IN_FLIGHT else ""
            status, reason = OrderStatus.DELIVERED, f"dropped off at {clock(dropped_s)}{back}"
        left = None if status.is_final else due - self.controller.now_s()
        plan, vehicle, eta = None, None, dropped_s
        if sortie is not None:
            vehicle, eta = sortie.drone_id, eta or sortie.dropoff_s
            try:
                mission = self.controller.mission_for(sortie)
                plan = plan_view_from_flight_plan(sortie.plan, mission_item_views(mission.items))
            except MissionBuildError as exc:
                reason = reason or f"mission: {exc}"
            self._last_flown[order.id] = (vehicle, plan)
        elif status is OrderStatus.DELIVERED and order.id in self._last_flown:
            vehicle, plan = self._last_flown[order.id]
        return OrderView(order.id, status, order.depot_id, order.dropoff, order.payload_kg,
                         order.created_s, due, left, vehicle, reason, plan, order.priority, eta)

    def _flight_note(self, stored: StoredOrder) -> str:
        """Why the flight is coming back or ended short; not once delivered or waiting again
        with nothing amiss."""
        if stored.state is OrderState.DELIVERED:
            return ""
        return self.controller.order_note(stored.order.id)

    # ---------------------------------------------------------------------------- actions

    def add_order(self, depot_id: str, lat: float, lon: float, payload_kg: float,
                  due_s: float | None = None, priority: int = 0) -> ActionResult:
        """Place an order; one the dispatcher cannot drop off by its due time is not stored
        but refused with the earliest due time it can keep (``offer_due_s``)."""
        ctl = self.controller
        order_id, now = self._new_id(), ctl.now_s()
        if due_s is not None and due_s <= now:
            return ActionResult.refused(f"due: {hhmm(due_s)} is not after now ({clock(now)})")
        order = Order(order_id, depot_id, LatLon(lat, lon), payload_kg, created_s=now,
                      due_s=due_s, priority=priority)
        offer = self._late_offer(order)
        if offer is not None:
            return offer
        try:
            decisions = ctl.add_order(order, source="console")
        except (InvalidInput, DuplicateOrder) as exc:
            return ActionResult.refused(str(exc))
        for d in decisions:
            if isinstance(d, Reject) and d.order_id == order_id:
                return ActionResult.refused(*(_reason_text(r, order, ctl.scenario.due_s(order))
                                              for r in d.reasons),
                                            order_id=order_id)
        assigned = [d for d in decisions if isinstance(d, Assign) and d.order_id == order_id]
        text = (f"{order_id}: {assigned[0].drone_id} drops off at "
                f"{clock(assigned[0].eta_dropoff_s)}, due {hhmm(ctl.scenario.due_s(order))}"
                if assigned else f"{order_id} accepted, waiting for a drone")
        return ActionResult.accepted(text, order_id)

    def _late_offer(self, order: Order) -> ActionResult | None:
        """The refusal of an order the dispatcher cannot drop off by its due time (slack kept),
        offering the earliest due it can keep; None when it can be on time or not at all."""
        ctl = self.controller
        earliest = ctl.call(lambda: ctl.dispatcher.earliest_dropoff(order, ctl.now_s()))
        slack, due = ctl.config.promise_slack_s, ctl.scenario.due_s(order)
        if earliest is None or earliest <= due - slack:
            return None
        offer = promise_for(earliest, slack + max(60.0, ANSWER_WALL_S * self.speedup))
        return ActionResult.refused(
            f"deadline: cannot be there by {hhmm(due)} ({slack:.0f} s kept in hand); can be "
            f"there by {hhmm(offer)}", offer_due_s=offer)

    def check_order(self, depot_id: str, lat: float, lon: float,
                    payload_kg: float) -> tuple[str, ...]:
        """``OrderChecker``: why no drone could fly this order now, storing nothing: what no
        drone at its depot could ever fly (payload, drop-off in a zone or outside the area),
        else no sortie for it from any drone now (range, energy)."""
        ctl = self.controller
        probe = Order("retry-check", depot_id, LatLon(lat, lon), payload_kg,
                      created_s=ctl.now_s())
        try:
            check_flyable([probe], ctl.scenario, ctl.config.margin_m, "console")
        except InvalidInput as exc:
            return (f"{exc.field}: {exc.problem.removeprefix(_PROBE)}",)
        earliest = ctl.call(lambda: ctl.dispatcher.earliest_dropoff(probe, ctl.now_s()))
        if earliest is None:
            return ("no drone of the fleet can fly it now (range or energy)",)
        return ()

    def _new_id(self) -> str:
        """The first console id the store does not hold: an offer refused or declined
        stores nothing, so its id is free again."""
        known = {s.order.id for s in self.controller.store.orders()}
        return next(c for n in itertools.count(1) if (c := f"C{n:03d}") not in known)

    def plan(self, order_id: str) -> ActionResult:
        sortie = self._sorties().get(order_id)
        if sortie is None:
            return ActionResult.refused(f"{order_id} has no drone planned (see its status)",
                                        order_id=order_id)
        p = sortie.plan
        return ActionResult.accepted(
            f"{order_id} on {sortie.drone_id}: {p.distance_m / 1000:.1f} km, "
            f"{p.energy_wh:.0f} Wh, reserve left {p.reserve_left_wh:.0f} Wh, "
            f"{p.flight_time_s / 60:.1f} min, launch {clock(sortie.launch_s)}, drop-off "
            f"{clock(sortie.dropoff_s)}", order_id)

    def launch(self, order_id: str | None = None, vehicle: str | None = None) -> ActionResult:
        sorties = self._sorties().values()
        mine = [s for s in sorties if (order_id is None or s.order_id == order_id)
                and (vehicle is None or s.drone_id == vehicle)]
        if not mine:
            return ActionResult.refused("the dispatcher has no sortie for that order/vehicle",
                                        order_id=order_id)
        first = min(mine, key=lambda s: s.launch_s)
        return ActionResult.accepted(
            f"{first.order_id} launches on {first.drone_id} at {clock(first.launch_s)} (the "
            "dispatcher times every launch)", first.order_id)

    def _command(self, vehicle: str, action: str) -> ActionResult:
        try:
            return ActionResult.accepted(self.controller.command(vehicle, action))
        except FleetActionError as exc:
            return ActionResult.refused(str(exc))

    def pause(self, vehicle: str) -> ActionResult:
        return self._command(vehicle, "pause")

    def resume(self, vehicle: str) -> ActionResult:
        return self._command(vehicle, "resume")

    def rtl(self, vehicle: str) -> ActionResult:
        return self._command(vehicle, "rtl")

    def land(self, vehicle: str) -> ActionResult:
        return self._command(vehicle, "land")

    def abort(self, vehicle: str) -> ActionResult:
        return self._command(vehicle, "abort")

    def cancel_order(self, order_id: str) -> ActionResult:
        try:
            answer: CancelAnswer = self.controller.cancel(order_id)
        except (ValueError, InvalidInput) as exc:
            return ActionResult.refused(str(exc), order_id=order_id)
        if answer.cancelled:
            return ActionResult.accepted(f"{order_id} cancelled", order_id)
        return ActionResult.refused(f"{order_id}: {answer.reason}", order_id=order_id)

    def day_report(self) -> DayReport:
        """``DayReporter``: the day as ``drone-delivery report`` reads it from the store now."""
        return build_report(self.controller.store)

    def operate(self, vehicle: str, op: VehicleOp) -> ActionResult:
        """``VehicleOperator``: one operation on a drone over the fleet's own channel
        (``FleetOperator``: refused while a delivery has the drone, reading always allowed)."""
        try:
            done = FleetOperator(self.controller).operate(vehicle, op)
        except FleetActionError as exc:
            return ActionResult.refused(str(exc))
        except (GroundControlError, ValueError) as exc:  # the vehicle's answer, a bad file
            return ActionResult.refused(f"{op.describe()}: {exc}")
        return OperationResult(ok=True, message=done.message, details=done.lines)


_PROBE = "order 'retry-check': "
"""How ``check_flyable`` names the probe ``check_order`` checks (not worth repeating)."""


def _reason_text(reason: Infeasibility, order: Order, due_s: float) -> str:
    """A refusal as the console shows it: a deadline in clock times (the dispatcher's measure
    is seconds after the order was placed), the rest as the planner words it."""
    if reason.rule is not Rule.DEADLINE or not isinstance(reason.measured, float):
        return str(reason)
    by = promise_for(order.created_s + reason.measured)
    return f"deadline: can be there by {hhmm(by)}, due {hhmm(due_s)}"


def _vehicle_view(view: DroneView, now_s: float, battery_left: float | None = None,
                  link_pct: float | None = None) -> VehicleView:
    s = view.vehicle
    position = LatLon(s.lat_deg, s.lon_deg) if s.lat_deg is not None and \
        s.lon_deg is not None else None
    fault = view.fault or ("link lost" if view.activity is DroneActivity.LINK_LOST else "")
    return VehicleView(
        name=view.drone_id, sysid=view.sysid, state=view.activity,
        mode=s.mode, armed=s.armed,
        battery_pct=float(s.battery_pct) if s.battery_pct is not None else None,
        alt_m=s.alt_rel_m, ground_speed_ms=s.groundspeed_ms, heading_deg=s.heading_deg,
        position=position, order_id=view.order_id,
        eta_s=None if view.eta_s is None else max(0.0, view.eta_s - now_s),
        link_age_s=s.link_age_s(), link_pct=link_pct, mission_seq=s.mission_seq,
        mission_count=None if s.mission_total is None else s.mission_total + 1, fault=fault,
        gps_fix_type=s.gps_fix_type, gps_sats=s.gps_sats, ekf=ekf_health(s.ekf_flags),
        voltage_v=s.voltage_v, current_a=s.current_a, energy_wh=s.energy_wh,
        battery_left_s=battery_left, fence_breached=s.fence_breached)
