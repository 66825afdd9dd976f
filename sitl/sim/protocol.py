"""The whole simulated vehicle as modes, failsafes, commands and telemetry see it.

``SimVehicle`` satisfies ``SimVehicleLike``; those modules type against it instead of importing
vehicle.py, which imports them, so the simulator's imports only point down. It sits above the
parts it names (the mission runner, RTL, gripper, winch, streams), which type against the
smaller ``state.VehicleCore``.
"""

from __future__ import annotations

from typing import Any, Protocol

from .autopilot_mission import MissionRunner
from .battery import Battery, PowerModel
from .fence import FenceGeometry
from .payload import Gripper, Winch
from .rtl import RtlController
from .signing import VehicleSigning
from .state import FailsafeState, Home, VehicleCore
from .streams import Streams

__all__ = ["SimVehicleLike"]


class SimVehicleLike(VehicleCore, Protocol):
    """``VehicleCore`` plus the runtime state and queries of one boot."""

    sysid: int
    mode: int
    """Copter custom_mode (``state.Mode``)."""
    home: Home | None
    """None until the EKF origin is set."""
    battery: Battery
    power: PowerModel
    fs: FailsafeState
    fence_geom: FenceGeometry
    fence_runtime_enabled: bool | None
    """DO_FENCE_ENABLE's override of FENCE_ENABLE (None: the parameter decides)."""
    runner: MissionRunner
    rtl: RtlController
    gripper: Gripper
    winch: Winch
    streams: Streams
    signing: VehicleSigning
    guided_target: tuple[float, float, float] | None
    hold_ne: tuple[float, float, float] | None
    takeoff_up_m: float | None
    touchdown_s: float | None
    arm_time_s: float
    auto_armed: bool
    auto_waiting: bool
    prearm_failing_since_s: float | None
    last_prearm_report_s: float

    # ---- state queries
    def latlon(self) -> tuple[float, float]: ...
    def alt_amsl_m(self) -> float: ...
    def stopping_point(self) -> tuple[float, float, float]: ...
    def gps_fix_type(self) -> int: ...
    def ekf_flags(self) -> int: ...
    def ekf_ready(self) -> bool: ...
    def landed_state(self) -> int: ...
    def system_status(self) -> int: ...
    def mission_current(self) -> tuple[int, int, int, int]: ...
    def servo_pwm(self, servo: int) -> int: ...
    def battery_healthy(self) -> bool: ...
    def battery_charge_state(self) -> int: ...
    def prearm_healthy(self) -> bool: ...

    # ---- actions
    def set_mode(self, mode: int) -> bool: ...
    def heartbeat_message(self) -> Any: ...
    def send_mission_current(self) -> None: ...
    def notify_param(self, name: str) -> None: ...
    def request_reboot(self) -> None: ...
