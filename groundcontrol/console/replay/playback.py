"""Playback of a recorded day or flight: a pausable clock at a chosen speed, and the
``ConsoleBackend`` that plays a ``ReplaySource`` on it.

A source folds its recording up to a moment (``advance(t_s)``) and says what changed as a
``Frame``; the backend's thread asks for the moment its clock has reached a few times a second
and pushes the frame to the console. Nothing is commanded: every vehicle or order action is
refused with ``NOTHING_TO_COMMAND``, except ``pause``/``resume``, which pause and resume the
playback (the console's pause and resume keys).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from groundcontrol.console.model import (
    ActionResult,
    ConsoleSink,
    EventView,
    MapView,
    OrderView,
    Severity,
    VehicleView,
)
from groundcontrol.console.refused import RefusesCommands

if TYPE_CHECKING:
    from groundcontrol.fleet.report import DayReport

__all__ = [
    "DEFAULT_SPEED",
    "NOTHING_TO_COMMAND",
    "Frame",
    "PlaybackClock",
    "ReplayBackend",
    "ReplaySource",
    "check_speed",
    "push_frame",
    "replay_lines",
]

DEFAULT_SPEED = 10.0
"""Recorded seconds played per wall second unless told otherwise."""
NOTHING_TO_COMMAND = "replay: nothing to command"
"""Why every action that would command a vehicle or an order is refused."""
REPLAY_QUIT_NOTE = "nothing is flying: this is a replay"


def check_speed(speed: float) -> float:
    """The playback speed, checked: a positive, finite number of recorded seconds per wall
    second.

    >>> check_speed(20)
    20.0

    Raises:
        ValueError: zero, negative, NaN or infinite.
    """
    value = float(speed)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"speed: must be a positive number (x1, x10, x100), got {speed!r}")
    return value


class PlaybackClock:
    """Recorded time played at ``speed`` from ``start_s``: paused, resumed and sped up
    without jumps (thread-safe). ``now`` is the wall clock (injectable for tests).

    >>> wall = [0.0]
    >>> c = PlaybackClock(100.0, 10.0, now=lambda: wall[0])
    >>> wall[0] = 2.0; c.time_s()
    120.0
    >>> c.pause(); wall[0] = 5.0; c.time_s()
    120.0
    >>> c.resume(); c.set_speed(2.0); wall[0] = 6.0; c.time_s()
    122.0
    """

    def __init__(self, start_s: float, speed: float = DEFAULT_SPEED,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._base_s = start_s
        """Recorded time at ``_base_wall``."""
        self._base_wall = now()
        self._speed = check_speed(speed)
        self._paused = False

    def time_s(self) -> float:
        """The recorded moment being played now."""
        with self._lock:
            return self._time_locked()

    def _time_locked(self) -> float:
        if self._paused:
            return self._base_s
        return self._base_s + (self._now() - self._base_wall) * self._speed

    def _rebase(self) -> None:
        self._base_s, self._base_wall = self._time_locked(), self._now()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._lock:
            self._rebase()
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._base_wall = self._now()
            self._paused = False

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` from now on (ValueError: not a positive finite number)."""
        checked = check_speed(speed)
        with self._lock:
            self._rebase()
            self._speed = checked

    def seek(self, t_s: float) -> None:
        """Jump to recorded time ``t_s`` (the end of a log, say)."""
        with self._lock:
            self._base_s, self._base_wall = t_s, self._now()


@dataclass(frozen=True, slots=True)
class Frame:
    """What changed in a recording between two moments, in the order it happened."""

    vehicles: tuple[VehicleView, ...] = ()
    orders: tuple[OrderView, ...] = ()
    events: tuple[EventView, ...] = ()
    map: MapView | None = None


class ReplaySource(Protocol):
    """A recording the backend plays: a ``.tlog`` or a dispatch store."""

    title: str
    """The console's header ('flight.tlog · replay')."""
    start_s: float
    """Recorded time of the first moment (seconds; shown as the clock)."""
    end_s: float
    """Recorded time of the last moment."""

    def advance(self, t_s: float) -> Frame:
        """Fold everything recorded up to ``t_s`` (never backwards) and say what changed."""
        ...

    def summary(self) -> str:
        """One line on the recording as folded so far (the headless replay's last line)."""
        ...


