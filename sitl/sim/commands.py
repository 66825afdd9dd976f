"""GCS messages other than the mission protocol: heartbeats, streams, parameters, commands,
SET_MODE, MISSION_SET_CURRENT and GUIDED position targets, with ArduPilot's replies.

COMMAND_ACK goes out before the STATUSTEXTs that explain a refusal (each handler returns the
result plus an optional follow-up run after the ACK), as recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from . import failsafes, modes
from .autopilot_mission import RunState
from .boot import FIRMWARE_TEXT
from .fence import segment_enters_exclusion
from .physics import ne_offset_m
from .protocol import SimVehicleLike
from .state import Home
from .telemetry import build_message
from .validation import command_params

__all__ = ["handle", "run_do", "send_param_value"]

M = mavlink
ACCEPTED, DENIED, FAILED = M.MAV_RESULT_ACCEPTED, M.MAV_RESULT_DENIED, M.MAV_RESULT_FAILED
UNSUPPORTED = M.MAV_RESULT_UNSUPPORTED
CRITICAL = M.MAV_SEVERITY_CRITICAL
FORCE_MAGIC = 21196
SPEED_MODES = (modes.AUTO, modes.GUIDED, modes.RTL)
"""Modes whose set_speed_xy takes a DO_CHANGE_SPEED command (ArduCopter 4.7 mode_*.cpp);
elsewhere the answer is FAILED (SITL in STABILIZE, measured)."""
Result = tuple[int, Callable[[], None] | None]
_REQUESTABLE = {
    M.MAVLINK_MSG_ID_AUTOPILOT_VERSION, M.MAVLINK_MSG_ID_HOME_POSITION,
    M.MAVLINK_MSG_ID_GPS_GLOBAL_ORIGIN, M.MAVLINK_MSG_ID_SYS_STATUS,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, M.MAVLINK_MSG_ID_BATTERY_STATUS,
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE, M.MAVLINK_MSG_ID_MISSION_CURRENT,
    M.MAVLINK_MSG_ID_GPS_RAW_INT, M.MAVLINK_MSG_ID_ATTITUDE, M.MAVLINK_MSG_ID_VFR_HUD,
    M.MAVLINK_MSG_ID_EKF_STATUS_REPORT, M.MAVLINK_MSG_ID_FENCE_STATUS,
    M.MAVLINK_MSG_ID_SYSTEM_TIME, M.MAVLINK_MSG_ID_HEARTBEAT, M.MAVLINK_MSG_ID_WINCH_STATUS,
    M.MAVLINK_MSG_ID_SERVO_OUTPUT_RAW, M.MAVLINK_MSG_ID_LOCAL_POSITION_NED,
}


def handle(v: SimVehicleLike, msg: Any) -> None:
    """Dispatch one GCS message."""
    kind = msg.get_type()
    if kind in ("HEARTBEAT", "RC_CHANNELS_OVERRIDE", "MANUAL_CONTROL"):
        # Only these prove a pilot/GCS is there (GCS_MAVLINK::sysid_mygcs_seen).
        failsafes.gcs_heartbeat(v, msg.get_srcSystem())
    elif kind == "REQUEST_DATA_STREAM":
        v.streams.request_data_stream(msg.req_stream_id, msg.req_message_rate, msg.start_stop)
    elif kind in ("COMMAND_LONG", "COMMAND_INT"):
        _command(v, msg)
    elif kind == "SET_MODE":
        # No COMMAND_ACK: SITL 4.7 answers SET_MODE with the mode change or a text only.
        before = v.mode
        if _change_mode(v, int(msg.custom_mode)) and v.mode != before:
            v.send(v.heartbeat_message())
    elif kind == "MISSION_SET_CURRENT":
        if v.runner.set_current(int(msg.seq), in_auto=v.mode == modes.AUTO):
            v.send_mission_current()
    elif kind == "SET_POSITION_TARGET_GLOBAL_INT":
        _position_target(v, msg)
    elif kind.startswith("PARAM_"):
        _param(v, msg)
    elif kind == "SETUP_SIGNING":
        _setup_signing(v, msg)
    elif kind == "TIMESYNC" and msg.tc1 == 0:
        v.send(M.MAVLink_timesync_message(round(v.sim_time_s * 1e9), msg.ts1))


def _setup_signing(v: SimVehicleLike, msg: Any) -> None:
    """GCS_MAVLINK::handle_setup_signing: no reply, but a refusal text while armed."""
    if v.armed:
        v.text(M.MAV_SEVERITY_WARNING, "ERROR: Won't setup signing when armed")
        return
    v.signing.setup(bytes(msg.secret_key), int(msg.initial_timestamp))


# ---- parameters ----------------------------------------------------------------------------
def send_param_value(v: SimVehicleLike, name: str, index: int, ptype: int | None = None) -> None:
    p = v.params
    v.send(M.MAVLink_param_value_message(name.encode(), p.get(name), ptype or p.ptype(name),
                                         p.count(), index))


def _param(v: SimVehicleLike, msg: Any) -> None:
    kind = msg.get_type()
    p = v.params
    if kind == "PARAM_REQUEST_READ":
        if msg.param_index >= 0:
            names = p.visible_names()
            if msg.param_index < len(names):
                send_param_value(v, names[msg.param_index], msg.param_index)
            return
        name = _param_name(msg.param_id)
        if name in p:
            send_param_value(v, name, 65535)
    elif kind == "PARAM_SET":
        name = _param_name(msg.param_id)
        if name not in p:
            return
        old = p.get(name)
        new = p.set(name, msg.param_value)
        if name == "FENCE_ENABLE":
            v.fence_runtime_enabled = None
        if name == "WPNAV_SPEED":
            v.wp_speed_ms = new / 100.0
        # As recorded: setting the same value is echoed as REAL32.
        send_param_value(v, name, 65535, M.MAV_PARAM_TYPE_REAL32 if old == new else None)
    elif kind == "PARAM_REQUEST_LIST":
        for text in (FIRMWARE_TEXT, "7d1219c7c4c5404aaa1f6d2a48adfda4", "Frame: QUAD/PLUS"):
            v.text(M.MAV_SEVERITY_INFO, text)
        for index, name in enumerate(p.visible_names()):
            send_param_value(v, name, index)


def _param_name(raw: Any) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    return str(raw).split("\x00", 1)[0]


# ---- position targets ---------------------------------------------------------------------------
def _position_target(v: SimVehicleLike, msg: Any) -> None:
    if v.mode != modes.GUIDED or not v.armed or v.land_complete():
        return
    if msg.type_mask & 0x7:  # position ignored: velocity/acceleration targets not modelled
        return
    lat, lon = msg.lat_int / 1e7, msg.lon_int / 1e7
    if v.fence_enabled() and (segment_enters_exclusion(v.fence_geom, lat, lon)):
        return  # ArduPilot silently drops targets inside an exclusion zone
    n, e = ne_offset_m(v.start.lat, v.start.lon, lat, lon)
    if msg.coordinate_frame in (M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
                                M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT):
        up = v.home_up_m() + msg.alt
    else:
        up = msg.alt - v.start.alt_m
    v.takeoff_up_m = None if not v.phys.on_ground else v.takeoff_up_m
    v.guided_target = (n, e, up)


# ---- commands ------------------------------------------------------------------------
def _command(v: SimVehicleLike, msg: Any) -> None:
    """A COMMAND_LONG or COMMAND_INT that passed ``validation.check_message``."""
    params = command_params(msg)
    if msg.get_type() == "COMMAND_INT" and msg.command == M.MAV_CMD_DO_REPOSITION:
        params.append(float(msg.frame))
    result, follow = _dispatch(v, int(msg.command), params)
    v.send(M.MAVLink_command_ack_message(msg.command, result, 0, 0, msg.get_srcSystem(),
                                         msg.get_srcComponent()))
    if follow is not None:
        follow()


def _dispatch(v: SimVehicleLike, cmd: int, p: list[float]) -> Result:
    table: dict[int, Callable[[SimVehicleLike, list[float]], Result]] = {
        M.MAV_CMD_SET_MESSAGE_INTERVAL: _set_interval,
        M.MAV_CMD_REQUEST_MESSAGE: _request_message,
        M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES: _request_capabilities,
        M.MAV_CMD_DO_SET_MODE: _do_set_mode,
        M.MAV_CMD_COMPONENT_ARM_DISARM: _arm_disarm,
        M.MAV_CMD_NAV_TAKEOFF: _takeoff,
        M.MAV_CMD_MISSION_START: _mission_start,
        M.MAV_CMD_NAV_RETURN_TO_LAUNCH: lambda v, p: _mode_result(v, modes.RTL),
        M.MAV_CMD_NAV_LAND: lambda v, p: _mode_result(v, modes.LAND),
        M.MAV_CMD_DO_PAUSE_CONTINUE: _pause_continue,
        M.MAV_CMD_DO_SET_MISSION_CURRENT: _set_mission_current,
        M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN: _reboot,
        M.MAV_CMD_DO_FENCE_ENABLE: _fence_enable,
        M.MAV_CMD_RUN_PREARM_CHECKS: _run_prearm,
        M.MAV_CMD_DO_SET_HOME: _set_home,
        M.MAV_CMD_DO_REPOSITION: _reposition,
    }
    if cmd in table:
        return table[cmd](v, p)
    if cmd == M.MAV_CMD_DO_CHANGE_SPEED and not p[1] > 0:
        return DENIED, None  # is_positive(speed), as 4.7 answers -5
    if cmd == M.MAV_CMD_DO_CHANGE_SPEED and v.mode not in SPEED_MODES:
        return FAILED, None  # Mode::set_speed_xy() is false but in AUTO, GUIDED and RTL
    if cmd in (M.MAV_CMD_DO_CHANGE_SPEED, M.MAV_CMD_DO_GRIPPER, M.MAV_CMD_DO_WINCH):
        return (ACCEPTED if run_do(v, cmd, p[:4], from_mission=False) else FAILED), None
    return UNSUPPORTED, None


def _reposition(v: SimVehicleLike, p: list[float]) -> Result:
    """MAV_CMD_DO_REPOSITION (COMMAND_INT; ``p[7]`` is its frame): go there in GUIDED."""
    if int(p[1]) & M.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE and v.mode != modes.GUIDED:
        modes.set_mode(v, modes.GUIDED)
    if v.mode != modes.GUIDED or not v.armed or v.land_complete():
        return FAILED, None
    lat, lon = p[4], p[5]
    if v.fence_enabled() and segment_enters_exclusion(v.fence_geom, lat, lon):
        return FAILED, None
    if 0 < p[0] < math.inf:  # a NaN, infinite or negative speed leaves it (accepted on SITL)
        v.wp_speed_ms = p[0]
    n, e = ne_offset_m(v.start.lat, v.start.lon, lat, lon)
    if not p[6]:
        up = v.phys.up_m
    elif int(p[7]) in (M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_INT):
        up = p[6] - v.start.alt_m
    else:  # relative to home (terrain frames flown as relative, as everywhere here)
        up = v.home_up_m() + p[6]
    v.guided_target = (n, e, up)
    return ACCEPTED, None


def _set_interval(v: SimVehicleLike, p: list[float]) -> Result:
    msgid = int(p[0])
    if msgid not in M.mavlink_map:  # ArduPilot has no ap_message for it
        text = f"No ap_message for mavlink id ({msgid & 0xFFFFFFFF})"
        return DENIED, lambda: v.text(M.MAV_SEVERITY_INFO, text)
    v.streams.set_interval(msgid, p[1])
    return ACCEPTED, None


def _request_message(v: SimVehicleLike, p: list[float]) -> Result:
    msgid = int(p[0])
    if msgid not in _REQUESTABLE:
        return FAILED, None

    def send() -> None:
        msg = _autopilot_version(v) if msgid == M.MAVLINK_MSG_ID_AUTOPILOT_VERSION else \
            v.heartbeat_message() if msgid == M.MAVLINK_MSG_ID_HEARTBEAT else \
            _origin(v) if msgid == M.MAVLINK_MSG_ID_GPS_GLOBAL_ORIGIN else build_message(v, msgid)
        if msg is not None:
            v.send(msg)

    return ACCEPTED, send


def _request_capabilities(v: SimVehicleLike, p: list[float]) -> Result:
    if p[0] != 1:  # param1 0 or 5: FAILED
        return FAILED, None
    return _request_message(v, [float(M.MAVLINK_MSG_ID_AUTOPILOT_VERSION)])


def _origin(v: SimVehicleLike) -> Any | None:
    if v.home is None:
        return None
    return M.MAVLink_gps_global_origin_message(round(v.start.lat * 1e7), round(v.start.lon * 1e7),
                                               round(v.start.alt_m * 1000), v.time_boot_ms() * 1000)


def _autopilot_version(v: SimVehicleLike) -> Any:
    return M.MAVLink_autopilot_version_message(
        64495, 0x04070000, 0, 0, 0, list(b"90700977"), [0] * 8, [0] * 8, 0, 0, v.sysid, [0] * 18)


def _mode_result(v: SimVehicleLike, mode: int) -> Result:
    before = v.mode
    ok = modes.set_mode(v, mode)
    follow = (lambda: v.send(v.heartbeat_message())) if ok and v.mode != before else None
    return (ACCEPTED if ok else FAILED), follow


def _do_set_mode(v: SimVehicleLike, p: list[float]) -> Result:
    if not int(p[0]) & M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
        return UNSUPPORTED, None
    mode = int(p[1]) & 0xFF
    if mode not in modes.ARDUCOPTER_MODES:
        return FAILED, lambda: _no_such_mode(v, mode)
    return _mode_result(v, mode)


def _change_mode(v: SimVehicleLike, custom_mode: int) -> bool:
    """SET_MODE: ArduCopter's mode number is 8 bits (2**32 - 1 is "No such mode 255")."""
    mode = custom_mode & 0xFF
    if mode not in modes.ARDUCOPTER_MODES:
        _no_such_mode(v, mode)
        return False
    return modes.set_mode(v, mode)


