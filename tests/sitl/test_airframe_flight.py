"""The delivery airframe flown on both simulators: the figures real ArduCopter SITL gave.

The same planned Canberra delivery (CBR-060, gripper, ~2 km) on a vehicle started at its depot
with the delivery-quad airframe, once on the built-in simulator (``sim``) and once on
ArduPilot SITL (``sitl``: skipped with the reason where ``arducopter`` is absent). Both must
deliver, cruise at the profile's 22 m/s and use the energy measured on ArduCopter V4.7.0-dev
SITL with this airframe (78.6 Wh, dataflash BAT.EnrgTot; the tlog's BATTERY_STATUS agrees).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from groundcontrol.cli.fly import vehicle_at
from groundcontrol.cli.plan import profiles_for_depot
from groundcontrol.flight.flight import Flight, FlightConfig
from groundcontrol.flight.preflight import PreflightConfig
from groundcontrol.mavlink.link import Link
from groundcontrol.scenarios import resolve_scenario
from missions.build import build_mission
from missions.items import Mission
from planner.load import load_scenario
from planner.plan import Planner
from sitl.ardupilot import SitlNotFound

ORDER_ID = "CBR-060"
SITL_ENERGY_WH = 78.6
"""Measured on real SITL: ``fly out/canberra/CBR-060.plan --backend ardupilot``."""
CRUISE_MS = 22.0


def _mission() -> Mission:
    scenario = load_scenario(resolve_scenario("canberra"))
    order = next(o for o in scenario.orders if o.id == ORDER_ID)
    profile = profiles_for_depot(scenario, order.depot_id)[0]
    assert profile.name == "delivery-quad"
    result = Planner(scenario.airspace, scenario.depots, margin_m=30.0).plan(order, profile)
    assert result.plan is not None, result
    return build_mission(result.plan, profile, scenario.airspace, depots=scenario.depots)


@pytest.mark.parametrize("backend", [pytest.param("builtin", marks=pytest.mark.sim),
                                     pytest.param("ardupilot", marks=pytest.mark.sitl)])
def test_delivery_airframe_flies_as_measured_on_ardupilot_sitl(backend: str,
                                                                tmp_path: Path) -> None:
    mission = _mission()
    speedup = 20.0 if backend == "builtin" else 25.0
    speeds: list[float] = []
    try:
        with vehicle_at(mission, backend, None, speedup, log_dir=tmp_path) as url, \
                Link(url, heartbeat_period_s=1.0 / speedup) as link:
            channel = link.wait_vehicle(None, timeout_s=30.0)
            channel.subscribe(lambda m: speeds.append(m.groundspeed)
                              if m.get_type() == "VFR_HUD" and m.groundspeed > 5 else None)
            config = FlightConfig(speedup=speedup, mission_timeout_s=1800.0,
                                  preflight=PreflightConfig(configure=True, speedup=speedup))
            outcome = Flight(channel, mission, config=config).run()
    except SitlNotFound as exc:
        pytest.skip(f"ArduPilot SITL not usable here: {exc}")
    assert outcome.success, outcome
    assert statistics.median(speeds) == pytest.approx(CRUISE_MS, rel=0.03)
    assert outcome.energy_wh is not None
    assert outcome.energy_wh == pytest.approx(SITL_ENERGY_WH, rel=0.05)
