"""Replay (issue 12): a flight's tlog and a dispatch day's store played back in the console.

The tlog is real: the shortest Canberra delivery flown on the built-in simulator once per
session. The replay must reproduce what was flown: AUTO from the takeoff, the release text,
the cruise altitude, and the vehicle disarmed back on its depot.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest
from flown_tlog import FlownTlog, flown_tlog
from tui_fixtures import run_async

from groundcontrol.cli.fly import load_mission
from groundcontrol.console.model import (
    EkfHealth,
    EventView,
    MapView,
    OrderStatus,
    OrderView,
    VehicleState,
    VehicleView,
)
from groundcontrol.console.replay import (
    NOTHING_TO_COMMAND,
    PlaybackClock,
    ReplayBackend,
    TlogSource,
)
from groundcontrol.console.replay.app import ReplayApp
from groundcontrol.console.replay.store_source import StoreSource
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.store.sqlite import Store, VehicleSnapshot
from groundcontrol.scenarios import resolve_scenario
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import Assign, DepotModel, OrderPlaced
from planner.load import load_scenario
from planner.plan import Planner


class RecordingSink:
    """A ``ConsoleSink`` that keeps everything pushed, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vehicles: list[VehicleView] = []
        self.orders: list[OrderView] = []
        self.maps: list[MapView] = []
        self.events: list[EventView] = []
        self.clock: list[float] = []

    def put_vehicle(self, view: VehicleView) -> None:
        with self.lock:
            self.vehicles.append(view)

    def put_order(self, view: OrderView) -> None:
        with self.lock:
            self.orders.append(view)

    def put_map(self, view: MapView) -> None:
        with self.lock:
            self.maps.append(view)

    def put_event(self, view: EventView) -> None:
        with self.lock:
            self.events.append(view)

    def put_clock(self, now_s: float) -> None:
        with self.lock:
            self.clock.append(now_s)


@pytest.fixture(scope="session")
def flown(tmp_path_factory: pytest.TempPathFactory) -> FlownTlog:
    return flown_tlog(tmp_path_factory.getbasetemp())


def _played(source: TlogSource, speed: float = 2000.0) -> RecordingSink:
    sink = RecordingSink()
    backend = ReplayBackend(source, speed, refresh_s=0.02)
    backend.start(sink)
    try:
        assert backend.finished.wait(30.0), "the replay did not reach the end in 30 s"
    finally:
        backend.stop()
    return sink


