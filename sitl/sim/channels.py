"""The vehicle's MAVLink channels: one per serial port, each with its own packer and parser.

ArduPilot runs one MAVLink channel per serial port (SITL: SERIAL0 on TCP 5760+10*I, SERIAL1 on
5762+10*I). Each has its own sequence numbers (0..255, one per message sent on it, wrapping,
as mavlink_finalize_message_chan does) and signing state (link id = channel number).
Like ArduPilot, a reply (COMMAND_ACK, PARAM_VALUE, the mission protocol) goes only to the
channel the request came from, while STATUSTEXT and everything the vehicle sends by itself
(heartbeats, streams) go to every open channel. Channel 0 is always open, so code that drives
a vehicle without a server (tests) reads and writes it as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .signing import VehicleSigning
from .wire import FrameEncoder

__all__ = ["Channel", "Channels"]


class Channel:
    """One MAVLink channel: packer and parser sharing the channel's signing state."""

    def __init__(self, number: int, sysid: int, signing: VehicleSigning) -> None:
        self.number = number
        self.packer = mavlink.MAVLink(None, srcSystem=sysid, srcComponent=1)
        self.packer.robust_parsing = True
        self.encoder = FrameEncoder(self.packer)
        self.parser = mavlink.MAVLink(None)
        self.out: list[bytes] = []
        self.attach(signing)
        self.new_connection()

    def attach(self, signing: VehicleSigning) -> None:
        state = signing.channel(self.number)
        self.packer.signing = state
        self.parser.signing = state

    def new_connection(self) -> None:
        """A fresh parser for a new client (half a message from the last one is dropped)."""
        state = self.parser.signing
        self.parser = mavlink.MAVLink(None)
        self.parser.robust_parsing = True
        self.parser.signing = state


class Channels:
    """The open channels of one boot of a vehicle."""

    fast_encode = True
    """Frames by ``wire.FrameEncoder`` (False: pymavlink's ``pack``; the same bytes, which
    the tests check)."""

    def __init__(self, sysid: int, signing: VehicleSigning) -> None:
        self.sysid = sysid
        self.signing = signing
        self._open: dict[int, Channel] = {0: Channel(0, sysid, signing)}
        self._reply_to: int | None = None

    def open(self, number: int) -> Channel:
        """Open ``number`` for a new client (channel 0 keeps its sequence numbers)."""
        channel = self._open.get(number)
        if channel is None:
            channel = self._open[number] = Channel(number, self.sysid, self.signing)
        else:
            channel.new_connection()
        return channel

    def close(self, number: int) -> None:
        """No client on ``number`` any more: stop queueing for it (channel 0 stays)."""
        if number != 0:
            self._open.pop(number, None)

    @contextlib.contextmanager
    def replying(self, number: int) -> Iterator[None]:
        """Within the block, replies go only to channel ``number``."""
        previous, self._reply_to = self._reply_to, number
        try:
            yield
        finally:
            self._reply_to = previous

    def send(self, msg: Any) -> None:
        """Pack ``msg`` for the channels it goes to (signed where signing is on)."""
        reply = self._reply_to
        if reply is not None and reply in self._open and msg.get_type() != "STATUSTEXT":
            targets = [self._open[reply]]
        else:
            targets = list(self._open.values())
        for channel in targets:
            packer = channel.packer
            if self.fast_encode:
                channel.out.append(channel.encoder.encode(msg))
            else:
                channel.out.append(msg.pack(packer))
            # ArduPilot counts each channel's sequence up per message sent (current_tx_seq).
            packer.seq = (packer.seq + 1) & 0xFF

    def raw(self, data: bytes) -> None:
        """Bytes that are not MAVLink (the boot banner): ArduPilot prints them on SERIAL0."""
        self._open[0].out.append(data)

    def parse(self, number: int, data: bytes) -> list[Any]:
        """Messages in ``data`` from channel ``number``'s client; refused ones come out as
        BAD_DATA (an unsigned message where a signature is needed, a wrong signature)."""
        channel = self._open.get(number)
        if channel is None:
            return []
        return list(channel.parser.parse_buffer(data) or [])

    def take(self, number: int) -> bytes:
        """The bytes queued for channel ``number`` since the last call."""
        channel = self._open.get(number)
        if channel is None:
            return b""
        data = b"".join(channel.out)
        channel.out.clear()
        return data
