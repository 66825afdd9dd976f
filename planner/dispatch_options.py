"""The dispatcher's choice for one order: which drone, which turnaround, when.

``best_sortie`` looks at every available drone of the order's depot and each way to turn it
around (keep its battery, swap a spare, charge on a pad) and returns the sortie with the
earliest drop-off. Energy: a quick threshold from the full-battery plan filters options, and
the planner itself confirms the chosen one with the energy actually in the battery.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace

from planner.dispatch_model import (
    BatteryAction,
    DepotModel,
    DroneSpec,
    DroneStatus,
    PlanFn,
    Sortie,
)
from planner.dispatch_resources import Battery, DepotResources, charged_wh, time_to_charge_s
from planner.model import FlightPlan, Infeasibility, Order, PlanResult, Rule
from planner.vehicle import VehicleProfile

__all__ = ["DroneState", "Fleet", "SeparateFn", "best_sortie", "dropoff_offset_s", "due_of",
           "promise_for"]

_DROPOFF_MARKERS = ("release_hover", "ground_wait", "hover")
"""Phase names (substrings, most specific first) whose end is the release at the drop-off;
``planner.energy`` names it ``release_hover`` (``ground_wait`` for a landing delivery)."""
_CHARGE_MARGIN = 0.01
"""Charge on a pad to this fraction of capacity above the need, against rounding."""
_MAX_CONFIRMS = 50
_ACTION_RANK = {BatteryAction.KEEP: 0, BatteryAction.SWAP: 1, BatteryAction.CHARGE: 2}

SeparateFn = Callable[[Sortie], "Sortie | None"]
"""Separation seam of ``best_sortie``: a confirmed sortie kept clear of the other planned
flights (later, or on another layer), or None when it cannot be
(``planner.dispatch_separation.Separation.resolve``)."""


@dataclass(frozen=True, slots=True)
class DroneState:
    """A drone as the dispatcher sees it: when it is next free and its battery then."""

    spec: DroneSpec
    status: DroneStatus
    battery: Battery
    """The battery in the drone and its energy at ``free_at_s``."""
    free_at_s: float
    """When the drone is back on the ground, free for its next turnaround."""


def due_of(order: Order, promise_s: float) -> float:
    """The promised drop-off time: the order's own, or ``promise_s`` after it was placed."""
    return order.due_s if order.due_s is not None else order.created_s + promise_s


def promise_for(dropoff_s: float, slack_s: float = 0.0, step_s: float = 60.0) -> float:
    """The due time to promise for a drop-off at ``dropoff_s``: the slack kept in hand, then
    rounded up to a whole ``step_s`` (a promise a person reads as HH:MM).

    >>> promise_for(3_601.0), promise_for(3_540.0, slack_s=60.0), promise_for(10.0, step_s=0.0)
    (3660.0, 3600.0, 10.0)
    """
    at = dropoff_s + slack_s
    if step_s <= 0.0:
        return at
    return float(math.ceil(at / step_s - 1e-9) * step_s)


def dropoff_offset_s(plan: FlightPlan) -> float:
    """Seconds from launch until the parcel is released (end of the drop-off phase).

    Summed from the plan's phases up to and including the release phase; when the phases
    name none, the outbound share of the flight time by leg length.
    """
    for marker in _DROPOFF_MARKERS:
        elapsed = 0.0
        for phase in plan.phases:
            elapsed += phase.duration_s
            if marker in phase.name.lower():
                return elapsed
    out_m = _path_m(plan.outbound)
    back_m = _path_m(plan.inbound)
    share = out_m / (out_m + back_m) if out_m + back_m > 0 else 0.5
    return plan.flight_time_s * share


def _path_m(points: tuple[object, ...]) -> float:
    from math import cos, hypot, radians

    total = 0.0
    for a, b in itertools.pairwise(points):
        lat = radians((a.lat + b.lat) / 2)  # type: ignore[attr-defined]
        dy = (b.lat - a.lat) * 111_320.0  # type: ignore[attr-defined]
        dx = (b.lon - a.lon) * 111_320.0 * cos(lat)  # type: ignore[attr-defined]
        total += hypot(dx, dy)
    return total


