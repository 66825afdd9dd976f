"""The simulator's own power model against the battery_model recording of the SITL quad."""

from __future__ import annotations

import json

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, REFERENCE, Bench, item, offset

from sitl.sim import PowerModel
from sitl.sim.physics import max_airspeed_ms

M = mavlink
pytestmark = pytest.mark.sim


def _facts() -> dict:
    path = REFERENCE / "index.json"
    if not path.exists():
        pytest.skip("index.json of the recordings not available")
    return json.loads(path.read_text())["scenarios"]["battery_model"]["facts"]["energy"]


def test_power_model_matches_the_recorded_currents() -> None:
    facts = _facts()
    model = PowerModel()
    volts = 12.6
    hover = facts["hover_loiter_30s"]["mean_current_A"]
    cruise10 = facts["cruise_10mps_steady"]["mean_current_A"]
    cruise15 = facts["cruise_15mps_anglemax45_steady"]["mean_current_A"]
    assert model.power_w(0.0, 0.0) / volts == pytest.approx(hover, rel=0.03)
    assert model.power_w(9.96, 0.0) / volts == pytest.approx(cruise10, rel=0.03)
    assert model.power_w(14.94, 0.0) / volts == pytest.approx(cruise15, rel=0.03)
    # Heavier means more power; climbing costs more than hovering.
    assert model.power_w(10.0, 0.0, payload_kg=1.0) > model.power_w(10.0, 0.0)
    assert model.power_w(0.0, 2.5) > model.power_w(0.0, 0.0)


def test_angle_max_caps_the_airspeed_like_the_sitl_quad() -> None:
    facts = _facts()
    capped = facts["cruise_15mps_requested_anglemax30_steady"]["mean_groundspeed_mps"]
    assert max_airspeed_ms(30.0) == pytest.approx(capped, abs=0.15)
    assert max_airspeed_ms(45.0) > 15.0


def test_energy_per_km_at_cruise_in_flight() -> None:
    facts = _facts()
    bench = Bench(step_s=0.05)
    far = offset(CMAC, 1200.0, 0.0)
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=40), item(2, 16, *far, 40),
                         item(3, 20)]) == 0
    bench.ready()
    bench.arm_and_start()
    bench.until(lambda: bench.v.runner.current_seq == 2 and bench.v.phys.groundspeed_ms > 9.9,
                60.0, "cruise")
    wh0, t0, n0 = bench.v.battery.consumed_wh, bench.t, bench.v.phys.north_m
    bench.step(60.0)
    km = (bench.v.phys.north_m - n0) / 1000.0
    wh_per_km = (bench.v.battery.consumed_wh - wh0) / km
    assert wh_per_km == pytest.approx(facts["cruise_10mps_steady"]["Wh_per_km"], rel=0.05)
    assert bench.t - t0 >= 60.0


def test_wind_changes_groundspeed_and_power() -> None:
    bench = Bench(step_s=0.05, params={"SIM_WIND_SPD": 5.0, "SIM_WIND_DIR": 0.0})
    far = offset(CMAC, 1500.0, 0.0)  # flying north, into a wind from the north
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=30), item(2, 16, *far, 30),
                         item(3, 20)]) == 0
    bench.ready()
    bench.arm_and_start()
    bench.until(lambda: bench.v.runner.current_seq == 2, 60.0, "leg")
    bench.step(40.0)
    # The lean angle caps the airspeed (~10.3 m/s), so a 5 m/s headwind slows the ground.
    assert bench.v.phys.groundspeed_ms < 6.0
    assert bench.v.phys.airspeed_ms == pytest.approx(max_airspeed_ms(30.0), abs=0.3)
    wind = [m for m in bench.msgs if m.get_type() == "WIND"][-1]
    assert wind.speed == pytest.approx(5.0) and wind.direction == pytest.approx(0.0, abs=1.0)


def test_payload_costs_power_until_the_gripper_releases_it() -> None:
    from sitl.sim import SimFleet

    with SimFleet([CMAC], speedup=1.0, base_port=0,
                  params={"GRIP_ENABLE": 1, "GRIP_TYPE": 1}) as fleet:
        fleet.set_payload(0, 1.5)
        with pytest.raises(ValueError, match="negative"):
            fleet.set_payload(0, -1.0)
        vehicle = fleet.vehicle(0)
        assert vehicle.payload_kg == 1.5
    bench = Bench(step_s=0.05, params={"GRIP_ENABLE": 1, "GRIP_TYPE": 1})
    bench.v.payload_kg = 1.5
    bench.ready()
    bench.takeoff(20.0)
    bench.step(5.0)
    loaded = bench.v.battery.current_a
    assert bench.command(M.MAV_CMD_DO_GRIPPER, 1, 0) == 0
    bench.step(3.0)
    assert bench.v.payload_kg == 0.0
    assert bench.v.battery.current_a < loaded * 0.8
