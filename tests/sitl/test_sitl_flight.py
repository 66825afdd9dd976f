"""A planned delivery flown on real ArduPilot SITL through ``groundcontrol.flight.flight``.

``sitl`` marker: needs ``arducopter`` (``$ARDUPILOT_SITL`` or PATH) and ArduPilot's autotest
``copter.parm`` (``$ARDUPILOT_DEFAULTS`` or the binary's ArduPilot tree); skipped with the reason
otherwise (``sitl.pytest_plugin``). SITL runs at speedup 25; its EKF needs ~40 s simulated to be
ready, the flight about 8 simulated minutes.
"""

from __future__ import annotations

import pytest

from groundcontrol.flight.flight import Flight, FlightConfig, FlightReason
from groundcontrol.flight.preflight import PreflightConfig
from groundcontrol.mavlink.link import Link
from missions.build import build_mission
from missions.items import Mission
from planner.load import load_scenario
from planner.model import Order
from planner.plan import Planner
from planner.scenario import Scenario
from sitl.ardupilot import Home
from sitl.pytest_plugin import SitlFleetFactory

pytestmark = pytest.mark.sitl

SPEEDUP = 25.0
ORDER_ID = "CBR-039"
"""The example scenario's shortest feasible order (Greenway depot, ~3.7 km there and back)."""


def _order_and_home() -> tuple[Scenario, Order, Home]:
    from groundcontrol.scenarios import resolve_scenario

    scenario = load_scenario(resolve_scenario("canberra"))
    order = next(o for o in scenario.orders if o.id == ORDER_ID)
    depot = next(d for d in scenario.depots if d.id == order.depot_id)
    return scenario, order, Home(depot.position.lat, depot.position.lon,
                                 depot.ground_alt_amsl_m, 0.0)


def _mission(scenario: Scenario, order: Order) -> Mission:
    from groundcontrol.cli.plan import profiles_for_depot

    profile = profiles_for_depot(scenario, order.depot_id)[0]
    result = Planner(scenario.airspace, scenario.depots, margin_m=30.0).plan(order, profile)
    assert result.plan is not None, f"{ORDER_ID} is no longer feasible: {result}"
    return build_mission(result.plan, profile, scenario.airspace)


def _fly(endpoint: str, sysid: int, mission: Mission):
    config = FlightConfig(speedup=SPEEDUP, mission_timeout_s=1800.0,
                          preflight=PreflightConfig(min_battery_pct=90))
    with Link(endpoint, heartbeat_period_s=1.0 / SPEEDUP) as link:
        channel = link.wait_vehicle(sysid, timeout_s=30.0)
        return Flight(channel, mission, config=config).run()


def test_planned_delivery_on_ardupilot_sitl(sitl_fleet: SitlFleetFactory) -> None:
    scenario, order, home = _order_and_home()
    sitl = sitl_fleet(1, homes=[home], speedup=SPEEDUP)  # skips here when SITL is absent
    mission = _mission(scenario, order)
    outcome = _fly(sitl.endpoints[0], sitl.sysids[0], mission)
    assert outcome.reason is FlightReason.COMPLETED, outcome
    assert outcome.success and outcome.reached_seq == len(mission.items) - 1
    sitl.check_alive()


def test_without_the_delivery_overlay_preflight_names_the_parameters(
        sitl_fleet: SitlFleetFactory) -> None:
    # Plain copter.parm: GRIP_ENABLE 0 and FENCE_RADIUS 150 m cannot fly this mission, and the
    # flight must say so before anything is uploaded or armed.
    scenario, order, home = _order_and_home()
    sitl = sitl_fleet(1, homes=[home], speedup=SPEEDUP, overlay=False)
    mission = _mission(scenario, order)
    outcome = _fly(sitl.endpoints[0], sitl.sysids[0], mission)
    assert outcome.reason is FlightReason.PREFLIGHT_FAILED, outcome
    assert "GRIP_ENABLE" in outcome.detail and "FENCE_RADIUS" in outcome.detail
    assert not outcome.delivered and outcome.disarmed
