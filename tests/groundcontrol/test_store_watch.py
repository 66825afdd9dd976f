"""Watching the whole order book (``console --watch``, issue 13): two sites write one book
while a read-only console follows it, on SQLite and on PostgreSQL (``store_location``).

On PostgreSQL the writers are two sites (``depots=``, as ``run --site`` opens the store),
each recording its own scenario setting; on SQLite, where there are no sites, two handles on
the whole store. The watch must show both depots' orders and drones, follow new rows as they
come, refuse every action in one line and write nothing.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from store_backends import RawDb

from groundcontrol.cli.main import main
from groundcontrol.console.model import OrderStatus, VehicleState
from groundcontrol.console.screens.day import DaySummaryScreen
from groundcontrol.console.watch import WATCHING, BookWatch, WatchBackend
from groundcontrol.console.watch_app import WatchApp
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.store.dialect import is_url
from groundcontrol.fleet.store.sqlite import Store, VehicleSnapshot
from groundcontrol.scenarios import resolve_scenario
from planner.model import LatLon, Order

CANBERRA = resolve_scenario("canberra")


def _order(oid: str, depot: str, t_s: float) -> Order:
    return Order(oid, depot, LatLon(-35.25, 149.10), 1.0, t_s, t_s + 1800.0)


def _site(location: str | Path, depot: str) -> Store:
    """One site's store: its depot's view on PostgreSQL, the whole store on SQLite."""
    return Store.open(location, depots=[depot] if is_url(location) else None)


def _start_day(location: str | Path) -> tuple[Store, Store]:
    mitchell, greenway = _site(location, "mitchell"), _site(location, "greenway")
    for site in (mitchell, greenway):
        record_scenario(site, CANBERRA, 30.0, 36_000.0)  # a site keeps its own on PostgreSQL
    mitchell.add_orders([_order("M1", "mitchell", 36_000.0)], 36_000.0)
    greenway.add_orders([_order("G1", "greenway", 36_010.0)], 36_010.0)
    mitchell.record_vehicle(VehicleSnapshot("mit-q1", 36_020.0, "idle", 400.0, -35.19, 149.13,
                                            0.0))
    greenway.record_vehicle(VehicleSnapshot("gre-q1", 36_030.0, "idle", 400.0, -35.34, 149.04,
                                            0.0))
    return mitchell, greenway


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """An async Pilot test run with ``asyncio.run`` (as ``tests/console/tui_fixtures``)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), timeout=60.0))

    return wrapper


def test_a_watch_folds_both_sites_and_then_only_what_is_new(store_location: str | Path) -> None:
    mitchell, greenway = _start_day(store_location)
    watch = BookWatch(store_location)
    try:
        first = watch.poll()
        assert {o.id: o.depot_id for o in first.orders} == {"M1": "mitchell", "G1": "greenway"}
        assert {v.name: v.depot for v in first.vehicles} == {"mit-q1": "mitchell",
                                                            "gre-q1": "greenway"}
        assert first.map is not None and len(first.map.depots) == 3  # a site's scenario
        assert watch.poll() == type(first)()  # nothing new, nothing pushed
        greenway.request_cancel("G1", 36_100.0)
        mitchell.record_vehicle(VehicleSnapshot("mit-q1", 36_080.0, "en route", 390.0,
                                                -35.20, 149.12, 60.0))
        then = watch.poll()
        assert [(o.id, o.status) for o in then.orders] == [("G1", OrderStatus.CANCELLED)]
        (moved,) = then.vehicles
        assert moved.state is VehicleState.EN_ROUTE and moved.ground_speed_ms is not None
        assert watch.end_s == 36_100.0 and "depots greenway, mitchell" in watch.summary()
    finally:
        watch.close()
        mitchell.close()
        greenway.close()


