"""Bytes and messages from the ground into the vehicle, so that none can stop the simulator.

Every message goes through ``validation.check_message`` before a handler sees it, and is
refused there as ArduCopter refuses it. A handler that still raises is a simulator bug: the
message is dropped, the fault is logged with the message type and kept in the vehicle's
``faults`` (tests assert it stays empty), and the vehicle flies on, as one bad packet does
not stop a flight controller. The same holds for the parser: bytes it chokes on are dropped
with the rest of that read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from . import commands
from .channels import Channels
from .mission_server import MissionServer
from .validation import Refusal, check_message

__all__ = ["Fault", "InboundVehicle", "deliver", "deliver_bytes"]

log = logging.getLogger(__name__)
M = mavlink
MAX_FAULTS = 100
"""Faults kept per vehicle (the log has them all)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """A message the simulator failed on instead of answering (a bug to fix)."""

    msg_type: str
    error: str
    """The exception, as repr."""


class InboundVehicle(Protocol):
    """What delivery needs of ``SimVehicle``."""

    booted: bool
    sysid: int
    channels: Channels
    missions: MissionServer
    sim_time_s: float
    faults: list[Fault]

    def send(self, msg: Any) -> None: ...
    def text(self, severity: int, text: str) -> None: ...


def deliver_bytes(v: InboundVehicle, data: bytes, channel: int) -> None:
    """Parse ``data`` from the client on ``channel`` and deliver each message."""
    try:
        messages = v.channels.parse(channel, data)
    except Exception as exc:  # the parser's bug must not end the vehicle
        _fault(v, "<parser>", exc)
        v.channels.open(channel)  # a fresh parser: what it held is dropped
        return
    for msg in messages:
        deliver(v, msg, channel)


def deliver(v: InboundVehicle, msg: Any, channel: int) -> None:
    """Handle one parsed message from a GCS on ``channel`` (replies go back there)."""
    kind = msg.get_type()
    if not v.booted or kind == "BAD_DATA":
        return
    target = getattr(msg, "target_system", 0)
    if target not in (0, v.sysid) and kind != "HEARTBEAT":
        return  # another vehicle's: ArduPilot only routes it on
    with v.channels.replying(channel):
        try:
            refusal = check_message(msg)
            if refusal is not None:
                _refuse(v, msg, refusal)
            elif not v.missions.handle(msg, v.sim_time_s):
                commands.handle(v, msg)  # type: ignore[arg-type]
        except Exception as exc:  # contained per message, kept as a fault
            _fault(v, kind, exc)


def _refuse(v: InboundVehicle, msg: Any, refusal: Refusal) -> None:
    log.debug("vehicle %d refused %s", v.sysid, refusal.reason)
    if refusal.result is not None:
        v.send(M.MAVLink_command_ack_message(msg.command, refusal.result, 0, 0,
                                             msg.get_srcSystem(), msg.get_srcComponent()))
    for text in refusal.texts:
        v.text(M.MAV_SEVERITY_WARNING, text)


def _fault(v: InboundVehicle, kind: str, exc: Exception) -> None:
    log.error("vehicle %d: handling %s failed; message dropped", v.sysid, kind, exc_info=exc)
    if len(v.faults) < MAX_FAULTS:
        v.faults.append(Fault(kind, repr(exc)))
