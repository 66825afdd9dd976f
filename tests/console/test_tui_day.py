"""The day screen (issue 12): each drone's sorties, km, Wh and deliveries on time, with the
fleet's totals, read live from the store as ``drone-delivery report`` reads it; in a store
replay, the day as it stood at the replay's moment; and the store replay's drones moving
smoothly between the once-a-minute snapshots."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from scripted.backend import ScriptedBackend
from scripted.demo import demo_scenario
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from tui_fixtures import run_async, settle

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.model import VehicleState
from groundcontrol.console.replay import ReplayBackend
from groundcontrol.console.replay.app import ReplayApp
from groundcontrol.console.replay.store_source import StoreSource
from groundcontrol.console.screens import day as day_screen
from groundcontrol.console.screens.day import NO_REPORT, DaySummaryScreen, day_rows
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.report import DayReport, build_report, report_until
from groundcontrol.fleet.store.sqlite import Store, VehicleSnapshot
from groundcontrol.scenarios import resolve_scenario
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import Assign, DepotModel, OrderPlaced
from planner.load import load_scenario
from planner.plan import Planner

pytestmark = pytest.mark.tui

Day = tuple[Path, list[Assign]]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    """A store as the fleet fills it: the real dispatcher's first Canberra orders, the first
    sortie delivered (snapshots a minute apart on the way out), the second launched."""
    folder = resolve_scenario("canberra")
    scenario = load_scenario(folder)
    path = tmp_path_factory.mktemp("day") / "day.sqlite"
    planner = Planner(scenario.airspace, scenario.depots, margin_m=30.0)
    dispatcher = Dispatcher(fleet_of(scenario), [DepotModel(d.id) for d in scenario.depots],
                            planner_plan_fn(planner), promise_s=scenario.promise_s)
    assigned: list[Assign] = []
    with Store.open(path) as store:
        record_scenario(store, folder, 30.0, 0.0)
        for order in sorted(scenario.orders, key=lambda o: o.created_s)[:6]:
            decisions = dispatcher.handle(OrderPlaced(order), order.created_s)
            store.record_dispatch(OrderPlaced(order), order.created_s, decisions)
            assigned += [d for d in decisions if isinstance(d, Assign)]
        first = assigned[0]
        depot, dropoff = first.sortie.plan.outbound[0], first.sortie.plan.outbound[-1]
        t0 = first.launch_at_s
        store.start_flight(first.order_id, first.drone_id, t0)
        for k, (where, wh) in enumerate(((depot, 400.0), (dropoff, 340.0))):
            store.record_vehicle(VehicleSnapshot(first.drone_id, t0 + 60.0 * k, "en route",
                                                 wh, where.lat, where.lon, 100.0))
        store.end_flight(first.order_id, "delivered", t0 + 600.0,
                         {"used_wh": 95.0, "planned_s": 560.0, "flown_s": 600.0})
    return path, assigned


def _table_rows(screen: DaySummaryScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c.plain) for c in table.get_row_at(n)] for n in range(table.row_count)]


async def _open_day(pilot: Pilot[None], app: ConsoleApp, readings: int = 1) -> DaySummaryScreen:
    await pilot.press("y")
    screen = app.screen
    assert isinstance(screen, DaySummaryScreen)
    deadline = time.monotonic() + 10.0
    while screen.readings < readings:
        assert time.monotonic() < deadline, "the day was not read"
        await pilot.pause(0.05)
    return screen


class _StoreBackend(ScriptedBackend):
    """The scripted fleet with a dispatch store behind it (``DayReporter``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(demo_scenario(), autorun=False)
        self.path = path

    def day_report(self) -> DayReport:
        with Store.open(self.path, create=False) as store:
            return build_report(store)


@run_async
async def test_the_day_screen_shows_each_drone_and_the_totals_live(
    day: Day, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, assigned = day
    live = tmp_path / "live.sqlite"
    live.write_bytes(path.read_bytes())
    monkeypatch.setattr(day_screen, "REFRESH_S", 0.2)
    app = ConsoleApp(_StoreBackend(live))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = await _open_day(pilot, app)
        with Store.open(live, create=False) as store:
            wanted = day_rows(build_report(store))
        assert _table_rows(screen) == [list(r) for r in wanted]
        first = assigned[0]
        assert _table_rows(screen)[0] == [first.drone_id, "1", "1", "1/1",
                                          f"{first.sortie.plan.distance_m / 1000:.1f}", "95"]
        assert _table_rows(screen)[-1][0] == "fleet"
        title = str(screen.query_one("#day-title", Static).render())
        assert "1 flight (0 in the air)" in title
        second = assigned[1]  # takes off while the screen is open: shown at the next reading
        with Store.open(live, create=False) as store:
            store.start_flight(second.order_id, second.drone_id, second.launch_at_s)
        seen = screen.readings
        while screen.readings < seen + 2:
            await pilot.pause(0.05)
        assert "2 flights (1 in the air)" in str(screen.query_one("#day-title", Static).render())
        assert _table_rows(screen)[-1][1] == "2", "the fleet's sorties"
        await pilot.press("y")
        assert not isinstance(app.screen, DaySummaryScreen)


@run_async
async def test_a_console_without_a_store_says_so() -> None:
    app = ConsoleApp(ScriptedBackend(demo_scenario(), autorun=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = await _open_day(pilot, app)
        assert str(screen.query_one("#day-title", Static).render()) == NO_REPORT
        await pilot.press("escape")
        assert not isinstance(app.screen, DaySummaryScreen)


def test_the_day_until_a_moment_counts_only_what_had_happened(day: Day) -> None:
    path, assigned = day
    with Store.open(path, create=False) as store:
        whole = build_report(store)
    t0 = assigned[0].launch_at_s
    assert report_until(whole, t0 - 1.0).flights == ()
    flying = report_until(whole, t0 + 300.0)
    assert [f.outcome for f in flying.flights] == [None]
    assert [(d.sorties, d.delivered) for d in flying.drones] == [(1, 0)]
    # Each order's state is the one it had then, not the store's last.
    flown = assigned[0].order_id
    states = {o.order_id: o.state for o in flying.orders}
    assert states[flown] == "in_flight"
    assert {o.order_id: o.state for o in whole.orders}[flown] != "in_flight"
    assert "delivered" not in states.values()
    assert report_until(whole, t0 + 601.0).drones == whole.drones


@run_async
async def test_a_store_replay_shows_the_day_at_its_moment(day: Day) -> None:
    path, assigned = day
    source = StoreSource(path)
    backend = ReplayBackend(source, 1.0, refresh_s=0.05)
    app = ReplayApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        backend.clock.seek(assigned[0].launch_at_s + 300.0)
        await pilot.pause(0.2)
        screen = await _open_day(pilot, app)
        rows = _table_rows(screen)
        assert rows[0][:3] == [assigned[0].drone_id, "1", "0"], "in the air at that moment"
        backend.clock.seek(source.end_s)
        await pilot.pause(0.2)
        await pilot.press("y")
        screen = await _open_day(pilot, app)
        assert _table_rows(screen)[0][:3] == [assigned[0].drone_id, "1", "1"]


def test_the_store_replay_moves_drones_between_snapshots(day: Day) -> None:
    path, assigned = day
    source = StoreSource(path)
    first = assigned[0]
    t0 = first.launch_at_s
    depot, dropoff = first.sortie.plan.outbound[0], first.sortie.plan.outbound[-1]
    source.advance(t0)
    views = [v for t in (t0 + 15.0, t0 + 30.0, t0 + 45.0)
             for v in source.advance(t).vehicles if v.name == first.drone_id]
    assert len(views) == 3, "a view every step between the snapshots, not once a minute"
    for k, v in enumerate(views, start=1):
        assert v.position is not None
        assert v.position.lat == pytest.approx(depot.lat + k / 4 * (dropoff.lat - depot.lat))
        assert v.position.lon == pytest.approx(depot.lon + k / 4 * (dropoff.lon - depot.lon))
        assert v.state is VehicleState.EN_ROUTE and v.ground_speed_ms and v.heading_deg
    capacity = source._capacity[first.drone_id]
    assert views[1].battery_pct == pytest.approx(100.0 * 370.0 / capacity)
    assert views[1].battery_left_s is not None and views[1].battery_left_s > 0
    assert views[1].link_age_s is None and views[1].link_pct is None, "not in a store"


def test_day_screen_snapshot(snap_compare: Callable[..., bool], day: Day, tmp_path: Path) -> None:
    """The day screen at 80x24 over a store's day: a row per drone, the fleet's totals."""
    live = tmp_path / "snap.sqlite"
    live.write_bytes(day[0].read_bytes())
    app = ConsoleApp(_StoreBackend(live))

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app)
        await _open_day(pilot, app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
