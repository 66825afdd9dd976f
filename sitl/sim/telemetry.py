"""The builders of each streamed message from the vehicle's state, HEARTBEAT and HOME_POSITION.

Which message is due when lives in streams.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from . import failsafes
from .physics import offset_latlon
from .protocol import SimVehicleLike

__all__ = ["build_message", "heartbeat", "home_position"]

M = mavlink

# SYS_STATUS sensor masks as the recorded SITL reports them, before and after the GPS fix.
_SENSORS_NO_GPS = (0x5371FC0F, 0x53419C0F, 0x47519C0F)
_SENSORS_GPS = (0x5371FC2F, 0x5361FC2F, 0x4771FC2F)
_BATTERY_BIT = 1 << 25
_PREARM_BIT = 1 << 28
_FENCE_BIT = 1 << 23
I16, U16, I32 = (-2 ** 15, 2 ** 15 - 1), (0, 2 ** 16 - 1), (-2 ** 31, 2 ** 31 - 1)


def _fit(value: float, limits: tuple[int, int]) -> int:
    """A measured value in an integer field, held at the field's limits.

    The simulated state can run far (a 600 km/s SIM_WIND_SPD, a pack drained at kA); a flight
    controller's C conversion never fails to send, so neither does the simulator's.

    >>> _fit(1e12, I16), _fit(-math.inf, U16), _fit(12.4, I32)
    (32767, 0, 12)
    """
    low, high = limits
    if math.isnan(value):
        return 0
    return low if value <= low else high if value >= high else round(value)


def _sys_status(v: SimVehicleLike) -> Any:
    present, enabled, health = _SENSORS_GPS if v.gps_fix_type() >= 3 else _SENSORS_NO_GPS
    if not v.battery_healthy():
        health &= ~_BATTERY_BIT
    if v.prearm_healthy():
        health |= _PREARM_BIT
    if v.fence_enabled():
        present |= _FENCE_BIT
        enabled |= _FENCE_BIT
        if not v.fs.breaches:
            health |= _FENCE_BIT
    b = v.battery
    return M.MAVLink_sys_status_message(
        present, enabled, health, 0, _fit(b.voltage_v * 1000, U16), _fit(b.current_a * 100, I16),
        b.remaining_pct, 0, 0, 0, 0, 0, 0)


def _battery_status(v: SimVehicleLike) -> Any:
    b = v.battery
    cells = [_fit(b.voltage_v * 1000, U16)] + [65535] * 9
    return M.MAVLink_battery_status_message(
        0, M.MAV_BATTERY_FUNCTION_UNKNOWN, M.MAV_BATTERY_TYPE_UNKNOWN, 32767, cells,
        _fit(b.current_a * 100, I16), _fit(b.consumed_mah, I32), _fit(b.consumed_wh * 36, I32),
        b.remaining_pct, 0, v.battery_charge_state(), [0, 0, 0, 0], 0, 0)


def _global_position_int(v: SimVehicleLike) -> Any:
    p = v.phys
    lat, lon = v.latlon()
    return M.MAVLink_global_position_int_message(
        v.time_boot_ms(), _fit(lat * 1e7, I32), _fit(lon * 1e7, I32),
        _fit(v.alt_amsl_m() * 1000, I32), _fit(v.alt_rel_m() * 1000, I32), _fit(p.vn * 100, I16),
        _fit(p.ve * 100, I16), _fit(-p.vu * 100, I16), round((math.degrees(p.yaw_rad) % 360) * 100))


def _gps_raw_int(v: SimVehicleLike) -> Any:
    """SITL's GPS: nothing (fix 0) until detected, then RTK-fixed (6) with 10 satellites."""
    fix = v.gps_fix_type()
    p = v.phys
    if fix < 3:
        return M.MAVLink_gps_raw_int_message(v.time_boot_ms() * 1000, fix, 0, 0, 0, 65535,
                                             65535, 0, 0, 0)
    lat, lon = v.latlon()
    cog = round((math.degrees(math.atan2(p.ve, p.vn)) % 360) * 100) if p.groundspeed_ms > 0.2 else 0
    return M.MAVLink_gps_raw_int_message(
        v.time_boot_ms() * 1000, fix, _fit(lat * 1e7, I32), _fit(lon * 1e7, I32),
        _fit(v.alt_amsl_m() * 1000, I32), 121, 200, _fit(p.groundspeed_ms * 100, U16), cog, 10)


