"""The console's real backend over a simulated fleet: views pushed, actions answered.

A recording sink stands in for the console (the backend contract is the sink plus the action
methods); one test also mounts the Textual app on the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from groundcontrol.console.fleet_backend import FleetConsoleBackend
from groundcontrol.console.model import (
    EventView,
    MapView,
    OrderStatus,
    OrderView,
    VehicleState,
    VehicleView,
)
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.model import FleetConfig, SimClock, SimCrew
from groundcontrol.fleet.setup import sim_endpoints, start_sim
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario

pytestmark = pytest.mark.sim

SPEEDUP = 50.0
FOLDER = resolve_scenario("canberra")
NEAR = (-35.2269, 149.1421)
"""CBR-060's drop-off, about 1 km from the Mitchell depot."""


class RecordingSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vehicles: dict[str, VehicleView] = {}
        self.orders: dict[str, OrderView] = {}
        self.maps: list[MapView] = []
        self.events: list[EventView] = []

    def put_vehicle(self, view: VehicleView) -> None:
        with self.lock:
            self.vehicles[view.name] = view

    def put_order(self, view: OrderView) -> None:
        with self.lock:
            self.orders[view.id] = view

    def put_map(self, view: MapView) -> None:
        with self.lock:
            self.maps.append(view)

    def put_event(self, view: EventView) -> None:
        with self.lock:
            self.events.append(view)


def wait_for(predicate: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


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


def test_an_order_added_in_the_console_is_flown_and_shown_delivered(backend) -> None:
    sink = RecordingSink()
    backend.start(sink)
    assert sink.maps and {d.id for d in sink.maps[0].depots} == {"mitchell", "hume", "greenway"}
    assert len(sink.maps[0].zones) == len(backend.controller.scenario.airspace.zones)
    wait_for(lambda: "mit-q1" in sink.vehicles and sink.vehicles["mit-q1"].position, 10.0)

    refused = backend.add_order("mitchell", *NEAR, 9.0)
    assert not refused.ok and any("payload" in r for r in refused.reasons)
    result = backend.add_order("mitchell", *NEAR, 0.5)
    assert result.ok and result.order_id is not None
    order_id = result.order_id
    assert backend.plan(order_id).ok

    wait_for(lambda: sink.vehicles["mit-q1"].state in (VehicleState.EN_ROUTE,
                                                        VehicleState.DELIVERING), 60.0)
    flying = sink.vehicles["mit-q1"]
    assert flying.order_id == order_id and flying.armed and flying.mode == "AUTO"
    assert backend.cancel_order(order_id).ok is False  # the sortie has begun
    assert any(r.active for r in sink.maps[-1].routes)
    wait_for(lambda: sink.orders.get(order_id) is not None
             and sink.orders[order_id].status is OrderStatus.DELIVERED, 120.0)
    assert any("Gripper" in e.text for e in sink.events)
    assert any(e.source == "dispatch" and order_id in e.text for e in sink.events)
    wait_for(lambda: sink.vehicles["mit-q1"].state is VehicleState.IDLE, 30.0)
    assert backend.rtl("mit-q1").ok is False  # nothing to return from


def test_after_rtl_the_order_shows_the_return_and_then_the_outcome(backend) -> None:
    """Found in the console: after an RTL the order stayed plain "in flight" while its
    vehicle came back; now it says why, then follows the outcome (parcel back, flies again)."""
    sink = RecordingSink()
    backend.start(sink)
    wait_for(lambda: "mit-q1" in sink.vehicles and sink.vehicles["mit-q1"].position, 10.0)
    order_id = backend.add_order("mitchell", *NEAR, 0.5).order_id
    assert order_id is not None
    wait_for(lambda: sink.vehicles["mit-q1"].state is VehicleState.EN_ROUTE, 60.0)
    assert backend.rtl("mit-q1").ok

    def shown() -> OrderView | None:
        with sink.lock:
            return sink.orders.get(order_id)

    wait_for(lambda: (v := shown()) is not None and v.reason.startswith("returning: rtl"), 10.0)
    assert shown().status is OrderStatus.IN_FLIGHT  # the vehicle is still in the air
    wait_for(lambda: shown().status is not OrderStatus.IN_FLIGHT, 120.0)
    after = shown()
    assert after.status in (OrderStatus.PLANNED, OrderStatus.ASSIGNED), after
    assert "came back with the parcel" in after.reason and "aborted" in after.reason


@pytest.mark.tui
def test_the_console_app_runs_on_the_fleet_backend(backend) -> None:
    # No pytest async plugin is installed: run the Pilot test with asyncio.run.
    asyncio.run(asyncio.wait_for(_console_app_shows_the_fleet(backend), timeout=60.0))


async def _console_app_shows_the_fleet(backend: FleetConsoleBackend) -> None:
    from groundcontrol.console.app import ConsoleApp

    app = ConsoleApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            app.flush_updates()
            if "mit-q1" in app.vehicles and app.map_view.depots:
                break
        assert app.vehicles["mit-q1"].sysid == 1
        assert {d.id for d in app.map_view.depots} == {"mitchell", "hume", "greenway"}


DROPOFF_TEXT = (str(NEAR[0]), str(NEAR[1]))


@pytest.mark.tui
def test_an_order_entered_in_the_form_is_flown_and_shown_delivered(
        backend: FleetConsoleBackend) -> None:
    # No pytest async plugin is installed: run the Pilot test with asyncio.run.
    asyncio.run(asyncio.wait_for(_enter_an_order_and_watch_it(backend), timeout=240.0))


async def _enter_an_order_and_watch_it(backend: FleetConsoleBackend) -> None:
    from textual.widgets import Input

    from groundcontrol.console.app import ConsoleApp

    app = ConsoleApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, app, lambda: "mit-q1" in app.vehicles, 30.0)
        await pilot.press("a")
        await pilot.pause(0.2)
        lat, lon = DROPOFF_TEXT
        for field, text in (("depot", "mitchell"), ("lat", lat), ("lon", lon), ("payload", "0.8")):
            # Filled in, not typed: each Pilot key press waits for the app to go idle, which
            # a console receiving live telemetry seldom is (about 2 s a key).
            app.screen.query_one(f"#f-{field}", Input).value = text
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
        # Poll slowly: every redraw of the app takes the GIL from the simulated fleet.
        await pilot.pause(0.5)  # type: ignore[attr-defined]


