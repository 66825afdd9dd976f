"""A scripted, in-memory ``ConsoleBackend``: vehicles fly straight-ish routes on a timer.

It stands in for the real fleet (ground control + dispatcher + simulator) until that is wired,
and drives the console's tests. Its "planner" is deliberately simple: straight legs with a
detour round circular zones, a linear energy model, fixed vehicle limits. Nothing here is the
real planner; only the console's contract (model.py) is real.

Time: ``advance(dt_s)`` moves simulated time on the caller's thread (tests); ``start`` with
``autorun`` runs a thread that advances ``speedup`` simulated seconds per real second.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from dataclasses import dataclass, field, replace

from groundcontrol.console.model import (
    ActionResult,
    ConsoleSink,
    EventView,
    MapView,
    OrderStatus,
    OrderView,
    RouteView,
    Severity,
)
from planner.model import LatLon
from scripted.fleet import Phase, SimVehicle, fly_plan, rough_plan
from scripted.geo import point_in_ring

__all__ = ["ScriptedBackend", "ScriptedScenario"]

PROMISE_S = 1800.0
PREP_S = 120.0
"""Scripted time from an order to its launch: its ETA is this plus the outbound leg."""


@dataclass(frozen=True, slots=True)
class ScriptedScenario:
    """What the scripted backend starts with."""

    map: MapView
    vehicles: tuple[tuple[str, str], ...]
    """(vehicle name, depot id), sysids follow the order."""
    orders: tuple[tuple[str, float, float, float], ...] = ()
    """(depot id, lat, lon, payload kg) placed at start."""
    max_payload_kg: float = 2.5
    max_range_m: float = 14_000.0
    """Round trip a full battery allows, reserve kept."""
    clock_start_s: float = 8 * 3600.0


@dataclass
class _Clock:
    now_s: float
    last_pushed_second: int = field(default=-1)


class ScriptedBackend:
    """Implements ``ConsoleBackend`` in memory. ``calls`` records every action for tests."""

    def __init__(
        self,
        scenario: ScriptedScenario,
        *,
        speedup: float = 10.0,
        tick_hz: float = 10.0,
        autorun: bool = True,
        auto_dispatch: bool = False,
        order_every_s: float | None = None,
        seed: int = 1,
    ) -> None:
        self.scenario = scenario
        self.title = "scripted fleet"
        self.speedup = speedup
        self.tick_s = 1.0 / tick_hz
        self.autorun = autorun
        self.auto_dispatch = auto_dispatch
        self.order_every_s = order_every_s
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sink: ConsoleSink | None = None
        self._clock = _Clock(scenario.clock_start_s)
        self._next_arrival_s = scenario.clock_start_s + (order_every_s or 0.0)
        self._ids = itertools.count(1)
        self._depots = {d.id: d for d in scenario.map.depots}
        self._orders: dict[str, OrderView] = {}
        self._vehicles: dict[str, SimVehicle] = {}
        for sysid, (name, depot_id) in enumerate(scenario.vehicles, start=1):
            home = self._depots[depot_id].position
            self._vehicles[name] = SimVehicle(name, sysid, depot_id, home, home)
        for depot_id, lat, lon, payload in scenario.orders:
            self._new_order(depot_id, LatLon(lat, lon), payload)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, sink: ConsoleSink) -> None:
        with self._lock:
            self._sink = sink
            sink.put_map(self._map_view())
            for v in self._vehicles.values():
                sink.put_vehicle(v.view())
            for o in self._orders.values():
                sink.put_order(o)
            self._event(
                "dispatch",
                Severity.INFO,
                f"{len(self._vehicles)} vehicles, {len(self._orders)} orders loaded",
            )
        if self.autorun:
            self._thread = threading.Thread(target=self._run, name="scripted-backend", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():
                raise TimeoutError("scripted backend: tick thread did not stop within 2 s")

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.advance(self.tick_s * self.speedup)

    def advance(self, dt_s: float, step_s: float = 0.5) -> None:
        """Move simulated time on by ``dt_s`` in steps of at most ``step_s`` and push changes."""
        with self._lock:
            remaining = dt_s
            while remaining > 1e-9:
                step = min(step_s, remaining)
                remaining -= step
                self._clock.now_s += step
                self._step(step)
            self._push_all()

    @property
    def now_s(self) -> float:
        return self._clock.now_s

    def vehicle(self, name: str) -> SimVehicle:
        return self._vehicles[name]

    def order(self, order_id: str) -> OrderView:
        return self._orders[order_id]

    # -- actions -------------------------------------------------------------------------------

    def add_order(self, depot_id: str, lat: float, lon: float, payload_kg: float,
                  due_s: float | None = None, priority: int = 0) -> ActionResult:
        with self._lock:
            self.calls.append(("add_order", (depot_id, lat, lon, payload_kg, due_s, priority)))
            if depot_id not in self._depots:
                return ActionResult.refused(f"unknown_depot: {depot_id!r} is not a depot")
            eta = self.eta_s(depot_id, LatLon(lat, lon), payload_kg)
            probe = OrderView("?", OrderStatus.NEW, depot_id, LatLon(lat, lon), payload_kg)
            if due_s is not None and eta > due_s and not self._check(probe):
                offer = math.ceil((eta + 60.0) / 60.0) * 60.0
                return ActionResult.refused(
                    f"deadline: cannot be there by the due time; can be there by t={offer:.0f}",
                    offer_due_s=offer)
            order = self._new_order(depot_id, LatLon(lat, lon), payload_kg, due_s, priority)
            if order.status is OrderStatus.INFEASIBLE:
                return ActionResult.refused(*order.reason.split("; "), order_id=order.id)
            return ActionResult.accepted(f"order {order.id} accepted", order_id=order.id)

    def check_order(self, depot_id: str, lat: float, lon: float,
                    payload_kg: float) -> tuple[str, ...]:
        """``OrderChecker``: the refusal reasons of such an order, storing nothing."""
        with self._lock:
            self.calls.append(("check_order", (depot_id, lat, lon, payload_kg)))
            if depot_id not in self._depots:
                return (f"unknown_depot: {depot_id!r} is not a depot",)
            probe = OrderView("?", OrderStatus.NEW, depot_id, LatLon(lat, lon), payload_kg)
            return tuple(self._check(probe))

    def eta_s(self, depot_id: str, dest: LatLon, payload_kg: float) -> float:
        """The scripted drop-off time of an order placed now: preparation, then the way out."""
        plan = rough_plan(self._depots[depot_id].position, dest, payload_kg, self.scenario.map)
        return self._clock.now_s + PREP_S + plan.flight_time_s / 2

    def plan(self, order_id: str) -> ActionResult:
        with self._lock:
            self.calls.append(("plan", (order_id,)))
            order = self._orders.get(order_id)
            if order is None:
                return ActionResult.refused(f"no order {order_id!r}")
            if order.status is not OrderStatus.NEW:
                return ActionResult.refused(f"order {order_id} is {order.status.value}, not new")
            self._plan(order)
            return ActionResult.accepted(f"planned {order_id}", order_id=order_id)

    def launch(self, order_id: str | None = None, vehicle: str | None = None) -> ActionResult:
        with self._lock:
            self.calls.append(("launch", (order_id, vehicle)))
            if order_id is None and vehicle is not None:
                order_id = self._vehicles[vehicle].order_id if vehicle in self._vehicles else None
            order = self._orders.get(order_id or "")
            if order is None:
                return ActionResult.refused(f"no order to launch ({order_id or 'none selected'})")
            if order.status not in (OrderStatus.NEW, OrderStatus.PLANNED):
                return ActionResult.refused(f"order {order.id} is {order.status.value}")
            sim = self._pick_vehicle(order, vehicle)
            if isinstance(sim, str):
                return ActionResult.refused(sim, order_id=order.id)
            self._launch(order, sim)
            return ActionResult.accepted(f"{order.id} on {sim.name}", order_id=order.id)

    def pause(self, vehicle: str) -> ActionResult:
        return self._vehicle_action("pause", vehicle)

    def resume(self, vehicle: str) -> ActionResult:
        return self._vehicle_action("resume", vehicle)

    def rtl(self, vehicle: str) -> ActionResult:
        return self._vehicle_action("rtl", vehicle)

    def land(self, vehicle: str) -> ActionResult:
        return self._vehicle_action("land", vehicle)

    def abort(self, vehicle: str) -> ActionResult:
        return self._vehicle_action("abort", vehicle)

    def cancel_order(self, order_id: str) -> ActionResult:
        with self._lock:
            self.calls.append(("cancel_order", (order_id,)))
            order = self._orders.get(order_id)
            if order is None:
                return ActionResult.refused(f"no order {order_id!r}")
            if order.status in (OrderStatus.IN_FLIGHT,):
                return ActionResult.refused(
                    f"order {order_id} is in flight on {order.vehicle}: abort the vehicle instead"
                )
            if order.status.is_final:
                return ActionResult.refused(f"order {order_id} is already {order.status.value}")
            if order.vehicle is not None:
                self._vehicles[order.vehicle].stand_down()
                self._push_vehicle(self._vehicles[order.vehicle])
            self._set_order(
                order,
                status=OrderStatus.CANCELLED,
                reason="cancelled by dispatcher",
                time_left_s=None,
            )
            self._event("dispatch", Severity.NOTICE, f"{order_id} cancelled")
            return ActionResult.accepted(f"cancelled {order_id}", order_id=order_id)

    def inject_link_loss(self, vehicle: str, duration_s: float) -> None:
        """Make a vehicle go silent for ``duration_s`` simulated seconds (for tests and demo)."""
        with self._lock:
            self._vehicles[vehicle].link_lost_until_s = self._clock.now_s + duration_s
            self._event(vehicle, Severity.ERROR, "link lost")

    # -- internals -----------------------------------------------------------------------------

    def _vehicle_action(self, name: str, vehicle: str) -> ActionResult:
        with self._lock:
            self.calls.append((name, (vehicle,)))
            sim = self._vehicles.get(vehicle)
            if sim is None:
                return ActionResult.refused(f"no vehicle {vehicle!r}")
            problem = getattr(sim, name)()
            if problem:
                return ActionResult.refused(f"{vehicle}: {problem}")
            if name in ("rtl", "land", "abort") and sim.order_id is not None:
                self._fail_order(sim.order_id, f"{name} before delivery")
            self._event(vehicle, Severity.NOTICE, f"{name.upper()} accepted (mode {sim.mode})")
            self._push_vehicle(sim)
            return ActionResult.accepted(f"{name} {vehicle}: mode {sim.mode}")

    def _new_order(self, depot_id: str, dest: LatLon, payload_kg: float,
                   due_s: float | None = None, priority: int = 0) -> OrderView:
        order_id = f"O{next(self._ids)}"
        now = self._clock.now_s
        due = now + PROMISE_S if due_s is None else due_s
        order = OrderView(
            order_id,
            OrderStatus.NEW,
            depot_id,
            dest,
            payload_kg,
            created_s=now,
            promised_s=due,
            time_left_s=due - now,
            priority=priority,
        )
        reasons = self._check(order)
        if reasons:
            order = replace(
                order, status=OrderStatus.INFEASIBLE, reason="; ".join(reasons), time_left_s=None
            )
            self._event("planner", Severity.WARNING, f"{order_id} infeasible: {order.reason}")
        else:
            self._event(
                "dispatch",
                Severity.INFO,
                f"{order_id} accepted: {payload_kg:.1f} kg from {depot_id}",
            )
        self._orders[order_id] = order
        if self._sink is not None:
            self._sink.put_order(order)
        return order

    def _check(self, order: OrderView) -> list[str]:
        sc, dest = self.scenario, order.destination
        reasons = []
        if order.payload_kg > sc.max_payload_kg:
            reasons.append(f"payload: {order.payload_kg:.3g} kg > limit {sc.max_payload_kg:g} kg")
        area = sc.map.operating_area
        if area and not point_in_ring(dest, area):
            reasons.append("outside_operating_area: drop-off is outside the operating area")
        for zone in sc.map.zones:
            if any(point_in_ring(dest, ring) for ring in zone.outline()):
                reasons.append(f"dropoff_in_no_fly_zone: inside {zone.name or zone.id}")
        if not reasons:
            plan = rough_plan(self._depots[order.depot_id].position, dest, order.payload_kg, sc.map)
            if plan.distance_m > sc.max_range_m:
                reasons.append(
                    f"energy: round trip {plan.distance_m / 1000:.3g} km > "
                    f"limit {sc.max_range_m / 1000:g} km"
                )
        return reasons

    def _plan(self, order: OrderView) -> OrderView:
        plan = rough_plan(
            self._depots[order.depot_id].position,
            order.destination,
            order.payload_kg,
            self.scenario.map,
        )
        order = self._set_order(order, status=OrderStatus.PLANNED, plan=plan)
        self._event(
            "planner",
            Severity.INFO,
            f"{order.id} planned: {plan.distance_m / 1000:.1f} km, {plan.energy_wh:.0f} Wh",
        )
        return order

    def _pick_vehicle(self, order: OrderView, wanted: str | None) -> SimVehicle | str:
        if wanted is not None:
            sim = self._vehicles.get(wanted)
            if sim is None:
                return f"no vehicle {wanted!r}"
            if sim.phase is not Phase.IDLE:
                return f"{wanted} is busy ({sim.state.value})"
            if sim.depot_id != order.depot_id:
                return f"{wanted} is based at {sim.depot_id}, the order is from {order.depot_id}"
            return sim
        idle = [
            v
            for v in self._vehicles.values()
            if v.phase is Phase.IDLE and v.depot_id == order.depot_id
        ]
        if not idle:
            return f"no idle vehicle at {order.depot_id}"
        return max(idle, key=lambda v: v.battery_pct)

    def _launch(self, order: OrderView, sim: SimVehicle) -> None:
        if order.plan is None:
            order = self._plan(order)
        assert order.plan is not None
        fly_plan(sim, order.id, order.plan, order.payload_kg)
        self._push_vehicle(sim)
        eta = self._clock.now_s + order.plan.flight_time_s / 2
        self._set_order(order, status=OrderStatus.ASSIGNED, vehicle=sim.name, eta_s=eta)
        self._event(
            "dispatch", Severity.INFO, f"{order.id} → {sim.name} (battery {sim.battery_pct:.0f}%)"
        )

    def _fail_order(self, order_id: str, reason: str) -> None:
        order = self._orders[order_id]
        if not order.status.is_final:
            self._set_order(order, status=OrderStatus.FAILED, reason=reason, time_left_s=None)
            self._event("dispatch", Severity.WARNING, f"{order_id} failed: {reason}")

    def _set_order(self, order: OrderView, **changes: object) -> OrderView:
        new = replace(self._orders[order.id], **changes)  # type: ignore[arg-type]
        self._orders[order.id] = new
        if self._sink is not None:
            self._sink.put_order(new)
            if "plan" in changes or "status" in changes:
                self._sink.put_map(self._map_view())
        return new

    def _map_view(self) -> MapView:
        routes = []
        for o in self._orders.values():
            if o.plan is not None and o.status in (
                OrderStatus.PLANNED,
                OrderStatus.ASSIGNED,
                OrderStatus.IN_FLIGHT,
            ):
                routes.append(
                    RouteView(
                        o.id, o.plan.route, o.vehicle, active=o.status is OrderStatus.IN_FLIGHT
                    )
                )
        return replace(self.scenario.map, routes=tuple(routes))

    def _push_vehicle(self, sim: SimVehicle) -> None:
        if self._sink is not None:
            self._sink.put_vehicle(sim.view(self._clock.now_s))

    def _event(self, source: str, severity: Severity, text: str) -> None:
        if self._sink is not None:
            self._sink.put_event(EventView(self._clock.now_s, source, severity, text))

    def _step(self, dt_s: float) -> None:
        now = self._clock.now_s
        for sim in self._vehicles.values():
            for severity, text in sim.step(dt_s, now):
                self._event(sim.name, severity, text)
            self._follow_order(sim)
        if self.order_every_s and now >= self._next_arrival_s:
            self._next_arrival_s = now + self.order_every_s
            self._random_order()
        if self.auto_dispatch:
            self._auto_dispatch()

    def _follow_order(self, sim: SimVehicle) -> None:
        """Order status follows the vehicle's milestones."""
        order = self._orders.get(sim.order_id or "")
        if order is None or order.status.is_final:
            return
        if sim.delivered:
            self._set_order(order, status=OrderStatus.DELIVERED, time_left_s=None)
            self._event("dispatch", Severity.NOTICE, f"{order.id} delivered by {sim.name}")
        elif sim.phase in (Phase.TAKEOFF, Phase.OUTBOUND, Phase.DROP) and (
            order.status is not OrderStatus.IN_FLIGHT
        ):
            self._set_order(order, status=OrderStatus.IN_FLIGHT)

    def _random_order(self) -> None:
        depot = self._rng.choice(list(self._depots.values()))
        lat = depot.position.lat + self._rng.uniform(-0.04, 0.04)
        lon = depot.position.lon + self._rng.uniform(-0.05, 0.05)
        self._new_order(depot.id, LatLon(lat, lon), round(self._rng.uniform(0.3, 2.8), 1))

    def _auto_dispatch(self) -> None:
        for order in list(self._orders.values()):
            if order.status in (OrderStatus.NEW, OrderStatus.PLANNED):
                sim = self._pick_vehicle(order, None)
                if not isinstance(sim, str) and sim.battery_pct >= 60:
                    self._launch(order, sim)

    def _push_all(self) -> None:
        now = self._clock.now_s
        second = int(now)
        if second != self._clock.last_pushed_second:
            self._clock.last_pushed_second = second
            for o in list(self._orders.values()):
                if not o.status.is_final and o.promised_s is not None:
                    self._set_order(o, time_left_s=o.promised_s - now)
        if self._sink is not None:
            for sim in self._vehicles.values():
                self._sink.put_vehicle(sim.view(now))
            self._sink.put_clock(now)
