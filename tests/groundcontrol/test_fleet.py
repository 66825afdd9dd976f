"""FleetController against the built-in simulator: orders dispatched, flown and recorded.

Each test runs a few short Mitchell deliveries of the Canberra scenario on 1-3 simulated drones
at speedup 50. What is checked comes from three independent places: the store (order states,
flights), the simulator (where each parcel was really released, which vehicle flew), and the
dispatcher's decisions.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from groundcontrol.cli.main import main as cli_main
from groundcontrol.fleet.controller import FleetActionError, FleetController
from groundcontrol.fleet.model import FleetConfig, SimClock, SimCrew
from groundcontrol.fleet.setup import sim_endpoints, start_sim
from groundcontrol.fleet.store.sqlite import OrderState, Store, replay
from groundcontrol.flight.preflight import distance_m
from groundcontrol.scenarios import resolve_scenario
from planner.calibrate import errors, sample_from_record
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import Assign, DepotModel, DroneLanded, OrderPlaced, SortieProgress
from planner.load import load_scenario
from planner.model import Order
from planner.plan import Planner
from planner.scenario import Scenario
from planner.vehicle import load_profile

pytestmark = pytest.mark.sim

SPEEDUP = 50.0
SHORT = ("CBR-060", "CBR-061", "CBR-013")
"""The three shortest Mitchell deliveries (about 5, 6 and 8 minutes of flight)."""
FOLDER = resolve_scenario("canberra")


def small_scenario(drones: int, order_ids: tuple[str, ...], start_s: float = 100.0,
                   gap_s: float = 10.0) -> Scenario:
    """Canberra with the first ``drones`` Mitchell quads and the given orders, placed early."""
    full = load_scenario(FOLDER)
    by_id = {o.id: o for o in full.orders}
    orders = tuple(dataclasses.replace(by_id[oid], created_s=start_s + gap_s * i)
                   for i, oid in enumerate(order_ids))
    return dataclasses.replace(full, fleet=full.fleet[:drones], orders=orders)


class Releases:
    """Where and by which vehicle the simulator released a parcel (DO_GRIPPER ran)."""

    def __init__(self, sim: object, scenario: Scenario) -> None:
        self.by_vehicle: list[list[tuple[float, float]]] = []
        for i, _ in enumerate(scenario.fleet):
            vehicle = sim.vehicle(i)  # type: ignore[attr-defined]
            seen: list[tuple[float, float]] = []
            original = vehicle.gripper.release

            def release(from_mission: bool, v=vehicle, seen=seen, original=original) -> None:
                seen.append(v.latlon())
                original(from_mission)

            vehicle.gripper.release = release
            self.by_vehicle.append(seen)

    def orders_released(self, orders: tuple[Order, ...]) -> list[tuple[int, str]]:
        """(vehicle index, order id) per release, matched by the drop-off within 30 m."""
        out = []
        for i, places in enumerate(self.by_vehicle):
            for lat, lon in places:
                near = [o.id for o in orders
                        if distance_m(lat, lon, o.dropoff.lat, o.dropoff.lon) < 30.0]
                out.append((i, near[0] if near else "?"))
        return out


@pytest.fixture
def fleet_run(tmp_path: Path) -> Iterator[object]:
    """``fleet_run(scenario, **config) -> (controller, sim, store, releases)``, cleaned up."""
    started: list[tuple[FleetController, object, Store]] = []

    def make(scenario: Scenario, **config: object) -> tuple[FleetController, object, Store,
                                                            Releases]:
        sim = start_sim(scenario, FOLDER, SPEEDUP)
        store = Store.open(tmp_path / "fleet.sqlite")
        cfg = FleetConfig(speedup=SPEEDUP, configure=True, **config)  # type: ignore[arg-type]
        crew = SimCrew(sim, {d.id: i for i, d in enumerate(scenario.fleet)})
        controller = FleetController(scenario, store, sim_endpoints(scenario, sim),
                                     SimClock(sim, 60.0), config=cfg, crew=crew)
        started.append((controller, sim, store))
        return controller, sim, store, Releases(sim, scenario)

    yield make
    for controller, sim, store in started:
        controller.stop()
        sim.stop()  # type: ignore[attr-defined]
        store.close()


def wait_for(predicate: Callable[[], object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def flights(store: Store) -> list[tuple[str, str, str | None]]:
    """(order id, drone id, outcome) of every flight, read with a connection of our own."""
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT order_id, drone_id, outcome FROM flights ORDER BY id").fetchall()


def test_three_orders_on_three_drones_are_delivered_once_each(fleet_run) -> None:
    scenario = small_scenario(3, SHORT)
    controller, _, store, releases = fleet_run(scenario)
    controller.start()
    summary = controller.run_until_done(timeout_wall_s=240.0)

    assert summary.delivered == 3 and summary.open == 0 and summary.failed == 0
    assert {s.order.id: s.state for s in store.orders()} == dict.fromkeys(
        SHORT, OrderState.DELIVERED)
    recorded = flights(store)
    assert sorted(o for o, _, outcome in recorded if outcome == "delivered") == sorted(SHORT)
    assert all(outcome is not None for _, _, outcome in recorded), "a flight left open"
    # The simulator agrees: one release per order, at its drop-off, by the drone recorded.
    physical = releases.orders_released(scenario.orders)
    assert sorted(oid for _, oid in physical) == sorted(SHORT)
    drone_of = {o: d for o, d, outcome in recorded if outcome == "delivered"}
    assert {oid: scenario.fleet[i].id for i, oid in physical} == drone_of
    assert summary.on_time == 3 and summary.mean_delivery_s is not None
    assert 0 < summary.mean_delivery_s < scenario.promise_s
    # Checked and uploaded during the turnaround, each drone held on the pad for its slot.
    with sqlite3.connect(store.path) as db:
        slots = db.execute("SELECT f.order_id, f.launched_s, a.launch_at_s FROM flights f "
                           "JOIN assignments a ON a.id = f.assignment_id").fetchall()
    assert len(slots) == 3
    for order_id, launched_s, slot_s in slots:
        assert launched_s >= slot_s, (order_id, launched_s, slot_s)
    # Every dispatcher input was recorded, so a replay rebuilds the same decisions.
    assert len(store.load_state().dispatch_events) >= 3
    # Each delivery keeps its planned-against-flown record.
    records = dict(store.flight_records())
    assert sorted(records) == sorted(SHORT)
    for record in records.values():
        assert record["planned_s"] and record["flown_s"] and record["used_wh"]
    # ... which calibrate fits the flown profile to.
    out = store.path.parent / "calibrated"
    assert cli_main(["calibrate", "--store", str(store.path), "--out", str(out)]) == 0
    fitted = load_profile(out / f"{scenario.fleet[0].profile}.json")
    samples = [sample_from_record(r) for r in records.values()]
    # The built-in profile is already calibrated on SITL: the fit stays as close to these
    # flights (worst time and energy error), where a wrong profile is far off. The energy
    # bound leaves room for the ground station's reaction times (hover while a command is
    # acknowledged), which grow in simulated seconds when CI's 2 cores are loaded: 5.7 % seen.
    flown = [s for s in samples if s]
    time_err, energy_err = errors(fitted, flown)
    assert time_err[1] < 0.03 and energy_err is not None and energy_err[1] < 0.08
    wrong = dataclasses.replace(scenario.profile_for(scenario.fleet[0]), cruise_speed_ms=15.0)
    assert errors(wrong, flown)[0][1] > 0.1


def test_a_flight_slower_than_its_plan_moves_the_next_sortie(fleet_run) -> None:
    # A profile that climbs and descends far faster than the airframe does: every flight
    # runs about a minute late, which live progress tells the dispatcher while it flies.
    base = small_scenario(1, SHORT[:2])
    name = base.fleet[0].profile
    quick = dataclasses.replace(base.profiles[name], climb_speed_ms=9.0, descent_speed_ms=6.0)
    scenario = dataclasses.replace(base, profiles={**base.profiles, name: quick})
    controller, _, store, _ = fleet_run(scenario)
    controller.start()
    summary = controller.run_until_done(timeout_wall_s=300.0)
    assert summary.delivered == 2
    state = store.load_state()
    moves = [(t, e) for t, e in state.dispatch_events if isinstance(e, SortieProgress)]
    assert moves, "no live landing estimate reached the dispatcher"
    first_plan = next(d.sortie for _, d in state.decisions
                      if isinstance(d, Assign) and d.order_id == SHORT[0])
    landed = next(t for t, e in state.dispatch_events
                  if isinstance(e, DroneLanded) and e.order_id == SHORT[0])
    estimate = [e.land_s for _, e in moves if e.order_id == SHORT[0]][-1]
    assert landed - first_plan.land_s > 40.0  # it was late ...
    assert abs(estimate - landed) < abs(first_plan.land_s - landed) / 2  # ... and foreseen
    # The second sortie was re-planned on the estimate, before the first one landed.
    second = [(t, d.sortie) for t, d in state.decisions
              if isinstance(d, Assign) and d.order_id == SHORT[1]]
    assert any(t < landed and s.launch_s > second[0][1].launch_s + 30.0 for t, s in second)
    # The estimates are dispatcher inputs like any other: a replay gives the same decisions.
    replay(state, controller._new_dispatcher())


def test_cancel_before_launch_flies_nothing_for_it(fleet_run) -> None:
    # One drone, two orders: the second waits for the first flight, so it can be cancelled.
    scenario = small_scenario(1, SHORT[:2])
    controller, _, store, releases = fleet_run(scenario)
    controller.start()
    wait_for(lambda: controller.jobs and len(store.orders()) == 2, 60.0)
    flying = next(iter(controller.jobs.values())).order_id
    waiting = next(oid for oid in SHORT[:2] if oid != flying)
    assert store.order(waiting).state is OrderState.ASSIGNED

    answer = controller.cancel(waiting)
    assert answer.cancelled
    refused = controller.cancel(flying)
    assert not refused.cancelled and "begun" in refused.reason
    summary = controller.run_until_done(timeout_wall_s=180.0)

    assert store.order(waiting).state is OrderState.CANCELLED
    assert store.order(flying).state is OrderState.DELIVERED
    assert [o for o, _, _ in flights(store)] == [flying]
    assert [oid for _, oid in releases.orders_released(scenario.orders)] == [flying]
    assert summary.cancelled == 1 and summary.delivered == 1


def _first_choice(scenario: Scenario, order: Order) -> str:
    """The drone the dispatcher gives ``order`` (pure and seeded: computed here the same way)."""
    planner = Planner(scenario.airspace, scenario.depots, margin_m=30.0)
    dispatcher = Dispatcher(fleet_of(scenario), {d.id: DepotModel(d.id) for d in scenario.depots},
                            planner_plan_fn(planner), promise_s=scenario.promise_s)
    decisions = dispatcher.handle(OrderPlaced(order), order.created_s)
    return next(d.drone_id for d in decisions if isinstance(d, Assign))


def test_a_drone_fault_replans_its_order_to_another_drone(fleet_run) -> None:
    scenario = small_scenario(2, SHORT[:1])
    order = scenario.orders[0]
    broken = _first_choice(scenario, order)
    other = next(d.id for d in scenario.fleet if d.id != broken)
    controller, sim, store, releases = fleet_run(scenario)
    index = [d.id for d in scenario.fleet].index(broken)
    sim.drain_battery(index, 12_000.0)  # 14 % left: its pre-flight battery check fails

    controller.start()
    summary = controller.run_until_done(timeout_wall_s=180.0)

    assert summary.delivered == 1
    assert broken in controller.faults and "battery" in controller.faults[broken]
    assert flights(store) == [(order.id, other, "delivered")]
    assert releases.orders_released(scenario.orders) == [(1 - index, order.id)]
    decisions = [d for _, d in store.load_state().decisions if isinstance(d, Assign)]
    assert [d.drone_id for d in decisions][:1] == [broken]
    assert decisions[-1].drone_id == other


def test_actions_name_the_problem(fleet_run) -> None:
    scenario = small_scenario(1, ())
    controller, _, _, _ = fleet_run(scenario)
    controller.start()
    with pytest.raises(FleetActionError, match="not flying"):
        controller.command(scenario.fleet[0].id, "rtl")
    with pytest.raises(FleetActionError, match="unknown drone"):
        controller.command("nope", "pause")
    with pytest.raises(FleetActionError, match="unknown action"):
        controller.command(scenario.fleet[0].id, "loop")


def test_orders_and_cancellations_stored_by_another_process_are_picked_up(
        fleet_run, tmp_path: Path) -> None:
    # What `drone-delivery order add/cancel --store` do: their own connection to the file.
    scenario = small_scenario(1, SHORT[:2])
    first, second = scenario.orders
    controller, _, store, releases = fleet_run(dataclasses.replace(scenario, orders=()))
    controller.start()
    with Store.open(store.path) as other:
        other.add_orders([first, second], 100.0, source="cli")
        wait_for(lambda: controller.jobs and store.order(second.id).state is
                 OrderState.ASSIGNED, 60.0)
        flying = next(iter(controller.jobs.values())).order_id
        waiting = second.id if flying == first.id else first.id
        assert other.request_cancel(waiting, 120.0) is OrderState.ASSIGNED  # asks the dispatcher
        wait_for(lambda: store.order(waiting).state is OrderState.CANCELLED, 30.0)
    summary = controller.run_until_done(timeout_wall_s=120.0)
    assert summary.delivered == 1 and summary.cancelled == 1
    assert [oid for _, oid in releases.orders_released(scenario.orders)] == [flying]
