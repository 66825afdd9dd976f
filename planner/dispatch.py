"""The fleet dispatcher: which drone flies which order, and when.

Pure and deterministic: no clock (``now_s`` is an argument), no I/O, and ties broken by a
seeded permutation, so the same events, times and seed give the same decisions. Replaying
the event log rebuilds the state after a restart (``groundcontrol.fleet.store.sqlite.replay``).

How it decides. Accepted orders wait in a sequence (priority, then earliest due first). When
an event changes what a depot has (a landing off the plan, a fault, a lost link, a cancel),
that depot's unlaunched schedule is rebuilt from what is already fixed: each order in turn
goes to the drone and turnaround (keep the battery, swap in a spare, or charge on a pad) that
drops it off earliest, using the planner's verdict for the energy actually in the battery.
A new order that comes last in its depot's sequence (the usual case) is fitted onto the end
state of the current plan, which gives the same plan as a rebuild at a fraction of the cost
(the planning of a depot's schedule: ``planner.dispatch_schedule``).
A new order is accepted only if it can be dropped off by its due time without making an
accepted, on-time order late (first at its place in the sequence, then at the end);
otherwise it is rejected at once with the reason. Infeasible orders are rejected before they
reach the sequence, so they never hold anything up. After a disruption, accepted orders are
still flown, late if need be (``Assign.late``), rather than dropped. With ``separation``,
every sortie is also kept clear of every other planned flight, of any depot, by another
cruise layer or a later launch (``planner.dispatch_separation``; ``Sortie.separation``).

Contract with the ground side. An ``Assign`` is carried out from its ``turnaround_start_s``
unless a later Assign or an Unassign of the same order arrives first; the dispatcher treats a
sortie as fixed once its turnaround began before the time of the event it is handling (so
events of one instant are handled before anything starting at that instant is fixed: send
``Tick`` at launch times to fix sorties when nothing else happens). A fixed sortie stays
under way, past its planned landing if need be, until a ``DroneLanded`` (which should name it
by ``order_id``), a ``DroneFault`` or a ``Fail`` ends it: a drone that launches late still
has its order, and no order is dropped unseen. An order put back in line that gets no drone
at once is announced with an ``Unassign``, so the ground side holds no stale assignment.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from planner.dispatch_model import (
    DEFAULT_PROMISE_S,
    CancelAnswer,
    Decision,
    DepotModel,
    DroneFault,
    DroneLanded,
    DroneRecovered,
    DroneSpec,
    DroneStatus,
    Event,
    Fail,
    FleetDrone,
    LinkLost,
    LinkRestored,
    OrderCancelled,
    OrderPlaced,
    PlanFn,
    Reject,
    Sortie,
    SortieProgress,
    Tick,
    Unassign,
)
from planner.dispatch_options import DroneState, Fleet, due_of
from planner.dispatch_resources import Battery, DepotResources
from planner.dispatch_schedule import DepotScheduler, Schedule
from planner.dispatch_separation import Separation
from planner.errors import InvalidInput
from planner.model import Infeasibility, Order, PlanResult, Rule
from planner.scenario import Scenario
from planner.separation import SeparationRules
from planner.vehicle import VehicleProfile

__all__ = ["Dispatcher", "SupportsPlan", "fleet_of", "planner_plan_fn"]


class SupportsPlan(Protocol):
    """What ``planner.plan.Planner`` offers the dispatcher."""

    def plan(self, order: Order, profile: VehicleProfile, *,
             battery_wh: float | None = None) -> PlanResult: ...


def planner_plan_fn(planner: SupportsPlan) -> PlanFn:
    """Adapt ``planner.plan.Planner`` (``plan(order, profile, *, battery_wh=...)``) to PlanFn."""

    def fn(order: Order, profile: VehicleProfile, battery_wh: float | None) -> PlanResult:
        return planner.plan(order, profile, battery_wh=battery_wh)

    return fn


def fleet_of(scenario: Scenario) -> tuple[FleetDrone, ...]:
    """The scenario's drones with their profiles resolved, ready for ``Dispatcher``."""
    return tuple(FleetDrone(d.id, scenario.profile_for(d), d.depot_id) for d in scenario.fleet)


