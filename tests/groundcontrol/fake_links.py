"""Links to the fake vehicles (``fake_vehicle.py``) for the ground-control code.

``MemoryChannel`` connects a fake to the ground-control code without sockets; ``LossyChannel``
drops, duplicates and reorders messages both ways; ``FakeServer`` serves fakes on a real TCP
port (boot text first, as ArduPilot does).
"""

from __future__ import annotations

import random
import socket
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable
from typing import Any

from fake_vehicle import FakeVehicle
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from recordings import BOOT_TEXT

from groundcontrol.mavlink.messages import Inbox, MavMessage, MessageCallback, MessageHub, Predicate

# -- channels ------------------------------------------------------------------------------

class MemoryChannel:
    """A ``VehicleChannel`` wired to a ``FakeVehicle`` through real MAVLink encoding.

    A worker thread plays the vehicle: it takes the GCS's messages, runs the fake's timers and
    delivers the fake's messages to subscribers, as a link's reader thread would.
    """

    def __init__(self, fake: FakeVehicle) -> None:
        self.fake = fake
        self.hub = MessageHub()
        self._gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
        self._veh = mavlink.MAVLink(None, srcSystem=fake.sysid, srcComponent=1)
        self._parser = mavlink.MAVLink(None)
        self._inbound: deque[bytes] = deque()
        self._outbound: deque[MavMessage] = deque()
        fake.out = self._outbound.append
        self.sent: list[MavMessage] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake vehicle")
        self._thread.start()

    @property
    def sysid(self) -> int:
        return self.fake.sysid

    @property
    def compid(self) -> int:
        return 1

    def send(self, msg: MavMessage) -> None:
        self.sent.append(msg)
        self._inbound.append(bytes(msg.pack(self._gcs)))
        self._wake.set()

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        return self.hub.subscribe(callback)

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        return self.hub.inbox(types, predicate)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.01)
            self._wake.clear()
            while self._inbound:
                for msg in self._parser.parse_buffer(self._inbound.popleft()) or []:
                    self.fake.handle(msg)
            self.fake.tick()
            while self._outbound:
                raw = bytes(self._outbound.popleft().pack(self._veh))
                for msg in self._parser.parse_buffer(raw) or []:
                    self.hub.dispatch(msg)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.hub.close()


class LossyChannel:
    """Wraps a channel: drops, duplicates and reorders messages in both directions."""

    def __init__(self, inner: Any, drop: float = 0.2, duplicate: float = 0.1,
                 reorder: float = 0.1, seed: int = 1) -> None:
        self.inner = inner
        self.drop, self.duplicate, self.reorder = drop, duplicate, reorder
        self.rng = random.Random(seed)
        self.hub = MessageHub()
        self._held_out: MavMessage | None = None
        self._held_in: MavMessage | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        inner.subscribe(self._incoming)

    @property
    def sysid(self) -> int:
        return int(self.inner.sysid)

    @property
    def compid(self) -> int:
        return int(self.inner.compid)

    def _mangle(self, msg: MavMessage, held: MavMessage | None) -> tuple[list[Any], Any]:
        """Messages to pass on now and the one to hold back (reordering)."""
        with self._lock:
            r = self.rng.random()
            if r < self.drop:
                self.dropped += 1
                return [], held
            out = [msg, msg] if r < self.drop + self.duplicate else [msg]
            if held is None and self.rng.random() < self.reorder:
                return out[1:], msg  # hold it back until the next one passes
            return ([*out, held] if held is not None else out), None

    def send(self, msg: MavMessage) -> None:
        out, self._held_out = self._mangle(msg, self._held_out)
        for m in out:
            self.inner.send(m)

    def _incoming(self, msg: MavMessage) -> None:
        out, self._held_in = self._mangle(msg, self._held_in)
        for m in out:
            self.hub.dispatch(m)

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        return self.hub.subscribe(callback)

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        return self.hub.inbox(types, predicate)


# -- a TCP server of fakes -----------------------------------------------------------------

class FakeServer:
    """Serves fake vehicles on a real TCP port (all on one stream, routed by sysid).

    Like ArduPilot SITL it writes boot text before MAVLink, and ``drop_client()`` closes the
    connection as a reboot does. ``extra`` messages can be pushed with ``push``.
    """

    def __init__(self, fakes: Iterable[FakeVehicle], port: int = 0,
                 boot_text: bytes = BOOT_TEXT) -> None:
        self.fakes = {f.sysid: f for f in fakes}
        self.boot_text = boot_text
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", port))
        self._listen.listen(4)
        self._listen.settimeout(0.05)
        self.port = self._listen.getsockname()[1]
        self.url = f"tcp:127.0.0.1:{self.port}"
        self._client: socket.socket | None = None
        self._queue: deque[tuple[int, MavMessage]] = deque()
        self._raw: deque[bytes] = deque()
        self._encoders = {s: mavlink.MAVLink(None, srcSystem=s, srcComponent=1)
                          for s in self.fakes}
        self._parser = mavlink.MAVLink(None)
        self._parser.robust_parsing = True
        self.connections = 0
        self.received: list[MavMessage] = []
        for sysid, fake in self.fakes.items():
            fake.out = lambda msg, s=sysid: self._queue.append((s, msg))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake server")
        self._thread.start()

    def push(self, sysid: int, msg: MavMessage) -> None:
        self._queue.append((sysid, msg))

    def push_raw(self, data: bytes) -> None:
        self._raw.append(data)

    def drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._client is None:
                self._accept()
                continue
            try:
                self._pump(self._client)
            except OSError:
                self.drop_client()

    def _accept(self) -> None:
        try:
            client, _ = self._listen.accept()
        except (TimeoutError, OSError):
            return
        client.settimeout(0.01)
        client.sendall(self.boot_text)
        self.connections += 1
        self._client = client

    def _pump(self, client: socket.socket) -> None:
        try:
            data = client.recv(4096)
            if not data:
                raise OSError("client closed")
            for msg in self._parser.parse_buffer(data) or []:
                if msg.get_type() == "BAD_DATA":
                    continue
                self.received.append(msg)
                target = getattr(msg, "target_system", 0)
                for sysid, fake in self.fakes.items():
                    if target in (0, sysid):
                        fake.handle(msg)
        except TimeoutError:
            pass
        for fake in self.fakes.values():
            fake.tick()
        out = bytearray()
        while self._raw:
            out += self._raw.popleft()
        while self._queue:
            sysid, msg = self._queue.popleft()
            out += msg.pack(self._encoders[sysid])
        if out:
            client.sendall(bytes(out))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.drop_client()
        self._listen.close()


__all__ = ["FakeServer", "LossyChannel", "MemoryChannel"]