@dataclass(slots=True)
class Fleet:
    """The planner seam with per-order caches, the promise, and the tie-break ranks."""

    plan_fn: PlanFn
    promise_s: float
    rank: dict[str, int]
    """Drone id -> tie-break rank (a seeded permutation)."""
    _cache: dict[str, dict[tuple[str, float, object], PlanResult]] = field(default_factory=dict)
    _need: dict[str, dict[str, float]] = field(default_factory=dict)

    def plan(self, order: Order, profile: VehicleProfile, battery_wh: float | None) -> PlanResult:
        """The planner's answer, cached per order, profile, cruise altitude (separation
        layers) and energy (to the centi-Wh)."""
        if battery_wh is not None and battery_wh >= profile.battery_wh:
            battery_wh = None  # a full battery: the planner's full-battery verdict holds
        key = (profile.name, profile.cruise_alt_agl_m,
               None if battery_wh is None else round(battery_wh, 2))
        per_order = self._cache.setdefault(order.id, {})
        if key not in per_order:
            per_order[key] = self.plan_fn(order, profile, battery_wh)
        return per_order[key]

    def need_wh(self, order: Order, profile: VehicleProfile) -> float | None:
        """Battery energy the sortie needs, or None when the profile cannot fly it at all.

        Starts from the full-battery plan (capacity minus the reserve left over); raised
        when the planner turns a battery down (``raise_need``).
        """
        per_order = self._need.setdefault(order.id, {})
        if profile.name not in per_order:
            full = self.plan(order, profile, None)
            if not full.feasible or full.plan is None:
                return None
            per_order[profile.name] = max(0.0, profile.battery_wh - full.plan.reserve_left_wh)
        need = per_order[profile.name]
        return need if need <= profile.battery_wh + 1e-9 else None

    def raise_need(self, order: Order, profile: VehicleProfile, refused_wh: float) -> None:
        bumped = max(refused_wh, self._need[order.id][profile.name]) + 0.01 * profile.battery_wh
        self._need[order.id][profile.name] = bumped

    def forget(self, order_id: str) -> None:
        self._cache.pop(order_id, None)
        self._need.pop(order_id, None)

    def static_reasons(self, order: Order, drones: Iterable[DroneState]
                       ) -> tuple[Infeasibility, ...]:
        """Why no drone of the order's depot could ever fly it (empty when one can)."""
        profiles = {d.spec.profile.name: d.spec.profile for d in drones
                    if d.spec.depot_id == order.depot_id}
        if not profiles:
            return (Infeasibility(Rule.UNKNOWN_DEPOT, order.depot_id, "a depot with drones",
                                  detail="no drone is based at this depot"),)
        reasons: list[Infeasibility] = []
        for name in sorted(profiles):
            result = self.plan(order, profiles[name], None)
            if result.feasible:
                return ()
            reasons.extend(r for r in result.reasons if r not in reasons)
        self.forget(order.id)
        return tuple(reasons)

    def apply(self, sortie: Sortie, drones: MutableMapping[str, DroneState],
              depots: Mapping[str, DepotResources]) -> None:
        """Book the sortie: drone busy until landing, pad busy, spare taken and old one charging."""
        drone = drones[sortie.drone_id]
        depot = depots[sortie.depot_id]
        depot.book_pad(sortie.pad, sortie.turnaround_start_s, sortie.launch_s)
        capacity = drone.battery.capacity_wh
        if sortie.action is BatteryAction.SWAP:
            depot.take_spare(sortie.battery_id)
            back_at = sortie.turnaround_start_s + depot.model.swap_time_s
            left = _on_board_wh(drone.battery, sortie.turnaround_start_s, depot.model)
            depot.put_spare(Battery(drone.battery.id, capacity, left, back_at))
        battery = Battery(sortie.battery_id, capacity, sortie.landing_wh, sortie.land_s)
        drones[sortie.drone_id] = replace(drone, battery=battery, free_at_s=sortie.land_s)


def best_sortie(fleet: Fleet, order: Order, drones: Mapping[str, DroneState],
                depots: Mapping[str, DepotResources], now_s: float,
                separate: SeparateFn | None = None) -> Sortie | None:
    """The sortie that drops ``order`` off earliest, confirmed by the planner, or None.

    With ``separate``, each option is also kept clear of the other planned flights, which
    may make it later: options are taken in order of their drop-off before separation until
    none can beat the best one after it.
    """
    for _ in range(_MAX_CONFIRMS):
        options: list[tuple[tuple[float, int, int], Sortie]] = []
        for drone in drones.values():
            if drone.spec.depot_id != order.depot_id or drone.status is not DroneStatus.AVAILABLE:
                continue
            for sortie in _options(fleet, order, drone, depots[order.depot_id], now_s):
                key = (sortie.dropoff_s, _ACTION_RANK[sortie.action], fleet.rank[drone.spec.id])
                options.append((key, sortie))
        if not options:
            return None
        options.sort(key=lambda item: item[0])
        best: tuple[tuple[float, int, int], Sortie] | None = None
        refused = False
        for key, option in options:
            if best is not None and key >= best[0]:
                break
            profile = drones[option.drone_id].spec.profile
            result = fleet.plan(order, profile, option.launch_wh)
            if not result.feasible or result.plan is None:
                fleet.raise_need(order, profile, option.launch_wh)
                refused = True
                break
            chosen: Sortie | None = _timed(option, result.plan)
            if separate is None:
                return chosen
            assert chosen is not None
            later = chosen.dropoff_s
            chosen = separate(chosen)
            if chosen is None:
                continue
            moved = (key[0] + chosen.dropoff_s - later, key[1], key[2])
            if best is None or moved < best[0]:
                best = (moved, chosen)
        if not refused:
            return None if best is None else best[1]
    return None


