"""Issue 12: ``console --sim --store c.db`` quit while a drone flies, then started again.

The built-in simulator lives in the console's process: its drones stop with it and start
again on their pads. The resumed console must carry on (the order in the air flies again from
the depot and is delivered), not fail it for want of evidence from a vehicle that never flew.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from groundcontrol.cli.demo import build_sim_controller
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.setup import start_sim
from groundcontrol.fleet.store.sqlite import OrderState, Store
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario
from planner.model import LatLon, Order
from planner.scenario import Scenario

pytestmark = pytest.mark.sim

SPEEDUP = 50.0
FOLDER = resolve_scenario("canberra")
NEAR = LatLon(-35.2269, 149.1421)
"""CBR-060's drop-off, about 1 km from the Mitchell depot."""


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not reached in {timeout_s:.0f} s"
        time.sleep(0.1)


def _args() -> argparse.Namespace:
    return argparse.Namespace(orders=None, time_scale=1.0, speedup=SPEEDUP, margin=30.0)


def _state(controller: FleetController, order_id: str) -> OrderState:
    return controller.store.order(order_id).state


def _session(scenario: Scenario, db: Path, body: Callable[[FleetController], None]) -> None:
    sim = start_sim(scenario, FOLDER, SPEEDUP)
    try:
        with Store.open(db) as store:
            controller = build_sim_controller(scenario, FOLDER, sim, store, _args())
            controller.start()
            try:
                body(controller)
            finally:
                controller.stop()
    finally:
        sim.stop()


def test_a_resumed_sim_console_flies_the_order_that_was_in_the_air_again(
        tmp_path: Path) -> None:
    full = load_scenario(FOLDER)
    scenario = dataclasses.replace(full, fleet=full.fleet[:1], orders=())
    db = tmp_path / "c.db"

    def first(controller: FleetController) -> None:
        controller.add_order(Order("C001", "mitchell", NEAR, 0.5, created_s=controller.now_s()))
        wait_for(lambda: _state(controller, "C001") is OrderState.IN_FLIGHT
                 and (controller.trackers["mit-q1"].snapshot().alt_rel_m or 0.0) > 10.0, 90.0,
                 "the drone in the air")

    def second(controller: FleetController) -> None:
        # Before the fix: failed at once ("resync: the flight ended while the controller was
        # down; delivery not confirmed").
        assert _state(controller, "C001") is not OrderState.FAILED, controller.why
        assert "flies again" in controller.why["C001"]
        wait_for(lambda: _state(controller, "C001") is OrderState.DELIVERED, 120.0,
                 "delivered after the restart")

    _session(scenario, db, first)
    _session(scenario, db, second)
    with sqlite3.connect(db) as conn:
        outcomes = [o for (o,) in conn.execute(
            "SELECT outcome FROM flights WHERE order_id = 'C001' ORDER BY id")]
    assert outcomes == ["aborted", "delivered"], outcomes


def test_an_order_dropped_off_before_the_quit_is_delivered_once_after_the_resume(
        tmp_path: Path) -> None:
    """Seen in tmux: quit while a drone flew home from a drop-off; the resumed console must
    count the delivery, not fly the parcel again."""
    full = load_scenario(FOLDER)
    scenario = dataclasses.replace(full, fleet=full.fleet[:1], orders=())
    db = tmp_path / "c.db"

    def first(controller: FleetController) -> None:
        controller.add_order(Order("C001", "mitchell", NEAR, 0.5, created_s=controller.now_s()))
        wait_for(lambda: "C001" in controller.delivered_at, 120.0, "the release")
        assert _state(controller, "C001") is OrderState.IN_FLIGHT

    def second(controller: FleetController) -> None:
        assert _state(controller, "C001") is OrderState.DELIVERED
        assert "C001" in controller.delivered_at
        assert not controller.jobs  # nothing flies it again

    _session(scenario, db, first)
    _session(scenario, db, second)
    with sqlite3.connect(db) as conn:
        outcomes = [o for (o,) in conn.execute(
            "SELECT outcome FROM flights WHERE order_id = 'C001' ORDER BY id")]
    assert outcomes == ["delivered"], outcomes
