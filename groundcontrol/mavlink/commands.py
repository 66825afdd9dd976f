"""Commands and parameters with ArduCopter's acknowledgement rules.

``Commander`` sends COMMAND_LONG/COMMAND_INT and waits for the COMMAND_ACK of *that* command:
IN_PROGRESS extends the wait, a lost ACK is retried with ``confirmation`` incremented, and a
refusal raises ``CommandFailed`` carrying the STATUSTEXTs the vehicle sends right *after* the
ACK ("Arm: Battery failsafe"). Mode changes are confirmed by HEARTBEAT, not just the ACK.
Parameters: PARAM_VALUE answers to reads by name and PARAM_SET echoes carry index 65535; an
unknown name gets no answer at all, so it ends in ``ParameterTimeout`` naming it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import (
    CommandFailed,
    CommandTimeout,
    ModeChangeFailed,
    ParameterTimeout,
    ResponseTimeout,
)
from groundcontrol.mavlink.messages import Inbox, MavMessage, VehicleChannel
from groundcontrol.mavlink.vehicle import copter_mode_name, copter_mode_number

__all__ = [
    "STREAM_INTERVALS_S",
    "CommandConfig",
    "Commander",
    "StreamKeeper",
    "default_stream_rate_hz",
    "send_stream_request",
    "stream_intervals",
]

log = logging.getLogger(__name__)

_ACCEPTED = mavlink.MAV_RESULT_ACCEPTED
_IN_PROGRESS = mavlink.MAV_RESULT_IN_PROGRESS
_FORCE_ARM_MAGIC = 21196  # ArduPilot's "arm/disarm even if checks fail"

STREAM_INTERVALS_S: dict[int, float] = {
    mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: 0.5,
    mavlink.MAVLINK_MSG_ID_SYS_STATUS: 1.0,
    mavlink.MAVLINK_MSG_ID_BATTERY_STATUS: 1.0,
    mavlink.MAVLINK_MSG_ID_EKF_STATUS_REPORT: 1.0,
    mavlink.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: 1.0,
    mavlink.MAVLINK_MSG_ID_MISSION_CURRENT: 1.0,
    mavlink.MAVLINK_MSG_ID_HOME_POSITION: 5.0,
    mavlink.MAVLINK_MSG_ID_GPS_RAW_INT: 1.0,
    mavlink.MAVLINK_MSG_ID_VFR_HUD: 1.0,
    mavlink.MAVLINK_MSG_ID_FENCE_STATUS: 1.0,
}
"""Messages whose rate we set explicitly (SET_MESSAGE_INTERVAL overrides the stream rate),
interval in the vehicle's seconds at speedup 1."""


def stream_intervals(speedup: float = 1.0) -> dict[int, float]:
    """The intervals for a vehicle running ``speedup`` times faster than real time.

    At 50x a 1 Hz message is 50 per wall second; with every stream of every vehicle that
    floods a Python ground station, so above 5x the vehicle-time intervals are stretched to
    keep about the same wall-clock rate.

    >>> stream_intervals(50.0)[33]
    5.0
    """
    scale = max(1.0, speedup / 5.0)
    return {msg_id: interval_s * scale for msg_id, interval_s in STREAM_INTERVALS_S.items()}


def default_stream_rate_hz(speedup: float) -> int:
    """REQUEST_DATA_STREAM(ALL) rate: 2 Hz in real time, none (intervals only) when sped up."""
    return 2 if speedup <= 2.0 else 0


@dataclass(frozen=True, slots=True)
class CommandConfig:
    """Timeouts (wall seconds) and retry bounds of commands and parameters."""

    ack_timeout_s: float = 1.5
    retries: int = 3
    in_progress_timeout_s: float = 30.0
    text_wait_s: float = 0.3
    """How long to collect the texts that follow a refusal."""
    mode_confirm_s: float = 3.0
    arm_confirm_s: float = 3.0
    param_timeout_s: float = 1.0
    param_retries: int = 3


