"""Watching the whole order book live (``drone-delivery console --watch --store URL``).

Several ``run`` processes, one per site, write one order book; a watch follows it from
outside, read-only: every site's orders with their states, every drone where its latest
vehicle snapshot put it (with its depot, from the scenario the sites recorded), the event
log as it grows and the day screen. ``BookWatch`` folds the store exactly as a store replay
does (``StoreSource``), but in the order rows arrive instead of on a playback clock, polling
the store through the ``Store`` API, so an SQLite file and a PostgreSQL book are watched
alike. Drones move once a snapshot is kept (a minute apart, ``FleetConfig.snapshot_s``), with
the speed, course and draw of the minute before. The console's clock is the latest moment
any site logged. ``WatchBackend`` refuses every action with ``WATCHING``: the book is the
sites' to change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from os import PathLike
from pathlib import Path
from typing import TypeVar

from groundcontrol.console.model import (
    ConsoleSink,
    EventView,
    OrderStatus,
    Severity,
    VehicleView,
)
from groundcontrol.console.refused import RefusesCommands
from groundcontrol.console.replay.playback import Frame, push_frame
from groundcontrol.console.replay.store_source import FoldedOrder, StoreSource, recorded_scenario
from groundcontrol.fleet.report import DayReport, build_report
from groundcontrol.fleet.store.dialect import is_url
from groundcontrol.fleet.store.sqlite import Store, StoredEvent, StoreError, VehicleSnapshot

__all__ = ["GAP_WAIT_S", "POLL_S", "WATCHING", "BookWatch", "RowCursor", "WatchBackend"]

WATCHING = "watching the book: act from the site's console"
"""Why every action is refused in a watch."""
POLL_S = 1.0
"""Wall seconds between two reads of the store."""
GAP_WAIT_S = 10.0
"""How long a missing row id is asked for again before it is taken as never coming."""

T = TypeVar("T")


class RowCursor:
    """Where the next poll of a growing table (events by ``seq``, snapshots by ``id``) starts.

    PostgreSQL numbers a row when it is inserted and shows it when its transaction commits,
    so with two sites writing, row 12 can be seen before row 11: a poll that skipped 11 asks
    again from 10 until 11 comes, or for ``GAP_WAIT_S`` (an insert rolled back leaves its
    number unused for good). SQLite has one writer at a time: no gaps.

    >>> wall = [0.0]
    >>> c = RowCursor(now=lambda: wall[0])
    >>> c.take([(1, "a"), (3, "c")]), c.since()
    (['a', 'c'], 1)
    >>> c.take([(2, "b"), (3, "c"), (4, "d")]), c.since()
    (['b', 'd'], 4)
    >>> c.take([(6, "f")]); wall[0] = 11.0; c.since()
    ['f']
    6
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.last = 0
        """The highest row id taken."""
        self._gaps: dict[int, float] = {}
        """Row ids below ``last`` not seen yet, with when they were first missed."""
        self._now = now

    def since(self) -> int:
        """The row id to read after (the rows after it are asked for)."""
        now = self._now()
        self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_WAIT_S}
        return min(self._gaps, default=self.last + 1) - 1

    def take(self, rows: Sequence[tuple[int, T]]) -> list[T]:
        """The rows not taken before, in the order given."""
        fresh = []
        now = self._now()
        for row_id, item in rows:
            if self._gaps.pop(row_id, None) is not None:
                fresh.append(item)
            elif row_id > self.last:
                if row_id - self.last <= 10_000:  # a jump past that is no race of writers
                    self._gaps.update(dict.fromkeys(range(self.last + 1, row_id), now))
                self.last = row_id
                fresh.append(item)
        return fresh


