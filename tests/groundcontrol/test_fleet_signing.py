"""The fleet signs with the key the ground station keeps for a drone (built-in simulator).

The drone is given a key over SERIAL0 (the trusted port), then the fleet flies it over SERIAL1,
where the vehicle ignores every unsigned message, as ArduCopter does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.model import FleetConfig, FleetEventKind, SimClock, SimCrew
from groundcontrol.fleet.setup import start_sim
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.signing import KeyStore, VehicleId
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario

pytestmark = pytest.mark.sim

SPEEDUP = 50.0
FOLDER = resolve_scenario("canberra")


def test_a_signed_drone_is_flown_over_a_port_that_ignores_unsigned_messages(
    tmp_path: Path,
) -> None:
    full = load_scenario(FOLDER)
    order = dataclasses.replace(next(o for o in full.orders if o.id == "CBR-060"),
                                created_s=100.0)
    scenario = dataclasses.replace(full, fleet=full.fleet[:1], orders=(order,))
    drone = scenario.fleet[0]
    sim = start_sim(scenario, FOLDER, SPEEDUP)
    store = Store.open(tmp_path / "fleet.sqlite")
    try:
        keys = KeyStore()  # $DRONE_DELIVERY_KEYS: a file of this test's own
        with Link(sim.endpoints[0], heartbeat_period_s=1.0 / SPEEDUP) as serial0:
            serial0.wait_vehicle(drone.sysid, timeout_s=10.0)
            serial0.setup_vehicle_signing(drone.sysid, keys.get_or_create(VehicleId(drone.sysid)),
                                          key_source=str(keys.path), timeout_s=5.0)
        controller = FleetController(
            scenario, store, {drone.id: sim.serial1_endpoints[0]}, SimClock(sim, 60.0),
            config=FleetConfig(speedup=SPEEDUP, configure=True),
            crew=SimCrew(sim, {drone.id: 0}))
        notes: list[str] = []
        controller.add_observer(lambda e: notes.append(e.text) if e.kind is FleetEventKind.NOTE
                             else None)
        controller.start()
        summary = controller.run_until_done(timeout_wall_s=240.0)
        controller.stop()
        assert f"{drone.id}: signing with its kept key" in notes
        assert summary.delivered == 1 and summary.failed == 0, summary
    finally:
        sim.stop()
        store.close()