class Commander:
    """Commands, modes and parameters for one vehicle over a ``VehicleChannel``."""

    def __init__(self, channel: VehicleChannel, config: CommandConfig = CommandConfig()) -> None:
        self.channel = channel
        self.config = config

    # -- the acknowledged command ----------------------------------------------------------
    def command_long(self, command: int, *params: float) -> MavMessage:
        """Send COMMAND_LONG ``command`` with up to 7 params; returns its ACCEPTED ACK.

        Raises:
            CommandFailed: any result other than ACCEPTED (with the vehicle's texts).
            CommandTimeout: no ACK after every retry.
        """
        p = [float(v) for v in params] + [0.0] * (7 - len(params))
        sysid, compid = self.channel.sysid, self.channel.compid
        return self._acknowledged(command, lambda attempt: mavlink.MAVLink_command_long_message(
            sysid, compid, command, attempt, *p[:7]))

    def command_int(self, command: int, frame: int, params: Sequence[float] = (),
                    x: int = 0, y: int = 0, z: float = 0.0) -> MavMessage:
        """COMMAND_INT (positions as degrees * 1e7); same rules as ``command_long``."""
        p = [float(v) for v in params] + [0.0] * (4 - len(params))
        sysid, compid = self.channel.sysid, self.channel.compid
        return self._acknowledged(command, lambda attempt: mavlink.MAVLink_command_int_message(
            sysid, compid, frame, command, 0, 0, *p[:4], x, y, z))

    def _acknowledged(self, command: int, build: Callable[[int], MavMessage]) -> MavMessage:
        cfg = self.config
        with self.channel.inbox(["COMMAND_ACK", "STATUSTEXT"]) as box:
            for attempt in range(cfg.retries + 1):
                self.channel.send(build(attempt))
                ack = self._wait_ack(box, command)
                if ack is None:
                    continue
                if ack.result == _ACCEPTED:
                    return ack
                raise CommandFailed(command, ack.result, self._texts(box))
        raise CommandTimeout(command, cfg.ack_timeout_s, cfg.retries + 1, self.channel.sysid)

    def _wait_ack(self, box: Inbox, command: int) -> MavMessage | None:
        deadline = time.monotonic() + self.config.ack_timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            msg = box.get(remaining)
            if msg is None or msg.get_type() != "COMMAND_ACK" or msg.command != command:
                continue
            if msg.result == _IN_PROGRESS:
                deadline = time.monotonic() + self.config.in_progress_timeout_s
                continue
            return msg
        return None

    def _texts(self, box: Inbox) -> list[str]:
        deadline = time.monotonic() + self.config.text_wait_s
        texts = []
        while (remaining := deadline - time.monotonic()) > 0:
            msg = box.get(remaining)
            if msg is not None and msg.get_type() == "STATUSTEXT":
                texts.append(msg.text)
        return texts

    # -- modes and arming ------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """Switch to an ArduCopter mode and wait until HEARTBEAT shows it.

        Raises:
            CommandFailed, CommandTimeout: the command was refused or not answered.
            ModeChangeFailed: ACCEPTED but the HEARTBEAT never showed the mode.
        """
        number = copter_mode_number(mode)
        with self.channel.inbox(["HEARTBEAT"]) as box:
            self.command_long(mavlink.MAV_CMD_DO_SET_MODE,
                              mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, number)
            last = self._wait_heartbeat(box, lambda hb: hb.custom_mode == number,
                                        self.config.mode_confirm_s)
        if last is not None and last.custom_mode != number:
            raise ModeChangeFailed(mode.upper(), copter_mode_name(last.custom_mode),
                                   self.config.mode_confirm_s)
        if last is None:
            raise ModeChangeFailed(mode.upper(), "unknown", self.config.mode_confirm_s)

    def _wait_heartbeat(self, box: Inbox, ok: Callable[[MavMessage], bool],
                        timeout_s: float) -> MavMessage | None:
        deadline = time.monotonic() + timeout_s
        last = None
        while (remaining := deadline - time.monotonic()) > 0:
            msg = box.get(remaining)
            if msg is None or msg.type == mavlink.MAV_TYPE_GCS:
                continue
            last = msg
            if ok(msg):
                return msg
        return last

    def arm(self, force: bool = False) -> None:
        """Arm and wait for the armed flag in HEARTBEAT (``CommandFailed`` lists the reasons)."""
        self._arm_disarm(True, force)

    def disarm(self, force: bool = False) -> None:
        self._arm_disarm(False, force)

    def _arm_disarm(self, arm: bool, force: bool) -> None:
        flag = mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        with self.channel.inbox(["HEARTBEAT"]) as box:
            self.command_long(mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1 if arm else 0,
                              _FORCE_ARM_MAGIC if force else 0)
            last = self._wait_heartbeat(box, lambda hb: bool(hb.base_mode & flag) == arm,
                                        self.config.arm_confirm_s)
        if last is None or bool(last.base_mode & flag) != arm:
            raise ResponseTimeout("HEARTBEAT showing " + ("armed" if arm else "disarmed"),
                                  self.config.arm_confirm_s, self.channel.sysid)

    def takeoff(self, alt_m: float) -> None:
        """GUIDED takeoff to ``alt_m`` above home (the vehicle must be armed in GUIDED)."""
        self.command_long(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m)

    def mission_start(self, first: int = 0, last: int = 0) -> None:
        """MAV_CMD_MISSION_START: switches to AUTO and starts (needed to start from the ground)."""
        self.command_long(mavlink.MAV_CMD_MISSION_START, first, last)

    def set_current_item(self, seq: int) -> None:
        """MAV_CMD_DO_SET_MISSION_CURRENT (ACKed, unlike the MISSION_SET_CURRENT message)."""
        self.command_long(mavlink.MAV_CMD_DO_SET_MISSION_CURRENT, seq)

    def rtl(self) -> None:
        self.set_mode("RTL")

    def safe_return(self) -> str:
        """Return without crossing a no-fly zone; returns the mode now flying.

        SMART_RTL retraces the path flown, which the planner kept clear of every zone; a plain
        RTL flies straight home, through zones on the way (ArduCopter SITL flew 698 m inside
        the stadium zone after CBR-040's fence breach). ArduCopter refuses SMART_RTL when it
        has no usable path (SRTL_POINTS 0, a full buffer, no position at arming); the fallback
        is LAND where the copter is, like the failsafes' "SmartRTL or Land" actions: the
        route never passes over a zone whose band reaches down to the ground.
        """
        try:
            self.set_mode("SMART_RTL")
            return "SMART_RTL"
        except (CommandFailed, ModeChangeFailed) as exc:
            log.warning("vehicle %d: SMART_RTL refused (%s), landing where it is",
                        self.channel.sysid, exc)
        self.set_mode("LAND")
        return "LAND"

    def land(self) -> None:
        self.set_mode("LAND")

    def pause(self) -> str:
        """Hold position mid-mission; returns how ("pause" or "brake") for ``resume``.

        ArduCopter pauses AUTO with MAV_CMD_DO_PAUSE_CONTINUE(0); where that is refused (older
        firmware, other modes) BRAKE holds, and switching back to AUTO resumes the current item.
        """
        try:
            self.command_long(mavlink.MAV_CMD_DO_PAUSE_CONTINUE, 0)
            return "pause"
        except CommandFailed as exc:
            log.info("vehicle %d: pause refused (%s), braking instead", self.channel.sysid, exc)
        self.set_mode("BRAKE")
        return "brake"

    def resume(self, how: str = "pause") -> None:
        """Undo ``pause``: DO_PAUSE_CONTINUE(1), or back to AUTO after a brake."""
        if how == "pause":
            self.command_long(mavlink.MAV_CMD_DO_PAUSE_CONTINUE, 1)
        else:
            self.set_mode("AUTO")

    def goto(self, lat_deg: float, lon_deg: float, alt_rel_m: float) -> None:
        """GUIDED target (SET_POSITION_TARGET_GLOBAL_INT; ArduPilot sends no ACK for it)."""
        mask = 0b0000_1111_1111_1000  # position only
        self.channel.send(mavlink.MAVLink_set_position_target_global_int_message(
            0, self.channel.sysid, self.channel.compid,
            mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, mask, round(lat_deg * 1e7),
            round(lon_deg * 1e7), alt_rel_m, 0, 0, 0, 0, 0, 0, 0, 0))

    def reboot(self) -> None:
        """Reboot the autopilot (ACKed, then the link drops; streams must be requested again)."""
        self.command_long(mavlink.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1)

    # -- parameters ------------------------------------------------------------------------
    def get_param(self, name: str) -> float:
        """Read one parameter by name.

        Raises:
            ParameterTimeout: no PARAM_VALUE (ArduPilot ignores unknown names).
        """
        sysid, compid = self.channel.sysid, self.channel.compid
        request = mavlink.MAVLink_param_request_read_message(sysid, compid, name.encode(), -1)
        return self._param_exchange(name, request)

    def set_param(self, name: str, value: float) -> float:
        """Set a parameter; returns the value the vehicle echoed (in its own type).

        Raises:
            ParameterTimeout: no echo (unknown name: ArduPilot stays silent).
        """
        sysid, compid = self.channel.sysid, self.channel.compid
        request = mavlink.MAVLink_param_set_message(
            sysid, compid, name.encode(), float(value), mavlink.MAV_PARAM_TYPE_REAL32)
        return self._param_exchange(name, request)

    def _param_exchange(self, name: str, request: MavMessage) -> float:
        cfg = self.config
        with self.channel.inbox(["PARAM_VALUE"], lambda m: m.param_id == name) as box:
            for _ in range(cfg.param_retries):
                self.channel.send(request)
                msg = box.get(cfg.param_timeout_s)
                if msg is not None:
                    return float(msg.param_value)
        raise ParameterTimeout(name, cfg.param_timeout_s * cfg.param_retries, self.channel.sysid)

    # -- telemetry rates -------------------------------------------------------------------
    def request_streams(self, rate_hz: int = 4, attempts: int = 2, speedup: float = 1.0) -> int:
        """REQUEST_DATA_STREAM(ALL) plus SET_MESSAGE_INTERVAL for the messages we rely on.

        Needed again after every reboot. The intervals go out together and their ACKs are
        counted in one window (an ACK does not say which message it is for); the batch is
        resent once when ACKs are missing. Returns how many were not ACCEPTED (0 = all set).
        """
        wanted = len(STREAM_INTERVALS_S)
        refused = wanted
        for _ in range(attempts):
            is_interval_ack = lambda m: m.command == mavlink.MAV_CMD_SET_MESSAGE_INTERVAL  # noqa: E731
            with self.channel.inbox(["COMMAND_ACK"], is_interval_ack) as box:
                send_stream_request(self.channel, rate_hz, speedup)
                accepted = answered = 0
                deadline = time.monotonic() + self.config.ack_timeout_s
                while answered < wanted and (remaining := deadline - time.monotonic()) > 0:
                    ack = box.get(remaining)
                    if ack is not None:
                        answered += 1
                        accepted += ack.result == _ACCEPTED
            refused = wanted - accepted
            if answered >= wanted:
                break
        if refused:
            log.info("vehicle %d: %d message intervals not accepted", self.channel.sysid, refused)
        return refused


def send_stream_request(channel: VehicleChannel, rate_hz: int = 4, speedup: float = 1.0) -> None:
    """Fire-and-forget REQUEST_DATA_STREAM(ALL) (when ``rate_hz`` > 0) and the intervals
    (no waiting: safe from any thread, including the link's)."""
    sysid, compid = channel.sysid, channel.compid
    if rate_hz > 0:
        channel.send(mavlink.MAVLink_request_data_stream_message(
            sysid, compid, mavlink.MAV_DATA_STREAM_ALL, rate_hz, 1))
    for msg_id, interval_s in stream_intervals(speedup).items():
        channel.send(mavlink.MAVLink_command_long_message(
            sysid, compid, mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, 0, msg_id, interval_s * 1e6,
            0, 0, 0, 0, 0))


class StreamKeeper:
    """Re-requests telemetry when HEARTBEATs arrive but telemetry does not (after a reboot
    ArduPilot only sends HEARTBEAT, STATUSTEXT and PARAM_VALUE until asked again)."""

    def __init__(self, channel: VehicleChannel, quiet_s: float = 3.0, rate_hz: int = 4,
                 speedup: float = 1.0) -> None:
        self.channel = channel
        self.speedup = speedup
        self.quiet_s = quiet_s
        self.rate_hz = rate_hz
        self.requests = 0
        self._last_telemetry = time.monotonic()
        self._last_request = 0.0
        self._unsubscribe = channel.subscribe(self._on_message)

    def _on_message(self, msg: MavMessage) -> None:
        now = time.monotonic()
        mtype = msg.get_type()
        if mtype in ("GLOBAL_POSITION_INT", "SYS_STATUS"):
            self._last_telemetry = now
        elif mtype == "HEARTBEAT" and now - self._last_telemetry > self.quiet_s \
                and now - self._last_request > self.quiet_s:
            self._last_request = now
            self.requests += 1
            send_stream_request(self.channel, self.rate_hz, self.speedup)

    def close(self) -> None:
        self._unsubscribe()
