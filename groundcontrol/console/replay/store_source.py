"""A dispatch day's store as a ``ReplaySource``: its vehicle snapshots and its event log
(dispatcher decisions, order state changes, flights) in time order.

Orders appear when they were placed and change state as the log says; an assigned order
draws its planned route (bright while in flight); the map is the scenario the store
recorded (``record_scenario``), when it can still be read. The fleet keeps a vehicle
snapshot once a minute (``FleetConfig.snapshot_s``): between two snapshots a drone's position,
altitude and charge are interpolated, so it moves smoothly on the map, and its speed, heading
and draw are read from the one snapshot to the next. A snapshot keeps the charge left (Wh),
shown as a percentage of the drone's battery and as flying time left at that draw; GPS, EKF,
voltage, current and link quality are not kept, and show as unknown.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from urllib.parse import urlsplit

from groundcontrol.console.health import battery_left_s
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
from groundcontrol.fleet.intake import SCENARIO_SETTING, stored_scenario
from groundcontrol.fleet.model import decision_text
from groundcontrol.fleet.report import DayReport, build_report, report_until
from groundcontrol.fleet.store.dialect import is_url
from groundcontrol.fleet.store.sqlite import Store, StoredEvent, VehicleSnapshot
from planner.dispatch_codec import decode
from planner.dispatch_model import Assign, Fail, Reject, Sortie, Unassign
from planner.errors import InvalidInput
from planner.load import load_scenario
from planner.model import LatLon, Order
from planner.scenario import Scenario

__all__ = ["FoldedOrder", "StoreSource", "load_snapshots", "recorded_scenario", "store_title"]

_M_PER_DEG = 111_319.5
_FLYING = frozenset({VehicleState.EN_ROUTE, VehicleState.DELIVERING, VehicleState.RETURNING,
                     VehicleState.PAUSED})
_FINAL_TEXT = {"delivered": Severity.NOTICE, "failed": Severity.WARNING,
               "infeasible": Severity.WARNING, "cancelled": Severity.NOTICE}


def load_snapshots(store: Store) -> list[VehicleSnapshot]:
    """Every vehicle snapshot the store kept, by time (then as kept)."""
    rows = store.vehicle_snapshots()
    return [s for _, s in sorted(rows, key=lambda r: (r[1].t_s, r[0]))]


def store_title(store: Store) -> str:
    """How the console names a store: the file's name, or the PostgreSQL database's
    (``book`` for ``postgresql://dispatch@db.local:5432/book``)."""
    if is_url(str(store.path)):
        return urlsplit(str(store.path)).path.lstrip("/") or str(store.path)
    return Path(store.path).name


@dataclass
class FoldedOrder:
    """One order as folded so far (replayed, or watched)."""

    order: Order
    status: OrderStatus = OrderStatus.NEW
    vehicle: str | None = None
    sortie: Sortie | None = None
    reason: str = ""
    promised_s: float | None = None
    """The drop-off time the dispatcher promised (its latest Assign)."""
    shown: bool = False


class StoreSource:
    """A ``ReplaySource`` over a dispatch store, an SQLite file or a PostgreSQL URL (only
    read, through the ``Store`` API).

    Raises:
        ValueError: not a store (``StoreError``, ``StoreFault``), or a store with nothing
            recorded.
    """

    def __init__(self, location: str | PathLike[str]) -> None:
        self.location: str | Path = str(location) if is_url(str(location)) else Path(location)
        if isinstance(self.location, Path) and not self.location.is_file():
            raise ValueError(f"{self.location}: no such file")
        with Store.open(self.location, create=False) as store:
            self._read_book(store)
            events = [e for e in store.events() if e.kind != "setting"]
            snapshots = load_snapshots(store)
        timeline: list[tuple[float, int, StoredEvent | VehicleSnapshot]] = [
            (e.t_s, n, e) for n, e in enumerate(events)]
        timeline += [(s.t_s, len(events) + n, s) for n, s in enumerate(snapshots)]
        if not timeline:
            raise ValueError(f"{self.title}: nothing recorded to replay (no events and no "
                             "vehicle snapshots)")
        timeline.sort(key=lambda item: (item[0], item[1]))
        self.timeline = [(t, item) for t, _, item in timeline]
        self.start_s, self.end_s = self.timeline[0][0], self.timeline[-1][0]
        self._now = self.start_s
        for n, d in enumerate(sorted({s.drone_id for s in snapshots} - set(self._sysids))):
            self._sysids[d] = n + 1
        for snapshot in snapshots:
            self._tracks.setdefault(snapshot.drone_id, []).append(snapshot)

    def _read_book(self, store: Store) -> None:
        """The folding's starting point: the store's orders (none shown yet) and its
        scenario's fleet (system ids, batteries, depots)."""
        self.title = store_title(store)
        stored = store.orders()
        self.orders = {s.order.id: FoldedOrder(s.order) for s in stored}
        self._reasons = {s.order.id: "; ".join(s.reasons) for s in stored}
        self.scenario = recorded_scenario(store)
        self.vehicles: dict[str, VehicleView] = {}
        self._sysids: dict[str, int] = {}
        self._capacity: dict[str, float] = {}
        """Each drone's battery (Wh), from the scenario's fleet."""
        self._depots: dict[str, str] = {}
        """Each drone's depot, from the scenario's fleet."""
        self._fleet_of_scenario()
        self._tracks: dict[str, list[VehicleSnapshot]] = {}
        """Each vehicle's snapshots by time."""
        self._passed: dict[str, int] = {}
        """How many of each vehicle's snapshots the replay has passed."""
        self._previous: dict[str, VehicleSnapshot] = {}
        self._next = 0
        self._now = 0.0
        self._map_dirty = True
        self._report: DayReport | None = None

    def _fleet_of_scenario(self) -> None:
        """System ids, batteries and depots of the scenario's drones."""
        if self.scenario is None:
            return
        for drone in self.scenario.fleet:
            self._sysids[drone.id] = drone.sysid
            self._depots[drone.id] = drone.depot_id
            with contextlib.suppress(InvalidInput):
                self._capacity[drone.id] = self.scenario.profile_for(drone).battery_wh

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
        moved = {v.name for v in vehicles}
        vehicles += [v for v in self._between(t_s) if v.name not in moved]
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

    def _state_change(self, order: FoldedOrder, e: StoredEvent, data: dict[str, object],
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
        self._passed[s.drone_id] = self._passed.get(s.drone_id, 0) + 1
        self._previous[s.drone_id] = s
        flying = next((o.order.id for o in self.orders.values() if o.vehicle == s.drone_id
                       and o.status is OrderStatus.IN_FLIGHT), None)
        position = None if s.lat is None or s.lon is None else LatLon(s.lat, s.lon)
        view = VehicleView(s.drone_id, self._sysids.get(s.drone_id, 0), state, alt_m=s.alt_m,
                           position=position, order_id=flying,
                           depot=self._depots.get(s.drone_id, ""))
        view = self._motion_view(view, s, self._next_snapshot(s.drone_id), s.battery_wh)
        self.vehicles[s.drone_id] = view
        return view

    def _next_snapshot(self, drone_id: str) -> VehicleSnapshot | None:
        track = self._tracks.get(drone_id, [])
        passed = self._passed.get(drone_id, 0)
        return track[passed] if passed < len(track) else None

    def _motion_view(self, view: VehicleView, last: VehicleSnapshot,
                     following: VehicleSnapshot | None, battery_wh: float | None
                     ) -> VehicleView:
        """``view`` with the speed, heading and draw from ``last`` to ``following`` (the
        minute being flown), the charge ``battery_wh`` as a percentage and the time left."""
        speed, heading = (None, None) if following is None else _motion(last, following)
        capacity = self._capacity.get(view.name)
        pct = None if battery_wh is None or not capacity else \
            max(0.0, min(100.0, 100.0 * battery_wh / capacity))
        draw = None
        if following is not None and last.battery_wh is not None and \
                following.battery_wh is not None and following.t_s > last.t_s:
            draw = (last.battery_wh - following.battery_wh) * 3600.0 / (following.t_s - last.t_s)
        left = battery_left_s(pct, capacity, draw) if view.state in _FLYING else None
        return replace(view, ground_speed_ms=speed, heading_deg=heading, battery_pct=pct,
                       battery_left_s=left)

    def _between(self, t_s: float) -> list[VehicleView]:
        """Every vehicle between two snapshots at ``t_s`` that moved from one to the other,
        where it is now (interpolated)."""
        views = []
        for name, last in self._previous.items():
            following = self._next_snapshot(name)
            view = self.vehicles.get(name)
            if following is None or view is None or following.t_s <= last.t_s or None in (
                    last.lat, last.lon, following.lat, following.lon):
                continue
            assert last.lat is not None and last.lon is not None
            assert following.lat is not None and following.lon is not None
            if (last.lat, last.lon, last.alt_m) == (following.lat, following.lon,
                                                     following.alt_m):
                continue  # on its pad
            k = min(1.0, max(0.0, (t_s - last.t_s) / (following.t_s - last.t_s)))
            here = LatLon(last.lat + k * (following.lat - last.lat),
                          last.lon + k * (following.lon - last.lon))
            alt = _lerp(last.alt_m, following.alt_m, k)
            moved = replace(view, position=here, alt_m=alt)
            moved = self._motion_view(moved, last, following,
                                      _lerp(last.battery_wh, following.battery_wh, k))
            if moved != view:
                self.vehicles[name] = moved
                views.append(moved)
        return views

    def _order_view(self, o: FoldedOrder) -> OrderView:
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

    def day_report(self, t_s: float) -> DayReport:
        """The day as ``drone-delivery report`` reads it from the store, as it stood at
        ``t_s`` (``report_until``); the store is read once."""
        if self._report is None:
            with Store.open(self.location, create=False) as store:
                self._report = build_report(store)
        return report_until(self._report, t_s)

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


def recorded_scenario(store: Store) -> Scenario | None:
    """The scenario the store recorded: the book's, else the first a site recorded that can
    still be read (None: the replay goes on without the map's background)."""
    try:
        found = stored_scenario(store)
    except (InvalidInput, ValueError, OSError):
        found = None  # the scenario moved
    if found is not None:
        return found[0]
    for site, folder in store.site_settings(SCENARIO_SETTING).items():
        if site is not None:
            with contextlib.suppress(InvalidInput, ValueError, OSError):
                return load_scenario(folder)
    return None


def _lerp(a: float | None, b: float | None, k: float) -> float | None:
    """``a`` moved a fraction ``k`` of the way to ``b`` (``a`` when either is unknown).

    >>> _lerp(10.0, 20.0, 0.25), _lerp(None, 20.0, 0.5)
    (12.5, None)
    """
    return a if a is None or b is None else a + k * (b - a)


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

