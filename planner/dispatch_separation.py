"""Separated sorties: the dispatcher never plans two drones into the same volume at once.

Every sortie the dispatcher is about to plan is checked (``planner.separation``) against every
flight already planned: the fixed ones and the tentative ones of every depot. When it would
meet one, it is resolved, in this order:

1. another cruise-altitude layer (``SeparationRules.layer_altitudes``, nearest first),
   re-planned by the planner at that altitude, so the route is legal there (no-fly zones
   have altitude bands) and the energy is checked again;
2. a delayed launch: the smallest delay, in steps of ``delay_step_s``, at which the sortie
   meets nothing, at its planned altitude or on a layer (the planned one on a tie); the
   turnaround moves with it, on a pad that is free then.

The sortie keeps a ``SeparationWait`` saying what it would have met, where and when, and what
was done about it, so the ground side can show why a launch waited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from planner.dispatch_delays import FlightPool, PairCache, blocked_delays, first_clear_delay
from planner.dispatch_model import SeparationWait, Sortie
from planner.dispatch_options import Fleet, dropoff_offset_s
from planner.dispatch_resources import DepotResources
from planner.geo import LocalFrame
from planner.model import FlightPlan, Order
from planner.separation import (
    Conflict,
    PlannedFlight,
    SeparationRules,
    Trajectory,
    first_conflict,
    meets,
    trajectory,
)
from planner.vehicle import VehicleProfile

__all__ = ["Separation"]

_PathKey = tuple[str, str, float, float, float]


class Separation:
    """Trajectories of planned sorties (cached) and the resolution of conflicts.

    Args:
        rules: minima, buffer, layers and delay steps.
        profiles: each drone's profile, by drone id (for speeds and navigation accuracy).
        frame: the metric frame to compare flights in; by default one centred on the
            depot of the first sortie seen (every flight of a dispatcher shares it).
    """

    def __init__(
        self,
        rules: SeparationRules,
        profiles: Mapping[str, VehicleProfile],
        frame: LocalFrame | None = None,
    ) -> None:
        self.rules = rules
        self._profiles = dict(profiles)
        self._frame = frame
        self._paths: dict[_PathKey, Trajectory] = {}
        self._pairs: PairCache = {}

    def frame(self, plan: FlightPlan) -> LocalFrame:
        if self._frame is None:
            self._frame = LocalFrame(plan.depot.position)
        return self._frame

    def flight(self, sortie: Sortie) -> PlannedFlight:
        """The sortie as a planned flight on the scenario clock.

        Placed by its landing time: a flight whose landing the dispatcher moved (a live
        estimate, ``SortieProgress``) is running that much behind (or ahead of) its plan, so
        its descent over the depot, the part later sorties meet, is where it will really be.
        """
        plan = sortie.plan
        profile = self._profiles[sortie.drone_id]
        key = (
            sortie.order_id,
            profile.name,
            plan.cruise_alt_agl_m,
            plan.flight_time_s,
            profile.nav_accuracy_m,
        )
        path = self._paths.get(key)
        if path is None:
            path = self._paths[key] = trajectory(plan, profile, self.frame(plan))
        return PlannedFlight(
            sortie.order_id,
            sortie.drone_id,
            sortie.land_s - plan.flight_time_s,
            path,
            self.rules.time_buffer_s + path.model_slack_s,
        )

    def resolve(
        self,
        fleet: Fleet,
        order: Order,
        sortie: Sortie,
        depot: DepotResources,
        others: Iterable[Sortie],
    ) -> Sortie | None:
        """``sortie`` separated from ``others``: as it is, on another layer, or launched later
        (with ``Sortie.separation`` saying why); None when no delay up to ``max_delay_s``
        clears it.

        Args:
            fleet: the planner seam (layers are re-planned through it, cached).
            order: the sortie's order.
            sortie: the dispatcher's choice, confirmed by the planner.
            depot: the depot's resources as booked so far (a delay needs a free pad).
            others: every planned sortie it must keep clear of.
        """
        rules = self.rules
        frame = self.frame(sortie.plan)
        pool = FlightPool([self.flight(s) for s in self._near_in_time(sortie, others,
                                                                       rules.max_delay_s)])
        me = self.flight(sortie)
        near_now = pool.overlapping(me, rules)
        if not any(meets(me, other, rules) for other in near_now):
            return sortie
        found = first_conflict(me, near_now, rules, frame)
        assert found is not None  # meets and first_conflict share the exact check
        variants = [sortie]
        for layered in self._layers(fleet, order, sortie):
            flight = self.flight(layered)
            if not any(meets(flight, o, rules) for o in pool.overlapping(flight, rules)):
                return self._waited(layered, sortie, found)
            variants.append(layered)
        # Every variant's earliest clear delay: a lower layer climbs and descends sooner, so
        # it often clears the depot's column sooner too.
        for window in _windows(rules.max_delay_s):
            best: Sortie | None = None
            for variant in variants:
                # a later variant only matters if it clears sooner than the best so far
                limit = window if best is None else best.launch_s - sortie.launch_s - 1e-6
                if limit < 0:
                    break
                flight = self.flight(variant)
                near = pool.overlapping(flight, rules, limit)
                spans = blocked_delays(flight, near, rules, limit, self._pairs)
                moved = self._earliest(variant, spans, depot, limit)
                if moved is not None and (best is None or moved.launch_s < best.launch_s):
                    best = moved
            if best is not None:
                return self._waited(best, sortie, found)
        return None

    def _earliest(
        self,
        sortie: Sortie,
        blocked: list[tuple[float, float]],
        depot: DepotResources,
        limit_s: float,
    ) -> Sortie | None:
        """The sortie at the smallest step delay that is clear of ``blocked`` and has a free
        pad for its turnaround then (None beyond ``limit_s``)."""
        step = self.rules.delay_step_s
        delay = first_clear_delay(blocked, step)
        while delay <= limit_s:
            moved = _delayed(sortie, delay, depot)
            shift = moved.launch_s - sortie.launch_s
            if shift <= delay + 1e-9:
                return moved
            delay = first_clear_delay(blocked, step, shift)  # the pad was busy: later still
        return None

    # -------------------------------------------------------------------------- helpers

    def _near_in_time(
        self, sortie: Sortie, others: Iterable[Sortie], later_s: float
    ) -> list[Sortie]:
        """Other drones' sorties whose flights could overlap this one's, up to ``later_s``
        later (a generous band: the exact buffers are applied by the check itself)."""
        band = 2.0 * self.rules.time_buffer_s + 120.0
        start, end = sortie.launch_s - band, sortie.land_s + later_s + band
        return [
            s
            for s in others
            if s.drone_id != sortie.drone_id
            and s.order_id != sortie.order_id
            and s.launch_s <= end
            and s.land_s >= start
        ]

    def _layers(self, fleet: Fleet, order: Order, sortie: Sortie) -> list[Sortie]:
        """The sortie re-planned on each other layer the planner accepts (same launch)."""
        profile = self._profiles[sortie.drone_id]
        out = []
        for alt in self.rules.layer_altitudes(sortie.plan.cruise_alt_agl_m):
            result = fleet.plan(order, replace(profile, cruise_alt_agl_m=alt), sortie.launch_wh)
            if result.feasible and result.plan is not None:
                out.append(_replanned(sortie, result.plan))
        return out

    def _waited(self, chosen: Sortie, first: Sortie, found: Conflict) -> Sortie:
        layer = chosen.plan.cruise_alt_agl_m
        wait = SeparationWait(
            held_s=chosen.launch_s - first.launch_s,
            cruise_alt_agl_m=layer,
            planned_alt_agl_m=first.plan.cruise_alt_agl_m,
            other_order_id=found.other,
            other_drone_id=found.other_owner,
            at_s=found.at_s,
            where=found.where,
            alt_agl_m=found.alt_agl_m,
            kind=found.kind,
            distance_m=found.horizontal_m,
        )
        return replace(chosen, separation=wait)


def _windows(max_delay_s: float) -> list[float]:
    """Delay windows searched in turn: most conflicts clear within minutes, and a short
    window needs only the flights near in time.

    >>> _windows(1800.0)
    [300.0, 900.0, 1800.0]
    """
    return [w for w in (300.0, 900.0) if w < max_delay_s] + [max_delay_s]


def _replanned(sortie: Sortie, plan: FlightPlan) -> Sortie:
    return replace(
        sortie,
        plan=plan,
        dropoff_s=sortie.launch_s + dropoff_offset_s(plan),
        land_s=sortie.launch_s + plan.flight_time_s,
    )


def _delayed(sortie: Sortie, delay_s: float, depot: DepotResources) -> Sortie:
    """The sortie with its turnaround and flight at least ``delay_s`` later, on the pad that
    is free soonest from then (its battery holds at least as much by then)."""
    duration = sortie.launch_s - sortie.turnaround_start_s
    pad, start = depot.earliest_pad(sortie.turnaround_start_s + delay_s, duration)
    shift = start - sortie.turnaround_start_s
    return replace(
        sortie,
        pad=pad,
        turnaround_start_s=start,
        launch_s=sortie.launch_s + shift,
        dropoff_s=sortie.dropoff_s + shift,
        land_s=sortie.land_s + shift,
    )
