"""The MAVLink link: one connection (UDP, TCP or serial) carrying any number of vehicles.

This is the only module that imports ``pymavlink.mavutil``. A ``Link`` owns one connection and
one thread that reads it, routes each message by system id to that vehicle's ``LinkChannel``
(a ``messages.VehicleChannel``; ``link_routing`` decides which messages reach one), and sends
the ground station's HEARTBEAT (sysid 255, compid 190, type GCS) once per
``heartbeat_period_s``: ArduCopter's GCS failsafe only counts HEARTBEATs, not commands.
Liveness is any message from the vehicle. Non-MAVLink bytes (ArduPilot prints its boot text on
the same TCP stream) are skipped. When a TCP peer goes away (ArduPilot SITL drops the
connection on reboot) the link reconnects by itself.

Signing (MAVLink 2, as ArduPilot does it, in ``link_signing``): ``enable_signing(key)`` signs
everything the link sends, heartbeats included; ``setup_vehicle_signing`` gives a vehicle its
key with SETUP_SIGNING first; what the vehicles send is judged per vehicle. A link signs with
one key, so it carries one signed vehicle (or several sharing a key).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

os.environ.setdefault("MAVLINK20", "1")  # fence/rally transfers need MAVLink 2 extensions

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import LinkError
from groundcontrol.mavlink.link_routing import VehicleRouter
from groundcontrol.mavlink.link_signing import (
    LinkSigning,
    SignatureJudge,
    SigningCounts,
    signing_timestamp,
)
from groundcontrol.mavlink.messages import (
    Inbox,
    MavMessage,
    MessageCallback,
    MessageHub,
    Predicate,
    Tap,
)
from groundcontrol.mavlink.reactor import LinkReactor

mavutil.set_dialect("ardupilotmega")

__all__ = [
    "GCS_COMPID",
    "GCS_SYSID",
    "Link",
    "LinkChannel",
    "LinkManager",
    "LinkStats",
    "SigningCounts",
    "Tap",
    "signing_timestamp",
]

log = logging.getLogger(__name__)

GCS_SYSID = 255
GCS_COMPID = mavlink.MAV_COMP_ID_MISSIONPLANNER  # 190, as in the recordings
_READ_CHUNK = 65536
"""Bytes asked of the connection per read (a UDP read returns one datagram whatever)."""
_READS_PER_WAKE = 64
_REACTOR_CHUNK = 16384
"""Bytes read from one link per reactor turn (about 300 messages, a few milliseconds)."""

class _Dropped(Exception):
    """The peer closed the stream (raised from inside mavutil's EOF hooks)."""


@dataclass(frozen=True, slots=True)
class LinkStats:
    """Counters of one link since it was opened."""

    received: int
    sent: int
    bad_data: int
    reconnects: int
    connected: bool


class LinkChannel:
    """One vehicle on a link: implements ``messages.VehicleChannel``."""

    def __init__(self, link: Link, sysid: int, compid: int = 1) -> None:
        self._link = link
        self._sysid = sysid
        self._compid = compid
        self.hub = MessageHub()
        self.last_message_s: float | None = None
        """``time.monotonic()`` of the last message from this vehicle (any type)."""

    @property
    def sysid(self) -> int:
        return self._sysid

    @property
    def compid(self) -> int:
        return self._compid

    @property
    def link(self) -> Link:
        return self._link

    def send(self, msg: MavMessage) -> None:
        self._link.send(msg, self._sysid)

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        return self.hub.subscribe(callback)

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        return self.hub.inbox(types, predicate)

    def link_age_s(self) -> float | None:
        """Seconds since the last message from this vehicle, None if never heard."""
        if self.last_message_s is None:
            return None
        return time.monotonic() - self.last_message_s

    def alive(self, max_age_s: float = 3.0) -> bool:
        age = self.link_age_s()
        return age is not None and age <= max_age_s


def _open(url: str, retries: int) -> mavutil.mavfile:
    if url.startswith("serial:"):
        device, _, baud = url.removeprefix("serial:").rpartition(":")
        if not device:
            device, baud = baud, "115200"
        conn = mavutil.mavlink_connection(
            device, baud=int(baud), source_system=GCS_SYSID, source_component=GCS_COMPID
        )
    elif url.split(":", 1)[0] in ("tcp", "udpin", "udpout", "udp", "tcpin"):
        conn = mavutil.mavlink_connection(
            url, source_system=GCS_SYSID, source_component=GCS_COMPID, retries=retries
        )
    else:
        raise ValueError(
            f"connect: {url!r} is not tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT "
            "or serial:DEVICE:BAUD"
        )
    conn.robust_parsing = True
    conn.mav.robust_parsing = True
    return conn


class Link(LinkSigning):
    """One MAVLink connection, its reader/heartbeat thread and its vehicles.

    Args:
        url: ``tcp:HOST:PORT``, ``udpin:HOST:PORT``, ``udpout:HOST:PORT`` or
            ``serial:DEVICE:BAUD``.
        heartbeat_period_s: wall seconds between GCS heartbeats; use ``1 / speedup`` against a
            simulator running faster than real time so the vehicle sees 1 Hz in its own time.
        reconnect: reopen a dropped TCP connection.
        connect_timeout_s: how long ``open`` keeps trying the first connection.
        reactor: read this link from a shared ``LinkReactor``'s thread (``LinkManager`` does,
            for fleets) instead of a thread of its own.
    """

    def __init__(
        self,
        url: str,
        *,
        heartbeat_period_s: float = 1.0,
        reconnect: bool = True,
        connect_timeout_s: float = 10.0,
        reactor: LinkReactor | None = None,
    ) -> None:
        self.url = url
        self.heartbeat_period_s = heartbeat_period_s
        self.reconnect = reconnect
        self.connect_timeout_s = connect_timeout_s
        self.heartbeat_enabled = True
        """Tests turn this off to provoke the vehicle's GCS failsafe."""
        self._conn: mavutil.mavfile | None = None
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._taps: list[Tap] = []
        self._reconnect_listeners: list[Callable[[], None]] = []
        self._vehicle_seen = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reactor = reactor
        self._next_heartbeat = 0.0
        self._received = self._sent = self._bad = self._reconnects = 0
        self._signing = SignatureJudge(self._vehicle_seen)
        self._router: VehicleRouter[LinkChannel] = VehicleRouter(
            url, GCS_SYSID, self._vehicle_seen, self._signing,
            lambda sysid, compid: LinkChannel(self, sysid, compid))

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> Link:
        """Connect (retrying up to ``connect_timeout_s``) and start the link thread."""
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            try:
                self._conn = self._connect()
                break
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise LinkError(f"cannot connect to {self.url}: {exc}") from exc
                time.sleep(0.2)
        if self._reactor is not None and self._conn.fd is not None:
            self._reactor.add(self)
            return self
        self._reactor = None  # no descriptor to wait on (a serial port on Windows)
        self._thread = threading.Thread(target=self._run, name=f"link {self.url}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread and close the connection; waiting inboxes raise ``LinkClosed``."""
        self._stop.set()
        if self._reactor is not None:
            self._reactor.remove(self)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        with self._send_lock:
            if self._conn is not None:
                self._close_conn(self._conn)
                self._conn = None
        self._router.close()

    def __enter__(self) -> Link:
        return self.open() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- vehicles --------------------------------------------------------------------------
    def vehicle(self, sysid: int, compid: int = 1) -> LinkChannel:
        """The channel to vehicle ``sysid`` (created on first use, heard or not)."""
        return self._router.channel(sysid, compid)

    def pin(self, sysid: int) -> None:
        """Serve vehicle ``sysid`` only (with any other pinned before): messages from another
        system id are dropped, counted and reported once to the stranger listeners, so a
        second autopilot or a spoofer on the link is never taken for the vehicle."""
        self._router.pin(sysid)

    def add_stranger_listener(self, callback: Callable[[int, str], None]) -> None:
        """``callback(sysid, message_type)`` on the first message from each unpinned sysid."""
        self._router.add_stranger_listener(callback)

    def strangers(self) -> dict[int, int]:
        """Messages dropped per unpinned system id since ``pin``."""
        return self._router.strangers()

    def sysids(self) -> list[int]:
        """System ids of the vehicles heard on this link so far."""
        return self._router.sysids()

    def wait_vehicle(self, sysid: int | None = None, timeout_s: float = 30.0) -> LinkChannel:
        """Wait for a HEARTBEAT from vehicle ``sysid`` (or from any vehicle when None).

        Raises:
            ResponseTimeout: no such vehicle was heard in time.
        """
        return self._router.wait(sysid, timeout_s)

    def add_tap(self, tap: Tap) -> Callable[[], None]:
        """Also give every message in and out (with its raw bytes) to ``tap``."""
        with self._lock:
            self._taps.append(tap)

        def remove() -> None:
            with self._lock:
                if tap in self._taps:
                    self._taps.remove(tap)

        return remove

    def add_reconnect_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (on the link thread) after each successful reconnection."""
        with self._lock:
            self._reconnect_listeners.append(callback)

    def drop_connection(self) -> None:
        """Close the current connection as a radio dropout would; the thread reconnects."""
        with self._send_lock:
            if self._conn is not None:
                self._close_conn(self._conn)
                self._conn = None

    def stats(self) -> LinkStats:
        return LinkStats(
            self._received, self._sent, self._bad, self._reconnects, self._conn is not None
        )

    # -- sending ---------------------------------------------------------------------------
    def send(self, msg: MavMessage, sysid: int = 0) -> None:
        """Pack and send ``msg``; dropped (logged) while the link is down."""
        with self._send_lock:
            conn = self._conn
            if conn is None:
                log.debug("%s: link down, dropped %s", self.url, msg.get_type())
                return
            try:
                conn.mav.send(msg)
            except (OSError, _Dropped) as exc:
                log.info("%s: send failed (%s), will reconnect", self.url, exc)
                return
            self._sent += 1
        self._tap("out", sysid, msg)

    def _send_heartbeat(self) -> None:
        self.send(
            mavlink.MAVLink_heartbeat_message(
                mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0,
                mavlink.MAV_STATE_ACTIVE, 3,
            )
        )

    # -- the link thread -------------------------------------------------------------------
    def _connect(self) -> mavutil.mavfile:
        conn = _open(self.url, retries=0)
        if self._signing.config is not None:
            # Keep counting up from the old connection: the vehicle refuses old timestamps.
            old = self._conn
            self._signing.apply(conn, old.mav.signing.timestamp if old is not None else 0)

        def dropped() -> None:
            raise _Dropped()

        # mavutil would print and (optionally) block in its own reconnect; we handle it here.
        conn.handle_eof = dropped
        conn.handle_disconnect = dropped
        return conn

    @staticmethod
    def _close_conn(conn: mavutil.mavfile) -> None:
        try:
            conn.close()
        except OSError as exc:
            log.debug("close: %s", exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._conn is None:
                self._try_reconnect()
                continue
            self.reactor_beat(time.monotonic())
            try:
                self._read_available(min(0.05, self.heartbeat_period_s))
            except (_Dropped, OSError) as exc:
                self._lost(exc)
                if not self.reconnect:
                    return

    def _lost(self, exc: BaseException) -> None:
        log.info("%s: connection lost (%s)", self.url, exc or "EOF")
        with self._send_lock:
            if self._conn is not None:
                self._close_conn(self._conn)
            self._conn = None

    def _read_available(self, wait_s: float) -> None:
        conn = self._conn
        if conn is None:
            return
        if not conn.select(wait_s):
            return
        self._drain(conn)

    # -- as a LinkReactor's link (reactor.ReactorLink) ---------------------------------------
    def reactor_connection(self) -> tuple[object, int] | None:
        conn = self._conn
        if conn is None or conn.fd is None or self._stop.is_set():
            return None
        return conn, conn.fd

    def reactor_beat(self, now_s: float) -> float:
        if self.heartbeat_enabled and now_s >= self._next_heartbeat:
            self._send_heartbeat()
            self._next_heartbeat = now_s + self.heartbeat_period_s
        return self._next_heartbeat

    def reactor_read(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            # One chunk, then the next ready link: a link with a backlog (a ground station
            # behind a hundred vehicles at 10x) read to its end starved the others for
            # seconds, and they were reported lost.
            self._drain(conn, reads=1, chunk=_REACTOR_CHUNK)
        except (_Dropped, OSError) as exc:
            self._lost(exc)

    def reactor_down(self) -> None:
        if not self.reconnect or self._stop.is_set():
            return
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._reconnect_loop,
                                        name=f"link {self.url} reconnect", daemon=True)
        self._thread.start()

    def _reconnect_loop(self) -> None:
        while self._conn is None and not self._stop.is_set():
            self._try_reconnect()
        if self._reactor is not None:
            self._reactor.wake()

    def _drain(self, conn: mavutil.mavfile, reads: int = _READS_PER_WAKE,
               chunk: int = _READ_CHUNK) -> None:
        # Whole chunks, not mavutil's recv_msg: that reads each message's header and body
        # with a system call apiece, which for 200 vehicles was a third of the CPU.
        for _ in range(reads):  # bounded so heartbeats go out under a flood
            data = conn.recv(chunk)
            if not data:
                return
            if conn.first_byte:
                conn.auto_mavlink_version(data)
            for msg in conn.mav.parse_buffer(data) or ():
                conn.post_message(msg)
                self._handle(msg)

    def _try_reconnect(self) -> None:
        try:
            conn = self._connect()
        except OSError:
            self._stop.wait(0.2)
            return
        with self._send_lock:
            self._conn = conn
        self._reconnects += 1
        log.info("%s: reconnected", self.url)
        with self._lock:
            listeners = list(self._reconnect_listeners)
        for callback in listeners:
            callback()

    def _handle(self, msg: MavMessage) -> None:
        mtype = msg.get_type()
        if mtype == "BAD_DATA":
            self._bad += 1
            return
        self._received += 1
        channel = self._router.route(msg, mtype)
        if channel is not None:
            self._tap("in", channel.sysid, msg)
            channel.hub.dispatch(msg)

    def _tap(self, direction: str, sysid: int, msg: MavMessage) -> None:
        if not self._taps:
            return
        raw = bytes(msg.get_msgbuf())
        for tap in list(self._taps):
            tap(direction, sysid, msg, raw)


class LinkManager:
    """Several links at once (one per simulator instance, radio, or UDP port)."""

    def __init__(self, heartbeat_period_s: float = 1.0) -> None:
        self.heartbeat_period_s = heartbeat_period_s
        self._links: dict[str, Link] = {}
        self._lock = threading.Lock()
        self._reactor = LinkReactor()
        """Reads every link of the manager from one thread (see ``reactor``)."""

    def connect(self, url: str, **kwargs: object) -> Link:
        """The open link to ``url`` (opened on first use)."""
        with self._lock:
            link = self._links.get(url)
            if link is None:
                kwargs.setdefault("heartbeat_period_s", self.heartbeat_period_s)
                kwargs.setdefault("reactor", self._reactor)
                link = Link(url, **kwargs).open()  # type: ignore[arg-type]
                self._links[url] = link
            return link

    def vehicle(self, url: str, sysid: int | None = None, timeout_s: float = 30.0) -> LinkChannel:
        """Connect to ``url`` and wait for vehicle ``sysid`` (the first heard when None)."""
        return self.connect(url).wait_vehicle(sysid, timeout_s)

    def links(self) -> list[Link]:
        with self._lock:
            return list(self._links.values())

    def close(self) -> None:
        with self._lock:
            links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()
        self._reactor.close()

    def __enter__(self) -> LinkManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
