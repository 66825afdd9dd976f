"""Issue 12: the console's vehicle screen (``v``) on the built-in simulator fleet: parameters
found, read and set; a mode change; refusals while the drone flies a delivery, with reading
and downloading still allowed."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.fleet_backend import FleetConsoleBackend
from groundcontrol.console.model import ActionResult, VehicleState
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.console.screens.vehicle_ops import OPERATE_ACTION, VehicleOpsScreen
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.model import FleetConfig, SimClock, SimCrew
from groundcontrol.fleet.setup import sim_endpoints, start_sim
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario

pytestmark = [pytest.mark.sim, pytest.mark.tui]

SPEEDUP = 50.0
FOLDER = resolve_scenario("canberra")
NEAR = (-35.2269, 149.1421)
"""CBR-060's drop-off, about 1 km from the Mitchell depot."""


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
    backend = FleetConsoleBackend(controller, "test", refresh_s=0.1)
    try:
        yield backend
    finally:
        backend.stop()
        controller.stop()
        sim.stop()
        store.close()


async def _until(pilot: object, app: ConsoleApp, condition: Callable[[], object],
                 timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        app.flush_updates()
        if condition():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.3)  # type: ignore[attr-defined]


async def _open(pilot: object, app: ConsoleApp) -> VehicleOpsScreen:
    await _until(pilot, app, lambda: "mit-q1" in app.vehicles, 30.0)
    await pilot.press("v")  # type: ignore[attr-defined]
    await _until(pilot, app, lambda: isinstance(app.screen, VehicleOpsScreen), 10.0)
    assert isinstance(app.screen, VehicleOpsScreen)
    return app.screen


async def _answer(pilot: object, app: ConsoleApp, screen: VehicleOpsScreen, what: str,
                  confirm: bool = False, **fields: str) -> ActionResult:
    """Fill the fields (set, not typed: a console under live telemetry takes ~2 s a key),
    press the button ``what``, say yes when asked, and wait for the answer."""
    for name, text in fields.items():
        screen.query_one(f"#{name}", Input).value = text
    before = len(screen.results)
    screen.request(what)
    if confirm:
        await _until(pilot, app, lambda: isinstance(app.screen, ConfirmScreen)
                     and app.screen.query("#no"), 5.0)
        assert isinstance(app.screen, ConfirmScreen)
        app.screen.action_answer(True)
    await _until(pilot, app, lambda: len(screen.results) > before, 30.0)
    return screen.results[-1]


def test_parameters_and_a_mode_change_from_the_vehicle_screen(
        backend: FleetConsoleBackend) -> None:
    asyncio.run(asyncio.wait_for(_parameters_and_mode(backend), timeout=120.0))


async def _parameters_and_mode(backend: FleetConsoleBackend) -> None:
    app = ConsoleApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app)
        found = await _answer(pilot, app, screen, "find", **{"param-name": "wpnav_sp"})
        assert found.ok and "match 'WPNAV_SP'" in found.message, found
        assert any(line.startswith("WPNAV_SPEED ") for line in found.details), found
        bad = await _answer(pilot, app, screen, "set", **{"param-name": "WPNAV_SPEED",
                                                          "param-value": "fast"})
        assert not bad.ok and "not a number" in bad.message
        done = await _answer(pilot, app, screen, "set", confirm=True,
                             **{"param-name": "WPNAV_SPEED", "param-value": "1234"})
        assert done.ok and done.message.startswith("WPNAV_SPEED = 1234 (echoed)"), done
        read = await _answer(pilot, app, screen, "read", **{"param-name": "wpnav_speed"})
        assert read.ok and read.message == "WPNAV_SPEED = 1234"
        screen.query_one("#mode", Select).value = "GUIDED"
        mode = await _answer(pilot, app, screen, "set-mode", confirm=True)
        assert mode.ok and mode.message == "mode GUIDED", mode
        await _until(pilot, app, lambda: app.vehicles["mit-q1"].mode == "GUIDED", 10.0)
        logged = [a for a in app.actions_done if a.action == OPERATE_ACTION]
        assert len(logged) == 4 and logged[-1].result.message == "mode GUIDED"  # the event log


def test_refusals_while_the_drone_flies_a_delivery(backend: FleetConsoleBackend,
                                                    tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_refusals_while_flying(backend, tmp_path), timeout=180.0))


async def _refusals_while_flying(backend: FleetConsoleBackend, tmp_path: Path) -> None:
    app = ConsoleApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        order_id = backend.add_order("mitchell", *NEAR, 0.5).order_id
        assert order_id is not None
        await _until(pilot, app, lambda: "mit-q1" in app.vehicles
                     and app.vehicles["mit-q1"].state is VehicleState.EN_ROUTE, 90.0)
        screen = await _open(pilot, app)
        disarm = await _answer(pilot, app, screen, "disarm", confirm=True)
        assert not disarm.ok
        assert order_id in disarm.message and "pause" in disarm.message \
            and "abort" in disarm.message, disarm
        screen.query_one("#mode", Select).value = "LOITER"
        mode = await _answer(pilot, app, screen, "set-mode", confirm=True)
        assert not mode.ok and order_id in mode.message
        read = await _answer(pilot, app, screen, "read", **{"param-name": "WPNAV_SPEED"})
        assert read.ok, read
        saved = tmp_path / "flying.plan"
        down = await _answer(pilot, app, screen, "download", path=str(saved))
        assert down.ok and saved.is_file(), down
        assert app.vehicles["mit-q1"].armed and app.vehicles["mit-q1"].mode == "AUTO"
