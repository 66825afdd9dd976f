"""Numbers from the ground checked where they come in, with ArduCopter's answers.

Every message the vehicle acts on passes ``check_message`` first (and each mission item
``mission_item_error``), so no handler sees a NaN, an infinity or a value that does not fit what
ArduPilot converts it to. What ArduCopter 4.7 answers was measured on SITL (the table is in
``tests/sitl/test_sim_hostile_mavlink.py``); it does one of two things:

* It refuses: COMMAND_INT DO_REPOSITION or DO_SET_HOME with a NaN, infinite or too large
  altitude is DENIED, a latitude outside +-90 deg FAILED (DO_SET_HOME) or DENIED (DO_REPOSITION);
  PARAM_SET NaN/Inf is dropped without a reply; a mission item with NaN/Inf where
  ``AP_Mission::sanity_check_params`` looks gets MAV_MISSION_INVALID_PARAM1..4/7, a bad
  latitude/longitude INVALID_PARAM5_X/6_Y, an altitude beyond 83 km INVALID_PARAM7.
* SITL aborts ("ERROR: Floating point exception - aborting"): it traps FE_INVALID and
  FE_OVERFLOW, so a NaN compared (ARM_DISARM param1 NaN) or an out-of-range float converted to
  an integer (1e38 or Inf in any COMMAND_LONG's param5/6) kills it, where a flight controller
  would carry on with an undefined value.

The simulator answers the first kind exactly. For the second it refuses, with the answer
ArduCopter gives that command for an invalid finite value (ARM_DISARM param1 = 2 is
UNSUPPORTED, so NaN is too; MISSION_START first = -5 is DENIED, so NaN is too). Parameters a
command does not read are ignored, NaN or not, as on SITL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["COMMAND_INT_ONLY", "LOCATION_ALT_MAX_M", "MISSION_COMMANDS", "Refusal",
           "check_message", "command_params", "mission_item_error"]

M = mavlink
INT32_LIMIT = 2.0 ** 31
"""A parameter ArduPilot converts to an integer must be below this in size (SITL traps above)."""
LOCATION_ALT_MAX_M = 83000.0
"""ArduPilot's Location altitude limit: 83001 m is MAV_MISSION_INVALID_PARAM7, 82999 m is taken."""
RALLY_ALT_MAX_M = 32767.0
"""Rally points store their altitude in an int16 of metres (82999 m is INVALID_PARAM7)."""
COMMAND_INT_ONLY = frozenset({M.MAV_CMD_DO_REPOSITION})
"""Commands ArduCopter answers UNSUPPORTED as a COMMAND_LONG (measured in flight too)."""
_LOCATION_IN_COMMAND = frozenset({M.MAV_CMD_DO_SET_HOME, M.MAV_CMD_DO_REPOSITION})
"""Commands whose param5/6 (COMMAND_INT x/y, 1e7 degrees) are a latitude and longitude."""
LOCATION_FRAMES = frozenset({
    M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_RELATIVE_ALT, M.MAV_FRAME_GLOBAL_INT,
    M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, M.MAV_FRAME_GLOBAL_TERRAIN_ALT,
    M.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT})


@dataclass(frozen=True, slots=True)
class Refusal:
    """How the vehicle answers a message it will not act on."""

    reason: str
    """For the log: which field held what."""
    result: int | None = None
    """The COMMAND_ACK result; None: no reply at all (as PARAM_SET NaN)."""
    texts: tuple[str, ...] = ()
    """STATUSTEXTs ArduCopter sends after the ACK."""


@dataclass(frozen=True, slots=True)
class _Reads:
    """The parameters (0-based, param1 = 0) a command reads, and its answer when one is bad."""

    params: tuple[int, ...]
    result: int


