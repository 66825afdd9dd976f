"""The vehicles on one link by system id: which channel a received message goes to.

``Link`` holds one ``VehicleRouter``. The router keeps the link's channels (made on first use
with the factory it is given, ``link.LinkChannel`` in practice), the system ids the link serves
once pinned, the messages dropped from the others, and the wait for a vehicle to be heard. It
knows a channel only through ``RoutedChannel`` and shares the link's condition, so it needs
neither the link nor ``mavutil``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import ResponseTimeout
from groundcontrol.mavlink.link_signing import SignatureJudge
from groundcontrol.mavlink.messages import MavMessage, MessageHub

__all__ = ["RoutedChannel", "VehicleRouter"]

log = logging.getLogger("groundcontrol.mavlink.link")
"""The link's logger: what is dropped here is the link's news."""


class RoutedChannel(Protocol):
    """What the router needs of one vehicle's channel (``link.LinkChannel``)."""

    hub: MessageHub
    last_message_s: float | None
    """``time.monotonic()`` of the last message from this vehicle (any type)."""

    @property
    def sysid(self) -> int: ...


C = TypeVar("C", bound=RoutedChannel)


class VehicleRouter(Generic[C]):
    """The channels of one link's vehicles, and which messages reach them.

    Args:
        url: the link's address, for log and error messages.
        own_sysid: the ground station's system id (what it hears from it is its own echo).
        seen: the link's condition: its lock guards the channels and pins, and it is notified
            when a vehicle is first heard.
        judge: the link's signature judge (a wait on a vehicle raises its key mismatch).
        new_channel: makes the channel to ``(sysid, compid)``.
    """

    def __init__(self, url: str, own_sysid: int, seen: threading.Condition,
                 judge: SignatureJudge, new_channel: Callable[[int, int], C]) -> None:
        self._url = url
        self._own_sysid = own_sysid
        self._seen = seen
        self._judge = judge
        self._new_channel = new_channel
        self._channels: dict[int, C] = {}
        self._pinned: set[int] = set()
        """The vehicles the link serves once ``pin`` was called; others are strangers."""
        self._strangers: dict[int, int] = {}
        self._stranger_listeners: list[Callable[[int, str], None]] = []

    def channel(self, sysid: int, compid: int = 1) -> C:
        """``Link.vehicle``: the channel to ``sysid``, made on first use."""
        with self._seen:
            channel = self._channels.get(sysid)
            if channel is None:
                channel = self._channels[sysid] = self._new_channel(sysid, compid)
            return channel

    def pin(self, sysid: int) -> None:
        """``Link.pin``: serve ``sysid`` too, and forget the channels of unpinned vehicles."""
        with self._seen:
            self._pinned.add(sysid)
            for other in [s for s in self._channels if s not in self._pinned]:
                self._channels[other].hub.close()  # reported on its next message
                del self._channels[other]

    def add_stranger_listener(self, callback: Callable[[int, str], None]) -> None:
        with self._seen:
            self._stranger_listeners.append(callback)

    def strangers(self) -> dict[int, int]:
        with self._seen:
            return dict(self._strangers)

    def sysids(self) -> list[int]:
        with self._seen:
            return sorted(s for s, c in self._channels.items() if c.last_message_s is not None)

    def wait(self, sysid: int | None, timeout_s: float) -> C:
        """``Link.wait_vehicle``: the first channel heard from ``sysid`` (any when None)."""
        deadline = time.monotonic() + timeout_s
        with self._seen:
            while True:
                heard = [
                    c for s, c in sorted(self._channels.items())
                    if c.last_message_s is not None and (sysid is None or s == sysid)
                ]
                if heard:
                    return heard[0]
                self._judge.raise_if_mismatched(sysid)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    who = f"vehicle {sysid}" if sysid is not None else "any vehicle"
                    raise ResponseTimeout(f"HEARTBEAT from {who} on {self._url}", timeout_s)
                self._seen.wait(min(remaining, 0.5))

    def route(self, msg: MavMessage, mtype: str) -> C | None:
        """The channel that gets ``msg`` (of type ``mtype``), marked heard now; None when the
        message is dropped (a ground station's, a stranger's, badly signed, or from a vehicle
        not yet heard with a HEARTBEAT)."""
        sysid = msg.get_srcSystem()
        if sysid == self._own_sysid or sysid == 0:
            return None
        if mtype == "HEARTBEAT" and msg.type == mavlink.MAV_TYPE_GCS:
            return None  # another ground station on the same link
        if self._pinned and self._stranger(sysid, mtype):
            return None
        if not self._judge.judge(sysid, msg):
            return None
        channel = self._channels.get(sysid)
        if channel is None:
            if mtype != "HEARTBEAT" or msg.autopilot == mavlink.MAV_AUTOPILOT_INVALID:
                return None
            channel = self.channel(sysid, msg.get_srcComponent())
        first = channel.last_message_s is None
        channel.last_message_s = time.monotonic()
        if first:
            with self._seen:
                self._seen.notify_all()
        return channel

    def close(self) -> None:
        """Close every channel's hub: waiting inboxes raise ``LinkClosed``."""
        with self._seen:
            for channel in self._channels.values():
                channel.hub.close()

    def _stranger(self, sysid: int, mtype: str) -> bool:
        """Count a message from an unpinned sysid; True when it is to be dropped."""
        with self._seen:
            if not self._pinned or sysid in self._pinned:
                return False
            first = sysid not in self._strangers
            self._strangers[sysid] = self._strangers.get(sysid, 0) + 1
            listeners = list(self._stranger_listeners) if first else []
        if first:
            log.warning("%s: dropping %s from system %d: this link serves %s", self._url, mtype,
                        sysid, sorted(self._pinned))
        for callback in listeners:
            callback(sysid, mtype)
        return True
