"""The multirotor power model and the energy of a delivery flight's phases."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.energy import (
    climb_power_w,
    cruise_power_w,
    flight_energy,
    hover_power_w,
    induced_velocity_ms,
    max_range_m,
    rotor_disk_area_m2,
    total_energy_wh,
    total_time_s,
)
from planner.errors import InvalidInput
from planner.vehicle import DeliveryMethod, PowerModel, VehicleProfile, builtin_profile

SMALL = VehicleProfile(
    name="small",
    empty_mass_kg=2.0,
    battery_wh=100.0,
    usable_fraction=0.9,
    reserve_fraction=0.2,
    max_payload_kg=1.0,
    cruise_speed_ms=10.0,
    climb_speed_ms=2.0,
    descent_speed_ms=1.5,
    cruise_alt_agl_m=40.0,
    ceiling_agl_m=120.0,
    rotor_count=4,
    rotor_diameter_m=0.254,
    figure_of_merit=0.7,
    avionics_w=20.0,
    air_density_kgm3=1.225,
)


def test_momentum_hover_power_against_hand_computation() -> None:
    """2 kg on four 10 in (0.254 m) rotors at sea level, FM 0.7, 20 W avionics.

    T = 2 * 9.80665 = 19.6133 N; A = 4 * pi * 0.127**2 = 0.202683 m^2;
    T**1.5 = 86.8612; sqrt(2 * 1.225 * A) = 0.704680; ideal = 123.263 W;
    electrical = 123.263 / 0.7 + 20 = 196.09 W.
    """
    assert rotor_disk_area_m2(SMALL) == pytest.approx(0.202683, rel=1e-5)
    assert hover_power_w(SMALL, 2.0) == pytest.approx(196.09, abs=0.01)


def test_momentum_climb_power_against_hand_computation() -> None:
    """Climb at 2 m/s: T (v_c/2 + sqrt((v_c/2)^2 + T/(2 rho A))) / FM + 20.

    T/(2 rho A) = 19.6133 / 0.496573 = 39.497; sqrt(1 + 39.497) = 6.3638;
    19.6133 * (1 + 6.3638) / 0.7 + 20 = 226.32 W.
    """
    assert climb_power_w(SMALL, 2.0, 2.0) == pytest.approx(226.32, abs=0.01)
    assert climb_power_w(SMALL, 2.0, 0.0) == pytest.approx(hover_power_w(SMALL, 2.0))


def test_hover_power_scales_with_mass_to_the_three_halves() -> None:
    no_avionics = dataclasses.replace(SMALL, avionics_w=0.0)
    ratio = hover_power_w(no_avionics, 4.0) / hover_power_w(no_avionics, 2.0)
    assert ratio == pytest.approx(2.0**1.5)


def test_linear_model_uses_dorlings_published_fit() -> None:
    """Dorling, Heinrichs, Messier, Magierowski, "Vehicle Routing Problems for Drone Delivery",
    IEEE Trans. SMC: Systems 47(1):70-85, 2017 (doi:10.1109/TSMC.2016.2582745): power is
    approximately linear in total mass, P = a m + b with a = 46.7 W/kg and b = 26.9 W
    (arXiv:1608.02305). These are the profile defaults and the LINEAR model must apply them
    unchanged. The excerpts of the paper available while writing this did not include the
    passage with the fit, so the two numbers are pinned as commonly quoted from it.
    """
    linear = dataclasses.replace(SMALL, power_model=PowerModel.LINEAR)
    assert (linear.linear_w_per_kg, linear.linear_w_offset) == (46.7, 26.9)
    assert hover_power_w(linear, 2.0) == pytest.approx(46.7 * 2.0 + 26.9)
    assert cruise_power_w(linear, 3.5, 15.0) == pytest.approx(46.7 * 3.5 + 26.9)
    weight_rate_w = 2.0 * 9.80665 * 2.0 / 0.7
    assert climb_power_w(linear, 2.0, 2.0) == pytest.approx(46.7 * 2.0 + 26.9 + weight_rate_w)


def test_induced_velocity_solves_glauerts_relation() -> None:
    thrust, rho, area = 30.0, 1.225, 0.2
    hover_vi = math.sqrt(thrust / (2 * rho * area))
    assert induced_velocity_ms(thrust, rho, area, 0.0, 0.0) == pytest.approx(hover_vi)
    previous = hover_vi
    for speed in (2.0, 5.0, 10.0, 20.0):
        tilt = math.radians(10.0)
        v_i = induced_velocity_ms(thrust, rho, area, speed, tilt)
        resultant = math.hypot(speed * math.cos(tilt), speed * math.sin(tilt) + v_i)
        assert v_i * resultant == pytest.approx(thrust / (2 * rho * area), rel=1e-9)
        assert 0 < v_i < previous  # translational lift: less induced velocity with speed
        previous = v_i


def test_cruise_power_at_zero_speed_is_hover_power() -> None:
    assert cruise_power_w(SMALL, 2.5, 0.0) == pytest.approx(hover_power_w(SMALL, 2.5))


def test_cruise_power_is_dominated_by_parasite_drag_at_high_speed() -> None:
    slow, fast = cruise_power_w(SMALL, 2.0, 10.0), cruise_power_w(SMALL, 2.0, 30.0)
    parasite_gain = 0.5 * 1.225 * SMALL.drag_area_m2 * (30.0**3 - 10.0**3) / 0.7
    assert fast - slow == pytest.approx(parasite_gain, rel=0.15)


@pytest.mark.parametrize("name", ["delivery-quad", "winch-quad"])
def test_built_in_profiles_reach_the_range_their_description_states(name: str) -> None:
    profile = builtin_profile(name)
    stated = re.search(r"([0-9.]+) km from the depot", profile.description)
    assert stated is not None, "the description states the range"
    range_m = max_range_m(profile, profile.max_payload_kg)
    assert range_m == pytest.approx(1000.0 * float(stated.group(1)), abs=50.0)
    assert max_range_m(profile, 0.0) > range_m


def test_max_range_is_the_edge_of_the_energy_budget() -> None:
    profile = builtin_profile("delivery-quad")
    budget = profile.usable_wh - profile.reserve_wh
    edge = max_range_m(profile, 1.0)
    assert total_energy_wh(flight_energy(profile, edge, edge, 1.0)) <= budget
    beyond = edge * 1.005
    assert total_energy_wh(flight_energy(profile, beyond, beyond, 1.0)) > budget


def test_max_range_is_zero_when_even_the_delivery_breaks_the_reserve() -> None:
    tiny = dataclasses.replace(SMALL, battery_wh=1.0)
    assert max_range_m(tiny, 0.5) == 0.0


def test_sitl_quad_matches_the_reference_recording() -> None:
    """shared/reference/ardupilot-copter battery_model: SITL's 3 kg quad drew 354 W hovering
    and 382 W cruising at 10 m/s. The profile uses SITL's own frame (4 x 0.35 m rotors, air
    density at the 584 m home) with FM and drag area fitted to these two figures; the test
    allows 15 % so a re-fit stays honest.
    """
    sitl = builtin_profile("sitl-quad")
    assert sitl.empty_mass_kg == 3.0
    assert rotor_disk_area_m2(sitl) == pytest.approx(0.385, abs=0.001)
    assert hover_power_w(sitl, 3.0) == pytest.approx(354.0, rel=0.15)
    assert cruise_power_w(sitl, 3.0, 10.0) == pytest.approx(382.0, rel=0.15)


def _names(profile: VehicleProfile) -> list[str]:
    return [p.name for p in flight_energy(profile, 1000.0, 1200.0, 0.5)]


@pytest.mark.parametrize(
    ("method", "middle"),
    [
        (DeliveryMethod.DESCEND_RELEASE, ["release_descent", "release_hover", "release_climb"]),
        (DeliveryMethod.WINCH, ["winch_lower", "release_hover", "winch_raise"]),
        (DeliveryMethod.PAYLOAD_PLACE, ["place_descent", "release_hover", "place_climb"]),
        (
            DeliveryMethod.LAND,
            ["dropoff_descent", "dropoff_landing", "ground_wait", "dropoff_takeoff"],
        ),
    ],
)
def test_phases_in_flight_order_for_each_delivery_method(
    method: DeliveryMethod, middle: list[str]
) -> None:
    profile = dataclasses.replace(SMALL, delivery_method=method)
    expected = ["takeoff", "cruise_out", *middle, "cruise_back", "descent", "landing"]
    assert _names(profile) == expected


def test_payload_counts_until_release_and_the_return_is_lighter() -> None:
    phases = {p.name: p for p in flight_energy(SMALL, 2000.0, 2000.0, 0.8)}
    assert phases["takeoff"].mass_kg == phases["cruise_out"].mass_kg == pytest.approx(2.8)
    assert phases["release_hover"].mass_kg == pytest.approx(2.8)
    assert phases["release_climb"].mass_kg == phases["cruise_back"].mass_kg == pytest.approx(2.0)
    assert phases["cruise_back"].energy_wh < phases["cruise_out"].energy_wh


def test_phase_times_follow_the_profile_speeds() -> None:
    phases = {p.name: p for p in flight_energy(SMALL, 3000.0, 2500.0, 0.0)}
    assert phases["takeoff"].duration_s == pytest.approx(40.0 / 2.0)
    assert phases["cruise_out"].duration_s == pytest.approx(300.0)
    assert phases["cruise_out"].distance_m == 3000.0
    assert phases["cruise_back"].duration_s == pytest.approx(250.0)
    assert phases["release_descent"].duration_s == pytest.approx((40.0 - 10.0) / 1.5)
    assert phases["release_hover"].duration_s == pytest.approx(5.0)
    assert phases["descent"].duration_s == pytest.approx(30.0 / 1.5)
    assert phases["landing"].duration_s == pytest.approx(10.0 / 0.5)
    phase_tuple = tuple(phases.values())
    assert total_time_s(phase_tuple) == pytest.approx(sum(p.duration_s for p in phase_tuple))


def test_winch_and_ground_wait_phases() -> None:
    winch = dataclasses.replace(
        SMALL, delivery_method=DeliveryMethod.WINCH, release_alt_agl_m=30.0, winch_speed_ms=1.5
    )
    phases = {p.name: p for p in flight_energy(winch, 100.0, 100.0, 0.5)}
    assert phases["winch_lower"].duration_s == pytest.approx(20.0)
    assert phases["winch_lower"].energy_wh > phases["winch_raise"].energy_wh  # lighter after
    land = dataclasses.replace(SMALL, delivery_method=DeliveryMethod.LAND, dropoff_hover_s=8.0)
    wait = {p.name: p for p in flight_energy(land, 100.0, 100.0, 0.5)}["ground_wait"]
    assert wait.energy_wh == pytest.approx(20.0 * 8.0 / 3600.0)  # avionics only on the ground


def test_wind_allowance_adds_to_cruise_only() -> None:
    windy = dataclasses.replace(SMALL, wind_allowance=0.1)
    calm_phases = flight_energy(SMALL, 1000.0, 1000.0, 0.0)
    windy_phases = flight_energy(windy, 1000.0, 1000.0, 0.0)
    for calm, wind in zip(calm_phases, windy_phases, strict=True):
        factor = 1.1 if calm.name.startswith("cruise") else 1.0
        assert wind.energy_wh == pytest.approx(calm.energy_wh * factor)


@pytest.mark.parametrize(
    ("out", "back", "payload", "field"),
    [
        (-1.0, 0.0, 0.0, "out_length_m"),
        (0.0, math.inf, 0.0, "back_length_m"),
        (0.0, 0.0, -0.1, "payload_kg"),
    ],
)
def test_bad_inputs_are_named(out: float, back: float, payload: float, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        flight_energy(SMALL, out, back, payload)
    assert info.value.field == field


_MODELS = st.sampled_from([PowerModel.MOMENTUM, PowerModel.LINEAR])
_METHODS = st.sampled_from(list(DeliveryMethod))


@settings(max_examples=100, deadline=None)
@given(
    model=_MODELS,
    method=_METHODS,
    length=st.floats(0.0, 30_000.0),
    payload=st.floats(0.0, 5.0),
    extra=st.floats(0.01, 3.0),
)
def test_energy_grows_strictly_with_payload(
    model: PowerModel, method: DeliveryMethod, length: float, payload: float, extra: float
) -> None:
    profile = dataclasses.replace(
        builtin_profile("delivery-quad"), power_model=model, delivery_method=method
    )
    light = total_energy_wh(flight_energy(profile, length, length, payload))
    heavy = total_energy_wh(flight_energy(profile, length, length, payload + extra))
    assert heavy > light


@settings(max_examples=100, deadline=None)
@given(
    model=_MODELS,
    out=st.floats(0.0, 30_000.0),
    back=st.floats(0.0, 30_000.0),
    extra=st.floats(1.0, 10_000.0),
    payload=st.floats(0.0, 2.3),
)
def test_energy_grows_strictly_with_distance(
    model: PowerModel, out: float, back: float, extra: float, payload: float
) -> None:
    profile = dataclasses.replace(builtin_profile("delivery-quad"), power_model=model)
    base = total_energy_wh(flight_energy(profile, out, back, payload))
    assert total_energy_wh(flight_energy(profile, out + extra, back, payload)) > base
    assert total_energy_wh(flight_energy(profile, out, back + extra, payload)) > base
