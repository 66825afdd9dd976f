"""One thread reading many links: the ground station of a large fleet.

A ``Link`` on its own runs one thread that waits on its connection. A fleet of 200 vehicles
(one TCP link each to ArduPilot SITL or the built-in simulator) then had 200 threads waking
20 times a second each and taking the GIL in turn, and the console's event loop waited behind
them: a key took 100-300 ms to reach the screen. ``LinkReactor`` waits on every link's
connection with one ``selectors`` call, reads whichever is ready and sends each link's
heartbeat when due. Reconnecting (a blocking connect that can take seconds against a radio
or a host gone) runs in a short-lived thread of the link's own, so one dead link never
holds up the others.

The reactor knows a link only through ``ReactorLink``; ``LinkManager`` gives its links one.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from typing import Protocol

__all__ = ["LinkReactor", "ReactorLink"]

log = logging.getLogger(__name__)

POLL_S = 0.05
"""Longest wait between two looks at the heartbeats and the links' connections."""


class ReactorLink(Protocol):
    """What the reactor needs from a link (``groundcontrol.mavlink.link.Link``)."""

    url: str

    def reactor_connection(self) -> tuple[object, int] | None:
        """The open connection and its file descriptor; None while down."""
        ...

    def reactor_beat(self, now_s: float) -> float:
        """Send the heartbeat if due; returns when the next one is due (monotonic s)."""
        ...

    def reactor_read(self) -> None:
        """Read what is waiting (the connection is readable); handles its own errors."""
        ...

    def reactor_down(self) -> None:
        """The connection is down: start reconnecting, if the link does and is not already."""
        ...


class LinkReactor:
    """Reads and keeps alive any number of links from one thread (started on first ``add``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._links: list[ReactorLink] = []
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._registered: dict[int, tuple[object, int]] = {}
        """id(link) -> (connection, fd) registered for it."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dirty = True
        self._next_look = 0.0

    def add(self, link: ReactorLink) -> None:
        with self._lock:
            self._links.append(link)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="link reactor",
                                                daemon=True)
                self._thread.start()
        self.wake()

    def remove(self, link: ReactorLink) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)
        self.wake()

    def wake(self) -> None:
        """Look at the links again now (a connection came or went)."""
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"\0")

    def close(self) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the reactor thread ---------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._turn()
            except Exception:  # one link's bug must not silence every other vehicle
                log.exception("link reactor: a turn failed; going on")
                time.sleep(POLL_S)

    def _turn(self) -> None:
        if self._dirty or time.monotonic() >= self._next_look:
            self._look()
        timeout = max(0.0, self._next_look - time.monotonic())
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                with contextlib.suppress(BlockingIOError, OSError):
                    self._wake_r.recv(4096)
                self._dirty = True
                continue
            link = key.data
            link.reactor_read()
            if link.reactor_connection() is None:
                self._dirty = True  # lost: unregister it and start its reconnect

    def _look(self) -> None:
        """Track every link's connection and send the heartbeats due (at most every POLL_S,
        or when a link came, went or lost its connection: not once per message read)."""
        self._dirty = False
        with self._lock:
            links = list(self._links)
        now = time.monotonic()
        next_look = now + POLL_S
        by_id = {id(link): link for link in links}
        for gone in [k for k in self._registered if k not in by_id]:
            self._unregister(gone)
        for link in links:
            connection = link.reactor_connection()
            self._track(link, connection)
            if connection is None:
                link.reactor_down()
            else:
                next_look = min(next_look, link.reactor_beat(now))
        self._next_look = next_look

    def _track(self, link: ReactorLink, connection: tuple[object, int] | None) -> None:
        """Register the link's current connection (a new one after a reconnect)."""
        key = id(link)
        old = self._registered.get(key)
        if old is not None and (connection is None or old[0] is not connection[0]):
            self._unregister(key)
            old = None
        if connection is not None and old is None:
            try:
                self._selector.register(connection[1], selectors.EVENT_READ, link)
            except (KeyError, ValueError, OSError) as exc:  # a closed or reused descriptor
                log.info("%s: cannot wait on the connection (%s)", link.url, exc)
                return
            self._registered[key] = connection

    def _unregister(self, key: int) -> None:
        connection = self._registered.pop(key, None)
        if connection is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(connection[1])
