"""A thread-safe, coalescing sink between a backend's threads and the console's event loop.

Backends push views at telemetry rate (20 vehicles x 10 Hz); the screen only needs the latest
view of each vehicle a few times a second. The buffer keeps the latest view per vehicle and
order, the latest map, and a bounded queue of events, and wakes the UI once per batch: however
fast a backend pushes, at most one wake-up message is ever waiting in the app's queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from groundcontrol.console.model import EventView, MapView, OrderView, VehicleView

__all__ = ["Batch", "BufferStats", "UpdateBuffer"]

MAX_PENDING_EVENTS = 500
"""Events beyond this between two redraws are dropped (oldest first) and counted."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Everything that changed since the previous drain."""

    vehicles: tuple[VehicleView, ...]
    orders: tuple[OrderView, ...]
    map: MapView | None
    events: tuple[EventView, ...]
    dropped_events: int
    clock_s: float | None = None
    """The latest scenario clock the backend reported, if it reports one."""

    @property
    def empty(self) -> bool:
        return (
            not (self.vehicles or self.orders or self.events or self.map is not None)
            and self.clock_s is None
        )


@dataclass(frozen=True, slots=True)
class BufferStats:
    """Counters for the throughput test and the status line."""

    received: int
    """Views pushed by the backend."""
    coalesced: int
    """Vehicle/order views replaced by a newer one before they were drawn."""
    wakeups: int
    """Wake-up calls made (at most one outstanding at any time)."""
    dropped_events: int


class UpdateBuffer:
    """Implements ``ConsoleSink``; ``wake`` is called (from the pushing thread) when the buffer
    goes from empty to non-empty and must itself be thread-safe (``App.post_message`` is)."""

    def __init__(self, wake: Callable[[], object], max_events: int = MAX_PENDING_EVENTS) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._vehicles: dict[str, VehicleView] = {}
        self._orders: dict[str, OrderView] = {}
        self._map: MapView | None = None
        self._clock_s: float | None = None
        self._events: deque[EventView] = deque(maxlen=max_events)
        self._dropped = 0
        self._pending = False
        self._received = 0
        self._coalesced = 0
        self._wakeups = 0
        self._dropped_total = 0

    def put_vehicle(self, view: VehicleView) -> None:
        with self._lock:
            self._coalesced += view.name in self._vehicles
            self._vehicles[view.name] = view
            wake = self._mark()
        self._maybe_wake(wake)

    def put_order(self, view: OrderView) -> None:
        with self._lock:
            self._coalesced += view.id in self._orders
            self._orders[view.id] = view
            wake = self._mark()
        self._maybe_wake(wake)

    def put_map(self, view: MapView) -> None:
        with self._lock:
            self._map = view
            wake = self._mark()
        self._maybe_wake(wake)

    def put_event(self, view: EventView) -> None:
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self._dropped += 1
                self._dropped_total += 1
            self._events.append(view)
            wake = self._mark()
        self._maybe_wake(wake)

    def put_clock(self, now_s: float) -> None:
        with self._lock:
            self._clock_s = now_s
            wake = self._mark()
        self._maybe_wake(wake)

    def drain(self) -> Batch:
        """Take everything pending; the next push wakes the UI again."""
        with self._lock:
            batch = Batch(
                vehicles=tuple(self._vehicles.values()),
                orders=tuple(self._orders.values()),
                map=self._map,
                events=tuple(self._events),
                dropped_events=self._dropped,
                clock_s=self._clock_s,
            )
            self._clock_s = None
            self._vehicles = {}
            self._orders = {}
            self._map = None
            self._events.clear()
            self._dropped = 0
            self._pending = False
        return batch

    def stats(self) -> BufferStats:
        with self._lock:
            return BufferStats(self._received, self._coalesced, self._wakeups, self._dropped_total)

    def _mark(self) -> bool:
        """Count a push (lock held); True when this push must wake the UI."""
        self._received += 1
        if self._pending:
            return False
        self._pending = True
        self._wakeups += 1
        return True

    def _maybe_wake(self, wake: bool) -> None:
        # Called outside the lock: the wake callback may take the event loop's own locks.
        if wake:
            self._wake()