def _vfr_hud(v: SimVehicleLike) -> Any:
    p = v.phys
    throttle = 0 if not v.armed else min(100, round(39 * v.battery.current_a / 28.0))
    return M.MAVLink_vfr_hud_message(
        p.airspeed_ms, p.groundspeed_ms, round(math.degrees(p.yaw_rad) % 360), throttle,
        v.alt_amsl_m(), p.vu)


def _mission_current(v: SimVehicleLike) -> Any:
    seq, total, state, in_auto = v.mission_current()
    return M.MAVLink_mission_current_message(seq, total, state, in_auto)


_GUIDED_FLAG_MODES = (3, 4, 5, 6, 17)  # AUTO, GUIDED, LOITER, RTL, BRAKE


def heartbeat(v: SimVehicleLike) -> Any:
    """HEARTBEAT: base_mode 0x51, +0x08 in guided-capable modes (and during boot), +0x80 armed."""
    base = 0x51
    if v.mode in _GUIDED_FLAG_MODES or v.sim_time_s < v.timeline.ready_s:
        base |= 0x08
    if v.armed:
        base |= 0x80
    return M.MAVLink_heartbeat_message(M.MAV_TYPE_QUADROTOR, M.MAV_AUTOPILOT_ARDUPILOTMEGA, base,
                                       v.mode, v.system_status(), 3)


def home_position(v: SimVehicleLike) -> Any | None:
    h = v.home
    if h is None:
        return None
    return M.MAVLink_home_position_message(
        _fit(h.lat * 1e7, I32), _fit(h.lon * 1e7, I32), _fit(h.alt_m * 1000, I32), 0.0, 0.0, 0.0,
        [math.nan] * 4, 0.0, 0.0, 0.0, v.time_boot_ms() * 1000)


def _position_target(v: SimVehicleLike) -> Any | None:
    if v.mode != 4 or v.guided_target is None:
        return None
    n, e, up = v.guided_target
    lat, lon = offset_latlon(v.start.lat, v.start.lon, n, e)
    return M.MAVLink_position_target_global_int_message(
        v.time_boot_ms(), M.MAV_FRAME_GLOBAL, 0xFDF8, _fit(lat * 1e7, I32), _fit(lon * 1e7, I32),
        v.start.alt_m + up, 0, 0, 0, 0, 0, 0, 0, 0)


def _attitude(v: SimVehicleLike) -> Any:
    p = v.phys
    yaw = math.atan2(math.sin(p.yaw_rad), math.cos(p.yaw_rad))
    return M.MAVLink_attitude_message(v.time_boot_ms(), p.roll_rad, p.pitch_rad, yaw,
                                      0.0, 0.0, 0.0)


def _local_position(v: SimVehicleLike) -> Any:
    p = v.phys
    return M.MAVLink_local_position_ned_message(v.time_boot_ms(), p.north_m, p.east_m,
                                                -(p.up_m - p.ground_up_m), p.vn, p.ve, -p.vu)


def _servo_output(v: SimVehicleLike) -> Any:
    motor = 1000 if not v.armed else 1100 + round(500 * min(1.0, v.battery.current_a / 50.0))
    return M.MAVLink_servo_output_raw_message(
        (v.time_boot_ms() * 1000) & 0xFFFFFFFF, 0, motor, motor, motor, motor, 0, 0, 0, 0,
        v.servo_pwm(9), v.servo_pwm(10), 0, 0, 0, 0, 0, 0)