def _no_such_mode(v: SimVehicleLike, mode: int) -> None:
    v.text(M.MAV_SEVERITY_WARNING, f"No such mode {mode}")


def _arm_disarm(v: SimVehicleLike, p: list[float]) -> Result:
    if p[0] not in (0.0, 1.0):  # param1 2, 0.5 or 1e38: UNSUPPORTED
        return UNSUPPORTED, None
    forced = p[1] == FORCE_MAGIC
    if p[0] == 0:
        if not v.armed:
            return ACCEPTED, None
        if not v.land_complete() and not forced:
            return FAILED, None
        return ACCEPTED, lambda: modes.disarm(v)
    if v.armed:
        return ACCEPTED, None
    reasons = [] if forced else modes.arm_failures(v)
    if reasons:
        return FAILED, lambda: _texts(v, "Arm: ", reasons)
    return ACCEPTED, lambda: modes.arm(v)


def _texts(v: SimVehicleLike, prefix: str, reasons: list[str]) -> None:
    for reason in reasons:
        v.text(CRITICAL, prefix + reason)


def _takeoff(v: SimVehicleLike, p: list[float]) -> Result:
    if v.mode != modes.GUIDED or not v.armed or not v.land_complete() or p[6] <= 0:
        return FAILED, None
    v.takeoff_up_m = None
    v.takeoff_target(p[6])
    v.auto_armed = True
    return ACCEPTED, None


