"""A dispatch day's store as a ``ReplaySource``: its vehicle snapshots and its event log
(dispatcher decisions, order state changes, flights) in time order.

Orders appear when they were placed and change state as the log says; an assigned order
draws its planned route (bright while in flight); the map is the scenario the store
recorded (``record_scenario``), when it can still be read. The fleet keeps a vehicle
snapshot once a minute (``FleetConfig.snapshot_s``), so drones move in those steps; their
speed and heading are read from one snapshot to the next.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from groundcontrol.console.model import (
    EventView,
    MapView,
    OrderStatus,
    OrderView,
    RouteView,
    Severity,
    VehicleState,
    VehicleView,
    map_view_from_airspace,
    plan_view_from_flight_plan,
)
from groundcontrol.console.replay.playback import Frame
from groundcontrol.fleet.intake import stored_scenario
from groundcontrol.fleet.model import decision_text
from groundcontrol.fleet.store.sqlite import Store, StoredEvent, VehicleSnapshot
from planner.dispatch_codec import decode
from planner.dispatch_model import Assign, Fail, Reject, Sortie, Unassign
from planner.errors import InvalidInput
from planner.model import LatLon, Order
from planner.scenario import Scenario

__all__ = ["StoreSource", "load_snapshots"]

_M_PER_DEG = 111_319.5
_FINAL_TEXT = {"delivered": Severity.NOTICE, "failed": Severity.WARNING,
               "infeasible": Severity.WARNING, "cancelled": Severity.NOTICE}


def load_snapshots(path: Path) -> list[VehicleSnapshot]:
    """Every vehicle snapshot the store kept, by time (read-only; the store's API gives only
    the latest of each vehicle)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT drone_id, t_s, status, battery_wh, lat, lon, alt_m FROM "
                          "vehicle_snapshots ORDER BY t_s, id").fetchall()
    return [VehicleSnapshot(*r) for r in rows]


@dataclass
class _Order:
    """One order as replayed so far."""

    order: Order
    status: OrderStatus = OrderStatus.NEW
    vehicle: str | None = None
    sortie: Sortie | None = None
    reason: str = ""
    promised_s: float | None = None
    """The drop-off time the dispatcher promised (its latest Assign)."""
    shown: bool = False


