"""What a simulated vehicle answers about itself: position, navigation numbers, GPS and EKF,
landing, and the status words its telemetry reports.

``SimVehicle`` takes these methods from ``VehicleQueries``: the parts (state.VehicleCore) and
modes, failsafes, commands and telemetry (protocol.SimVehicleLike) call them on the vehicle,
so they stay the vehicle's methods. None of them changes the vehicle; what does (the per-step
update, boot, messages in and out, takeoff, home) stays in vehicle.py. Each method takes
``self`` as ``SimVehicleLike``, the vehicle the other parts see, so this module names no
attribute of its own and does not import vehicle.py.
"""

from __future__ import annotations

import math
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from . import failsafes, modes, telemetry
from .autopilot_mission import RunState
from .mission_server import StoredItem
from .physics import ne_offset_m, offset_latlon
from .protocol import SimVehicleLike
from .state import Home, Mode

__all__ = ["VehicleQueries"]

M = mavlink


class VehicleQueries:
    """The read-only queries of ``SimVehicle`` (a mixin: its ``self`` is the vehicle)."""

    # ---- time and position -----------------------------------------------------------------
    def time_boot_ms(self: SimVehicleLike) -> int:
        return int(self.sim_time_s * 1000) & 0xFFFFFFFF

    def latlon(self: SimVehicleLike) -> tuple[float, float]:
        return offset_latlon(self.start.lat, self.start.lon, self.phys.north_m, self.phys.east_m)

    def alt_amsl_m(self: SimVehicleLike) -> float:
        return self.start.alt_m + self.phys.up_m

    def home_up_m(self: SimVehicleLike) -> float:
        return (self.home.alt_m if self.home else self.start.alt_m) - self.start.alt_m

    def home_ne(self: SimVehicleLike) -> tuple[float, float]:
        if self.home is None:
            return 0.0, 0.0
        return ne_offset_m(self.start.lat, self.start.lon, self.home.lat, self.home.lon)

    def alt_rel_m(self: SimVehicleLike) -> float:
        return self.phys.up_m - self.home_up_m()

    def current_home(self: SimVehicleLike) -> Home:
        lat, lon = self.latlon()
        return Home(lat, lon, round(self.alt_amsl_m(), 2), math.degrees(self.phys.yaw_rad))

    def _home_item(self: SimVehicleLike) -> StoredItem | None:
        if self.home is None:
            return None
        return StoredItem(M.MAV_CMD_NAV_WAYPOINT, M.MAV_FRAME_GLOBAL, 0, 0, 0, 0,
                          round(self.home.lat * 1e7), round(self.home.lon * 1e7),
                          round(self.home.alt_m, 2), 1)

    # ---- navigation ------------------------------------------------------------------------
    def stopping_point(self: SimVehicleLike) -> tuple[float, float, float]:
        """Where the copter stops braking from its current velocity (north, east, up)."""
        p = self.phys
        speed = p.groundspeed_ms
        k = speed / (2.0 * p.accel_mss)
        up = p.up_m + p.vu * abs(p.vu) / (2.0 * p.accel_z_mss)
        return p.north_m + p.vn * k, p.east_m + p.ve * k, max(up, p.ground_up_m)

    def item_target(self: SimVehicleLike, item: StoredItem, keep_alt: bool
                    ) -> tuple[float, float, float]:
        """north/east/up of a mission item (lat/lon 0,0 = here; alt 0 = current; relative frames
        above home)."""
        p = self.phys
        if item.x == 0 and item.y == 0:
            n, e = p.north_m, p.east_m
        else:
            n, e = ne_offset_m(self.start.lat, self.start.lon, item.lat, item.lon)
        if keep_alt or item.z == 0:
            up = p.up_m  # ModeAuto::loc_from_cmd: altitude 0 means the current altitude
        elif item.frame == M.MAV_FRAME_GLOBAL:
            up = item.z - self.start.alt_m
        else:
            up = self.home_up_m() + item.z
        return n, e, up

    @property
    def climb_ms(self: SimVehicleLike) -> float:
        return self.params.get("WPNAV_SPEED_UP") / 100.0

    @property
    def sink_ms(self: SimVehicleLike) -> float:
        return self.params.get("WPNAV_SPEED_DN") / 100.0

    def land_descent_ms(self: SimVehicleLike) -> float:
        if self.alt_rel_m() > self.params.get("LAND_ALT_LOW") / 100.0:
            high = self.params.get("LAND_SPEED_HIGH") / 100.0
            return high if high > 0 else self.sink_ms
        return max(0.1, self.params.get("LAND_SPEED") / 100.0)

    def takeoff_done(self: SimVehicleLike) -> bool:
        return self.takeoff_up_m is not None and self.phys.up_m >= self.takeoff_up_m - 0.2

    # ---- GPS and EKF -----------------------------------------------------------------------
    def gps_fix_type(self: SimVehicleLike) -> int:
        """GPS_FIX_TYPE as SITL reports it: 0 before the fix, then 6 (RTK fixed)."""
        return M.GPS_FIX_TYPE_RTK_FIXED if self.sim_time_s >= self.timeline.gps_fix_s \
            else M.GPS_FIX_TYPE_NO_GPS

    def ekf_flags(self: SimVehicleLike) -> int:
        if self.sim_time_s < self.timeline.tilt_s:
            return 0x400
        return 0x33F if self.ekf_ready() else 0xA7

    def ekf_ready(self: SimVehicleLike) -> bool:
        return self.sim_time_s >= self.timeline.ekf_gps_s

    # ---- landing ---------------------------------------------------------------------------
    def landed_for_s(self: SimVehicleLike) -> float:
        """Seconds on the ground since touchdown (0 in the air)."""
        if self.touchdown_s is None or not self.phys.on_ground:
            return 0.0
        return self.sim_time_s - self.touchdown_s

    def land_complete(self: SimVehicleLike) -> bool:
        """ArduCopter's land detector: on the ground for LAND_COMPLETE_S (always when disarmed)."""
        if not self.phys.on_ground:
            return False
        return not self.armed or self.landed_for_s() >= modes.LAND_COMPLETE_S

    def landed_state(self: SimVehicleLike) -> int:
        act = self.runner.active
        if act is not None and act.item.command == M.MAV_CMD_NAV_PAYLOAD_PLACE \
                and self.mode == Mode.AUTO and self.armed:
            return M.MAV_LANDED_STATE_IN_AIR
        if self.land_complete() or not self.armed:
            return M.MAV_LANDED_STATE_ON_GROUND
        if self.takeoff_up_m is not None:
            return M.MAV_LANDED_STATE_TAKEOFF
        if modes.is_landing(self):
            return M.MAV_LANDED_STATE_LANDING
        return M.MAV_LANDED_STATE_IN_AIR

    # ---- status ----------------------------------------------------------------------------
    def system_status(self: SimVehicleLike) -> int:
        if self.sim_time_s < self.timeline.ready_s:
            return M.MAV_STATE_BOOT
        if self.fs.battery_level or self.fs.gcs:
            return M.MAV_STATE_CRITICAL
        if self.armed and not self.land_complete():
            return M.MAV_STATE_ACTIVE
        return M.MAV_STATE_STANDBY

    def heartbeat_message(self: SimVehicleLike) -> Any:
        return telemetry.heartbeat(self)

    def mission_current(self: SimVehicleLike) -> tuple[int, int, int, int]:
        total = self.runner.total
        in_auto = 1 if self.mode == Mode.AUTO else 0
        if total == 0:
            return 0, 0, M.MISSION_STATE_NO_MISSION, in_auto
        state = {RunState.RUNNING: M.MISSION_STATE_ACTIVE,
                 RunState.COMPLETE: M.MISSION_STATE_COMPLETE}.get(
                     self.runner.state, M.MISSION_STATE_NOT_STARTED)
        if self.runner.paused and self.runner.state == RunState.RUNNING:
            state = M.MISSION_STATE_PAUSED
        return self.runner.current_seq, total, state, in_auto

    def servo_pwm(self: SimVehicleLike, servo: int) -> int:
        function = int(self.params.get(f"SERVO{servo}_FUNCTION"))
        if function == 28:
            return self.gripper.pwm
        if function == 88:
            return self.winch.pwm
        return 0

    def fence_enabled(self: SimVehicleLike) -> bool:
        return failsafes.fence_enabled(self)

    def battery_healthy(self: SimVehicleLike) -> bool:
        return self.fs.battery_level == 0

    def battery_charge_state(self: SimVehicleLike) -> int:
        return (M.MAV_BATTERY_CHARGE_STATE_OK, M.MAV_BATTERY_CHARGE_STATE_LOW,
                M.MAV_BATTERY_CHARGE_STATE_CRITICAL)[self.fs.battery_level]

    def prearm_healthy(self: SimVehicleLike) -> bool:
        return not modes.prearm_failures(self)

    def streams_requested(self: SimVehicleLike) -> bool:
        return self.streams.any_active