def _screen_text(app: WatchApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def _until(pilot: Any, app: WatchApp, what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 15.0
    while not done():
        assert time.monotonic() < deadline, f"the watch did not show {what}"
        await pilot.pause(0.1)
        app.flush_updates()


@pytest.mark.tui
@run_async
async def test_the_watch_console_follows_two_sites_writing_one_book(
        store_location: str | Path) -> None:
    mitchell, greenway = _start_day(store_location)
    written = len(mitchell.events())
    app = WatchApp(WatchBackend(BookWatch(store_location), poll_s=0.1))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, app, "both sites", lambda: {"M1", "G1"} <= set(app.orders)
                         and {"mit-q1", "gre-q1"} <= set(app.vehicles))
            assert "depot" in app.main.fleet.visible_columns
            assert app.main.orders.visible_columns[:3] == ("id", "depot", "status")
            text = _screen_text(app)
            assert "watching every site" in text
            for depot in ("mitchell", "greenway"):
                assert text.count(depot) >= 2, f"{depot}: its order and its drone"
            # The sites go on writing: a new order, a cancel, a drone taking off.
            greenway.add_orders([_order("G2", "greenway", 36_200.0)], 36_200.0)
            mitchell.request_cancel("M1", 36_210.0)
            greenway.record_vehicle(VehicleSnapshot("gre-q1", 36_220.0, "en route", 395.0,
                                                    -35.33, 149.05, 50.0))
            await _until(pilot, app, "the new rows", lambda: "G2" in app.orders
                         and app.orders["M1"].status is OrderStatus.CANCELLED
                         and app.vehicles["gre-q1"].state is VehicleState.EN_ROUTE)
            assert app.clock_s == 36_220.0
            assert any("M1: new -> cancelled" in line for line in app.main.events.lines_written)
            # Every action is refused in one line, before any form or question.
            app.main.orders.focus()
            for key in ("a", "c", "l"):
                await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen is app.main and app.book.watch.store is not None
            assert app.refusals == 3
            assert any(WATCHING in line for line in app.main.events.lines_written)
            await pilot.press("y")
            await pilot.pause(0.5)
            assert isinstance(app.screen, DaySummaryScreen)
            await pilot.press("escape", "q")
        assert not app.is_running
    finally:
        mitchell.close()
        greenway.close()
    with Store.open(store_location, create=False) as book:
        assert len(book.events()) == written + 2, "an intake and a cancel: the watch wrote none"


def test_console_watch_refuses_bad_input_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open(tmp_path / "empty.db"):
        pass
    cases = {
        ("console", "--watch"): "--watch needs --store",
        ("console", "--watch", "--store", str(tmp_path / "none.db")): "no such file",
        ("console", "--watch", "--store", str(tmp_path / "empty.db")): "nothing recorded yet",
        ("console", "--watch", "--store", str(tmp_path / "empty.db"), "--site", "hume"):
            "drop --site",
        ("console", "--watch", "--store", "postgresql://u@127.0.0.1:1/book"):
            "is the server running on that port?",
    }
    for argv, wanted in cases.items():
        assert main(list(argv)) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and wanted in err[0], (argv, err)
        assert err[0].startswith("drone-delivery console: error: ")


def test_replay_takes_a_postgresql_book(store_location: str | Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    mitchell, greenway = _start_day(store_location)
    mitchell.close()
    greenway.close()
    assert main(["replay", "--store", str(store_location), "--headless"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("replayed ") and "2 orders (2 new); 2 vehicles" in out[-1]


class _Sink:
    """A ``ConsoleSink`` keeping the events pushed."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def put_vehicle(self, view: object) -> None: ...

    def put_order(self, view: object) -> None: ...

    def put_map(self, view: object) -> None: ...

    def put_clock(self, now_s: float) -> None: ...

    def put_event(self, view: Any) -> None:
        self.events.append(view.text)


def test_a_watch_outlives_a_lost_connection(postgres_server: Any) -> None:
    store_location = postgres_server.create_database()
    mitchell, greenway = _start_day(store_location)
    backend = WatchBackend(BookWatch(store_location), poll_s=60.0)
    sink = _Sink()
    backend._sink = sink  # driven step by step, no thread
    try:
        backend.step()
        mitchell.close()
        greenway.close()
        with RawDb(store_location) as raw:  # the server drops the watch's connection
            raw.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "datname = current_database() AND pid <> pg_backend_pid()")
        backend.step()
        assert len(sink.events) == 1 and "reading again every 60 s" in sink.events[0]
        backend.step()
        assert sink.events[-1] == "the store answers again" and backend.polls == 2
    finally:
        backend.stop()
