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

from textual import work
from textual.app import App
from textual.screen import Screen
from textual.timer import Timer

from groundcontrol.console.actions import action_spec
from groundcontrol.console.buffer import UpdateBuffer
from groundcontrol.console.messages import ActionFinished, UpdatesPending
from groundcontrol.console.model import (
    ActionResult,
    ConsoleBackend,
    EventView,
    MapView,
    OrderView,
    Severity,
    VehicleView,
)
from groundcontrol.console.palette import ConsoleCommands
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.console.screens.main import MainScreen
from groundcontrol.console.screens.order_form import OrderFormScreen

__all__ = ["ConsoleApp"]


class ConsoleApp(App[None]):
    """The console over one backend. ``refresh_hz`` caps redraws of tables and map."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    TITLE = "drone-delivery"

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
        if batch.empty:
            return
        self.flushes += 1
        started = time.perf_counter()
        self.vehicles.update((v.name, v) for v in batch.vehicles)
        self.orders.update((o.id, o) for o in batch.orders)
        if batch.map is not None:
            self.map_view = batch.map
        if batch.clock_s is not None:
            self.clock_s = batch.clock_s
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
                # The new order's row may be drawn already, or arrive with a later batch.
                order_id = result.order_id
                if order_id is not None and not self.main.orders.select_key(order_id):
                    self._select_order = order_id

        self.push_screen(OrderFormScreen(depots, self.backend.add_order, default), callback=added)

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
        title = action_spec(message.action).title
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