def _timed(sortie: Sortie, plan: FlightPlan) -> Sortie:
    return replace(sortie, plan=plan, dropoff_s=sortie.launch_s + dropoff_offset_s(plan),
                   land_s=sortie.launch_s + plan.flight_time_s)


def _options(fleet: Fleet, order: Order, drone: DroneState, depot: DepotResources,
             now_s: float) -> list[Sortie]:
    """Every turnaround that gets this drone off with enough energy, each at its earliest."""
    profile = drone.spec.profile
    need = fleet.need_wh(order, profile)
    full = fleet.plan(order, profile, None).plan
    if need is None or full is None:
        return []
    model = depot.model
    ready = max(now_s, drone.free_at_s)
    capacity = drone.battery.capacity_wh
    out: list[Sortie] = []
    if model.park_charging:
        out.append(_parked(order, drone, full, depot, ready, need))
        energy = charged_wh(drone.battery, ready, model.charge_rate_w)
    else:
        energy = drone.battery.energy_wh
        if energy >= need:
            pad, start = depot.earliest_pad(ready, model.load_time_s)
            out.append(_sortie(order, drone, full, start, start + model.load_time_s, pad,
                               BatteryAction.KEEP, drone.battery.id, energy))
    # with enough energy on board a swap is never sooner (it takes longer on the same pad);
    # a parked drone's energy grows with the time of the look, so it always gets the choice
    spare = None
    if model.park_charging or energy < need:
        spare = depot.best_spare(capacity, need, ready)
    if spare is not None:
        duration = max(model.swap_time_s, model.load_time_s)
        pad, start = depot.earliest_pad(spare[1], duration)
        swapped_in = charged_wh(spare[0], start, model.charge_rate_w)
        out.append(_sortie(order, drone, full, start, start + duration, pad, BatteryAction.SWAP,
                           spare[0].id, swapped_in, drone.battery.id))
    if energy < need and not model.park_charging:
        target = min(capacity, need + _CHARGE_MARGIN * capacity)
        duration = max(model.load_time_s, time_to_charge_s(energy, target, model.charge_rate_w))
        pad, start = depot.earliest_pad(ready, duration)
        out.append(_sortie(order, drone, full, start, start + duration, pad,
                           BatteryAction.CHARGE, drone.battery.id, target))
    return out


def _parked(order: Order, drone: DroneState, plan: FlightPlan, depot: DepotResources,
            ready_s: float, need_wh: float) -> Sortie:
    """A drone on its own charging pad: it waits there until it holds enough, then loads.

    Worked out from the battery's own state (when it will hold ``need_wh``), not from the
    time of asking, so asking later gives the same sortie.
    """
    model = depot.model
    battery = drone.battery
    target = min(battery.capacity_wh, need_wh + _CHARGE_MARGIN * battery.capacity_wh)
    holds_s = battery.since_s + time_to_charge_s(battery.energy_wh, target, model.charge_rate_w)
    pad, start = depot.earliest_pad(max(ready_s, holds_s - model.load_time_s),
                                    model.load_time_s)
    launch_s = start + model.load_time_s
    action = BatteryAction.KEEP if holds_s <= start else BatteryAction.CHARGE
    return _sortie(order, drone, plan, start, launch_s, pad, action, battery.id,
                   charged_wh(battery, launch_s, model.charge_rate_w))


def _on_board_wh(battery: Battery, at_s: float, model: DepotModel) -> float:
    """Energy in a drone's battery at ``at_s``: parked drones charge on their own pads."""
    if model.park_charging:
        return charged_wh(battery, at_s, model.charge_rate_w)
    return battery.energy_wh


def _sortie(order: Order, drone: DroneState, plan: FlightPlan, start_s: float, launch_s: float,
            pad: int, action: BatteryAction, battery_id: str, launch_wh: float,
            swapped_out_id: str | None = None) -> Sortie:
    return _timed(
        Sortie(order.id, drone.spec.id, order.depot_id, start_s, launch_s, launch_s, launch_s,
               action, battery_id, launch_wh, plan, pad, swapped_out_id),
        plan,
    )