def _mission_start(v: SimVehicleLike, p: list[float]) -> Result:
    was_auto = v.mode == modes.AUTO
    first = int(p[0])
    if first < 0 or p[1] < 0 or (first > 0 and (first > v.runner.total
                                                or (int(p[1]) and int(p[1]) < first))):
        return DENIED, None  # first item -5 or beyond the mission: DENIED
    if not modes.set_mode(v, modes.AUTO):
        return FAILED, None

    def start() -> None:
        v.auto_armed = v.armed
        if first > 0:
            v.runner.set_current(first, in_auto=True)
        if not was_auto:
            v.send(v.heartbeat_message())
        if v.runner.state != RunState.RUNNING:
            v.runner.resume()

    return ACCEPTED, start


def _pause_continue(v: SimVehicleLike, p: list[float]) -> Result:
    if int(p[0]) not in (0, 1):
        return DENIED, None
    pause = int(p[0]) == 0
    ok = v.mode in (modes.AUTO, modes.GUIDED) and v.armed and not v.land_complete()
    if ok and v.mode == modes.AUTO:
        ok = v.runner.state == RunState.RUNNING
        v.runner.paused = pause if ok else v.runner.paused
        v.hold_ne = None
    elif ok and pause:
        v.guided_target = None
        v.hold_ne = None
    if not ok:
        v.text(M.MAV_SEVERITY_INFO, "Failed to pause" if pause else "Failed to resume")
        return FAILED, None
    return ACCEPTED, None


