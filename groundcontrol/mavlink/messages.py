"""The transport seam: what transfer, commands and flights need from a link to one vehicle.

``VehicleChannel`` is the small protocol every MAVLink user in ``groundcontrol`` is handed
(the real ``link.LinkChannel``, or an in-memory fake in tests): send one message to the
vehicle, subscribe to its messages, and open an ``Inbox`` *before* sending a request so a fast
reply cannot be missed. ``MessageHub`` is the thread-safe fan-out both implement it with.
Nothing here imports ``pymavlink.mavutil``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol, runtime_checkable

from groundcontrol.errors import LinkClosed, ResponseTimeout

__all__ = [
    "Inbox",
    "MavMessage",
    "MessageCallback",
    "MessageHub",
    "Predicate",
    "Tap",
    "VehicleChannel",
    "wait_for",
]

MavMessage = Any
"""A pymavlink ``MAVLink_message`` (untyped in pymavlink)."""
MessageCallback = Callable[[MavMessage], None]
Tap = Callable[[str, int, MavMessage, bytes], None]
"""``tap(direction, sysid, msg, raw)``: direction "in" (from the vehicle) or "out"."""
Predicate = Callable[[MavMessage], bool]


class Inbox:
    """A queue of the messages of some types (and matching a predicate) from one vehicle.

    Open it before sending a request, read replies with ``get``, close it when done (it is a
    context manager). ``get`` never blocks longer than its timeout.
    """

    def __init__(
        self,
        hub: MessageHub,
        types: Collection[str] | None = None,
        predicate: Predicate | None = None,
    ) -> None:
        self._hub = hub
        self._types = frozenset(types) if types is not None else None
        self._predicate = predicate
        self._queue: queue.Queue[MavMessage] = queue.Queue()
        self._closed = False

    def offer(self, msg: MavMessage) -> None:
        """Queue ``msg`` when it is of a wanted type and matches (called by the hub)."""
        if self._types is not None and msg.get_type() not in self._types:
            return
        if self._predicate is not None and not self._predicate(msg):
            return
        self._queue.put(msg)

    def get(self, timeout_s: float) -> MavMessage | None:
        """The next queued message, or None after ``timeout_s`` seconds."""
        if self._hub.closed and self._queue.empty():
            raise LinkClosed("link closed while waiting for a message")
        try:
            return self._queue.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None

    def get_until(self, predicate: Predicate, deadline: float) -> MavMessage | None:
        """The first queued message matching ``predicate`` before ``deadline`` (monotonic)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            msg = self.get(min(remaining, 0.25))
            if msg is not None and predicate(msg):
                return msg

    def drain(self) -> list[MavMessage]:
        """Everything queued right now, without waiting."""
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub.remove_inbox(self)

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MessageHub:
    """Thread-safe fan-out of one vehicle's messages to callbacks and inboxes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[MessageCallback] = []
        self._inboxes: list[Inbox] = []
        self.closed = False

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        """Call ``callback(msg)`` for every message; returns the function that unsubscribes."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        box = Inbox(self, types, predicate)
        with self._lock:
            self._inboxes.append(box)
        return box

    def remove_inbox(self, box: Inbox) -> None:
        with self._lock:
            if box in self._inboxes:
                self._inboxes.remove(box)

    def dispatch(self, msg: MavMessage) -> None:
        """Deliver ``msg`` to every inbox and callback (from the link's reader thread)."""
        with self._lock:
            boxes = list(self._inboxes)
            callbacks = list(self._callbacks)
        for box in boxes:
            box.offer(msg)
        for callback in callbacks:
            callback(msg)

    def close(self) -> None:
        self.closed = True


@runtime_checkable
class VehicleChannel(Protocol):
    """What the protocol code needs from a link to one vehicle."""

    @property
    def sysid(self) -> int: ...

    @property
    def compid(self) -> int: ...

    def send(self, msg: MavMessage) -> None:
        """Send one message to this vehicle (fire and forget: a lost message is retried by
        whoever waits for the answer)."""
        ...

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        """Call ``callback`` for every message from this vehicle; returns the unsubscriber."""
        ...

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        """Open a queue of this vehicle's messages of ``types`` (all when None)."""
        ...


def wait_for(
    channel: VehicleChannel,
    predicate: Predicate,
    timeout_s: float,
    what: str,
    types: Collection[str] | None = None,
) -> MavMessage:
    """Wait for the first message from the vehicle matching ``predicate``.

    Raises:
        ResponseTimeout: nothing matched within ``timeout_s`` (``what`` names it).
    """
    with channel.inbox(types) as box:
        msg = box.get_until(predicate, time.monotonic() + timeout_s)
    if msg is None:
        raise ResponseTimeout(what, timeout_s, channel.sysid)
    return msg
