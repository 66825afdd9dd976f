"""The planner: an order and a vehicle in, a flight plan or every reason against it out.

``Planner`` holds one ``Router`` per airspace, so the visibility graph is built once and every
order reuses it. For each order it checks the depot, the payload and the ceiling, routes the
outbound leg around the no-fly zones, flies the same path back (the shortest path is the same
both ways), prices the flight with ``planner.energy`` and checks the energy with the reserve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from planner.corners import CORNER_CUT_M
from planner.energy import flight_energy, total_energy_wh, total_time_s
from planner.errors import InvalidInput
from planner.feasibility import (
    check_ceiling,
    check_deadline,
    check_energy,
    check_order,
    check_payload,
    drawable_energy_wh,
    unknown_depot,
)
from planner.model import Airspace, Depot, FlightPlan, Infeasibility, Order, PlanResult
from planner.route import Route, RouteFailure, Router
from planner.vehicle import VehicleProfile

__all__ = ["Planner"]


def _depot_table(depots: Mapping[str, Depot] | Iterable[Depot]) -> dict[str, Depot]:
    items = depots.values() if isinstance(depots, Mapping) else depots
    table: dict[str, Depot] = {}
    for depot in items:
        if not isinstance(depot, Depot):
            raise InvalidInput("depots", f"must hold Depot values, got {type(depot).__name__}")
        if depot.id in table:
            raise InvalidInput("depots", f"depot id {depot.id!r} appears twice")
        table[depot.id] = depot
    return table


class Planner:
    """Plans orders over one airspace from a set of depots.

    Args:
        airspace: the no-fly zones, operating area and ceiling.
        depots: the depots, as a mapping by id or any iterable.
        margin_m: safety margin kept from zones and inside the operating area's edge.
        corner_cut_m: how far inside a turn the autopilot flies (WPNAV_RADIUS); turning points
            move out by that much so the flown path keeps ``margin_m`` (``planner.corners``).

    Raises:
        InvalidInput: duplicate depot ids, or an airspace the router cannot use.
    """

    def __init__(
        self,
        airspace: Airspace,
        depots: Mapping[str, Depot] | Iterable[Depot],
        *,
        margin_m: float = 30.0,
        corner_cut_m: float = CORNER_CUT_M,
    ) -> None:
        self.airspace = airspace
        self.depots = _depot_table(depots)
        self.router = Router(airspace, margin_m=margin_m, corner_cut_m=corner_cut_m)

    def plan(
        self, order: Order, profile: VehicleProfile, *, battery_wh: float | None = None
    ) -> PlanResult:
        """Plan one order for one vehicle type.

        Args:
            order: the delivery.
            profile: the vehicle that would fly it.
            battery_wh: energy in the vehicle's battery now; None for a full battery.

        Returns:
            A ``PlanResult`` with a ``FlightPlan`` and no reasons, or no plan and every reason
            that applies (unknown depot, payload, ceiling, the router's reasons, energy).

        Raises:
            InvalidInput: an order with an unusable payload or a bad ``battery_wh``.
        """
        check_order(order)
        drawable_energy_wh(profile, battery_wh)  # validates battery_wh before any work
        reasons: list[Infeasibility] = []
        depot = self.depots.get(order.depot_id)
        if depot is None:
            reasons.append(unknown_depot(order, self.depots))
        reasons.extend(
            r for r in (check_payload(order, profile), check_ceiling(profile, self.airspace)) if r
        )
        if depot is None:
            return PlanResult(order, None, tuple(reasons))
        outcome = self.router.route(depot.position, order.dropoff, profile.cruise_alt_agl_m)
        if isinstance(outcome, RouteFailure):
            reasons.extend(outcome.reasons)
            return PlanResult(order, None, tuple(reasons))
        plan = self._price(order, depot, profile, outcome, battery_wh)
        reasons.extend(r for r in (check_energy(plan.energy_wh, profile, battery_wh),
                                   check_deadline(plan)) if r)
        if reasons:
            return PlanResult(order, None, tuple(reasons))
        return PlanResult(order, plan)

    def plan_many(self, orders: Iterable[Order], profile: VehicleProfile) -> list[PlanResult]:
        """Plan each order with a full battery, in the given order."""
        return [self.plan(order, profile) for order in orders]

    def _price(
        self,
        order: Order,
        depot: Depot,
        profile: VehicleProfile,
        out: Route,
        battery_wh: float | None,
    ) -> FlightPlan:
        """The flight along ``out`` and back along the same path, with its phases."""
        back = Route(tuple(reversed(out.points)), out.length_m)
        phases = flight_energy(profile, out.length_m, back.length_m, order.payload_kg)
        energy_wh = total_energy_wh(phases)
        reserve_left = drawable_energy_wh(profile, battery_wh) - profile.reserve_wh - energy_wh
        return FlightPlan(
            order=order,
            depot=depot,
            profile_name=profile.name,
            outbound=out.points,
            inbound=back.points,
            cruise_alt_agl_m=profile.cruise_alt_agl_m,
            distance_m=out.length_m + back.length_m,
            flight_time_s=total_time_s(phases),
            energy_wh=energy_wh,
            reserve_left_wh=reserve_left,
            phases=phases,
        )
