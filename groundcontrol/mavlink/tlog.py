"""Telemetry logs (``.tlog``) that MAVProxy's tools read (mavlogdump.py, MAVExplorer).

The format is the one MAVProxy and Mission Planner write: for every MAVLink frame, an 8-byte
big-endian count of microseconds since the UNIX epoch, then the raw frame as it travelled.
``TlogWriter.attach`` records both directions of one vehicle on a link (the link's tap gives the
exact bytes); on another ``VehicleChannel`` it records what the vehicle sent.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import BinaryIO

from groundcontrol.mavlink.messages import MavMessage, VehicleChannel

__all__ = ["TlogWriter", "read_tlog"]


class TlogWriter:
    """Appends timestamped raw frames to a ``.tlog`` file (thread-safe, context manager)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = self.path.open("wb")
        self._lock = threading.Lock()
        self._detach: list[Callable[[], None]] = []
        self.frames = 0

    def write(self, raw: bytes, time_s: float | None = None) -> None:
        """Write one frame stamped ``time_s`` (UNIX seconds, now by default)."""
        stamp = int((time.time() if time_s is None else time_s) * 1e6)
        with self._lock:
            if self._file is None:
                return
            self._file.write(struct.pack(">Q", stamp) + raw)
            self.frames += 1

    def attach(self, channel: VehicleChannel) -> None:
        """Record every message to and from ``channel``'s vehicle until ``close``."""
        link = getattr(channel, "link", None)
        if link is not None and hasattr(link, "add_tap"):
            sysid = channel.sysid

            def tap(direction: str, msg_sysid: int, msg: MavMessage, raw: bytes) -> None:
                if msg_sysid in (sysid, 0):  # 0: the GCS heartbeat, addressed to everyone
                    self.write(raw)

            self._detach.append(link.add_tap(tap))
        else:
            self._detach.append(channel.subscribe(
                lambda msg: self.write(bytes(msg.get_msgbuf()))))

    def close(self) -> None:
        for detach in self._detach:
            detach()
        self._detach.clear()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> TlogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_tlog(path: str | PathLike[str]) -> list[tuple[float, bytes]]:
    """Split a ``.tlog`` we wrote back into (UNIX seconds, raw frame) pairs.

    Frames are MAVLink 1 (0xFE) or 2 (0xFD, with an optional 13-byte signature).

    Raises:
        ValueError: the file does not have the tlog layout at some offset.
    """
    data = Path(path).read_bytes()
    out, i = [], 0
    while i < len(data):
        if i + 10 > len(data):
            raise ValueError(f"{path}: truncated record at byte {i}")
        (stamp,) = struct.unpack(">Q", data[i:i + 8])
        magic, length = data[i + 8], data[i + 9]
        if magic == 0xFD:
            signed = i + 10 < len(data) and data[i + 10] & 0x01
            size = 10 + length + 2 + (13 if signed else 0)
        elif magic == 0xFE:
            size = 8 + length
        else:
            raise ValueError(f"{path}: no MAVLink frame at byte {i + 8}")
        out.append((stamp / 1e6, data[i + 8:i + 8 + size]))
        i += 8 + size
    return out
