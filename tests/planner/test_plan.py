"""The Planner end to end: a feasible plan's figures and one test per infeasibility reason.

The scene is built in metres in a local frame around Canberra, so distances are easy to read:
the depot at the origin, a square no-fly zone 1 km east, an operating area 6 km x 6 km.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planner.plan as plan_module
from planner.energy import release_time_s, total_energy_wh, total_time_s
from planner.errors import InvalidInput
from planner.feasibility import drawable_energy_wh
from planner.geo import LocalFrame, path_length_m
from planner.model import Airspace, Depot, LatLon, NoFlyZone, Order, PlanResult, Rule
from planner.plan import Planner
from planner.route import Router
from planner.vehicle import VehicleProfile, builtin_profile

FRAME = LocalFrame(LatLon(-35.3, 149.1))
PROFILE = builtin_profile("delivery-quad")


def at(x_m: float, y_m: float) -> LatLon:
    return FRAME.to_latlon(x_m, y_m)


def square(cx: float, cy: float, half: float) -> tuple[LatLon, ...]:
    return tuple(
        at(cx + dx, cy + dy)
        for dx, dy in ((-half, -half), (half, -half), (half, half), (-half, half))
    )


ZONE = NoFlyZone("hospital", "Hospital helipad", polygons=(square(1000.0, 0.0, 200.0),))
AREA = square(0.0, 0.0, 3000.0)
AIRSPACE = Airspace(zones=(ZONE,), operating_area=AREA, ceiling_agl_m=120.0)
DEPOT = Depot("north", at(0.0, 0.0), 580.0, "North depot")


def order(x_m: float, y_m: float, payload_kg: float = 1.0, depot_id: str = "north") -> Order:
    return Order(f"o-{x_m:g}-{y_m:g}", depot_id, at(x_m, y_m), payload_kg)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(AIRSPACE, [DEPOT])


def rules(result: PlanResult) -> list[Rule]:
    return [r.rule for r in result.reasons]


def test_feasible_plan_figures_add_up(planner: Planner) -> None:
    result = planner.plan(order(2000.0, 0.0, 1.5), PROFILE)
    assert result.feasible and result.reasons == ()
    plan = result.plan
    assert plan is not None
    assert plan.outbound[0] == DEPOT.position and plan.outbound[-1] == result.order.dropoff
    assert plan.inbound == tuple(reversed(plan.outbound))
    assert len(plan.outbound) > 2, "the straight line crosses the zone: the route must bend"
    legs = path_length_m(plan.outbound) + path_length_m(plan.inbound)
    assert plan.distance_m == pytest.approx(legs, rel=1e-9)
    assert 4000.0 < plan.distance_m < 4400.0
    assert plan.flight_time_s == pytest.approx(total_time_s(plan.phases))
    assert plan.energy_wh == pytest.approx(total_energy_wh(plan.phases))
    cruise = sum(p.distance_m for p in plan.phases if p.name.startswith("cruise"))
    assert cruise == pytest.approx(plan.distance_m)
    expected_left = PROFILE.usable_wh - PROFILE.reserve_wh - plan.energy_wh
    assert plan.reserve_left_wh == pytest.approx(expected_left)
    assert plan.reserve_left_wh >= 0
    assert (plan.profile_name, plan.depot, plan.cruise_alt_agl_m) == ("delivery-quad", DEPOT, 100.0)


def test_payload_reason(planner: Planner) -> None:
    result = planner.plan(order(2000.0, 1000.0, 3.0), PROFILE)
    assert result.plan is None and not result.feasible
    assert rules(result) == [Rule.PAYLOAD]
    (reason,) = result.reasons
    assert (reason.measured, reason.limit, reason.unit) == (3.0, 2.3, "kg")


def test_ceiling_reason(planner: Planner) -> None:
    too_high = dataclasses.replace(PROFILE, cruise_alt_agl_m=130.0, ceiling_agl_m=150.0)
    result = planner.plan(order(2000.0, 1000.0), too_high)
    assert rules(result) == [Rule.CEILING]
    assert (result.reasons[0].measured, result.reasons[0].limit) == (130.0, 120.0)


def test_energy_reason_for_a_far_drop_off() -> None:
    wide = Airspace(operating_area=square(0.0, 0.0, 30_000.0))
    result = Planner(wide, [DEPOT]).plan(order(20_000.0, 0.0, 2.3), PROFILE)
    assert rules(result) == [Rule.ENERGY]
    reason = result.reasons[0]
    assert isinstance(reason.measured, float) and isinstance(reason.limit, float)
    assert reason.unit == "Wh" and reason.measured > reason.limit
    assert reason.limit == pytest.approx(PROFILE.usable_wh)


def test_energy_reason_for_a_nearly_empty_battery(planner: Planner) -> None:
    target = order(2000.0, 1000.0)
    full = planner.plan(target, PROFILE)
    assert full.feasible
    result = planner.plan(target, PROFILE, battery_wh=120.0)
    assert rules(result) == [Rule.ENERGY]
    assert result.reasons[0].limit == pytest.approx(drawable_energy_wh(PROFILE, 120.0))


def test_remaining_battery_sets_the_reserve_left(planner: Planner) -> None:
    result = planner.plan(order(1500.0, 1500.0), PROFILE, battery_wh=400.0)
    assert result.plan is not None
    expected = drawable_energy_wh(PROFILE, 400.0) - PROFILE.reserve_wh - result.plan.energy_wh
    assert result.plan.reserve_left_wh == pytest.approx(expected)


def test_depot_in_zone_reason() -> None:
    depot = Depot("inside", at(1000.0, 50.0))
    result = Planner(AIRSPACE, [depot]).plan(order(-1000.0, 0.0, depot_id="inside"), PROFILE)
    assert Rule.DEPOT_IN_NO_FLY_ZONE in rules(result)
    assert result.plan is None


def test_dropoff_in_zone_reason(planner: Planner) -> None:
    result = planner.plan(order(1050.0, -20.0), PROFILE)
    assert rules(result) == [Rule.DROPOFF_IN_NO_FLY_ZONE]
    reason = result.reasons[0]
    assert isinstance(reason.measured, float) and isinstance(reason.limit, float)
    assert reason.unit == "m" and reason.measured < 0 < reason.limit


def test_outside_operating_area_reason(planner: Planner) -> None:
    result = planner.plan(order(3500.0, 0.0), PROFILE)
    assert rules(result) == [Rule.OUTSIDE_OPERATING_AREA]
    clearance = result.reasons[0].measured
    assert isinstance(clearance, float) and clearance < 0


def test_no_path_reason() -> None:
    wall = NoFlyZone(
        "wall",
        "Prison perimeter",
        polygons=((at(500.0, -3500.0), at(700.0, -3500.0), at(700.0, 3500.0), at(500.0, 3500.0)),),
    )
    airspace = Airspace(zones=(wall,), operating_area=AREA)
    result = Planner(airspace, [DEPOT]).plan(order(2000.0, 0.0), PROFILE)
    assert rules(result) == [Rule.NO_PATH]


def test_unknown_depot_reason_keeps_the_other_reasons(planner: Planner) -> None:
    result = planner.plan(order(2000.0, 0.0, 5.0, depot_id="mars"), PROFILE)
    assert rules(result) == [Rule.UNKNOWN_DEPOT, Rule.PAYLOAD]
    assert result.reasons[0].measured == "mars"


def test_every_applicable_reason_is_collected() -> None:
    low = Airspace(zones=(ZONE,), operating_area=AREA, ceiling_agl_m=60.0)
    result = Planner(low, [DEPOT]).plan(order(1000.0, 0.0, 4.0), PROFILE)
    assert rules(result) == [Rule.PAYLOAD, Rule.CEILING, Rule.DROPOFF_IN_NO_FLY_ZONE]


def test_zone_above_the_flight_does_not_constrain_it() -> None:
    high = dataclasses.replace(ZONE, floor_m=150.0)
    airspace = Airspace(zones=(high,), operating_area=AREA)
    result = Planner(airspace, [DEPOT]).plan(order(1000.0, 0.0), PROFILE)
    assert result.feasible and result.plan is not None
    assert len(result.plan.outbound) == 2


def test_one_router_is_built_and_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Router] = []

    class CountingRouter(Router):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            built.append(self)

    monkeypatch.setattr(plan_module, "Router", CountingRouter)
    planner = Planner(AIRSPACE, {"north": DEPOT}, margin_m=50.0)
    results = planner.plan_many([order(2000.0, y, 1.0) for y in (-800.0, 0.0, 800.0)], PROFILE)
    assert len(built) == 1 and planner.router is built[0]
    assert planner.router.margin_m == 50.0
    assert [r.order.dropoff for r in results] == [at(2000.0, y) for y in (-800.0, 0.0, 800.0)]
    assert all(r.feasible for r in results)


def test_bad_inputs_raise() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        Planner(AIRSPACE, [DEPOT, DEPOT])
    planner = Planner(AIRSPACE, [DEPOT])
    with pytest.raises(InvalidInput, match="payload_kg"):
        planner.plan(order(2000.0, 0.0, -1.0), PROFILE)
    with pytest.raises(InvalidInput, match="battery_wh"):
        planner.plan(order(2000.0, 0.0), PROFILE, battery_wh=-5.0)


_SHARED = Planner(AIRSPACE, [DEPOT])


@settings(max_examples=60, deadline=None)
@given(
    angle=st.floats(0.0, 2 * math.pi),
    distance=st.floats(300.0, 2500.0),
    payload=st.floats(0.0, 2.0),
    extra=st.floats(0.05, 0.3),
)
def test_plan_energy_grows_with_payload(
    angle: float, distance: float, payload: float, extra: float
) -> None:
    target = order(distance * math.cos(angle), distance * math.sin(angle), payload)
    light = _SHARED.plan(target, PROFILE)
    heavy = _SHARED.plan(dataclasses.replace(target, payload_kg=payload + extra), PROFILE)
    if light.plan is None:  # the drop-off fell in the zone: both fail alike
        assert rules(heavy) == rules(light)
        return
    assert heavy.plan is not None
    assert heavy.plan.distance_m == pytest.approx(light.plan.distance_m)
    assert heavy.plan.energy_wh > light.plan.energy_wh


def _profile_with_battery(wh: float) -> VehicleProfile:
    return dataclasses.replace(PROFILE, battery_wh=wh)


def test_smaller_battery_turns_the_same_order_infeasible(planner: Planner) -> None:
    target = order(2500.0, 2500.0, 2.0)
    assert planner.plan(target, PROFILE).feasible
    assert rules(planner.plan(target, _profile_with_battery(60.0))) == [Rule.ENERGY]


def test_deadline_reason_when_even_an_immediate_launch_is_late(planner: Planner) -> None:
    relaxed = planner.plan(dataclasses.replace(order(0, 1500), created_s=100.0, due_s=100.0 + 3600),
                           PROFILE)
    assert relaxed.feasible
    assert relaxed.plan is not None
    needed = release_time_s(relaxed.plan.phases)
    tight = dataclasses.replace(order(0, 1500), created_s=100.0, due_s=100.0 + needed - 1.0)
    result = planner.plan(tight, PROFILE)
    assert rules(result) == [Rule.DEADLINE]
    (reason,) = result.reasons
    assert reason.measured == pytest.approx(needed, abs=0.1)
    assert reason.limit == pytest.approx(needed - 1.0, abs=0.1)


def test_orders_without_their_own_due_time_are_left_to_the_dispatcher(planner: Planner) -> None:
    assert planner.plan(order(0, 1500), PROFILE).feasible


def test_release_time_ends_with_the_release_phase(planner: Planner) -> None:
    result = planner.plan(order(0, 1500), PROFILE)
    assert result.plan is not None
    names = [p.name for p in result.plan.phases]
    upto = names.index("release_hover") + 1
    assert release_time_s(result.plan.phases) == pytest.approx(
        sum(p.duration_s for p in result.plan.phases[:upto]))
    assert release_time_s(result.plan.phases) < result.plan.flight_time_s
    with pytest.raises(ValueError, match="no release phase"):
        release_time_s(result.plan.phases[:2])