def _set_mission_current(v: SimVehicleLike, p: list[float]) -> Result:
    if not v.runner.set_current(int(p[0]), in_auto=v.mode == modes.AUTO):
        return DENIED, None
    return ACCEPTED, v.send_mission_current


def _reboot(v: SimVehicleLike, p: list[float]) -> Result:
    if int(p[0]) != 1:
        return UNSUPPORTED, None
    if v.armed:
        return FAILED, None
    return ACCEPTED, v.request_reboot


def _fence_enable(v: SimVehicleLike, p: list[float]) -> Result:
    mode = int(p[0])
    if mode not in (0, 1, 2):
        return FAILED, None
    v.fence_runtime_enabled = mode == 1
    return ACCEPTED, None


def _run_prearm(v: SimVehicleLike, p: list[float]) -> Result:
    if v.armed:
        return DENIED, None
    reasons = modes.prearm_failures(v)
    return ACCEPTED, lambda: _texts(v, "PreArm: ", reasons)


def _set_home(v: SimVehicleLike, p: list[float]) -> Result:
    if int(p[0]) == 1:
        if v.home is None:
            return FAILED, None
        v.set_home(v.current_home(), announce=True)
        return ACCEPTED, None
    if p[4] == 0 and p[5] == 0:
        return FAILED, None
    v.set_home(Home(p[4], p[5], p[6]), announce=True)
    return ACCEPTED, None


