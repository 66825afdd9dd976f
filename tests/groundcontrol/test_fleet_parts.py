"""The fleet controller's pure parts: order selection, endpoints, pads, clocks, summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.model import ScaledWallClock, VehicleClock, battery_wh_of
from groundcontrol.fleet.setup import (
    PAD_SPACING_DEG,
    endpoints_from_urls,
    select_orders,
    sim_homes,
)
from groundcontrol.fleet.stats import summarize
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.fleet.views import FleetViews
from groundcontrol.mavlink.vehicle import VehicleState
from groundcontrol.scenarios import resolve_scenario
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import DepotModel, OrderPlaced, Tick
from planner.load import load_scenario
from planner.plan import Planner

CANBERRA = load_scenario(resolve_scenario("canberra"))


def test_select_orders_takes_the_first_and_compresses_arrivals_keeping_due_gaps() -> None:
    base = CANBERRA.orders
    first = min(o.created_s for o in base)
    chosen = select_orders(base, 5, 0.25)
    originals = sorted(base, key=lambda o: (o.created_s, o.id))[:5]
    assert [o.id for o in chosen] == [o.id for o in originals]
    for new, old in zip(chosen, originals, strict=True):
        assert new.created_s == pytest.approx(first + (old.created_s - first) * 0.25)
        if old.due_s is not None:
            assert new.due_s - new.created_s == pytest.approx(old.due_s - old.created_s)
    assert len(select_orders(base, None, 1.0)) == len(base)
    assert select_orders(base, 0, 1.0) == ()


def test_endpoints_one_for_all_or_one_per_drone() -> None:
    ids = [d.id for d in CANBERRA.fleet]
    assert set(endpoints_from_urls(CANBERRA, "udpin:0.0.0.0:14550").values()) == {
        "udpin:0.0.0.0:14550"}
    urls = ",".join(f"tcp:127.0.0.1:{5760 + 10 * i}" for i in range(len(ids)))
    per = endpoints_from_urls(CANBERRA, urls)
    assert per[ids[2]] == "tcp:127.0.0.1:5780"
    with pytest.raises(ValueError, match="give 1 URL or 9"):
        endpoints_from_urls(CANBERRA, "tcp:a:1,tcp:b:2")


def test_sim_homes_put_each_drone_on_its_own_pad_at_its_depot() -> None:
    homes = sim_homes(CANBERRA)
    assert len(homes) == len(CANBERRA.fleet)
    for drone, (lat, lon, alt, _) in zip(CANBERRA.fleet, homes, strict=True):
        depot = CANBERRA.depot_by_id(drone.depot_id)
        pad = [d.id for d in CANBERRA.drones_at(drone.depot_id)].index(drone.id)
        assert (lat, lon, alt) == pytest.approx(
            (depot.position.lat + pad * PAD_SPACING_DEG, depot.position.lon,
             depot.ground_alt_amsl_m))
    assert len(set(homes)) == len(homes)


class _Tracker:
    def __init__(self, sysid: int) -> None:
        self.state = VehicleState(sysid=sysid)

    def snapshot(self) -> VehicleState:
        return self.state

    def boot(self, ms: int) -> None:
        self.state = dataclasses.replace(self.state, boot_ms=ms)


def test_vehicle_clock_follows_boot_time_through_a_reboot() -> None:
    a, b = _Tracker(1), _Tracker(2)
    clock = VehicleClock(lambda: [a, b], 100.0, fallback_after_wall_s=3600.0)  # type: ignore[list-item]
    assert clock.now_s() == 100.0
    a.boot(10_000)
    b.boot(4_000)
    assert clock.now_s() == 100.0  # first readings only set the reference
    a.boot(12_500)
    b.boot(6_000)
    assert clock.now_s() == pytest.approx(102.5)
    a.boot(500)  # rebooted: its count restarts, b keeps the time
    b.boot(7_000)
    assert clock.now_s() == pytest.approx(103.5)
    a.boot(3_500)
    assert clock.now_s() == pytest.approx(106.5)


def test_vehicle_clock_falls_back_to_scaled_wall_time_without_vehicles() -> None:
    clock = VehicleClock(list, 50.0, fallback_speedup=1000.0, fallback_after_wall_s=0.0)
    first = clock.now_s()
    second = clock.now_s()
    assert 50.0 <= first <= second
    assert ScaledWallClock(7.0, 0.0).now_s() == 7.0


def test_battery_energy_from_the_reported_percentage() -> None:
    assert battery_wh_of(VehicleState(sysid=1, battery_pct=80), 505.0) == pytest.approx(404.0)
    assert battery_wh_of(VehicleState(sysid=1), 505.0) is None
    assert battery_wh_of(VehicleState(sysid=1, battery_pct=-1), 505.0) is None


def test_summary_counts_every_stored_order_and_groups_rejections(tmp_path: Path) -> None:
    planner = Planner(CANBERRA.airspace, CANBERRA.depots, margin_m=30.0)
    dispatcher = Dispatcher(fleet_of(CANBERRA), [DepotModel(d.id) for d in CANBERRA.depots],
                            planner_plan_fn(planner), promise_s=CANBERRA.promise_s)
    orders = sorted(CANBERRA.orders, key=lambda o: o.created_s)[:8]
    rejected = {}
    with Store.open(tmp_path / "s.sqlite") as store:
        for order in orders:
            decisions = dispatcher.handle(OrderPlaced(order), order.created_s)
            store.record_dispatch(OrderPlaced(order), order.created_s, decisions)
            rejected.update({d.order_id: d.reasons for d in decisions if hasattr(d, "reasons")})
        summary = summarize(store, CANBERRA, {}, rejected)
    assert summary.orders == 8
    assert summary.infeasible == len(rejected) >= 2
    assert sum(summary.infeasible_by_reason.values()) == summary.infeasible
    assert summary.open == 8 - summary.infeasible and summary.delivered == 0
    assert summary.on_time_rate is None and summary.mean_delivery_s is None
    lines = summary.lines()
    assert lines[0].startswith("orders 8: delivered 0, infeasible ")
    assert any(line.startswith("  infeasible: payload: ") for line in lines)


def test_an_open_order_the_dispatcher_lost_is_an_error_not_done(tmp_path: Path) -> None:
    """The old workaround counted such orders as done (``orphans``); now waiting fails, naming
    them, as soon as nothing else is under way."""
    order = min((o for o in CANBERRA.orders if o.payload_kg < 1.0), key=lambda o: o.created_s)
    planner = Planner(CANBERRA.airspace, CANBERRA.depots, margin_m=30.0)
    dispatcher = Dispatcher(fleet_of(CANBERRA), [DepotModel(d.id) for d in CANBERRA.depots],
                            planner_plan_fn(planner), promise_s=CANBERRA.promise_s)
    with Store.open(tmp_path / "s.sqlite") as store:
        decisions = dispatcher.handle(OrderPlaced(order), order.created_s)
        store.record_dispatch(OrderPlaced(order), order.created_s, decisions)
        views = FleetViews()
        views.store, views._releases, views.jobs, views.error = store, [], {}, None
        views.lost = set()
        assert views.open_orders() == [order.id] and not views.done()
        with pytest.raises(GroundControlError, match=f"still open after 0 s: {order.id}"):
            views.run_until_done(0.0)
        views.lost = {order.id}
        with pytest.raises(GroundControlError, match=f"lost by the dispatcher: {order.id}"):
            views.run_until_done(30.0)


class _TickingClock:
    """Half a second later at every reading, like a vehicle clock read between messages."""

    def __init__(self, start_s: float) -> None:
        self.t = start_s

    def now_s(self) -> float:
        self.t += 0.5
        return self.t


def test_a_step_releases_orders_no_earlier_than_the_work_it_ran(tmp_path: Path) -> None:
    """Seen in CI: a flight report handled from the inbox read the clock, then the step
    released an order at the time it had read before the inbox: "time went backwards"."""
    orders = sorted(CANBERRA.orders, key=lambda o: o.created_s)[:2]
    start = orders[1].created_s
    endpoints = {d.id: "tcp:127.0.0.1:1" for d in CANBERRA.fleet}
    with Store.open(tmp_path / "s.sqlite") as store:
        controller = FleetController(CANBERRA, store, endpoints, _TickingClock(start),
                                     releases=orders[1:])
        controller.dispatcher.handle(Tick(), start)
        controller._inbox.put(lambda: controller.dispatch(Tick(), controller.now_s()))
        controller._step()
        assert controller.error is None
        assert [o.order.id for o in store.orders()] == [orders[1].id]
        assert controller.dispatcher.now_s >= start + 1.0


def test_sim_homes_keep_every_pad_of_a_big_depot_near_it(tmp_path) -> None:
    """Ten drones at one depot in one row put the last 50 m from it (pre-flight refused its
    missions: home 50 m from the mission's depot); a grid keeps every pad within 25 m."""
    from groundcontrol.cli.main import main as cli_main
    from planner.geo import geodesic_m
    from planner.load import load_scenario
    from planner.model import LatLon

    assert cli_main(["scenario", "generate", "--out", str(tmp_path / "big"), "--depots", "2",
                     "--drones", "24", "--orders", "10"]) == 0
    scenario = load_scenario(tmp_path / "big")
    homes = sim_homes(scenario)
    assert len(set(homes)) == len(homes) == 24
    for drone, (lat, lon, _, _) in zip(scenario.fleet, homes, strict=True):
        depot = scenario.depot_by_id(drone.depot_id)
        assert geodesic_m(depot.position, LatLon(lat, lon)) < 25.0


def test_stop_waits_for_the_loop_and_cuts_a_long_step_short(tmp_path: Path) -> None:
    """Seen with 100 drones: the loop, busy in a long step, outlived ``stop``'s wait and
    wrote to the store its caller had closed (a traceback after the quit summary). ``stop``
    returns once the loop is done, and the loop stops between units of work."""
    import threading
    import time

    endpoints = {d.id: "tcp:127.0.0.1:1" for d in CANBERRA.fleet}
    ran: list[int] = []
    with Store.open(tmp_path / "s.sqlite") as store:
        controller = FleetController(CANBERRA, store, endpoints, _TickingClock(40000.0))
        for i in range(200):  # 10 s of work queued for one step
            controller._inbox.put(lambda i=i: (time.sleep(0.05), ran.append(i)))
        controller._thread = threading.Thread(target=controller._run, daemon=True)
        controller._thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        controller.stop()
        assert time.monotonic() - started < 2.0
        assert not controller._thread.is_alive()
    assert 0 < len(ran) < 200
    assert controller.error is None


def test_the_outbound_eta_moves_with_a_late_take_off() -> None:
    """Seen after resuming a 100-drone day: flights flown again from the depot, launched
    minutes after their schedule, showed ETA 0 s all the way out. The drop-off is the
    schedule's moved by the lateness of the take-off (or of the wait on the pad)."""
    from types import SimpleNamespace

    from groundcontrol.flight.progress import FlightState
    from planner.dispatch_model import Assign

    planner = Planner(CANBERRA.airspace, CANBERRA.depots, margin_m=30.0)
    disp = Dispatcher(fleet_of(CANBERRA), [DepotModel(d.id) for d in CANBERRA.depots],
                      planner_plan_fn(planner), promise_s=CANBERRA.promise_s)
    sortie = next(d.sortie for order in sorted(CANBERRA.orders, key=lambda o: o.created_s)
                  for d in disp.handle(OrderPlaced(order), order.created_s)
                  if isinstance(d, Assign))
    views = FleetViews()

    def job(launched_s: float | None, took_off: bool) -> SimpleNamespace:
        return SimpleNamespace(state=FlightState.EN_ROUTE, delivered=False, sortie=sortie,
                               flight=SimpleNamespace(cut_short=None), launched_s=launched_s,
                               took_off=took_off)

    on_time, late = sortie.launch_s, sortie.launch_s + 300.0
    assert views.eta_s(job(on_time, True), on_time + 10.0) == sortie.dropoff_s
    assert views.eta_s(job(late, True), late + 10.0) == pytest.approx(sortie.dropoff_s + 300.0)
    # still on the pad 100 s after its launch time: the drop-off is at least that late
    waiting = views.eta_s(job(None, False), sortie.launch_s + 100.0)
    assert waiting == pytest.approx(sortie.dropoff_s + 100.0)
    # followed after a restart (take-off time unknown): the schedule
    assert views.eta_s(job(None, True), late + 10.0) == sortie.dropoff_s