def test_an_order_due_too_soon_is_offered_a_later_promise(backend) -> None:
    """Issue 12: the dispatcher's deadline refusal comes with the earliest due time it can
    keep; nothing is stored until the dispatcher accepts it, placed again with that due."""
    sink = RecordingSink()
    backend.start(sink)
    now = backend.controller.now_s()
    late = backend.add_order("mitchell", *NEAR, 0.5, due_s=now + 30.0, priority=5)
    assert not late.ok and late.offer_due_s is not None and late.offer_due_s > now + 30.0
    assert late.offer_due_s % 60.0 == 0.0 and "can be there by" in late.message
    assert backend.controller.store.orders() == [], "an offer stores nothing"
    accepted = backend.add_order("mitchell", *NEAR, 0.5, due_s=late.offer_due_s, priority=5)
    assert accepted.ok, accepted.reasons
    (stored,) = backend.controller.store.orders()
    assert stored.order.due_s == late.offer_due_s and stored.order.priority == 5
    wait_for(lambda: accepted.order_id in sink.orders, 5.0)
    view = sink.orders[str(accepted.order_id)]
    assert view.promised_s == late.offer_due_s and view.priority == 5
    assert view.eta_s is not None and view.eta_s <= late.offer_due_s
    past = backend.add_order("mitchell", *NEAR, 0.5, due_s=now - 60.0)
    assert not past.ok and "is not after now" in past.message