class StoreSource:
    """A ``ReplaySource`` over a dispatch store (only read).

    Raises:
        ValueError: not a store (``StoreError``), or a store with nothing recorded.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"{self.path}: no such file")
        with Store.open(self.path, create=False) as store:
            self.orders = {s.order.id: _Order(s.order) for s in store.orders()}
            self._reasons = {s.order.id: "; ".join(s.reasons) for s in store.orders()}
            events = [e for e in store.events() if e.kind != "setting"]
            self.scenario = _scenario(store)
        snapshots = load_snapshots(self.path)
        timeline: list[tuple[float, int, StoredEvent | VehicleSnapshot]] = [
            (e.t_s, n, e) for n, e in enumerate(events)]
        timeline += [(s.t_s, len(events) + n, s) for n, s in enumerate(snapshots)]
        if not timeline:
            raise ValueError(f"{self.path}: nothing recorded to replay (no events and no "
                             "vehicle snapshots)")
        timeline.sort(key=lambda item: (item[0], item[1]))
        self.timeline = [(t, item) for t, _, item in timeline]
        self.title = self.path.name
        self.start_s, self.end_s = self.timeline[0][0], self.timeline[-1][0]
        self.vehicles: dict[str, VehicleView] = {}
        self._sysids = {d: n + 1 for n, d in enumerate(sorted({s.drone_id for s in snapshots}))}
        self._previous: dict[str, VehicleSnapshot] = {}
        self._next = 0
        self._now = self.start_s
        self._map_dirty = True

    # ------------------------------------------------------------------------ folding

    def advance(self, t_s: float) -> Frame:
        vehicles: list[VehicleView] = []
        events: list[EventView] = []
        touched: set[str] = set()
        while self._next < len(self.timeline) and self.timeline[self._next][0] <= t_s:
            item = self.timeline[self._next][1]
            self._next += 1
            if isinstance(item, VehicleSnapshot):
                vehicles.append(self._vehicle(item))
            else:
                self._event(item, events, touched)
        self._now = max(self._now, t_s)
        orders = tuple(self._order_view(self.orders[o]) for o in sorted(touched)
                       if o in self.orders)
        map_view = self._map_view() if self._map_dirty else None
        self._map_dirty = False
        return Frame(tuple(vehicles), orders, tuple(events), map_view)

    def _event(self, e: StoredEvent, events: list[EventView], touched: set[str]) -> None:
        order = self.orders.get(e.order_id or "")
        if order is not None:
            order.shown = True
            touched.add(order.order.id)
        data = e.data if e.kind in ("dispatch", "decision") else json.loads(e.data)
        if e.kind == "decision":
            self._decision(e, events)
        elif e.kind == "order" and order is not None and isinstance(data, dict):
            self._state_change(order, e, data, events)
        elif e.kind == "flight" and isinstance(data, dict):
            events.append(_flight_event(e, data, order.vehicle if order else None))
            self._map_dirty = True
        elif e.kind == "intake" and isinstance(data, dict) and data.get("cancel_requested"):
            events.append(EventView(e.t_s, "intake", Severity.NOTICE,
                                    f"{e.order_id}: cancel requested"))

    def _decision(self, e: StoredEvent, events: list[EventView]) -> None:
        decision = decode(e.data)
        order = self.orders.get(decision.order_id)
        severity = Severity.WARNING if isinstance(decision, (Reject, Fail)) else Severity.INFO
        events.append(EventView(e.t_s, "dispatch", severity, decision_text(decision)))
        if order is None:
            return
        if isinstance(decision, Assign):
            order.vehicle, order.sortie = decision.drone_id, decision.sortie
            order.promised_s = decision.due_s
            self._map_dirty = True
        elif isinstance(decision, Unassign | Fail):
            order.sortie = None
            self._map_dirty = True
        if isinstance(decision, Reject):
            order.reason = "; ".join(str(r) for r in decision.reasons)

    def _state_change(self, order: _Order, e: StoredEvent, data: dict[str, object],
                      events: list[EventView]) -> None:
        to = str(data.get("to", ""))
        status = _STATUS.get(to)
        if status is None:
            return
        order.status = status
        why = str(data.get("why", ""))
        if status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
            order.reason = why
        elif status is OrderStatus.INFEASIBLE:
            order.reason = order.reason or self._reasons.get(order.order.id, why)
        if status.is_final or status is OrderStatus.IN_FLIGHT:
            self._map_dirty = True
        severity = _FINAL_TEXT.get(to, Severity.DEBUG)
        events.append(EventView(e.t_s, order.order.id, severity,
                                f"{order.order.id}: {data.get('from')} -> {to} ({why})"))

    # ------------------------------------------------------------------------- views

    def _vehicle(self, s: VehicleSnapshot) -> VehicleView:
        try:
            state = VehicleState(s.status)
        except ValueError:
            state = VehicleState.IDLE
        speed, heading = _motion(self._previous.get(s.drone_id), s)
        self._previous[s.drone_id] = s
        flying = next((o.order.id for o in self.orders.values() if o.vehicle == s.drone_id
                       and o.status is OrderStatus.IN_FLIGHT), None)
        position = None if s.lat is None or s.lon is None else LatLon(s.lat, s.lon)
        view = VehicleView(s.drone_id, self._sysids.get(s.drone_id, 0), state,
                           alt_m=s.alt_m, ground_speed_ms=speed, heading_deg=heading,
                           position=position, order_id=flying, link_age_s=0.0)
        self.vehicles[s.drone_id] = view
        return view

    def _order_view(self, o: _Order) -> OrderView:
        due = o.promised_s if o.promised_s is not None else o.order.due_s
        left = None if o.status.is_final or due is None else due - self._now
        plan = None if o.sortie is None else plan_view_from_flight_plan(o.sortie.plan)
        return OrderView(o.order.id, o.status, o.order.depot_id, o.order.dropoff,
                         o.order.payload_kg, o.order.created_s, due, left, o.vehicle,
                         o.reason, plan)

    def _map_view(self) -> MapView:
        routes = tuple(
            RouteView(o.order.id, (*o.sortie.plan.outbound, *o.sortie.plan.inbound[1:]),
                      o.vehicle, o.status is OrderStatus.IN_FLIGHT,
                      len(o.sortie.plan.outbound) - 1)
            for o in self.orders.values()
            if o.sortie is not None and not o.status.is_final)
        if self.scenario is None:
            return MapView(routes=routes)
        return map_view_from_airspace(self.scenario.depots, self.scenario.airspace, routes)

    def summary(self) -> str:
        """Orders by state and vehicles seen, as the day stands at the replay's moment."""
        shown = [o for o in self.orders.values() if o.shown]
        counts: dict[str, int] = {}
        for o in shown:
            counts[o.status.value] = counts.get(o.status.value, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
        hours = (self._now - self.start_s) / 3600.0
        return (f"{hours:.1f} h of {self.title}: {len(shown)} orders ({states}); "
                f"{len(self.vehicles)} vehicles")


_STATUS = {s.value.replace(" ", "_"): s for s in OrderStatus}


def _scenario(store: Store) -> Scenario | None:
    try:
        found = stored_scenario(store)
    except (InvalidInput, ValueError, OSError):
        return None  # the scenario moved: the replay goes on without the map's background
    return None if found is None else found[0]


def _motion(before: VehicleSnapshot | None, now: VehicleSnapshot
            ) -> tuple[float | None, float | None]:
    """Ground speed (m/s) and course (degrees) between two snapshots of one vehicle."""
    if before is None or None in (before.lat, before.lon, now.lat, now.lon) \
            or now.t_s <= before.t_s:
        return None, None
    assert before.lat is not None and before.lon is not None
    assert now.lat is not None and now.lon is not None
    dy = (now.lat - before.lat) * _M_PER_DEG
    dx = (now.lon - before.lon) * _M_PER_DEG * math.cos(math.radians(now.lat))
    distance = math.hypot(dx, dy)
    heading = math.degrees(math.atan2(dx, dy)) % 360.0 if distance > 1.0 else None
    return distance / (now.t_s - before.t_s), heading


def _flight_event(e: StoredEvent, data: dict[str, object], vehicle: str | None) -> EventView:
    source = e.drone_id or vehicle or "fleet"
    if data.get("launched"):
        return EventView(e.t_s, source, Severity.INFO, f"{e.order_id}: launched on {source}")
    outcome = str(data.get("outcome", "?"))
    severity = Severity.NOTICE if outcome == "delivered" else Severity.WARNING
    return EventView(e.t_s, source, severity,
                     f"{e.order_id}: flight ended, {outcome}")

