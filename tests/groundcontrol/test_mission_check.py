"""A plan whose mission cannot be built is refused when the order is placed (rule mission),
not discovered on the loop thread at launch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.mission_check import checked_plan_fn
from groundcontrol.fleet.model import ScaledWallClock
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.scenarios import resolve_scenario
from missions.build import build_mission
from missions.errors import MissionBuildError
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import Assign, DepotModel, OrderPlaced, Reject
from planner.load import load_scenario
from planner.model import LatLon, NoFlyZone, Rule
from planner.plan import Planner
from planner.scenario import Scenario

CANBERRA = load_scenario(resolve_scenario("canberra"))


def _one_zone_more(scenario: Scenario) -> Scenario:
    """Canberra with a small extra circle zone in a corner of its operating area: its fence
    already fills 556 of ArduCopter's 560 bytes, so no mission fits any more."""
    area = scenario.airspace.operating_area
    assert area is not None
    mid = LatLon(sum(p.lat for p in area) / len(area), sum(p.lon for p in area) / len(area))
    corner = LatLon(area[0].lat + 0.1 * (mid.lat - area[0].lat),
                    area[0].lon + 0.1 * (mid.lon - area[0].lon))
    extra = NoFlyZone("extra", "an extra zone", circle_center=corner, circle_radius_m=50.0)
    airspace = dataclasses.replace(scenario.airspace, zones=(*scenario.airspace.zones, extra))
    return dataclasses.replace(scenario, airspace=airspace)


def _first_decision(scenario: Scenario, checked: bool) -> Assign | Reject:
    planner = Planner(scenario.airspace, scenario.depots, margin_m=30.0)
    plan_fn = planner_plan_fn(planner)
    if checked:
        plan_fn = checked_plan_fn(plan_fn, scenario.airspace, scenario.depots)
    dispatcher = Dispatcher(fleet_of(scenario), [DepotModel(d.id) for d in scenario.depots],
                            plan_fn, promise_s=scenario.promise_s)
    order = next(o for o in scenario.orders if o.id == "CBR-060")
    decision = next(d for d in dispatcher.handle(OrderPlaced(order), order.created_s)
                    if isinstance(d, Assign | Reject))
    return decision


def test_an_order_whose_fence_exceeds_the_vehicle_storage_is_refused_with_the_reason() -> None:
    crowded = _one_zone_more(CANBERRA)
    # Without the check the dispatcher promised the order and the launch raised.
    unchecked = _first_decision(crowded, checked=False)
    assert isinstance(unchecked, Assign)
    try:
        build_mission(unchecked.sortie.plan, fleet_of(crowded)[0].profile, crowded.airspace,
                      depots=crowded.depots)
    except MissionBuildError as exc:
        assert "fence storage" in str(exc)
    else:
        raise AssertionError("the crowded fence was expected not to fit")
    refused = _first_decision(crowded, checked=True)
    assert isinstance(refused, Reject)
    (reason,) = refused.reasons
    assert reason.rule is Rule.MISSION
    assert "fence storage" in str(reason) and "560" in str(reason)


def test_a_mission_that_fits_is_assigned_as_before() -> None:
    assert isinstance(_first_decision(CANBERRA, checked=True), Assign)


def test_the_fleet_controller_plans_with_the_check(tmp_path: Path) -> None:
    crowded = _one_zone_more(CANBERRA)
    order = next(o for o in crowded.orders if o.id == "CBR-060")
    endpoints = {d.id: "udpin:127.0.0.1:1" for d in crowded.fleet}
    with Store.open(tmp_path / "s.sqlite") as store:
        controller = FleetController(crowded, store, endpoints, ScaledWallClock(1.0, 0.0),
                                     releases=[order])
        decisions = controller.dispatch(OrderPlaced(order), order.created_s)
        (reject,) = [d for d in decisions if isinstance(d, Reject)]
        assert [r.rule for r in reject.reasons] == [Rule.MISSION]
        assert store.order("CBR-060").state.value == "infeasible"
        assert "fence storage" in str(controller.rejected["CBR-060"][0])
