"""The console on a watch of the whole order book: every panel, the day screen and the
filters as on a site's console; every action (order form, launch, cancel, pause, return,
operate a vehicle) refused at once with one line, before any form or question. Quitting
never asks: a watch flies nothing.
"""

from __future__ import annotations

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.model import EventView, Severity
from groundcontrol.console.watch import WATCHING, WatchBackend

__all__ = ["WatchApp"]


class WatchApp(ConsoleApp):
    """``ConsoleApp`` over a ``WatchBackend``."""

    def __init__(self, backend: WatchBackend, refresh_hz: float = 5.0) -> None:
        super().__init__(backend, refresh_hz)
        self.book = backend
        self.refusals = 0
        """Actions refused (tests count them)."""

    def on_mount(self) -> None:
        super().on_mount()
        # Orders of every site: each one's depot beside its id, not off to the right.
        self.call_after_refresh(lambda: self.main.orders.order_columns(("id", "depot")))

    def request_action(self, name: str, target: str | None, vehicle: str | None = None) -> None:
        """Refuse: the book is the sites' to change."""
        self._refuse()

    def action_operate(self) -> None:
        """Refuse: a watch has no link to any vehicle."""
        if self.screen is self.main:
            self._refuse()

    def _refuse(self) -> None:
        self.refusals += 1
        self.notify(WATCHING, severity="warning", timeout=4)
        now = self.clock_s if self.clock_s is not None else 0.0
        self.main.events.add_events([EventView(now, "console", Severity.NOTICE, WATCHING)])

    def action_request_quit(self) -> None:
        """Quit at once: nothing flies from a watch."""
        self.exit()