def run_do(v: SimVehicleLike, cmd: int, p: list[float], from_mission: bool) -> bool:
    """Execute a DO command (from the mission or a COMMAND_LONG); False when refused."""
    if cmd == M.MAV_CMD_DO_CHANGE_SPEED:
        speed = p[1]
        if not (math.isfinite(speed) and abs(speed) < 2 ** 31):
            return False  # a mission item may carry 1e38 (stored by SITL too); never flown
        if speed > 0 and int(p[0]) in (0, 1):
            v.wp_speed_ms = speed
        elif speed > 0 and int(p[0]) == 2:
            v.params.set("WPNAV_SPEED_UP", speed * 100)
        elif speed > 0 and int(p[0]) == 3:
            v.params.set("WPNAV_SPEED_DN", speed * 100)
        return speed > 0 or math.isclose(speed, -2.0)
    if cmd == M.MAV_CMD_DO_GRIPPER:
        if not v.params.boot("GRIP_ENABLE") and not v.params.get("GRIP_ENABLE"):
            return False
        if p[1] not in (M.GRIPPER_ACTION_RELEASE, M.GRIPPER_ACTION_GRAB):
            return False  # action 5 or -1: FAILED
        if int(p[1]) == M.GRIPPER_ACTION_RELEASE:
            v.gripper.release(from_mission)
        else:
            v.gripper.grab()
        return True
    if cmd == M.MAV_CMD_DO_WINCH:
        return v.winch.command(int(p[1]), p[2], p[3])
    if cmd == M.MAV_CMD_DO_SET_HOME:
        return _set_home(v, [p[0], 0, 0, 0, 0, 0, 0])[0] == ACCEPTED
    return True