_DENIED, _FAILED, _UNSUPPORTED = M.MAV_RESULT_DENIED, M.MAV_RESULT_FAILED, M.MAV_RESULT_UNSUPPORTED
_COMMANDS: dict[int, _Reads] = {
    # ARM_DISARM param1 = 2, 0.5 or 1e38: UNSUPPORTED; param2 (21196 forces) read too.
    M.MAV_CMD_COMPONENT_ARM_DISARM: _Reads((0, 1), _UNSUPPORTED),
    M.MAV_CMD_DO_SET_MODE: _Reads((0, 1), _FAILED),  # mode 99: FAILED, "No such mode 99"
    M.MAV_CMD_DO_SET_HOME: _Reads((0, 4, 5, 6), _DENIED),  # altitude NaN/Inf/1e38: DENIED
    M.MAV_CMD_SET_MESSAGE_INTERVAL: _Reads((0, 1, 2), _DENIED),  # id 99999: DENIED
    M.MAV_CMD_REQUEST_MESSAGE: _Reads((0,), _FAILED),  # id 99999: FAILED
    M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES: _Reads((0,), _FAILED),  # param1 0 or 5: FAILED
    M.MAV_CMD_MISSION_START: _Reads((0, 1), _DENIED),  # first item -5: DENIED
    M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN: _Reads((0,), _UNSUPPORTED),  # param1 0: UNSUPPORTED
    M.MAV_CMD_DO_WINCH: _Reads((0, 1, 2, 3), _FAILED),  # action 99: FAILED
    M.MAV_CMD_NAV_TAKEOFF: _Reads((2, 6), _FAILED),  # altitude NaN in flight: FAILED
    M.MAV_CMD_DO_CHANGE_SPEED: _Reads((0, 1), _DENIED),  # speed -5: DENIED
    M.MAV_CMD_DO_PAUSE_CONTINUE: _Reads((0,), _DENIED),  # param1 5: DENIED
    M.MAV_CMD_DO_SET_MISSION_CURRENT: _Reads((0,), _DENIED),  # seq -1 or 70000: DENIED
    M.MAV_CMD_DO_FENCE_ENABLE: _Reads((0, 1), _FAILED),  # param1 7: FAILED
    M.MAV_CMD_DO_GRIPPER: _Reads((1,), _FAILED),  # action 5 or -1: FAILED
    # DO_REPOSITION: flags and the location; its speed (param1) and yaw (param4) may be NaN.
    M.MAV_CMD_DO_REPOSITION: _Reads((1, 4, 5, 6), _DENIED),
}
MISSION_COMMANDS = frozenset({
    16, 17, 18, 19, 20, 21, 22, 30, 31, 82, 83, 84, 85, 92, 93, 94, 112, 114, 115, 177, 178,
    179, 181, 182, 183, 184, 188, 189, 191, 193, 194, 195, 197, 201, 202, 203, 205, 206, 207,
    208, 210, 211, 212, 213, 215, 216, 217, 218, 222, 223, 531, 532, 534, 600, 601, 1000, 2000,
    2001, 2500, 2501, 3000, 42600, 42702, 42703})
"""Mission commands ArduCopter stores (every MAV_CMD uploaded on SITL: the others get
MAV_MISSION_UNSUPPORTED)."""
_FENCE_VERTICES = frozenset({M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                             M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION})
_NAN_PARAM4_OK = frozenset({M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_LAND, M.MAV_CMD_NAV_TAKEOFF})
"""AP_Mission::sanity_check_params lets param4 (yaw) be NaN for these."""


def _finite(value: float) -> bool:
    return math.isfinite(value) and abs(value) < INT32_LIMIT


def command_params(msg: Any) -> list[float]:
    """param1..7 of a COMMAND_LONG or COMMAND_INT, with a location in degrees either way.

    COMMAND_INT carries latitude/longitude as 1e7 integers in x/y; ArduPilot converts a
    COMMAND_LONG's param5/6 to that for the commands that take a location, other commands get
    x/y as plain numbers.
    """
    if msg.get_type() == "COMMAND_INT":
        x, y = float(msg.x), float(msg.y)
        if msg.command in _LOCATION_IN_COMMAND:
            x, y = x / 1e7, y / 1e7
        return [msg.param1, msg.param2, msg.param3, msg.param4, x, y, msg.z]
    return [msg.param1, msg.param2, msg.param3, msg.param4, msg.param5, msg.param6, msg.param7]


def _command_refusal(msg: Any) -> Refusal | None:
    command = int(msg.command)
    name = f"{msg.get_type()} {command}"
    if command in COMMAND_INT_ONLY and msg.get_type() == "COMMAND_LONG":
        return Refusal(f"{name}: only as COMMAND_INT", _UNSUPPORTED)
    reads = _COMMANDS.get(command)
    if reads is None:
        return None
    params = command_params(msg)
    for index in reads.params:
        if not _finite(params[index]):
            return Refusal(f"{name}: param{index + 1} {params[index]!r}", reads.result)
    if command in _LOCATION_IN_COMMAND:
        return _location_refusal(msg, command, params)
    return None


def _location_refusal(msg: Any, command: int, p: Sequence[float]) -> Refusal | None:
    name = f"{msg.get_type()} {command}"
    if command == M.MAV_CMD_DO_SET_HOME and p[0] == 1:
        return None  # home here: the location is not read
    if abs(p[6]) > LOCATION_ALT_MAX_M:
        return Refusal(f"{name}: altitude {p[6]!r}", _DENIED)
    if msg.get_type() == "COMMAND_INT" and msg.frame not in LOCATION_FRAMES:
        texts = () if msg.frame in M.enums["MAV_FRAME"] else (
            f"Unknown mavlink coordinate frame {msg.frame}",)
        return Refusal(f"{name}: frame {msg.frame}", _DENIED, texts)
    bad = abs(p[4]) > 90.0 or abs(p[5]) > 180.0
    if command == M.MAV_CMD_DO_REPOSITION and (bad or (p[4] == 0 and p[5] == 0)):
        return Refusal(f"{name}: location {p[4]!r}, {p[5]!r}", _DENIED)
    if bad:  # DO_SET_HOME at 95 deg latitude or 200 deg longitude: FAILED
        return Refusal(f"{name}: location {p[4]!r}, {p[5]!r}", _FAILED)
    return None