def _distance_m(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    dx = (b_lon - a_lon) * 111_319.5 * math.cos(math.radians(a_lat))
    return math.hypot(dx, (b_lat - a_lat) * 111_319.5)


@pytest.mark.sim
def test_tlog_replay_reproduces_the_flight(flown: FlownTlog) -> None:
    mission = load_mission(flown.plan)
    sink = _played(TlogSource(flown.tlog))
    views = [v for v in sink.vehicles if v.name == "vehicle 1"]
    assert views and {v.sysid for v in views} == {1}
    modes = [v.mode for v in views if v.armed]
    assert modes[0] in ("GUIDED", "AUTO") and "AUTO" in modes
    states = [v.state for v in views]
    order = [VehicleState.EN_ROUTE, VehicleState.RETURNING, VehicleState.LANDED]
    assert [states.index(s) for s in order] == sorted(states.index(s) for s in order)
    last = views[-1]
    assert not last.armed and last.state is VehicleState.LANDED and last.position is not None
    home = mission.items[0]
    assert _distance_m(home.x, home.y, last.position.lat, last.position.lon) < 15.0
    cruise = max(i.z for i in mission.items[1:])
    top = max(v.alt_m or 0.0 for v in views)
    assert top == pytest.approx(cruise, rel=0.1)
    texts = [e.text for e in sink.events if e.source == "vehicle 1"]
    assert "Gripper Released" in texts and "Mission: 8 Land" in texts
    assert texts.index("Gripper Released") < texts.index("Mission: 8 Land")
    assert sink.events[-1].source == "replay" and "end of the recording" in sink.events[-1].text
    # The uploaded mission (read from the log) is drawn, with the flown track.
    routes = {r.order_id: r for r in sink.maps[-1].routes}
    planned = routes["vehicle 1 mission"].points
    assert planned[0].lat == pytest.approx(home.x) and len(routes["vehicle 1 track"].points) > 5
    # Played on the vehicle's clock: the ~6 wall seconds of a 50x flight replay as minutes.
    assert 200.0 < sink.clock[-1] - sink.clock[0] < 600.0


@pytest.mark.sim
def test_tlog_replay_fills_the_health_columns(flown: FlownTlog) -> None:
    """GPS, EKF, battery volts, amps and time left, and the link's share of messages
    received from the recorded sequence numbers, as the live console shows them."""
    views = [v for v in _played(TlogSource(flown.tlog)).vehicles if v.name == "vehicle 1"]
    flying = [v for v in views if v.armed and (v.alt_m or 0.0) > 10.0]
    assert flying
    last = flying[-1]
    assert last.gps_fix_type is not None and last.gps_fix_type >= 3 and last.gps_sats
    assert last.ekf is EkfHealth.OK
    assert last.voltage_v and last.current_a and last.current_a > 1.0
    assert any(v.battery_left_s for v in flying), "extrapolated from the energy drawn"
    assert last.link_pct is not None and last.link_pct >= 95.0, "a local simulator loses none"


@pytest.mark.sim
def test_a_plan_draws_the_route_from_the_start(flown: FlownTlog) -> None:
    mission = load_mission(flown.plan)
    source = TlogSource(flown.tlog, mission)
    first = source.advance(source.start_s)
    assert first.map is not None
    route = next(r for r in first.map.routes if r.vehicle == "vehicle 1")
    assert route.order_id == mission.order_id and route.dropoff_index is not None


@pytest.mark.sim
def test_actions_are_refused_and_pause_drives_the_playback(flown: FlownTlog) -> None:
    backend = ReplayBackend(TlogSource(flown.tlog), 10.0)
    for result in (backend.rtl("vehicle 1"), backend.land("vehicle 1"),
                   backend.abort("vehicle 1"), backend.launch("X"),
                   backend.add_order("d", -35.0, 149.0, 1.0), backend.cancel_order("X")):
        assert not result.ok and result.reasons == (NOTHING_TO_COMMAND,)
    assert backend.pause("vehicle 1").ok and backend.clock.paused
    assert backend.resume("vehicle 1").ok and not backend.clock.paused
    assert not backend.set_speed(math.nan).ok and backend.clock.speed == 10.0
    assert backend.set_speed(50).ok and backend.speedup == 50.0


def test_playback_clock_pauses_and_changes_speed_without_a_jump() -> None:
    wall = [0.0]
    clock = PlaybackClock(1000.0, 10.0, now=lambda: wall[0])
    wall[0] = 1.0
    assert clock.time_s() == 1010.0
    clock.pause()
    wall[0] = 9.0
    assert clock.time_s() == 1010.0
    clock.resume()
    clock.set_speed(100.0)
    wall[0] = 10.0
    assert clock.time_s() == 1110.0
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="speed"):
            clock.set_speed(bad)


@pytest.mark.sim
@pytest.mark.tui
@run_async
async def test_the_console_replays_the_flight(flown: FlownTlog) -> None:
    backend = ReplayBackend(TlogSource(flown.tlog), 200.0, refresh_s=0.05)
    app = ReplayApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 20.0
        while "vehicle 1" not in app.vehicles or not any(
                "Gripper Released" in line for line in app.main.events.lines_written):
            assert time.monotonic() < deadline, "the replay did not show the release"
            await pilot.pause(0.1)
        assert app.main.fleet.selected_key == "vehicle 1"
        await pilot.press("space")
        assert backend.clock.paused
        await pilot.press("space")
        assert not backend.clock.paused
        await pilot.press("plus")
        assert backend.clock.speed == 400.0 and app.asked_speedup == 400.0
        await pilot.press("s")  # the console's pause key pauses the playback
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert backend.clock.paused
        assert app.actions_done[-1].result.ok
        await pilot.press("q")
    assert not app.is_running


