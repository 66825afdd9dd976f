"""The feasibility rules on their own: each returns a reason with measured value and limit."""

from __future__ import annotations

import dataclasses

import pytest

from planner.errors import InvalidInput
from planner.feasibility import (
    check_ceiling,
    check_energy,
    check_order,
    check_payload,
    drawable_energy_wh,
    highest_alt_agl_m,
    unknown_depot,
)
from planner.model import Airspace, LatLon, Order, Rule
from planner.vehicle import DeliveryMethod, builtin_profile

PROFILE = builtin_profile("delivery-quad")


def _order(payload_kg: float = 1.0, depot_id: str = "north") -> Order:
    return Order("o1", depot_id, LatLon(-35.3, 149.1), payload_kg)


def test_payload_within_limit_passes_and_above_names_both_values() -> None:
    assert check_payload(_order(2.3), PROFILE) is None
    reason = check_payload(_order(2.31), PROFILE)
    assert reason is not None
    assert (reason.rule, reason.measured, reason.limit, reason.unit) == (
        Rule.PAYLOAD,
        2.31,
        2.3,
        "kg",
    )


def test_ceiling_takes_the_lower_of_vehicle_and_airspace() -> None:
    assert check_ceiling(PROFILE, Airspace(ceiling_agl_m=120.0)) is None
    low_airspace = check_ceiling(PROFILE, Airspace(ceiling_agl_m=90.0))
    assert low_airspace is not None
    assert (low_airspace.rule, low_airspace.measured, low_airspace.limit) == (
        Rule.CEILING,
        100.0,
        90.0,
    )
    assert "airspace" in low_airspace.detail
    low_vehicle = dataclasses.replace(PROFILE, ceiling_agl_m=80.0)
    reason = check_ceiling(low_vehicle, Airspace(ceiling_agl_m=120.0))
    assert reason is not None and reason.limit == 80.0 and reason.unit == "m AGL"


def test_release_height_above_cruise_counts_for_the_ceiling() -> None:
    odd = dataclasses.replace(PROFILE, cruise_alt_agl_m=80.0, release_alt_agl_m=110.0)
    assert highest_alt_agl_m(odd) == 110.0
    reason = check_ceiling(odd, Airspace(ceiling_agl_m=100.0))
    assert reason is not None and reason.measured == 110.0
    winch = dataclasses.replace(odd, delivery_method=DeliveryMethod.WINCH)
    assert highest_alt_agl_m(winch) == 80.0  # a winch line hangs below the drone


def test_energy_with_reserve_against_the_drawable_energy() -> None:
    budget = PROFILE.usable_wh - PROFILE.reserve_wh
    assert check_energy(budget, PROFILE) is None
    reason = check_energy(budget + 1.0, PROFILE)
    assert reason is not None
    assert reason.rule is Rule.ENERGY and reason.unit == "Wh"
    assert reason.measured == pytest.approx(budget + 1.0 + PROFILE.reserve_wh)
    assert reason.limit == pytest.approx(PROFILE.usable_wh)


def test_a_partly_charged_battery_keeps_the_same_floor_and_reserve() -> None:
    floor = PROFILE.battery_wh * (1 - PROFILE.usable_fraction)
    assert drawable_energy_wh(PROFILE, None) == pytest.approx(PROFILE.usable_wh)
    assert drawable_energy_wh(PROFILE, PROFILE.battery_wh) == pytest.approx(PROFILE.usable_wh)
    assert drawable_energy_wh(PROFILE, 300.0) == pytest.approx(300.0 - floor)
    needed = 300.0 - floor - PROFILE.reserve_wh
    assert check_energy(needed, PROFILE, 300.0) is None
    reason = check_energy(needed + 0.5, PROFILE, 300.0)
    assert reason is not None and reason.limit == pytest.approx(300.0 - floor)
    assert "300.0 Wh" in reason.detail


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "200"])
def test_bad_battery_energy_is_bad_input(bad: object) -> None:
    with pytest.raises(InvalidInput) as info:
        drawable_energy_wh(PROFILE, bad)  # type: ignore[arg-type]
    assert info.value.field == "battery_wh"


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_bad_payload_is_bad_input_naming_the_order(bad: float) -> None:
    with pytest.raises(InvalidInput) as info:
        check_order(_order(bad))
    assert info.value.field == "payload_kg" and info.value.source == "order o1"


def test_unknown_depot_lists_the_known_ones() -> None:
    reason = unknown_depot(_order(depot_id="mars"), ["south", "north"])
    assert reason.rule is Rule.UNKNOWN_DEPOT
    assert reason.measured == "mars"
    assert reason.limit == "one of: north, south"