def _position_target_refusal(msg: Any) -> Refusal | None:
    """SET_POSITION_TARGET_GLOBAL_INT: ignored when a field it uses is not a number (SITL
    aborts on NaN or 1e38 altitudes and NaN yaw) or its latitude is out of range (ignored)."""
    mask = int(msg.type_mask)
    used = [("alt", 2), ("vx", 3), ("vy", 4), ("vz", 5), ("afx", 6), ("afy", 7), ("afz", 8),
            ("yaw", 10), ("yaw_rate", 11)]
    for field, bit in used:
        value = float(getattr(msg, field))
        if not mask & (1 << bit) and not _finite(value):
            return Refusal(f"SET_POSITION_TARGET_GLOBAL_INT: {field} {value!r}")
    if not mask & 0x7 and (abs(msg.lat_int) > 900_000_000 or abs(msg.lon_int) > 1_800_000_000
                           or abs(msg.alt) > LOCATION_ALT_MAX_M):
        return Refusal(f"SET_POSITION_TARGET_GLOBAL_INT: location {msg.lat_int}, {msg.lon_int}, "
                       f"{msg.alt!r}")
    return None


def check_message(msg: Any) -> Refusal | None:
    """The refusal for a message from the ground, or None when it may be handled."""
    kind = msg.get_type()
    if kind in ("COMMAND_LONG", "COMMAND_INT"):
        return _command_refusal(msg)
    if kind == "PARAM_SET" and not math.isfinite(msg.param_value):
        return Refusal(f"PARAM_SET: value {msg.param_value!r}")  # dropped, no PARAM_VALUE
    if kind == "SET_POSITION_TARGET_GLOBAL_INT":
        return _position_target_refusal(msg)
    return None


def mission_item_error(msg: Any, mission_type: int, location: bool) -> int | None:
    """The MAV_MISSION_* error for an uploaded item, or None when ArduCopter stores it.

    Args:
        msg: MISSION_ITEM or MISSION_ITEM_INT.
        mission_type: 0 mission, 1 fence, 2 rally.
        location: the command's x/y/z are a location (``mission_server.LOCATION_COMMANDS``).
    """
    command = int(msg.command)
    params = (msg.param1, msg.param2, msg.param3, msg.param4)
    error = _xy_error(msg, location, fence=mission_type == 1)
    if error is None and mission_type == 1:
        error = _fence_item_error(command, params)
    elif error is None and mission_type == 0:
        error = _mission_params_error(msg, command, params, location)
    if error is not None:
        return error
    alt_max = {0: LOCATION_ALT_MAX_M, 2: RALLY_ALT_MAX_M}.get(mission_type, math.inf)
    if not math.isfinite(msg.z) or (location and abs(msg.z) > alt_max):
        return M.MAV_MISSION_INVALID_PARAM7
    return None


def _xy_error(msg: Any, location: bool, fence: bool) -> int | None:
    """Latitude/longitude out of range (+-90/+-180 degrees) or not numbers. A fence's
    latitude is range-checked by its validation ("Bad lat or lon"), only its number here."""
    scale = 1.0 if msg.get_type() == "MISSION_ITEM" else 1e7
    if not location:
        limits = (INT32_LIMIT - 1, INT32_LIMIT - 1)  # stored as an integer as it is
    else:
        limits = ((INT32_LIMIT - 1) / 1e7,) * 2 if fence else (90.0, 180.0)
    for value, limit, error in ((msg.x, limits[0], M.MAV_MISSION_INVALID_PARAM5_X),
                                (msg.y, limits[1], M.MAV_MISSION_INVALID_PARAM6_Y)):
        degrees = float(value) / scale if location else float(value)
        if not (math.isfinite(degrees) and abs(degrees) <= limit):
            return error
    return None


def _mission_params_error(msg: Any, command: int, params: Sequence[float],
                          location: bool) -> int | None:
    """AP_Mission: unsupported commands and frames, and ``sanity_check_params``."""
    if command not in MISSION_COMMANDS:
        return M.MAV_MISSION_UNSUPPORTED
    if location and msg.frame not in LOCATION_FRAMES | {M.MAV_FRAME_MISSION}:
        return M.MAV_MISSION_UNSUPPORTED_FRAME
    for index, value in enumerate(params):
        if index == 3 and command in _NAN_PARAM4_OK and math.isnan(value):
            continue
        # A location command's param1 (a hold time, turns) becomes an integer: 1e38 aborts SITL.
        fits = _finite(value) if index == 0 and location else math.isfinite(value)
        if not fits:
            return M.MAV_MISSION_INVALID_PARAM1 + index
    return None


def _fence_item_error(command: int, params: Sequence[float]) -> int | None:
    """Fence items skip AP_Mission's checks: SITL takes an infinite circle radius (a negative
    one fails the fence validation); a NaN radius or a vertex count that is not a number
    aborts SITL, so those are refused here (and, unmeasured, an altitude that is not one)."""
    for index, value in enumerate(params):
        if math.isnan(value) or (index == 0 and command in _FENCE_VERTICES
                                 and not _finite(value)):
            return M.MAV_MISSION_INVALID_PARAM1 + index
    return None
