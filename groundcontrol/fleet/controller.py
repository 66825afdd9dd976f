"""The fleet controller: the pure dispatcher's decisions carried out on real or simulated vehicles.

``FleetController`` owns one thread (the loop) that alone talks to the ``Dispatcher`` and the
store: it releases orders at their time, feeds landings, faults, link losses and ticks to the
dispatcher, records each step in the store (one transaction per step), and starts a ``FlightJob``
(turnaround + ``Flight``) in a worker thread for every sortie due (``flight_reports``).
Actions from other threads (console, CLI) are queued to the loop and answered through futures.

Restart: a controller built on an existing store replays the stored dispatcher inputs
(``store.replay``), reconnects, downloads the mission of every armed vehicle and re-attaches a
follower to the flight it recognises; flights that ended while it was down are settled from the
vehicle's state (see ``resync``). An order is delivered at most once: the store refuses a
second delivery, and an ending the controller cannot vouch for is recorded as failed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.flight_job import FlightJob
from groundcontrol.fleet.flight_reports import FlightReports
from groundcontrol.fleet.mission_check import checked_plan_fn
from groundcontrol.fleet.model import (
    Clock,
    FleetConfig,
    FleetEvent,
    FleetEventKind,
    GroundCrew,
    ManualCrew,
    battery_wh_of,
    decision_text,
    mav_severity_name,
)
from groundcontrol.fleet.resync import resync_vehicles
from groundcontrol.fleet.store.sqlite import (
    IllegalTransition,
    OrderState,
    Store,
    StoreError,
    replay,
)
from groundcontrol.fleet.views import FleetViews
from groundcontrol.mavlink.commands import StreamKeeper, send_stream_request
from groundcontrol.mavlink.link import LinkManager
from groundcontrol.mavlink.messages import VehicleChannel
from groundcontrol.mavlink.signing import use_stored_key
from groundcontrol.mavlink.vehicle import VehicleTracker
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import (
    CancelAnswer,
    Decision,
    DepotModel,
    DroneFault,
    DroneRecovered,
    Event,
    Fail,
    LinkLost,
    LinkRestored,
    OrderCancelled,
    OrderPlaced,
    Reject,
    Tick,
)
from planner.errors import InvalidInput
from planner.model import Infeasibility, Order
from planner.plan import Planner
from planner.scenario import Drone, Scenario

__all__ = ["FleetActionError", "FleetController"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class FleetActionError(GroundControlError):
    """An action that cannot be done now (no flight on that drone, unknown drone ...)."""


class FleetController(FleetViews, FlightReports):
    """Dispatches a scenario's orders to its fleet and flies them.

    Args:
        scenario: depots, airspace, fleet (drones with sysids) and profiles.
        store: the dispatch database (new, or the one of an interrupted run).
        endpoints: MAVLink URL per drone id (several drones may share one URL).
        clock: scenario seconds (``SimClock`` for the built-in simulator).
        config: rates, timings, pre-flight options.
        crew: depot turnarounds (``SimCrew`` for the simulator; default ``ManualCrew``).
        releases: orders to place when the clock reaches their ``created_s`` (default: the
            scenario's); those already in the store are not placed again.
        depot_models: pads, spares, swap and charge per depot (default ``DepotModel``s).
    """

    def __init__(self, scenario: Scenario, store: Store, endpoints: Mapping[str, str],
                 clock: Clock, *, config: FleetConfig | None = None,
                 crew: GroundCrew | None = None, releases: Sequence[Order] | None = None,
                 depot_models: Mapping[str, DepotModel] | None = None) -> None:
        missing = [d.id for d in scenario.fleet if d.id not in endpoints]
        if missing:
            raise InvalidInput("endpoints", f"no connection for drone(s) {', '.join(missing)}")
        config = config or FleetConfig()
        self.scenario, self.store, self.clock, self.config = scenario, store, clock, config
        self.crew: GroundCrew = crew or ManualCrew()
        self.drones: dict[str, Drone] = {d.id: d for d in scenario.fleet}
        self._endpoints = dict(endpoints)
        self.planner = Planner(scenario.airspace, scenario.depots, margin_m=config.margin_m)
        self._depot_models = dict(depot_models or {d.id: DepotModel(d.id)
                                                   for d in scenario.depots})
        self.dispatcher = self._new_dispatcher()
        self._releases = sorted(scenario.orders if releases is None else releases,
                                key=lambda o: (o.created_s, o.id))
        self._links = LinkManager(heartbeat_period_s=max(0.05, 1.0 / config.speedup))
        self.channels: dict[str, VehicleChannel] = {}
        self.trackers: dict[str, VehicleTracker] = {}
        self._keepers: list[StreamKeeper] = []
        self.jobs: dict[str, FlightJob] = {}
        self.faults: dict[str, str] = {}
        self._recover_at: dict[str, float] = {}
        self.link_lost: set[str] = set()
        self.delivered_at: dict[str, float] = {}
        self.landing_at: dict[str, tuple[float, float]] = {}
        """Per order: when its flight last expected to land, and when it said so."""
        self.rejected: dict[str, tuple[Infeasibility, ...]] = {}
        self.why: dict[str, str] = {}
        """Why an order's flight failed or came back without delivering (for the console)."""
        self.lost: set[str] = set()
        """Open orders the dispatcher no longer has: a bug, reported as an error."""
        self.operating: set[str] = set()
        """Drones an operator is commanding (``fleet.operator``): no flight starts on them."""
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._observers: list[Callable[[FleetEvent], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._now_s = 0.0
        self._last_poll = self._last_snapshot = -1e18
        self._pace_samples: list[tuple[float, float]] = []
        self._off_schedule: dict[str, bool] = {}
        """Orders whose last landing estimate was off the schedule: True late, False early."""
        self.error: BaseException | None = None

    def _new_dispatcher(self) -> Dispatcher:
        return Dispatcher(fleet_of(self.scenario), self._depot_models,
                          checked_plan_fn(planner_plan_fn(self.planner), self.scenario.airspace,
                                          self.scenario.depots), promise_s=self.scenario.promise_s,
                          seed=self.config.seed, start_s=0.0,
                          slack_s=self.config.promise_slack_s,
                          separation=self.config.separation)

    # ---------------------------------------------------------------------------- lifecycle

    def start(self) -> FleetController:
        """Restore from the store, connect every vehicle, re-sync, start the loop thread.

        Raises:
            ReplayMismatch: the store was written with another fleet, depots or seed.
            LinkError: a connection string cannot be opened.
        """
        state = self.store.load_state()
        if state.dispatch_events:
            replay(state, self.dispatcher)
            self._now_s = self.dispatcher.now_s
        self.rejected = {d.order_id: d.reasons for _, d in state.decisions
                         if isinstance(d, Reject)}
        stored = {s.order.id for s in state.orders}
        self._releases = [o for o in self._releases if o.id not in stored]
        self._connect()
        if state.dispatch_events or state.in_flight:
            resync_vehicles(self, state, self.now_s())
        self._thread = threading.Thread(target=self._run, name="fleet-loop", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the loop and close the links (vehicles in the air keep flying their mission).

        Returns once the loop has finished the dispatcher step under way (it checks between
        steps), so the caller may close the store: a busy loop with a hundred drones wrote
        to a store its caller had closed. ``timeout_s`` bounds the wait.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the fleet loop did not stop within %.0f s", timeout_s)
        for job in list(self.jobs.values()):
            job.join(0.1)
        for keeper in self._keepers:
            keeper.close()
        self._links.close()

    def __enter__(self) -> FleetController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _connect(self) -> None:
        watched: list[Any] = []
        for drone_id, drone in self.drones.items():
            link = self._links.connect(self._endpoints[drone_id])
            # A vehicle set up for signing ignores unsigned commands: sign with its kept key
            # (by drone id, else by sysid alone as `drone-delivery sign` keeps it).
            if use_stored_key(link, drone.sysid, name=drone_id) or use_stored_key(
                    link, drone.sysid):
                self.emit(FleetEventKind.NOTE, f"{drone_id}: signing with its kept key",
                          drone_id)
            link.pin(drone.sysid)  # another sysid on this link is reported, never followed
            if link not in watched:  # one report per link, however many drones it serves
                watched.append(link)
                link.add_stranger_listener(self._stranger_watcher(link.url))
            channel = link.vehicle(drone.sysid)
            tracker = VehicleTracker(drone.sysid)
            channel.subscribe(tracker.update)
            channel.subscribe(self._text_watcher(drone_id, tracker))
            self.channels[drone_id], self.trackers[drone_id] = channel, tracker
            self._keepers.append(StreamKeeper(channel, max(1.0, 3.0 / self.config.speedup),
                                              self.config.stream_rate_hz))
            send_stream_request(channel, self.config.stream_rate_hz)
        deadline = time.monotonic() + self.config.resync_wall_s
        for drone_id, tracker in self.trackers.items():
            while tracker.snapshot().heartbeats == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            if tracker.snapshot().heartbeats == 0:
                self.emit(FleetEventKind.NOTE, f"no HEARTBEAT from {drone_id}", drone_id,
                          severity="warning")

    def _stranger_watcher(self, url: str) -> Callable[[int, str], None]:
        def watch(sysid: int, mtype: str) -> None:
            ours = {d.sysid: i for i, d in self.drones.items()}
            self.emit(FleetEventKind.NOTE, f"system {sysid} appeared on {url} ({mtype}) and is "
                      f"ignored: not one of our drones ({', '.join(map(str, sorted(ours)))})",
                      severity="warning")

        return watch

    def _text_watcher(self, drone_id: str, tracker: VehicleTracker) -> Callable[[Any], None]:
        seen = [0.0]

        def watch(msg: Any) -> None:
            if msg.get_type() != "STATUSTEXT":
                return
            for text in tracker.snapshot().texts:
                if text.received_s > seen[0]:
                    seen[0] = text.received_s
                    self.emit(FleetEventKind.TEXT, text.text, drone_id,
                              severity=mav_severity_name(text.severity))

        return watch

    # ----------------------------------------------------------------------------- clock

    def now_s(self) -> float:
        """Scenario time, never earlier than the dispatcher's last step."""
        with self._lock:
            self._now_s = max(self._now_s, self.clock.now_s())
            return self._now_s

    # ----------------------------------------------------------------------------- events

    def add_observer(self, observer: Callable[[FleetEvent], None]) -> Callable[[], None]:
        """Call ``observer`` (from the controller's threads) with every ``FleetEvent``."""
        with self._lock:
            self._observers.append(observer)

        def remove() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return remove

    def emit(self, kind: FleetEventKind, text: str, drone_id: str | None = None,
             order_id: str | None = None, severity: str = "info") -> None:
        event = FleetEvent(kind, self._now_s, text, drone_id, order_id, severity)
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            observer(event)

    # ------------------------------------------------------------------------- the loop

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step()
                time.sleep(self.config.poll_wall_s)
        except BaseException as exc:  # surfaced by run_until_done / the caller's error check
            self.error = exc
            log.exception("fleet loop stopped")
            self.emit(FleetEventKind.NOTE, f"controller stopped: {exc!r}", severity="error")

    def _step(self) -> None:
        while not self._stop.is_set():
            try:
                work = self._inbox.get_nowait()
            except queue.Empty:
                break
            work()
        if self._stop.is_set():
            return
        # Read after the inbox: its work reads the clock too, and the dispatcher refuses
        # a time earlier than one it has seen.
        now = self.now_s()
        self._release(now)
        if time.monotonic() - self._last_poll > 1.0:
            self._last_poll = time.monotonic()
            self._poll_store(now)
            self._find_lost()
        self._watch_links(now)
        self._recover_due(now)
        self._commit(now)
        self._launch(now)
        self._snapshots(now)
        if time.monotonic() - (self._pace_samples[-1][0] if self._pace_samples else 0) > 1.0:
            self._pace()

    def _release(self, now: float) -> None:
        while self._releases and self._releases[0].created_s <= now \
                and not self._stop.is_set():
            # Popped only once stored: ``done()`` must never see an order in neither place.
            self.dispatch(OrderPlaced(self._releases[0]), now)
            self._releases.pop(0)

    def _poll_store(self, now: float) -> None:
        """Orders and cancellations another process (``drone-delivery order``) stored."""
        pending = {o.id for o in self._releases}
        for event in self.store.undispatched():
            if isinstance(event, OrderPlaced) and event.order.id in pending:
                continue
            self.dispatch(event, now)

    def _find_lost(self) -> None:
        """Open orders the dispatcher no longer has. The dispatcher keeps every accepted
        order until it ends, so this is a safety net: any such order is reported as an
        error (and ``run_until_done`` fails naming it) rather than counted done."""
        known = {s.order_id for s in self.dispatcher.schedule()}
        known |= set(self.dispatcher.waiting()) | {j.order_id for j in self.jobs.values()}
        for stored in self.store.orders(OrderState.ASSIGNED) + self.store.orders(
                OrderState.PLANNED):
            oid = stored.order.id
            if oid not in known and oid not in self.lost:
                self.lost.add(oid)
                self.emit(FleetEventKind.NOTE, f"order {oid} was lost by the dispatcher "
                          "and will not be flown", order_id=oid, severity="error")

    def _watch_links(self, now: float) -> None:
        for drone_id, tracker in self.trackers.items():
            age = tracker.snapshot().link_age_s()
            lost = age is None or age > self.config.link_lost_wall_s
            if lost and drone_id in self.jobs:
                continue  # its flight follows the link itself (a reboot in pre-flight is quiet)
            if lost and drone_id not in self.link_lost:
                self.link_lost.add(drone_id)
                self.emit(FleetEventKind.NOTE, "link lost", drone_id, severity="warning")
                self.dispatch(LinkLost(drone_id), now)
            elif not lost and drone_id in self.link_lost:
                self.link_lost.discard(drone_id)
                self.emit(FleetEventKind.NOTE, "link restored", drone_id)
                self.dispatch(LinkRestored(drone_id), now)

    def _recover_due(self, now: float) -> None:
        for drone_id, at_s in list(self._recover_at.items()):
            if at_s <= now and drone_id not in self.jobs:
                del self._recover_at[drone_id]
                self.back_in_service(drone_id, now)

    def _commit(self, now: float) -> None:
        """A Tick fixes the sorties whose turnaround has begun (only when one has)."""
        tentative = [s for s in self.dispatcher.schedule() if s not in self.dispatcher.in_flight()]
        if any(s.turnaround_start_s < now for s in tentative):
            self.dispatch(Tick(), now)

    def _snapshots(self, now: float) -> None:
        from groundcontrol.fleet.store.sqlite import VehicleSnapshot

        if now - self._last_snapshot < self.config.snapshot_s:
            return
        self._last_snapshot = now
        for drone_id, tracker in self.trackers.items():
            s = tracker.snapshot()
            capacity = self.scenario.profile_for(self.drones[drone_id]).battery_wh
            self.store.record_vehicle(VehicleSnapshot(
                drone_id, now, self.activity(drone_id).value, battery_wh_of(s, capacity),
                s.lat_deg, s.lon_deg, s.alt_rel_m))

    # ------------------------------------------------------------------ dispatcher steps

    def dispatch(self, event: Event, now: float) -> list[Decision]:
        """One dispatcher step, recorded in the store as one transaction (loop thread only)."""
        # A report stamped before the dispatcher's last event is decided on when it is read.
        now = max(now, self.dispatcher.now_s)
        decisions = self.dispatcher.handle(event, now)
        self.store.record_dispatch(event, now, decisions)
        for decision in decisions:
            self._announce(decision)
        return decisions

    def _announce(self, d: Decision) -> None:
        if isinstance(d, Reject):
            self.rejected[d.order_id] = d.reasons
        elif isinstance(d, Fail):
            self.why[d.order_id] = d.reason
        # A refused order is the dispatcher's answer, not an alarm; a failed one is.
        severity = "warning" if isinstance(d, Fail) else "notice" if isinstance(d, Reject) \
            else "info"
        self.emit(FleetEventKind.DECISION, decision_text(d), getattr(d, "drone_id", None),
                  d.order_id, severity)
        self.emit(FleetEventKind.ORDER, "", getattr(d, "drone_id", None), d.order_id)

    # ------------------------------------------------------------------------------ faults

    def fault(self, drone_id: str, reason: str, now: float, recover_after: bool = False) -> None:
        """Take a drone out of service (loop thread); its sorties move or fail."""
        self.faults[drone_id] = reason
        self.emit(FleetEventKind.NOTE, f"fault: {reason}", drone_id, severity="warning")
        self.dispatch(DroneFault(drone_id, reason), now)
        if recover_after and self.config.auto_recover_s is not None:
            self._recover_at[drone_id] = now + self.config.auto_recover_s

    def back_in_service(self, drone_id: str, now: float) -> None:
        """Put a faulted drone back in service with the battery it reports (loop thread)."""
        self.faults.pop(drone_id, None)
        capacity = self.scenario.profile_for(self.drones[drone_id]).battery_wh
        battery = battery_wh_of(self.trackers[drone_id].snapshot(), capacity)
        self.dispatch(DroneRecovered(drone_id, capacity if battery is None else battery), now)
        self.emit(FleetEventKind.NOTE, "back in service", drone_id)

    # --------------------------------------------------------------------- thread-safe API

    def call(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T:
        """Run ``fn`` on the loop thread and return its result (raises what it raised).

        Before the loop runs (``start`` re-syncing after a restart) the caller is the only
        thread acting, so ``fn`` runs at once rather than waiting for a loop that is not there.
        """
        if threading.current_thread() is self._thread or self._thread is None:
            return fn()
        future: Future[T] = Future()

        def work() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)

        self._inbox.put(work)
        return future.result(timeout_s)

    def add_order(self, order: Order, source: str = "console") -> list[Decision]:
        """Store a new order and place it at once; returns the dispatcher's decisions."""
        def place() -> list[Decision]:
            now = self.now_s()
            self.store.add_orders([order], now, source)
            return self.dispatch(OrderPlaced(order), now)

        return self.call(place)

    def cancel(self, order_id: str) -> CancelAnswer:
        """Cancel an order that has not begun its sortie."""
        def cancel() -> CancelAnswer:
            now = self.now_s()
            try:
                if self.store.request_cancel(order_id, now) is OrderState.CANCELLED:
                    return CancelAnswer(order_id, True)
            except IllegalTransition as exc:  # in flight or final: refused, with the state
                return CancelAnswer(order_id, False, f"the sortie has begun ({exc})"
                                    if exc.from_state == OrderState.IN_FLIGHT.value
                                    else f"the order is {exc.from_state}")
            for d in self.dispatch(OrderCancelled(order_id), now):
                if isinstance(d, CancelAnswer):
                    return d
            raise StoreError(f"no answer to cancelling {order_id!r}")

        return self.call(cancel)

    def command(self, drone_id: str, action: str) -> str:
        """``pause``, ``resume``, ``rtl``, ``land`` or ``abort`` the flight of a drone."""
        if action not in ("pause", "resume", "rtl", "land", "abort"):
            raise FleetActionError(f"unknown action {action!r}")
        job = self.jobs.get(self._known(drone_id))
        if job is None:
            raise FleetActionError(f"{drone_id} is not flying")
        getattr(job.flight, action)()
        self.emit(FleetEventKind.NOTE, f"{action} requested", drone_id, job.order_id)
        return f"{action} sent to {drone_id} ({job.order_id})"

    def recover(self, drone_id: str) -> None:
        """Put a faulted drone back in service with the battery it reports."""
        self._known(drone_id)
        self.call(lambda: self.back_in_service(drone_id, self.now_s()))

    def mark_fault(self, drone_id: str, reason: str) -> None:
        """Take a drone out of service (a person saw something wrong)."""
        self._known(drone_id)
        self.call(lambda: self.fault(drone_id, reason, self.now_s()))

    def _known(self, drone_id: str) -> str:
        if drone_id not in self.drones:
            raise FleetActionError(f"unknown drone {drone_id!r}")
        return drone_id
