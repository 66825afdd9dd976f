"""A depot's tentative schedule: planned from what is fixed, repaired, and adopted.

``DepotScheduler`` is the part of ``planner.dispatch.Dispatcher`` that plans. Each depot's
unlaunched orders go, in sequence, to the drone and turnaround that drops them off earliest
(``best_sortie``), kept clear of every other planned flight when the dispatcher separates
flights; a new order that comes last at its depot is fitted onto the end state of the current
plan instead of a rebuild. After a disruption the sequence is planned afresh, or earliest-due
first when that makes fewer orders late. Adopting a schedule turns its difference from the
current one into ``Assign``/``Unassign``/``SwapBattery`` decisions.

A mixin rather than functions: every step reads the same state (drones, depot resources,
orders, the sequence, fixed and tentative sorties), which ``Dispatcher`` owns and keeps
consistent from event to event; it is declared below so that the type checker sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from planner.dispatch_model import Assign, BatteryAction, Decision, Sortie, SwapBattery, Unassign
from planner.dispatch_options import DroneState, Fleet, SeparateFn, best_sortie, due_of
from planner.dispatch_resources import DepotResources
from planner.dispatch_separation import Separation
from planner.model import Order

__all__ = ["DepotEnd", "DepotScheduler", "Schedule"]

DepotEnd = tuple[dict[str, DroneState], dict[str, DepotResources]]
"""A depot's drones and resources after every tentative sortie: where a new order goes."""


@dataclass(slots=True)
class Schedule:
    """A tentative schedule: sorties by order id, and the orders that have no drone."""

    sorties: dict[str, Sortie]
    waiting: list[str]


