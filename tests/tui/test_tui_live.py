"""A dispatcher types an order into the console and watches it delivered by a simulated drone.

The whole chain with nothing stubbed: the Textual app driven by its Pilot (keys into the order
form), the real console backend, the fleet controller and dispatcher, the SQLite store, the
MAVLink ground station and the built-in simulator flying the mission faster than real time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundcontrol.console_backend import FleetConsoleBackend
from groundcontrol.fleet import FleetController
from groundcontrol.fleet_model import FleetConfig, SimClock, SimCrew
from groundcontrol.fleet_setup import sim_endpoints, start_sim
from groundcontrol.scenarios import resolve_scenario
from groundcontrol.store import Store
from groundcontrol.tui.model import OrderStatus
from planner.load import load_scenario

pytestmark = [pytest.mark.sim, pytest.mark.tui]

SPEEDUP = 50.0
FOLDER = resolve_scenario("canberra")
DROPOFF = ("-35.2269", "149.1421")
"""About 1 km from the Mitchell depot (CBR-060's drop-off)."""


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[FleetConsoleBackend]:
    full = load_scenario(FOLDER)
    scenario = dataclasses.replace(full, fleet=full.fleet[:1], orders=())
    sim = start_sim(scenario, FOLDER, SPEEDUP)
    store = Store.open(tmp_path / "console.sqlite")
    controller = FleetController(
        scenario, store, sim_endpoints(scenario, sim), SimClock(sim, 60.0),
        config=FleetConfig(speedup=SPEEDUP, configure=True),
        crew=SimCrew(sim, {scenario.fleet[0].id: 0}))
    controller.start()
    console = FleetConsoleBackend(controller, "test", refresh_s=0.1)
    try:
        yield console
    finally:
        console.stop()
        controller.stop()
        sim.stop()
        store.close()


def test_an_order_typed_into_the_form_is_flown_and_shown_delivered(
        backend: FleetConsoleBackend) -> None:
    # No pytest async plugin is installed: run the Pilot test with asyncio.run.
    asyncio.run(asyncio.wait_for(_type_an_order_and_watch_it(backend), timeout=240.0))


async def _type_an_order_and_watch_it(backend: FleetConsoleBackend) -> None:
    from textual.widgets import Input

    from groundcontrol.tui.app import ConsoleApp

    app = ConsoleApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, app, lambda: "mit-q1" in app.vehicles, 30.0)
        await pilot.press("a")
        await pilot.pause(0.2)
        for field, text in (("depot", "mitchell"), ("lat", DROPOFF[0]), ("lon", DROPOFF[1]),
                            ("payload", "0.8")):
            box = app.screen.query_one(f"#f-{field}", Input)
            box.focus()
            box.value = ""
            await pilot.press(*text)
        await pilot.press("ctrl+s")
        await _until(pilot, app, lambda: len(app.orders) == 1, 30.0)
        (order_id,) = app.orders
        assert app.orders[order_id].payload_kg == pytest.approx(0.8)
        await _until(pilot, app,
                     lambda: app.orders[order_id].status is OrderStatus.DELIVERED, 200.0)
        delivered = app.orders[order_id]
        assert delivered.vehicle == "mit-q1"  # who flew it stays visible once delivered
        assert delivered.plan is not None and delivered.plan.distance_m > 500


async def _until(pilot: object, app: object, condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        app.flush_updates()  # type: ignore[attr-defined]
        if condition():  # type: ignore[operator]
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.1)  # type: ignore[attr-defined]