class ReplayBackend(RefusesCommands):
    """``ConsoleBackend`` playing a ``ReplaySource``: see the module docstring.

    Args:
        source: the recording.
        speed: recorded seconds per wall second (``check_speed``).
        refresh_s: wall seconds between pushes.
        now: the wall clock (tests may drive it).
    """

    refusal = NOTHING_TO_COMMAND

    def __init__(self, source: ReplaySource, speed: float = DEFAULT_SPEED,
                 refresh_s: float = 0.1, now: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.clock = PlaybackClock(source.start_s, speed, now)
        self.title = f"{source.title} · replay"
        self.quit_note = REPLAY_QUIT_NOTE
        self.refresh_s = refresh_s
        self.finished = threading.Event()
        """Set once the whole recording has been pushed."""
        self._sink: ConsoleSink | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def speedup(self) -> float:
        """The asked speed (the console's header shows it next to the pace it measures)."""
        return self.clock.speed

    # ------------------------------------------------------------------------- lifecycle

    def start(self, sink: ConsoleSink) -> None:
        self._sink = sink
        self.step()
        self._thread = threading.Thread(target=self._run, name="console-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self.step()

    def step(self) -> float:
        """Push everything recorded up to the clock's moment; returns that moment."""
        with self._lock:
            t = min(self.clock.time_s(), self.source.end_s)
            frame = self.source.advance(t)
            sink = self._sink
            if sink is None:
                return t
            push_frame(sink, frame, t)
            if t >= self.source.end_s and not self.finished.is_set():
                sink.put_event(EventView(t, "replay", Severity.NOTICE,
                                         f"end of the recording: {self.source.summary()}"))
                self.finished.set()
            return t

    # ---------------------------------------------------------------------- playback

    def pause_playback(self) -> ActionResult:
        self.clock.pause()
        return ActionResult.accepted("replay paused")

    def resume_playback(self) -> ActionResult:
        self.clock.resume()
        return ActionResult.accepted(f"replay playing at x{self.clock.speed:g}")

    def toggle_playback(self) -> ActionResult:
        return self.resume_playback() if self.clock.paused else self.pause_playback()

    def set_speed(self, speed: float) -> ActionResult:
        try:
            self.clock.set_speed(speed)
        except ValueError as exc:
            return ActionResult.refused(str(exc))
        return ActionResult.accepted(f"replay at x{self.clock.speed:g}")

    def day_report(self) -> DayReport | None:
        """``DayReporter``: the recording's day as it stood at the replay's moment, when the
        source has one (a store; a tlog has none)."""
        report = getattr(self.source, "day_report", None)
        return None if report is None else report(min(self.clock.time_s(), self.source.end_s))

    # ------------------------------------------------------------------------ actions

    def pause(self, vehicle: str) -> ActionResult:
        """The console's pause key: pauses the playback (nothing to command)."""
        return self.pause_playback()

    def resume(self, vehicle: str) -> ActionResult:
        """The console's resume key: resumes the playback."""
        return self.resume_playback()


def push_frame(sink: ConsoleSink, frame: Frame, t_s: float) -> None:
    """Hand a frame to the console: the map, orders, vehicles, events, then the clock."""
    if frame.map is not None:
        sink.put_map(frame.map)
    for order in frame.orders:
        sink.put_order(order)
    for vehicle in frame.vehicles:
        sink.put_vehicle(vehicle)
    for event in frame.events:
        sink.put_event(event)
    sink.put_clock(t_s)


def replay_lines(source: ReplaySource) -> list[str]:
    """The whole recording as text: one line per event, then ``replayed <summary>`` (the
    headless replay; no waiting)."""
    from groundcontrol.console.widgets.format import clock

    frame = source.advance(source.end_s)
    lines = [f"{clock(e.time_s)}  {e.source:<12} {e.severity.value:<7} {e.text}"
             for e in frame.events]
    lines.append(f"replayed {source.summary()}")
    return lines