class Dispatcher(DepotScheduler):
    """Online dispatcher. Every method is deterministic; ``handle`` is the only entry for events.

    Args:
        drones: the fleet, profiles resolved (``fleet_of(scenario)``, or any ``DroneSpec``).
        depots: the ground resources per depot.
        plan_fn: the planner seam, see ``PlanFn`` (``planner_plan_fn(Planner(...))``).
        promise_s: drop-off promise for orders without a due time.
        seed: breaks ties between equally good drones.
        start_s: scenario time the fleet and spares are ready, full.
        slack_s: a new order is accepted only if it is dropped off this long before it is
            due: time in hand for what a plan does not see (a slow pre-flight, a headwind),
            so a small delay does not make a promise late.
        separation: minima between planned flights, or None to plan every drone as if it
            flew alone. Each sortie is kept clear of every planned flight, of every depot,
            by another cruise layer or a later launch (``Sortie.separation`` says why).
    """

    def __init__(
        self,
        drones: Iterable[DroneSpec],
        depots: Mapping[str, DepotModel] | Iterable[DepotModel],
        plan_fn: PlanFn,
        *,
        promise_s: float = DEFAULT_PROMISE_S,
        seed: int = 0,
        start_s: float = 0.0,
        slack_s: float = 0.0,
        separation: SeparationRules | None = None,
    ) -> None:
        if not slack_s >= 0.0:
            raise InvalidInput("slack_s", f"must be 0 or more, got {slack_s!r}")
        self._slack_s = float(slack_s)
        models = dict(depots) if isinstance(depots, Mapping) else {d.depot_id: d for d in depots}
        specs = sorted(drones, key=lambda d: d.id)
        if len({d.id for d in specs}) != len(specs):
            raise InvalidInput("drones", "drone ids must be unique")
        for d in specs:
            if d.depot_id not in models:
                raise InvalidInput(f"drone {d.id}.depot_id", f"no depot model for {d.depot_id!r}")
        for depot_id, model in models.items():
            based = sum(d.depot_id == depot_id for d in specs)
            if model.park_charging and model.pads < based:
                raise InvalidInput(f"depot {depot_id}.pads", f"park_charging needs a pad per "
                                   f"drone: {model.pads} pads for {based} drones")
        rank = [d.id for d in specs]
        random.Random(seed).shuffle(rank)
        self._fleet = Fleet(plan_fn, promise_s, {d: i for i, d in enumerate(rank)})
        self._separation = (None if separation is None
                            else Separation(separation, {d.id: d.profile for d in specs}))
        self._drones = {
            d.id: DroneState(d, DroneStatus.AVAILABLE, _full(d, start_s), start_s) for d in specs
        }
        self._depots = {
            depot_id: DepotResources.fresh(model, _spare_capacity(specs, depot_id), start_s)
            for depot_id, model in sorted(models.items())
        }
        self._orders: dict[str, Order] = {}
        self._sequence: list[str] = []
        self._tentative = Schedule({}, [])
        self._committed: dict[str, Sortie] = {}
        self._requeued: dict[str, str] = {}
        """Orders put back in line by the event being handled, and the drone they had."""
        self._ends = {}
        self._closed: set[str] = set()
        """Ids of orders rejected or cancelled before they flew (never reused)."""
        self._flown: set[str] = set()
        """Ids of the orders in ``history``."""
        self.history: list[Sortie] = []
        """Every sortie that became fixed, in the order it did (for replay checks and stats)."""
        self.now_s = start_s

    # ------------------------------------------------------------------------ inspection

    @property
    def promise_s(self) -> float:
        return self._fleet.promise_s

    def schedule(self) -> tuple[Sortie, ...]:
        """Fixed sorties still under way, then the tentative ones, by turnaround start."""
        fixed = sorted(self._committed.values(), key=_start_key)
        return (*fixed, *sorted(self._tentative.sorties.values(), key=_start_key))

    def in_flight(self) -> tuple[Sortie, ...]:
        """Fixed sorties that have not landed yet."""
        return tuple(sorted(self._committed.values(), key=_start_key))

    def waiting(self) -> tuple[str, ...]:
        """Accepted orders that currently have no drone (after faults or losses)."""
        return tuple(self._tentative.waiting)

    def drone(self, drone_id: str) -> DroneState:
        return self._drones[drone_id]

    def earliest_dropoff(self, order: Order, now_s: float) -> float | None:
        """The earliest drop-off the dispatcher could promise ``order`` at ``now_s`` without
        moving an accepted order: after every order it holds, whatever the order's due time.
        None when no drone can fly it. Changes nothing (``promise_for`` makes it a due time).
        """
        order = replace(order, due_s=None)  # else the planner refuses a due time out of reach
        if order.id in self._orders or self._fleet.static_reasons(order, self._drones.values()):
            return None
        self._orders[order.id] = order  # the trial reads the sequence's orders from here
        try:
            trial, _ = self._trial([*self._sequence, order.id], order, max(now_s, self.now_s))
        finally:
            del self._orders[order.id]
            self._fleet.forget(order.id)
        sortie = trial.sorties.get(order.id)
        return None if sortie is None else sortie.dropoff_s

    # ---------------------------------------------------------------------------- events

    def handle(self, event: Event, now_s: float) -> list[Decision]:
        """Apply one event at ``now_s`` and return the decisions it causes.

        Raises:
            InvalidInput: time going backwards, a duplicate order id, an unknown drone or order.
        """
        if now_s < self.now_s:
            raise InvalidInput("now_s", f"time went backwards: {now_s} < {self.now_s}")
        self.now_s = now_s
        self._commit_due(now_s)
        if isinstance(event, OrderPlaced):
            return self._on_order(event.order, now_s)
        self._requeued = {}
        decisions = self._on_event(event, now_s)
        for order_id, drone_id in sorted(self._requeued.items()):
            # back in line with no drone: the ground side must drop its old assignment
            if order_id in self._orders and order_id not in self._tentative.sorties:
                decisions.append(Unassign(order_id, drone_id, "waiting for a drone"))
        return decisions

    def _on_event(self, event: Event, now_s: float) -> list[Decision]:
        decisions: list[Decision] = []
        if isinstance(event, OrderCancelled):
            reason, depots = self._on_cancel(event.order_id, decisions)
        elif isinstance(event, DroneLanded):
            reason, depots = self._on_landed(event, now_s)
        elif isinstance(event, DroneFault):
            reason, depots = self._on_fault(event, now_s, decisions)
        elif isinstance(event, DroneRecovered):
            reason, depots = self._on_recovered(event, now_s)
        elif isinstance(event, LinkLost | LinkRestored):
            reason, depots = self._on_link(event, now_s)
        elif isinstance(event, SortieProgress):
            reason, depots = self._on_progress(event, now_s)
        elif isinstance(event, Tick):
            return []  # fixing sorties that have begun moves none of the others
        else:
            raise InvalidInput("event", f"unknown event {event!r}")
        if not depots:
            return decisions
        return decisions + self._replan(now_s, reason, depots)

    # ----------------------------------------------------------------------- event kinds

    def _on_order(self, order: Order, now_s: float) -> list[Decision]:
        if (order.id in self._orders or order.id in self._closed
                or order.id in self._flown):
            raise InvalidInput("order.id", f"duplicate order id {order.id!r}")
        reasons = self._fleet.static_reasons(order, self._drones.values())
        if reasons:
            self._closed.add(order.id)
            return [Reject(order.id, reasons)]
        self._orders[order.id] = order
        due = due_of(order, self.promise_s)
        for sequence in self._placements(order):
            trial, end = self._trial(sequence, order, now_s)
            sortie = trial.sorties.get(order.id)
            if sortie is not None and sortie.dropoff_s <= due - self._slack_s \
                    and not self._breaks(trial):
                self._sequence = sequence
                self._ends[order.depot_id] = end
                return self._adopt(trial, f"order {order.id} placed")
        del self._orders[order.id]
        self._fleet.forget(order.id)
        self._closed.add(order.id)
        return [Reject(order.id, (self._deadline_reason(order, trial, due),))]

    def _on_cancel(self, order_id: str, out: list[Decision]) -> tuple[str, set[str]]:
        if order_id in self._orders:
            depot = self._orders[order_id].depot_id
            self._closed.add(order_id)
            del self._orders[order_id]
            self._sequence.remove(order_id)
            if order_id in self._tentative.waiting:
                self._tentative.waiting.remove(order_id)
            self._fleet.forget(order_id)
            out.append(CancelAnswer(order_id, True))
            return f"order {order_id} cancelled", {depot}
        if order_id in self._closed:
            out.append(CancelAnswer(order_id, True, "already closed"))
        elif order_id in self._flown:
            # a fixed sortie is not recalled: the parcel is already on its way
            out.append(CancelAnswer(order_id, False, "the sortie has begun"))
        else:
            raise InvalidInput("order_id", f"unknown order {order_id!r}")
        return "", set()

    def _on_landed(self, event: DroneLanded, now_s: float) -> tuple[str, set[str]]:
        drone = self._known(event.drone_id)
        mine = sorted((s for s in self._committed.values() if s.drone_id == drone.spec.id),
                      key=_start_key)
        if event.order_id is None:
            flown = next((s for s in mine if s.launch_s <= now_s), None)
        else:  # None when a fault or a Fail ended it already
            flown = next((s for s in mine if s.order_id == event.order_id), None)
        capacity = drone.spec.profile.battery_wh
        if (event.delivered and flown is not None and mine == [flown]
                and drone.free_at_s == now_s == flown.land_s
                and abs(drone.battery.energy_wh - min(capacity, event.battery_wh)) < 1e-9):
            del self._committed[flown.order_id]
            return "", set()  # landed just as planned: the plan stands
        battery_id = drone.battery.id if flown is None else flown.battery_id
        if flown is not None:
            del self._committed[flown.order_id]
            self._ended(flown.order_id, now_s)
            if not event.delivered:
                self._requeue(flown.order_id, drone.spec.id)
        for sortie in mine:
            # a turnaround that began while the drone was still in the air did not happen
            if sortie is not flown:
                del self._committed[sortie.order_id]
                self._requeue(sortie.order_id, drone.spec.id)
        battery = Battery(battery_id, capacity, min(capacity, event.battery_wh), now_s)
        self._drones[drone.spec.id] = replace(drone, battery=battery, free_at_s=now_s)
        return f"drone {drone.spec.id} landed", {drone.spec.depot_id}

    def _on_fault(self, event: DroneFault, now_s: float, out: list[Decision]
                  ) -> tuple[str, set[str]]:
        drone = self._known(event.drone_id)
        for sortie in sorted(self._committed.values(), key=_start_key):
            if sortie.drone_id != drone.spec.id:
                continue
            del self._committed[sortie.order_id]
            if sortie.launch_s <= now_s:
                out.append(Fail(sortie.order_id, drone.spec.id, event.reason or "drone fault"))
                self._ended(sortie.order_id, now_s)
            else:
                self._requeue(sortie.order_id, drone.spec.id)
        self._drones[drone.spec.id] = replace(drone, status=DroneStatus.FAULT)
        return f"drone {drone.spec.id} fault", {drone.spec.depot_id}

    def _on_recovered(self, event: DroneRecovered, now_s: float) -> tuple[str, set[str]]:
        drone = self._known(event.drone_id)
        if drone.status is not DroneStatus.FAULT:
            return "", set()  # not faulted: its own schedule still stands
        capacity = drone.spec.profile.battery_wh
        battery = Battery(drone.battery.id, capacity, min(capacity, event.battery_wh), now_s)
        self._drones[drone.spec.id] = replace(
            drone, status=DroneStatus.AVAILABLE, battery=battery, free_at_s=now_s
        )
        return f"drone {drone.spec.id} recovered", {drone.spec.depot_id}

    def _on_link(self, event: LinkLost | LinkRestored, now_s: float) -> tuple[str, set[str]]:
        drone = self._known(event.drone_id)
        if isinstance(event, LinkRestored):
            if drone.status is not DroneStatus.LINK_LOST:
                return "", set()
            self._drones[drone.spec.id] = replace(drone, status=DroneStatus.AVAILABLE)
            return f"drone {drone.spec.id} link restored", {drone.spec.depot_id}
        for sortie in list(self._committed.values()):
            # a drone without a link cannot be told to launch; one in the air flies on
            if sortie.drone_id == drone.spec.id and sortie.launch_s > now_s:
                del self._committed[sortie.order_id]
                self._requeue(sortie.order_id, drone.spec.id)
        if drone.status is DroneStatus.AVAILABLE:
            self._drones[drone.spec.id] = replace(drone, status=DroneStatus.LINK_LOST)
        return f"drone {drone.spec.id} link lost", {drone.spec.depot_id}

    def _on_progress(self, event: SortieProgress, now_s: float) -> tuple[str, set[str]]:
        drone = self._known(event.drone_id)
        sortie = self._committed.get(event.order_id)
        if sortie is None or sortie.drone_id != drone.spec.id or sortie.launch_s > now_s:
            return "", set()  # ended, not this drone's, or not launched: nothing to move
        land_s = max(now_s, event.land_s)
        if land_s == sortie.land_s:
            return "", set()
        shift = land_s - sortie.land_s
        dropoff_s = sortie.dropoff_s if event.delivered else max(now_s, sortie.dropoff_s + shift)
        moved = replace(sortie, land_s=land_s, dropoff_s=min(dropoff_s, land_s))
        self._committed[sortie.order_id] = moved
        self.history = [moved if s.order_id == sortie.order_id else s for s in self.history]
        for later in sorted(self._committed.values(), key=_start_key):
            # a turnaround planned to begin before the drone is back cannot have begun
            if later.drone_id == drone.spec.id and later is not moved:
                del self._committed[later.order_id]
                self._requeue(later.order_id, drone.spec.id)
        # Back later, with less in the battery: the extra time at the flight's mean power.
        plan = sortie.plan
        wh_per_s = plan.energy_wh / plan.flight_time_s if plan.flight_time_s > 0 else 0.0
        left = max(0.0, sortie.landing_wh - max(0.0, shift) * wh_per_s)
        battery = Battery(sortie.battery_id, drone.battery.capacity_wh, left, land_s)
        self._drones[drone.spec.id] = replace(drone, battery=battery, free_at_s=land_s)
        return (f"drone {drone.spec.id} now lands at {land_s:.0f} s "
                f"({'+' if shift >= 0 else ''}{shift:.0f} s)"), {drone.spec.depot_id}

    # --------------------------------------------------------------------------- helpers

    def _known(self, drone_id: str) -> DroneState:
        if drone_id not in self._drones:
            raise InvalidInput("drone_id", f"unknown drone {drone_id!r}")
        return self._drones[drone_id]

    def _ended(self, order_id: str, now_s: float) -> None:
        """A fixed sortie ended at ``now_s`` (early landing or fault): the record says so."""
        self.history = [replace(s, land_s=min(s.land_s, now_s)) if s.order_id == order_id else s
                        for s in self.history]

    def _requeue(self, order_id: str, drone_id: str) -> None:
        """An accepted order comes back (its sortie did not happen): first in line."""
        self._requeued[order_id] = drone_id
        order = next(s.plan.order for s in self.history if s.order_id == order_id)
        self._orders[order_id] = order
        self._sequence.insert(0, order_id)
        self.history = [s for s in self.history if s.order_id != order_id]
        self._flown.discard(order_id)

    def _placements(self, order: Order) -> list[list[str]]:
        """Where to try the new order: its place by priority and due time, then last."""
        keys = [self._key(self._orders[o]) for o in self._sequence]
        at = bisect.bisect_right(keys, self._key(order))
        first = [*self._sequence[:at], order.id, *self._sequence[at:]]
        last = [*self._sequence, order.id]
        return [first] if first == last else [first, last]

    def _key(self, order: Order) -> tuple[float, float, float, str]:
        return (-order.priority, due_of(order, self.promise_s), order.created_s, order.id)

    def _breaks(self, trial: Schedule) -> bool:
        """True if an order on time in the current plan would be late (or unserved) in trial,
        or would lose time in hand it has within the slack."""
        for order_id, sortie in self._tentative.sorties.items():
            due = due_of(self._orders[order_id], self.promise_s)
            if sortie.dropoff_s > due:
                continue
            limit = max(due - self._slack_s, sortie.dropoff_s)
            new = trial.sorties.get(order_id)
            if new is None or new.dropoff_s > limit + 1e-6:
                return True
        return False

    def _deadline_reason(self, order: Order, trial: Schedule, due_s: float) -> Infeasibility:
        sortie = trial.sorties.get(order.id)
        limit = due_s - self._slack_s - order.created_s
        if sortie is None:
            return Infeasibility(Rule.DEADLINE, "no drone available", limit, "s",
                                 f"no drone at depot {order.depot_id} can fly it")
        detail = f"ETA t={sortie.dropoff_s:.0f} s, due t={due_s:.0f} s"
        if self._slack_s:
            detail += f", {self._slack_s:.0f} s kept in hand"
        if sortie.dropoff_s <= due_s - self._slack_s:
            detail += "; on time only by making accepted orders late"
        return Infeasibility(Rule.DEADLINE, sortie.dropoff_s - order.created_s, limit, "s", detail)

    # --------------------------------------------------------------------- fixed sorties

    def _commit_due(self, now_s: float) -> None:
        """Fix tentative sorties whose turnaround began before ``now_s``.

        Strictly before: a sortie starting at ``now_s`` can still be moved by the events of
        this instant (a landing reported now), and is fixed by the next event.
        """
        for sortie in sorted(self._tentative.sorties.values(), key=_start_key):
            if sortie.turnaround_start_s >= now_s:
                break
            self._fleet.apply(sortie, self._drones, self._depots)
            self._committed[sortie.order_id] = sortie
            self.history.append(sortie)
            self._flown.add(sortie.order_id)
            del self._tentative.sorties[sortie.order_id]
            del self._orders[sortie.order_id]
            self._sequence.remove(sortie.order_id)
            self._fleet.forget(sortie.order_id)
        for depot in self._depots.values():
            depot.prune(now_s)


def _start_key(sortie: Sortie) -> tuple[float, str]:
    return (sortie.turnaround_start_s, sortie.order_id)


def _full(drone: DroneSpec, at_s: float) -> Battery:
    capacity = drone.profile.battery_wh
    return Battery(f"{drone.id}/battery", capacity, capacity, at_s)


def _spare_capacity(drones: Sequence[DroneSpec], depot_id: str) -> float:
    """Spares fit the drones based at the depot (the most common pack if they differ)."""
    capacities = sorted(d.profile.battery_wh for d in drones if d.depot_id == depot_id)
    if not capacities:
        return 0.0
    return max(set(capacities), key=lambda c: (capacities.count(c), c))