# ------------------------------------------------------------------------------- store


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Assign, str]:
    """A store filled as the fleet fills it: the real dispatcher's first Canberra orders, one
    sortie flown and delivered, vehicle snapshots along the way."""
    folder = resolve_scenario("canberra")
    scenario = load_scenario(folder)
    path = tmp_path_factory.mktemp("replay") / "day.sqlite"
    planner = Planner(scenario.airspace, scenario.depots, margin_m=30.0)
    dispatcher = Dispatcher(fleet_of(scenario), [DepotModel(d.id) for d in scenario.depots],
                            planner_plan_fn(planner), promise_s=scenario.promise_s)
    assigned: list[Assign] = []
    rejected = ""
    with Store.open(path) as store:
        record_scenario(store, folder, 30.0, 0.0)
        for order in sorted(scenario.orders, key=lambda o: o.created_s)[:6]:
            decisions = dispatcher.handle(OrderPlaced(order), order.created_s)
            store.record_dispatch(OrderPlaced(order), order.created_s, decisions)
            assigned += [d for d in decisions if isinstance(d, Assign)]
            rejected = rejected or next((d.order_id for d in decisions
                                         if hasattr(d, "reasons")), "")
        flight = assigned[0]
        dropoff = flight.sortie.plan.outbound[-1]
        store.start_flight(flight.order_id, flight.drone_id, flight.launch_at_s)
        store.record_vehicle(VehicleSnapshot(flight.drone_id, flight.launch_at_s + 60.0,
                                             "en route", 300.0, dropoff.lat, dropoff.lon,
                                             100.0))
        store.end_flight(flight.order_id, "delivered", flight.launch_at_s + 600.0)
    return path, flight, rejected


def test_store_replay_shows_orders_changing_state(day: tuple[Path, Assign, str]) -> None:
    path, flight, rejected = day
    source = StoreSource(path)
    # Step through the day second by second: every state the order went through is pushed.
    statuses = [o.status for t in range(int(source.start_s), int(source.end_s) + 2)
                for o in source.advance(float(t)).orders if o.id == flight.order_id]
    source = StoreSource(path)
    sink = RecordingSink()
    backend = ReplayBackend(source, 1e6, refresh_s=0.01)
    backend.start(sink)
    try:
        assert backend.finished.wait(10.0)
    finally:
        backend.stop()
    wanted = [OrderStatus.ASSIGNED, OrderStatus.IN_FLIGHT, OrderStatus.DELIVERED]
    assert [s for s in dict.fromkeys(statuses) if s in wanted] == wanted
    final = {o.id: o for o in sink.orders}
    assert final[flight.order_id].vehicle == flight.drone_id
    assert final[flight.order_id].promised_s == flight.due_s
    assert final[rejected].status is OrderStatus.INFEASIBLE and final[rejected].reason
    flying = next(v for v in sink.vehicles if v.name == flight.drone_id)
    assert flying.state is VehicleState.EN_ROUTE and flying.order_id == flight.order_id
    assert any(e.source == "dispatch" and e.text.startswith(f"assign {flight.order_id}")
               for e in sink.events)
    assert sink.maps and sink.maps[0].depots  # the scenario's map, read from the store
    assert "1 delivered" in source.summary()


def test_store_without_anything_recorded_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "empty.sqlite"):
        pass
    with pytest.raises(ValueError, match="nothing recorded"):
        StoreSource(tmp_path / "empty.sqlite")