class BookWatch(StoreSource):
    """A dispatch store followed as it grows (see the module docstring); ``poll()`` reads what
    is new and says what changed. The store stays open until ``close()``; nothing is written.

    Raises:
        ValueError: no such file, not a store, a server that cannot be reached
            (``StoreError``, ``StoreFault``).
    """

    def __init__(self, location: str | PathLike[str],
                 now: Callable[[], float] = time.monotonic) -> None:
        self.location: str | Path = str(location) if is_url(str(location)) else Path(location)
        if isinstance(self.location, Path) and not self.location.is_file():
            raise ValueError(f"{self.location}: no such file")
        self.store = Store.open(self.location, create=False)
        try:
            self._read_book(self.store)
        except BaseException:
            self.store.close()
            raise
        self.start_s = self.end_s = 0.0
        self._events, self._snapshots = RowCursor(now), RowCursor(now)
        self._started = False

    def close(self) -> None:
        self.store.close()

    @property
    def empty(self) -> bool:
        """Nothing recorded yet (no event, no vehicle snapshot)."""
        return self._events.last == 0 and self._snapshots.last == 0

    def advance(self, t_s: float) -> Frame:
        """``ReplaySource``: a watch is always at its latest (``t_s`` is not used)."""
        return self.poll()

    def poll(self) -> Frame:
        """Read the rows added since the last poll and fold them, events first."""
        events = self._events.take([(e.seq, e) for e in self.store.events(self._events.since())])
        snapshots = self._snapshots.take(self.store.vehicle_snapshots(self._snapshots.since()))
        out: list[EventView] = []
        touched: set[str] = set()
        for event in events:
            self._fold_event(event, out, touched)
        vehicles = {s.drone_id: self._vehicle(s) for s in snapshots}
        if events:
            vehicles |= self._orders_flown()
        latest = [e.t_s for e in events] + [s.t_s for s in snapshots]
        if latest:
            self._now = max(self._now, *latest) if self._started else max(latest)
            if not self._started:
                self.start_s = min(latest)
            self._started = True
            self.end_s = self._now
        orders = tuple(self._order_view(self.orders[o]) for o in sorted(touched)
                       if o in self.orders)
        map_view = self._map_view() if self._map_dirty else None
        self._map_dirty = False
        return Frame(tuple(vehicles.values()), orders, tuple(out), map_view)

    def _fold_event(self, event: StoredEvent, out: list[EventView], touched: set[str]) -> None:
        if event.kind == "setting":
            if self.scenario is None:  # a site recorded its scenario: the map and the fleet
                self.scenario = recorded_scenario(self.store)
                if self.scenario is not None:
                    self._fleet_of_scenario()
                    self._map_dirty = True
            return
        oid = event.order_id
        if oid is not None and oid not in self.orders:  # placed after the watch began
            try:
                stored = self.store.order(oid)
            except StoreError:
                pass  # only the log names it (a damaged store): shown as the log says
            else:
                self.orders[oid] = FoldedOrder(stored.order)
                self._reasons[oid] = "; ".join(stored.reasons)
        self._event(event, out, touched)

    def _orders_flown(self) -> dict[str, VehicleView]:
        """Vehicles whose order in flight changed since their last snapshot (a launch or a
        landing logged): shown at once, not a minute later."""
        flying = {o.vehicle: o.order.id for o in self.orders.values()
                  if o.vehicle is not None and o.status is OrderStatus.IN_FLIGHT}
        changed = {}
        for name, view in self.vehicles.items():
            if view.order_id != flying.get(name):
                changed[name] = self.vehicles[name] = replace(view, order_id=flying.get(name))
        return changed

    def _vehicle(self, s: VehicleSnapshot) -> VehicleView:
        """The snapshot as a view, with the speed, course and draw since the one before."""
        before = self._previous.get(s.drone_id)
        view = super()._vehicle(s)
        if before is not None and before.t_s < s.t_s:
            view = self._motion_view(view, before, s, s.battery_wh)
            self.vehicles[s.drone_id] = view
        return view

    def day_report(self, t_s: float | None = None) -> DayReport:
        """The whole book's day as ``drone-delivery report`` reads it now."""
        return build_report(self.store)

    def summary(self) -> str:
        sites = {o.order.depot_id for o in self.orders.values() if o.shown}
        return f"{super().summary()}; depots {', '.join(sorted(sites)) or 'none'}"


class WatchBackend(RefusesCommands):
    """``ConsoleBackend`` following a ``BookWatch`` from its own thread, every ``poll_s``;
    every command refused (``WATCHING``).

    A failing database (a server restarted, say) is reported in the event log once, then the
    store is opened again on every poll until it answers; the console stays up.
    """

    refusal = WATCHING

    quit_note = "a watch only reads the book"

    def __init__(self, watch: BookWatch, poll_s: float = POLL_S,
                 first: Frame | None = None) -> None:
        self.watch = watch
        self._first = first
        """A poll made before the console opened (the command's check for an empty book),
        pushed first."""
        self.title = f"{watch.title} · watching every site (read-only)"
        self.poll_s = poll_s
        self.polls = 0
        """Polls done (tests wait on it)."""
        self._sink: ConsoleSink | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self, sink: ConsoleSink) -> None:
        self._sink = sink
        self._thread = threading.Thread(target=self._run, name="console-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        with self._lock:
            self.watch.close()

    def _run(self) -> None:
        if self._first is not None and self._sink is not None:
            push_frame(self._sink, self._first, self.watch.end_s)
            self._first = None
        self.step()
        while not self._stop.wait(self.poll_s):
            self.step()

    def step(self) -> None:
        """One poll, pushed to the console."""
        with self._lock:
            if self._stop.is_set() or self._sink is None:
                return
            try:
                frame = self.watch.poll()
            except ValueError as exc:  # StoreFault: the database failed under the read
                self._fault(exc)
                return
            if self._failing:
                self._failing = False
                self._sink.put_event(EventView(self.watch.end_s, "watch", Severity.NOTICE,
                                               "the store answers again"))
            push_frame(self._sink, frame, self.watch.end_s)
            self.polls += 1

    def _fault(self, exc: ValueError) -> None:
        assert self._sink is not None
        if not self._failing:
            self._failing = True
            self._sink.put_event(EventView(self.watch.end_s, "watch", Severity.ERROR,
                                           f"{exc}; reading again every {self.poll_s:g} s"))
        try:
            fresh = Store.open(self.watch.location, create=False)
        except ValueError:
            return
        self.watch.store.close()
        self.watch.store = fresh

    def day_report(self) -> DayReport | None:
        """``DayReporter``: the whole book's day now."""
        return self.watch.day_report()
