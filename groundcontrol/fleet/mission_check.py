"""Only plans whose mission can be built are offered to the dispatcher.

The planner proves a route; the vehicle must also be able to take it: the fence of every zone
below the cruise altitude must fit ArduCopter's storage, every value must fit its MAVLink
field. ``build_mission`` decides that, and deciding it at launch was too late (the loop thread
raised, the order had been promised). ``checked_plan_fn`` asks at planning time instead: a plan
whose mission cannot be built is infeasible with rule ``mission`` and the builder's reason,
like any other refusal.

What can fail depends on the vehicle profile and the cruise altitude (which zones the fence
holds), not on the particular route, so a verdict is kept per (profile, altitude): one real
build the first time, a dictionary look-up after (a build costs ~6 plans).
"""

from __future__ import annotations

from collections.abc import Sequence

from missions.build import build_mission
from missions.errors import MissionBuildError
from planner.dispatch_model import PlanFn
from planner.model import (
    Airspace,
    Depot,
    FlightPlan,
    Infeasibility,
    Order,
    PlanResult,
    Rule,
)
from planner.vehicle import VehicleProfile

__all__ = ["checked_plan_fn", "mission_infeasibility"]


def mission_infeasibility(exc: MissionBuildError) -> Infeasibility:
    """The refusal an order gets when its mission cannot be built."""
    return Infeasibility(Rule.MISSION, str(exc.field or "mission"), "ArduCopter's limits",
                         detail=exc.problem)


def checked_plan_fn(plan_fn: PlanFn, airspace: Airspace, depots: Sequence[Depot]) -> PlanFn:
    """``plan_fn`` whose feasible answers also build into a mission for the vehicle."""
    verdicts: dict[tuple[VehicleProfile, float], Infeasibility | None] = {}

    def verdict(plan: FlightPlan, profile: VehicleProfile) -> Infeasibility | None:
        key = (profile, plan.cruise_alt_agl_m)
        if key not in verdicts:
            try:
                build_mission(plan, profile, airspace, depots=depots)
                verdicts[key] = None
            except MissionBuildError as exc:
                verdicts[key] = mission_infeasibility(exc)
        return verdicts[key]

    def fn(order: Order, profile: VehicleProfile, battery_wh: float | None) -> PlanResult:
        result = plan_fn(order, profile, battery_wh)
        if result.plan is None or not result.feasible:
            return result
        refusal = verdict(result.plan, profile)
        return result if refusal is None else PlanResult(order, None, (refusal,))

    return fn
