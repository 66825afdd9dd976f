"""The console on a replay: the dispatcher console with playback keys.

Space pauses and resumes the playback, ``+`` and ``-`` double and halve its speed (the
header shows the new speed next to the pace it measures); the console's own pause and
resume keys (s, r) pause and resume it too. Quitting never asks: nothing is flying.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.model import ActionResult, EventView, Severity
from groundcontrol.console.replay.playback import ReplayBackend

__all__ = ["MAX_SPEED", "ReplayApp"]

MAX_SPEED = 1000.0
"""``+`` stops doubling here."""


class ReplayApp(ConsoleApp):
    """``ConsoleApp`` over a ``ReplayBackend``, with space, ``+`` and ``-``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *ConsoleApp.BINDINGS,
        Binding("space", "toggle_playback", "Play/pause", show=False,
                tooltip="replay: pause or resume the playback (s and r too)"),
        Binding("plus,equals_sign", "speed(2.0)", "Faster", show=False,
                tooltip="replay: play twice as fast (the map's zoom while the map has focus)"),
        Binding("minus", "speed(0.5)", "Slower", show=False,
                tooltip="replay: play half as fast (the map's zoom while the map has focus)"),
    ]

    def __init__(self, backend: ReplayBackend, refresh_hz: float = 5.0) -> None:
        super().__init__(backend, refresh_hz)
        self.replay = backend

    def action_toggle_playback(self) -> None:
        """Pause or resume the playback."""
        self._answer(self.replay.toggle_playback())

    def action_speed(self, factor: float) -> None:
        """Multiply the playback speed by ``factor`` (within x1/16 .. ``MAX_SPEED``)."""
        speed = min(MAX_SPEED, max(1.0 / 16.0, self.replay.clock.speed * factor))
        self._answer(self.replay.set_speed(speed))
        self.asked_speedup = self.replay.clock.speed

    def _answer(self, result: ActionResult) -> None:
        text = result.message if result.ok else "; ".join(result.reasons)
        self.notify(text, severity="information" if result.ok else "error", timeout=3)
        now = self.clock_s if self.clock_s is not None else 0.0
        self.main.events.add_events([EventView(now, "replay", Severity.NOTICE, text)])

    def action_request_quit(self) -> None:
        """Quit at once: a replay has nothing in the air to ask about."""
        self.exit()
