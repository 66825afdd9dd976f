"""Crash and restart: ``drone-delivery run`` killed with SIGKILL during flights, then run again.

The simulated drones live in this test process (they keep flying while the controller is
dead); the controller is a subprocess working on a store file. After the restart every order
must end delivered exactly once or failed with a reason: checked in the store and against the
simulator's own record of where each parcel was released.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundcontrol.fleet.setup import start_sim
from groundcontrol.flight.preflight import distance_m
from planner.load import load_scenario
from planner.scenario import Scenario

pytestmark = pytest.mark.sim

SPEEDUP = 50.0
ORDERS = ("CBR-060", "CBR-061", "CBR-013")
"""The three shortest Mitchell deliveries, one per drone."""
ROOT = Path(__file__).resolve().parents[2]


def open_flights(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM flights WHERE outcome IS NULL")
                       .fetchone()[0])
        except sqlite3.OperationalError:  # schema not created yet
            return 0


@pytest.fixture
def sim_scenario(tmp_path: Path, canberra_copy) -> Iterator[tuple[Path, Scenario, object]]:
    folder = canberra_copy(tmp_path / "scenario", 3, ORDERS, 10.0)
    scenario = load_scenario(folder)
    sim = start_sim(scenario, folder, SPEEDUP)
    try:
        yield folder, scenario, sim
    finally:
        sim.stop()  # type: ignore[attr-defined]


def count_releases(sim: object, scenario: Scenario) -> dict[str, int]:
    """Wrap each vehicle's gripper: order id -> how many times its parcel was released."""
    counts: dict[str, int] = {}
    for i, _ in enumerate(scenario.fleet):
        vehicle = sim.vehicle(i)  # type: ignore[attr-defined]
        original = vehicle.gripper.release

        def release(from_mission: bool, v=vehicle, original=original) -> None:
            lat, lon = v.latlon()
            near = [o.id for o in scenario.orders
                    if distance_m(lat, lon, o.dropoff.lat, o.dropoff.lon) < 30.0]
            key = near[0] if near else f"elsewhere {lat:.5f},{lon:.5f}"
            counts[key] = counts.get(key, 0) + 1
            original(from_mission)

        vehicle.gripper.release = release
    return counts


def test_killed_controller_resumes_and_every_order_ends_once(sim_scenario, tmp_path) -> None:
    folder, scenario, sim = sim_scenario
    released = count_releases(sim, scenario)
    db = tmp_path / "run.sqlite"
    command = [sys.executable, "-m", "groundcontrol.cli.main", "run", str(folder),
               "--connect", ",".join(sim.endpoints), "--store", str(db),  # type: ignore[attr-defined]
               "--speedup", str(SPEEDUP), "--configure", "--timeout", "300"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with first_log.open("w") as out:
        first = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 env=env)
        deadline = time.monotonic() + 120.0
        while open_flights(db) < 2:
            assert first.poll() is None, first_log.read_text()
            assert time.monotonic() < deadline, "no flights under way in time\n" + \
                first_log.read_text()
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(10.0)
    with sqlite3.connect(db) as conn:
        in_air = {o for (o,) in conn.execute(
            "SELECT order_id FROM flights WHERE outcome IS NULL AND launched_s IS NOT NULL")}
    flying = [i for i in range(len(scenario.fleet))
              if sim.call(lambda i=i: sim.vehicle(i).armed)]  # type: ignore[attr-defined]
    assert len(flying) >= 2, "the kill should leave drones in the air"

    with second_log.open("w") as out:
        second = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=env, timeout=300.0)
    log = second_log.read_text()
    assert second.returncode == 0, log
    assert "resuming" in log and "re-attached" in log, log

    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT id, state FROM orders").fetchall())
        delivered_flights = conn.execute(
            "SELECT order_id, COUNT(*) FROM flights WHERE outcome = 'delivered' "
            "GROUP BY order_id").fetchall()
        failed_why = dict(conn.execute(
            "SELECT order_id, data FROM events WHERE kind = 'order' AND "
            "data LIKE '%\"to\": \"failed\"%'").fetchall())
    assert set(states) == set(ORDERS), "an order was lost"
    assert set(states.values()) <= {"delivered", "failed"}, states
    assert all(n == 1 for _, n in delivered_flights)
    for oid, state in states.items():
        if state == "delivered":
            assert released.get(oid) == 1, (oid, released)
        else:
            assert json.loads(failed_why[oid])["why"], oid
            assert released.get(oid, 0) <= 1, (oid, released)
    assert not [k for k in released if k.startswith("elsewhere")], released
    assert sum(s == "delivered" for s in states.values()) >= 2, (states, log)
    # A ground-station restart does not end the deliveries in the air: the vehicles fly on
    # through the gap (FS_OPTIONS: GCS failsafe continues AUTO) and the new run re-attaches.
    assert in_air and all(states[o] == "delivered" for o in in_air), (in_air, states, log)