class DepotScheduler:
    """Plans each depot's unlaunched orders; mixed into ``Dispatcher``, which owns the state."""

    _fleet: Fleet
    _separation: Separation | None
    _drones: dict[str, DroneState]
    _depots: dict[str, DepotResources]
    _orders: dict[str, Order]
    _sequence: list[str]
    _tentative: Schedule
    _committed: dict[str, Sortie]
    _ends: dict[str, DepotEnd]
    """Per depot, the end state of its tentative schedule (``DepotEnd``)."""

    def _trial(self, sequence: list[str], order: Order, now_s: float) -> tuple[Schedule, DepotEnd]:
        """The schedule with ``order`` placed as in ``sequence``.

        When it comes after every order of its depot, the others keep their sorties and the
        new one is fitted onto the end state of the current plan: one look at each drone
        instead of a rebuild (the rebuild would give the same plan, as it is greedy in order).
        """
        depot = order.depot_id
        later = sequence[sequence.index(order.id) + 1:]
        if depot in self._ends and all(self._orders[o].depot_id != depot for o in later):
            drones, resources = self._ends[depot]
            drones, resources = dict(drones), {depot: resources[depot].copy()}
            sorties = dict(self._tentative.sorties)
            sortie = best_sortie(self._fleet, order, drones, resources, now_s,
                                 self._separate(order, resources[depot], sorties))
            waiting = list(self._tentative.waiting)
            if sortie is None:
                waiting.append(order.id)
            else:
                self._fleet.apply(sortie, drones, resources)
                sorties[order.id] = sortie
            return Schedule(sorties, waiting), (drones, resources)
        return self._rebuild(sequence, now_s, depot)

    def _rebuild(self, sequence: Sequence[str], now_s: float, depot: str
                 ) -> tuple[Schedule, DepotEnd]:
        """The schedule with one depot's orders planned afresh from what is fixed.

        Depots share nothing (an order flies from its own depot), so the other depots'
        sorties are kept as they are.
        """
        drones = {k: v for k, v in self._drones.items() if v.spec.depot_id == depot}
        resources = {depot: self._depots[depot].copy()}
        sorties = {k: v for k, v in self._tentative.sorties.items() if v.depot_id != depot}
        waiting = [o for o in self._tentative.waiting
                   if o in self._orders and self._orders[o].depot_id != depot]
        for order_id in sequence:
            order = self._orders[order_id]
            if order.depot_id != depot:
                continue
            sortie = best_sortie(self._fleet, order, drones, resources, now_s,
                                 self._separate(order, resources[depot], sorties))
            if sortie is None:
                waiting.append(order_id)
                continue
            self._fleet.apply(sortie, drones, resources)
            sorties[order_id] = sortie
        return Schedule(sorties, waiting), (drones, resources)

    def _separate(self, order: Order, depot: DepotResources, sorties: Mapping[str, Sortie]
                  ) -> SeparateFn | None:
        """The separation seam for one placement: clear of the fixed sorties and of
        ``sorties`` (the tentative ones so far, read when called)."""
        separation = self._separation
        if separation is None:
            return None

        def separate(sortie: Sortie) -> Sortie | None:
            others = [*self._committed.values(), *sorties.values()]
            return separation.resolve(self._fleet, order, sortie, depot, others)

        return separate

    def _replan(self, now_s: float, reason: str, depots: set[str]) -> list[Decision]:
        decisions: list[Decision] = []
        for depot in sorted(depots):
            schedule, self._ends[depot] = self._repair(now_s, depot)
            decisions += self._adopt(schedule, reason)
        return decisions

    def _repair(self, now_s: float, depot: str) -> tuple[Schedule, DepotEnd]:
        """A depot's schedule after a disruption: the sequence planned afresh, unless that
        makes late more orders than planning them earliest-due first does (a greedy pass in
        priority order can hand an on-time order's slot to one with time to spare)."""
        best = self._rebuild(self._sequence, now_s, depot)
        late = self._late_count(best[0], depot)
        if late:
            # The depot's orders earliest-due first, in the places they hold in the sequence
            # (the other depots' order is theirs); kept as the sequence when it is adopted,
            # so the schedule stays what a rebuild of the sequence gives.
            places = [i for i, o in enumerate(self._sequence)
                      if self._orders[o].depot_id == depot]
            ours = sorted((self._sequence[i] for i in places), key=lambda o: (
                due_of(self._orders[o], self._fleet.promise_s), self._orders[o].created_s, o))
            by_due = list(self._sequence)
            for i, order_id in zip(places, ours, strict=True):
                by_due[i] = order_id
            other = self._rebuild(by_due, now_s, depot)
            if self._late_count(other[0], depot) < late:
                best, self._sequence = other, by_due
        return best

    def _late_count(self, schedule: Schedule, depot: str) -> int:
        """Orders of a depot that a schedule drops off late or leaves waiting."""
        count = sum(o in self._orders and self._orders[o].depot_id == depot
                    for o in schedule.waiting)
        for order_id, sortie in schedule.sorties.items():
            order = self._orders.get(order_id)
            if order is not None and sortie.depot_id == depot \
                    and sortie.dropoff_s > due_of(order, self._fleet.promise_s):
                count += 1
        return count

    def _adopt(self, new: Schedule, reason: str) -> list[Decision]:
        """Make ``new`` the tentative schedule; the decisions are the difference."""
        old = self._tentative.sorties
        decisions: list[Decision] = []
        for order_id in sorted(set(old) - set(new.sorties)):
            if order_id not in self._committed:
                decisions.append(Unassign(order_id, old[order_id].drone_id, reason))
        for order_id in self._sequence:
            sortie = new.sorties.get(order_id)
            if sortie is None or old.get(order_id) == sortie:
                continue
            if order_id in old and old[order_id].drone_id != sortie.drone_id:
                decisions.append(Unassign(order_id, old[order_id].drone_id, reason))
            decisions.extend(self._assign(sortie))
        self._tentative = new
        return decisions

    def _assign(self, sortie: Sortie) -> list[Decision]:
        due = due_of(self._orders[sortie.order_id], self._fleet.promise_s)
        out: list[Decision] = [
            Assign(sortie.order_id, sortie.drone_id, sortie.launch_s, sortie.dropoff_s, due, sortie)
        ]
        if sortie.action is BatteryAction.SWAP and sortie.swapped_out_id is not None:
            out.append(SwapBattery(sortie.order_id, sortie.drone_id, sortie.turnaround_start_s,
                                   sortie.battery_id, sortie.swapped_out_id))
        return out
