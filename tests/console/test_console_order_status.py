"""Issue 12: what the console says about an order and its drone, on the real backend over the
built-in simulator: delivered at the release (not at the landing), a paused drone says so with
no ETA, the ETA on the way back is the live landing estimate, and "Land here" ends as what it
is (landed away from the depot on operator request), not as a MIS_OPTIONS fault."""

from __future__ import annotations

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
from groundcontrol.fleet.store.sqlite import OrderState, Store
from groundcontrol.flight.preflight import distance_m
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario

pytestmark = pytest.mark.sim

SPEEDUP = 50.0
FOLDER = resolve_scenario("canberra")
NEAR = (-35.2269, 149.1421)
"""CBR-060's drop-off, about 1 km from the Mitchell depot."""
DRONE = "mit-q1"


class Sink:
    """Keeps the latest view of each vehicle and order, as the console does."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vehicles: dict[str, VehicleView] = {}
        self.orders: dict[str, OrderView] = {}

    def put_vehicle(self, view: VehicleView) -> None:
        with self.lock:
            self.vehicles[view.name] = view

    def put_order(self, view: OrderView) -> None:
        with self.lock:
            self.orders[view.id] = view

    def put_map(self, view: MapView) -> None:
        pass

    def put_event(self, view: EventView) -> None:
        pass

    def vehicle(self) -> VehicleView:
        with self.lock:
            return self.vehicles[DRONE]

    def order(self, order_id: str) -> OrderView | None:
        with self.lock:
            return self.orders.get(order_id)


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not reached in {timeout_s:.0f} s"
        time.sleep(0.05)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[FleetConsoleBackend, Sink]]:
    full = load_scenario(FOLDER)
    scenario = dataclasses.replace(full, fleet=full.fleet[:1], orders=())
    sim = start_sim(scenario, FOLDER, SPEEDUP)
    store = Store.open(tmp_path / "console.sqlite")
    controller = FleetController(
        scenario, store, sim_endpoints(scenario, sim), SimClock(sim, 60.0),
        config=FleetConfig(speedup=SPEEDUP, configure=True),
        crew=SimCrew(sim, {DRONE: 0}))
    controller.start()
    backend = FleetConsoleBackend(controller, "test", refresh_s=0.1)
    sink = Sink()
    try:
        backend.start(sink)
        wait_for(lambda: DRONE in sink.vehicles and sink.vehicle().position, 10.0, "telemetry")
        yield backend, sink
    finally:
        backend.stop()
        controller.stop()
        sim.stop()
        store.close()


def _fly(backend: FleetConsoleBackend, sink: Sink) -> str:
    order_id = backend.add_order("mitchell", *NEAR, 0.5).order_id
    assert order_id is not None
    wait_for(lambda: sink.vehicle().state is VehicleState.EN_ROUTE
             and (sink.vehicle().alt_m or 0.0) > 20.0, 90.0, "en route")
    return order_id


def test_a_paused_drone_says_paused_with_no_eta(fleet) -> None:
    backend, sink = fleet
    _fly(backend, sink)
    assert backend.pause(DRONE).ok
    wait_for(lambda: sink.vehicle().state is VehicleState.PAUSED, 20.0, "shown paused")
    assert sink.vehicle().eta_s is None  # held: was "en route" with ETA 0 s
    assert backend.resume(DRONE).ok
    wait_for(lambda: sink.vehicle().state is VehicleState.EN_ROUTE, 20.0, "resumed")


def test_delivered_at_the_release_then_the_live_landing_eta(fleet) -> None:
    backend, sink = fleet
    controller = backend.controller
    order_id = _fly(backend, sink)
    # Delivered as soon as the flight reports the release, while the drone is still out.
    wait_for(lambda: (o := sink.order(order_id)) is not None
             and o.status is OrderStatus.DELIVERED, 120.0, "shown delivered")
    shown = sink.order(order_id)
    assert shown is not None and shown.reason.startswith("dropped off at ")
    assert shown.time_left_s is None
    assert controller.store.order(order_id).state is OrderState.IN_FLIGHT  # not landed yet

    # On the way back the ETA is the flight's live landing estimate, not the schedule.
    wait_for(lambda: order_id in controller.landing_at and sink.vehicle().armed
             and sink.vehicle().state is VehicleState.RETURNING, 60.0, "a landing estimate")
    now = controller.now_s()
    job = controller.jobs[DRONE]
    eta = controller.eta_s(job, now)
    assert eta == controller.landing_at[order_id][0]
    assert eta is not None and eta > now


def test_land_here_ends_as_landed_away_on_operator_request(fleet) -> None:
    backend, sink = fleet
    controller = backend.controller
    order_id = _fly(backend, sink)
    depot = controller.scenario.depot_by_id("mitchell")
    assert depot is not None

    def away_m() -> float:
        p = sink.vehicle().position
        return 0.0 if p is None else distance_m(p.lat, p.lon, depot.position.lat,
                                                depot.position.lon)

    wait_for(lambda: away_m() > 300.0, 60.0, "300 m from the depot")
    assert backend.land(DRONE).ok
    wait_for(lambda: controller.store.order(order_id).state is not OrderState.IN_FLIGHT,
             120.0, "the flight's end")
    why = controller.why[order_id]
    # Before: "aborted by the operator: ... unless MIS_OPTIONS bit 2 (ContinueAfterLand) is set"
    assert "landed away from the depot on operator request" in why, why
    assert "needs recovery" in why and "MIS_OPTIONS" not in why, why
    assert "landed away from the depot on operator request" in controller.faults[DRONE]
    wait_for(lambda: sink.vehicle().state is VehicleState.FAULT, 10.0, "drone shown faulted")
    assert "operator request" in sink.vehicle().fault