def _wind(v: SimVehicleLike) -> Any:
    p = v.phys
    speed = math.hypot(p.wind_n, p.wind_e)
    # Direction the wind comes FROM; SITL reports -180 in calm air.
    direction = math.degrees(math.atan2(-p.wind_e, -p.wind_n)) if speed > 0 else -180.0
    return M.MAVLink_wind_message(direction, speed, 0.0)


def _nav_controller(v: SimVehicleLike) -> Any:
    p = v.phys
    return M.MAVLink_nav_controller_output_message(
        math.degrees(p.roll_rad), math.degrees(p.pitch_rad), 0, 0, 0, 0, 0, 0)


def _winch_status(v: SimVehicleLike) -> Any:
    return v.winch.status_message()


_BUILDERS: dict[int, Callable[[SimVehicleLike], Any]] = {
    M.MAVLINK_MSG_ID_SYS_STATUS: _sys_status,
    M.MAVLINK_MSG_ID_BATTERY_STATUS: _battery_status,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: _global_position_int,
    M.MAVLINK_MSG_ID_GPS_RAW_INT: _gps_raw_int,
    M.MAVLINK_MSG_ID_VFR_HUD: _vfr_hud,
    M.MAVLINK_MSG_ID_MISSION_CURRENT: _mission_current,
    M.MAVLINK_MSG_ID_ATTITUDE: _attitude,
    M.MAVLINK_MSG_ID_EKF_STATUS_REPORT: lambda v: M.MAVLink_ekf_status_report_message(
        v.ekf_flags(), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: lambda v: M.MAVLink_extended_sys_state_message(
        M.MAV_VTOL_STATE_MC, v.landed_state()),
    M.MAVLINK_MSG_ID_FENCE_STATUS: failsafes.fence_status_message,
    M.MAVLINK_MSG_ID_HOME_POSITION: home_position,
    M.MAVLINK_MSG_ID_LOCAL_POSITION_NED: _local_position,
    M.MAVLINK_MSG_ID_SERVO_OUTPUT_RAW: _servo_output,
    M.MAVLINK_MSG_ID_RC_CHANNELS: lambda v: M.MAVLink_rc_channels_message(
        v.time_boot_ms(), 8, 1500, 1500, 1000, 1500, 1800, 1000, 1000, 1800,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255),
    M.MAVLINK_MSG_ID_POWER_STATUS: lambda v: M.MAVLink_power_status_message(5000, 0, 0),
    M.MAVLINK_MSG_ID_MEMINFO: lambda v: M.MAVLink_meminfo_message(0, 65535, 524288),
    M.MAVLINK_MSG_ID_NAV_CONTROLLER_OUTPUT: _nav_controller,
    M.MAVLINK_MSG_ID_POSITION_TARGET_GLOBAL_INT: _position_target,
    M.MAVLINK_MSG_ID_SYSTEM_TIME: lambda v: M.MAVLink_system_time_message(0, v.time_boot_ms()),
    M.MAVLINK_MSG_ID_WIND: _wind,
    M.MAVLINK_MSG_ID_VIBRATION: lambda v: M.MAVLink_vibration_message(
        v.time_boot_ms() * 1000, 0.003, 0.003, 0.003, 0, 0, 0),
    M.MAVLINK_MSG_ID_WINCH_STATUS: _winch_status,
    M.MAVLINK_MSG_ID_RAW_IMU: lambda v: M.MAVLink_raw_imu_message(
        v.time_boot_ms() * 1000, 0, 0, -1001, 0, 0, 0, 224, 80, -528, 0, 2515),
    M.MAVLINK_MSG_ID_SCALED_PRESSURE: lambda v: M.MAVLink_scaled_pressure_message(
        v.time_boot_ms(), 945.028, 0.0, 2585, 0),
}


def build_message(v: SimVehicleLike, msgid: int) -> Any | None:
    """The streamed message ``msgid`` from the vehicle's state (None: nothing to send now)."""
    builder = _BUILDERS.get(msgid)
    return builder(v) if builder is not None else None
