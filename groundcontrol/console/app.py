"""The dispatcher console: wires a ``ConsoleBackend`` to the screens.

Backend threads push views into an ``UpdateBuffer``; the buffer posts one ``UpdatesPending``
message per batch and the app redraws at most ``refresh_hz`` times a second. Backend actions
run in thread workers and come back as ``ActionFinished`` messages, so neither telemetry nor
a slow vehicle ever blocks the event loop.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer

from groundcontrol.console.actions import action_spec
from groundcontrol.console.buffer import UpdateBuffer
from groundcontrol.console.event_filter import EventFilter
from groundcontrol.console.messages import ActionFinished, UpdatesPending
from groundcontrol.console.model import (
    ActionResult,
    ConsoleBackend,
    DayReporter,
    EventView,
    MapView,
    OrderView,
    Severity,
    VehicleOperator,
    VehicleState,
    VehicleView,
)
from groundcontrol.console.order_flows import cancel_or_abort, retry_order
from groundcontrol.console.palette import ConsoleCommands
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.console.screens.day import DaySummaryScreen
from groundcontrol.console.screens.event_filter import EventFilterScreen
from groundcontrol.console.screens.help import HelpScreen
from groundcontrol.console.screens.main import MainScreen
from groundcontrol.console.screens.order_form import OrderFormScreen
from groundcontrol.console.screens.vehicle_ops import OPERATE_ACTION, VehicleOpsScreen
from groundcontrol.console.widgets.alert_bar import ACK_KEY

__all__ = ["FLYING_STATES", "ConsoleApp", "measured_pace"]

FLYING_STATES = frozenset({VehicleState.EN_ROUTE, VehicleState.DELIVERING,
                           VehicleState.RETURNING, VehicleState.PAUSED})
"""States of a vehicle in the air (an armed vehicle counts too, whatever its state)."""
PACE_WINDOW_S = 10.0
"""Wall seconds of scenario-clock samples the measured pace is taken over."""
PACE_MIN_SPAN_S = 2.0
"""No pace is shown before the samples span this many wall seconds."""
DEFAULT_QUIT_NOTE = "they keep flying their missions; resume with the same command"


def measured_pace(samples: deque[tuple[float, float]]) -> float | None:
    """Scenario seconds per wall second over ``(wall_s, clock_s)`` samples; None until they
    span ``PACE_MIN_SPAN_S``.

    >>> measured_pace(deque([(0.0, 100.0), (3.0, 150.0)]))
    16.666666666666668
    >>> measured_pace(deque([(0.0, 100.0), (1.0, 150.0)])) is None
    True
    """
    if len(samples) < 2:
        return None
    (w0, c0), (w1, c1) = samples[0], samples[-1]
    if w1 - w0 < PACE_MIN_SPAN_S:
        return None
    return (c1 - c0) / (w1 - w0)


class ConsoleApp(App[None]):
    """The console over one backend. ``refresh_hz`` caps redraws of tables and map."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    TITLE = "drone-delivery"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True,
                tooltip="quit (asks first while drones are in the air)"),
        Binding("f1", "show_keys", "Keys", show=False, tooltip="every key (this screen)"),
        # Pan the map from any panel (the map itself takes the plain arrows, + - and 0; the
        # replay's + and - change its speed unless the map has focus).
        Binding("shift+left", "map('pan(-1, 0)')", "Pan left", show=False),
        Binding("shift+right", "map('pan(1, 0)')", "Pan right", show=False),
        Binding("shift+up", "map('pan(0, -1)')", "Pan up", show=False),
        Binding("shift+down", "map('pan(0, 1)')", "Pan down", show=False),
        Binding("b", "toggle_chatter", "Boot texts", show=False,
                tooltip="show or hide the autopilots' boot and on-the-pad texts in the events"),
        Binding("f", "filter_events", "Filter", show=False,
                tooltip="filter the events: one vehicle (the selected one first), a minimum "
                        "severity"),
        Binding(ACK_KEY, "acknowledge", "Ack", show=False,
                tooltip="acknowledge the alerts (the bar under the header clears until the "
                        "next one)"),
    ]

    def __init__(self, backend: ConsoleBackend, refresh_hz: float = 5.0) -> None:
        super().__init__()
        if not refresh_hz > 0:
            raise ValueError(f"refresh_hz: must be positive, got {refresh_hz!r}")
        self.backend = backend
        self.backend_title: str = getattr(backend, "title", "")
        self.refresh_period_s = 1.0 / refresh_hz
        self.buffer = UpdateBuffer(wake=lambda: self.post_message(UpdatesPending()))
        self.vehicles: dict[str, VehicleView] = {}
        self.orders: dict[str, OrderView] = {}
        self.map_view = MapView()
        self.flushes = 0
        self.flush_times_s: deque[float] = deque(maxlen=200)
        """How long the last redraws took on the event loop (widgets updated, not painted)."""
        self.actions_done: list[ActionFinished] = []
        self._flush_timer: Timer | None = None
        self._last_flush = 0.0
        self.clock_s: float | None = None
        """The scenario clock: from ``put_clock``, else the latest event time seen."""
        self._select_order: str | None = None
        self.asked_speedup: float | None = getattr(backend, "speedup", None)
        """The speedup asked of the vehicles (the header shows it next to the measured one)."""
        self.quit_note: str = getattr(backend, "quit_note", DEFAULT_QUIT_NOTE)
        """What happens to the drones in the air when the console quits (the quit dialog)."""
        self._clock_samples: deque[tuple[float, float]] = deque()
        self.retried: dict[str, str] = {}
        """Each order the dispatcher placed again (``e``), and the new order's id."""

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        # Start after the first refresh, when the main screen's widgets exist to draw into.
        self.call_after_refresh(self.backend.start, self.buffer)

    def on_unmount(self) -> None:
        self.backend.stop()

    # -- updates -------------------------------------------------------------------------------

    def on_updates_pending(self, _: UpdatesPending) -> None:
        if self._flush_timer is not None:
            return
        delay = self._last_flush + self.refresh_period_s - time.monotonic()
        if delay <= 0.001:
            self.flush_updates()  # idle for a refresh period already: draw at once
        else:
            self._flush_timer = self.set_timer(delay, self.flush_updates, name="flush")

    def flush_updates(self) -> None:
        """Drain the buffer and redraw now (the throttle calls this; tests may too)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._last_flush = time.monotonic()
        batch = self.buffer.drain()
        if batch.empty or not self.screen_stack:
            return  # nothing new, or the console is closing (its screens are gone)
        self.flushes += 1
        started = time.perf_counter()
        self.vehicles.update((v.name, v) for v in batch.vehicles)
        self.orders.update((o.id, o) for o in batch.orders)
        if batch.map is not None:
            self.map_view = batch.map
        if batch.clock_s is not None:
            self.clock_s = batch.clock_s
            self._sample_clock(batch.clock_s)
            batch = replace(batch, orders=self._count_down(batch.orders, batch.clock_s))
        elif batch.events:
            latest = max(e.time_s for e in batch.events)
            self.clock_s = latest if self.clock_s is None else max(self.clock_s, latest)
        self.main.apply(batch, self.vehicles, batch.map)
        if self._select_order is not None and self.main.orders.select_key(self._select_order):
            self._select_order = None
        for screen in self.screen_stack[1:]:
            update = getattr(screen, "update_views", None)
            if update is not None:
                update(self.vehicles, self.orders)
        self.flush_times_s.append(time.perf_counter() - started)

    def _sample_clock(self, clock_s: float) -> None:
        wall = time.monotonic()
        self._clock_samples.append((wall, clock_s))
        while len(self._clock_samples) > 2 and wall - self._clock_samples[1][0] > PACE_WINDOW_S:
            self._clock_samples.popleft()

    def pace_text(self, short: bool = False) -> str:
        """The header's pace: ``x16.7 of x40`` (measured of asked; ``short``: ``x16.7``),
        ``x40`` before a measure, "" when the backend names no speedup."""
        pace = measured_pace(self._clock_samples)
        asked = self.asked_speedup
        if pace is None:
            return "" if asked is None else f"x{asked:g}"
        return f"x{pace:.1f}" if short or asked is None else f"x{pace:.1f} of x{asked:g}"

    def _count_down(self, pushed: tuple[OrderView, ...], now_s: float) -> tuple[OrderView, ...]:
        """Orders pushed now, plus every open order whose time left moved by a second or more."""
        pushed_ids = {o.id for o in pushed}
        changed = []
        for order in list(self.orders.values()):
            if order.status.is_final or order.promised_s is None:
                continue
            left = order.promised_s - now_s
            old = order.time_left_s
            if order.id in pushed_ids or old is None or abs(old - left) >= 1.0:
                self.orders[order.id] = order = replace(order, time_left_s=left)
                changed.append(order)
        counted = {o.id for o in changed}
        return (*(o for o in pushed if o.id not in counted), *changed)

    # -- quit and keys --------------------------------------------------------------------------

    def flying(self) -> list[VehicleView]:
        """Vehicles in the air now (armed, or in a flying state)."""
        return [v for v in self.vehicles.values() if v.armed or v.state in FLYING_STATES]

    def action_request_quit(self) -> None:
        """Quit; while drones are in the air, only once the dispatcher confirms."""
        if any(isinstance(s, ConfirmScreen) and s.id == "quit" for s in self.screen_stack):
            return
        flying = self.flying()
        if not flying:
            self.exit()
            return
        names = ", ".join(sorted(v.name for v in flying))
        n = len(flying)
        question = f"{n} drone{'s' if n != 1 else ''} in the air: quit?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(question, f"{names}: {self.quit_note}", id="quit"),
                         answered)

    def action_day_summary(self) -> None:
        """The day screen (``y``): each drone's day and the totals, read live from the store."""
        if isinstance(self.screen, DaySummaryScreen):
            return
        backend = self.backend
        fetch = backend.day_report if isinstance(backend, DayReporter) else lambda: None
        self.push_screen(DaySummaryScreen(fetch, lambda: self.clock_s))

    def action_show_keys(self) -> None:
        """The keys screen (``?`` and F1)."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_map(self, action: str) -> None:
        """Run one of the map's actions (zoom, pan, fit) whichever main panel has focus."""
        if self.screen is self.main:
            await self.run_action(action, self.main.map)

    # -- the event log's keys (on the main screen only) ------------------------------------------

    def action_toggle_chatter(self) -> None:
        """Show or hide the autopilot's boot and on-the-pad texts (``b``)."""
        if self.screen is self.main:
            log = self.main.events
            log.set_filter(replace(log.filter, show_chatter=not log.filter.show_chatter))

    def action_filter_events(self) -> None:
        """The event filter: vehicle, minimum severity, boot texts (``f``)."""
        if self.screen is not self.main:
            return
        log, selected = self.main.events, self.main.selected_vehicle()

        def chosen(new: EventFilter | None) -> None:
            if new is not None:
                log.set_filter(new)

        self.push_screen(EventFilterScreen(log.filter, sorted(self.vehicles),
                                           selected.name if selected else None), chosen)

    def action_operate(self) -> None:
        """The vehicle screen for the fleet panel's selected vehicle (``v``)."""
        if self.screen is not self.main:
            return
        vehicle = self.main.selected_vehicle()
        if vehicle is None:
            self.notify("No vehicle selected", severity="warning")
        elif not isinstance(self.backend, VehicleOperator):
            self.notify("This console cannot operate vehicles (no live fleet behind it)",
                        severity="warning")
        else:
            self.push_screen(VehicleOpsScreen(vehicle, self.backend.operate))

    def action_acknowledge(self) -> None:
        """Acknowledge the alerts: the alert bar clears until the next one."""
        if self.screen is self.main:
            self.main.events.acknowledge()

    # -- actions -------------------------------------------------------------------------------

    def act_on_selection(self, name: str) -> None:
        """Run an action on the main screen's selected vehicle or order."""
        self.main.action_act(name)

    def request_action(self, name: str, target: str | None, vehicle: str | None = None) -> None:
        """Start an action: the order form for add_order, a confirmation for dangerous ones."""
        spec = action_spec(name)
        if name == "add_order":
            self._open_order_form()
            return
        if name == "retry_order" and target is not None:
            retry_order(self, target)
            return
        if name == "cancel_order" and target is not None and cancel_or_abort(self, target):
            return
        if spec.dangerous:

            def answered(yes: bool | None) -> None:
                if yes:
                    self.perform(name, target, vehicle)

            self.push_screen(ConfirmScreen(f"{spec.title} {target}?", spec.help), answered)
            return
        self.perform(name, target, vehicle)

    def _open_order_form(self) -> None:
        depots = [d.id for d in self.map_view.depots]
        selected = self.main.selected_order()
        default = selected.depot_id if selected is not None else ""

        def added(result: ActionResult | None) -> None:
            if result is not None:
                self.post_message(ActionFinished("add_order", "", result))
                if result.order_id is not None:
                    self.select_order(result.order_id)

        self.push_screen(OrderFormScreen(depots, self.backend.add_order, default), callback=added)

    def select_order(self, order_id: str) -> None:
        """Put the orders panel's cursor on an order: now, or when its row arrives."""
        if not self.main.orders.select_key(order_id):
            self._select_order = order_id

    @work(thread=True, group="actions")
    def perform(self, name: str, target: str | None, vehicle: str | None = None) -> None:
        """Call the backend off the event loop; the answer comes back as ``ActionFinished``."""
        backend = self.backend
        try:
            if name == "launch":
                result = backend.launch(order_id=target, vehicle=vehicle)
            else:
                result = getattr(backend, name)(target)
        except Exception as exc:  # a backend bug must not end the dispatcher's shift: show it
            result = ActionResult.refused(f"backend error: {type(exc).__name__}: {exc}")
        self.post_message(ActionFinished(name, target or vehicle or "", result))

    def on_action_finished(self, message: ActionFinished) -> None:
        self.actions_done.append(message)
        result = message.result
        title = "Operate" if message.action == OPERATE_ACTION else \
            action_spec(message.action).title
        target = f" {message.target}" if message.target else ""
        if result.ok:
            text = f"{title}{target}: {result.message or 'done'}"
            self.notify(text, timeout=3)
        else:
            text = f"{title}{target} refused: " + "; ".join(result.reasons)
            self.notify(text, severity="error", timeout=6)
        severity = Severity.NOTICE if result.ok else Severity.WARNING
        now = self.clock_s if self.clock_s is not None else 0.0
        self.main.events.add_events([EventView(now, "console", severity, text)])
