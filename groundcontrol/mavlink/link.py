"""The MAVLink link: one connection (UDP, TCP or serial) carrying any number of vehicles.

This is the only module that imports ``pymavlink.mavutil``. A ``Link`` owns one connection and
one thread that reads it, routes each message by system id to that vehicle's ``LinkChannel``
(a ``messages.VehicleChannel``), and sends the ground station's HEARTBEAT (sysid 255, compid
190, type GCS) once per ``heartbeat_period_s``: ArduCopter's GCS failsafe only counts
HEARTBEATs, not commands. Liveness is any message from the vehicle. Non-MAVLink bytes
(ArduPilot prints its boot text on the same TCP stream) are skipped. When a TCP peer goes away
(ArduPilot SITL drops the connection on reboot) the link reconnects by itself.

Signing (MAVLink 2, as ArduPilot does it): ``enable_signing(key)`` signs everything the link
sends, heartbeats included; ``setup_vehicle_signing`` gives a vehicle its key with SETUP_SIGNING
first; ``link_signing`` judges what the vehicles send. A link signs with one key, so it carries
one signed vehicle (or several sharing a key).
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

from groundcontrol.errors import LinkError, ResponseTimeout
from groundcontrol.mavlink.link_signing import (
    SignatureJudge,
    SigningConfig,
    SigningCounts,
    clear_vehicle_signing,
    setup_vehicle_signing,
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


class Link:
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
        self._channels: dict[int, LinkChannel] = {}
        self._taps: list[Tap] = []
        self._reconnect_listeners: list[Callable[[], None]] = []
        self._vehicle_seen = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reactor = reactor
        self._next_heartbeat = 0.0
        self._received = self._sent = self._bad = self._reconnects = 0
        self._signing = SignatureJudge(self._vehicle_seen)
        self._pinned: set[int] = set()
        """The vehicles this link serves once ``pin`` was called; others are strangers."""
        self._strangers: dict[int, int] = {}
        self._stranger_listeners: list[Callable[[int, str], None]] = []

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
        with self._lock:
            for channel in self._channels.values():
                channel.hub.close()

    def __enter__(self) -> Link:
        return self.open() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- vehicles --------------------------------------------------------------------------
    def vehicle(self, sysid: int, compid: int = 1) -> LinkChannel:
        """The channel to vehicle ``sysid`` (created on first use, heard or not)."""
        with self._lock:
            channel = self._channels.get(sysid)
            if channel is None:
                channel = self._channels[sysid] = LinkChannel(self, sysid, compid)
            return channel

    def pin(self, sysid: int) -> None:
        """Serve vehicle ``sysid`` only (with any other pinned before): messages from another
        system id are dropped, counted and reported once to the stranger listeners, so a
        second autopilot or a spoofer on the link is never taken for the vehicle."""
        with self._lock:
            self._pinned.add(sysid)
            for other in [s for s in self._channels if s not in self._pinned]:
                self._channels[other].hub.close()  # reported on its next message
                del self._channels[other]

    def add_stranger_listener(self, callback: Callable[[int, str], None]) -> None:
        """``callback(sysid, message_type)`` on the first message from each unpinned sysid."""
        with self._lock:
            self._stranger_listeners.append(callback)

    def strangers(self) -> dict[int, int]:
        """Messages dropped per unpinned system id since ``pin``."""
        with self._lock:
            return dict(self._strangers)

    def _stranger(self, sysid: int, mtype: str) -> bool:
        """Count a message from an unpinned sysid; True when it is to be dropped."""
        with self._lock:
            if not self._pinned or sysid in self._pinned:
                return False
            first = sysid not in self._strangers
            self._strangers[sysid] = self._strangers.get(sysid, 0) + 1
            listeners = list(self._stranger_listeners) if first else []
        if first:
            log.warning("%s: dropping %s from system %d: this link serves %s", self.url, mtype,
                        sysid, sorted(self._pinned))
        for callback in listeners:
            callback(sysid, mtype)
        return True

    def sysids(self) -> list[int]:
        """System ids of the vehicles heard on this link so far."""
        with self._lock:
            return sorted(s for s, c in self._channels.items() if c.last_message_s is not None)

    def wait_vehicle(self, sysid: int | None = None, timeout_s: float = 30.0) -> LinkChannel:
        """Wait for a HEARTBEAT from vehicle ``sysid`` (or from any vehicle when None).

        Raises:
            ResponseTimeout: no such vehicle was heard in time.
        """
        deadline = time.monotonic() + timeout_s
        with self._vehicle_seen:
            while True:
                heard = [
                    c for s, c in sorted(self._channels.items())
                    if c.last_message_s is not None and (sysid is None or s == sysid)
                ]
                if heard:
                    return heard[0]
                self._signing.raise_if_mismatched(sysid)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    who = f"vehicle {sysid}" if sysid is not None else "any vehicle"
                    raise ResponseTimeout(f"HEARTBEAT from {who} on {self.url}", timeout_s)
                self._vehicle_seen.wait(min(remaining, 0.5))

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

    # -- signing (link_signing) ------------------------------------------------------------
    @property
    def signing_enabled(self) -> bool:
        """True while everything sent is signed."""
        return self._signing.config is not None

    @property
    def signature_judge(self) -> SignatureJudge:
        return self._signing

    def enable_signing(self, key: bytes, *, key_source: str = "the key given to the link",
                       link_id: int | None = None) -> None:
        """Sign every message sent from now on with ``key`` (32 bytes), and judge the
        signatures of every message received (see ``link_signing``).

        Args:
            key: the vehicle's secret key.
            key_source: where the key is kept, for error messages (the key file).
            link_id: the signature's link id; None lets pymavlink number its links.
        """
        if len(key) != 32:
            raise ValueError(f"a MAVLink signing key is 32 bytes, got {len(key)}")
        with self._send_lock:
            self._signing.set_config(SigningConfig(bytes(key), key_source, link_id))
            if self._conn is not None:
                self._signing.apply(self._conn, self._conn.mav.signing.timestamp)

    def disable_signing(self) -> None:
        """Send unsigned and stop checking signatures."""
        with self._send_lock:
            self._signing.set_config(None)
            if self._conn is not None:
                self._conn.disable_signing()

    def signing_stamp(self) -> int | None:
        """The signing timestamp of the connection now (None while it is down)."""
        with self._send_lock:
            return self._conn.mav.signing.timestamp if self._conn is not None else None

    def signing_counts(self, sysid: int) -> SigningCounts:
        """What vehicle ``sysid``'s messages showed since the key was last set."""
        return self._signing.counts(sysid)

    def confirm_signing(self, sysid: int, timeout_s: float = 10.0,
                        require_signed: bool = False) -> bool:
        """Wait until vehicle ``sysid``'s messages show whether it signs with our key.

        Returns:
            True when one of its messages passed our signature check; False when it sends
            unsigned messages (it has no key) and ``require_signed`` is False.

        Raises:
            SigningKeyMismatch: its signed messages fail our check.
            SigningError: its signatures use our key but timestamps we refuse.
            ResponseTimeout: it sent nothing telling within ``timeout_s``.
        """
        return self._signing.confirm(sysid, timeout_s, require_signed)

    def setup_vehicle_signing(self, sysid: int, key: bytes, *, key_source: str,
                              compid: int = 1, timeout_s: float = 10.0) -> None:
        """Give vehicle ``sysid`` its signing key with SETUP_SIGNING, then sign with it.

        SETUP_SIGNING carries the key in clear: send it only over a link you trust. ArduPilot
        stores the key, signs from then on and ignores unsigned messages except on SERIAL0; it
        sends no acknowledgement, so success is its next messages passing our check.

        Raises:
            SigningError: the vehicle refused (ArduPilot will not while armed).
            SigningKeyMismatch: it ignored the key because it already signs with another one
                and this is not a port that accepts unsigned messages.
            ResponseTimeout: no message signed with the new key within ``timeout_s``.
        """
        setup_vehicle_signing(self, sysid, key, key_source=key_source, compid=compid,
                              timeout_s=timeout_s)

    def clear_vehicle_signing(self, sysid: int, compid: int = 1, timeout_s: float = 10.0) -> None:
        """Turn signing off on vehicle ``sysid`` (an all-zero key with timestamp 0), then here.

        The request goes out signed when the link holds the vehicle's key, which a signing
        vehicle needs on any port but SERIAL0.

        Raises:
            ResponseTimeout: the vehicle still signs after ``timeout_s``.
        """
        clear_vehicle_signing(self, sysid, compid, timeout_s)

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
        sysid = msg.get_srcSystem()
        if sysid == GCS_SYSID or sysid == 0:
            return
        if mtype == "HEARTBEAT" and msg.type == mavlink.MAV_TYPE_GCS:
            return  # another ground station on the same link
        if self._pinned and self._stranger(sysid, mtype):
            return
        if not self._signing.judge(sysid, msg):
            return
        channel = self._channels.get(sysid)
        if channel is None:
            if mtype != "HEARTBEAT" or msg.autopilot == mavlink.MAV_AUTOPILOT_INVALID:
                return
            channel = self.vehicle(sysid, msg.get_srcComponent())
        first = channel.last_message_s is None
        channel.last_message_s = time.monotonic()
        if first:
            with self._vehicle_seen:
                self._vehicle_seen.notify_all()
        self._tap("in", sysid, msg)
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
