"""Values the simulated vehicle shares with its parts, and the core of the vehicle they see.

These sit below every other simulator module that talks about a vehicle, so the parts
(boot, payload, RTL, the mission runner) and the per-step logic (modes, failsafes, commands,
telemetry) can name a vehicle's types without importing vehicle.py, which imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .fence import Breach, FenceMemo
from .mission_server import MissionServer, StoredItem
from .params import ParamStore
from .physics import NavTarget, Physics

__all__ = ["FailsafeState", "Home", "Mode", "Timeline", "VehicleCore"]


class Mode:
    """Copter custom_mode numbers."""

    STABILIZE = 0
    ALT_HOLD = 2
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    LAND = 9
    BRAKE = 17
    SUPPORTED = (0, 2, 3, 4, 5, 6, 9, 17)


@dataclass(frozen=True, slots=True)
class Home:
    """A home/start location: degrees, metres AMSL, heading in degrees."""

    lat: float
    lon: float
    alt_m: float
    heading_deg: float = 0.0


@dataclass(frozen=True, slots=True)
class Timeline:
    """Boot timeline in seconds after boot (defaults: the recorded SITL)."""

    ready_s: float = 2.35
    ekf_init_s: float = 4.35
    tilt_s: float = 5.8
    gps_detect_s: float = 9.81
    gps_fix_s: float = 10.03
    origin_s: float = 20.02
    ekf_gps_s: float = 41.62


@dataclass
class FailsafeState:
    """Failsafe flags and timers of one boot."""

    battery_level: int = 0
    """0 none, 1 low, 2 critical (latched)."""
    battery_by_voltage: bool = False
    low_since_s: float | None = None
    crit_since_s: float | None = None
    gcs: bool = False
    last_gcs_heartbeat_s: float | None = None
    breaches: Breach = Breach.NONE
    breach_count: int = 0
    last_breach_ms: int = 0
    recovery_until_s: float = 0.0
    gps_lost_s: float | None = None
    """When SIM_GPS1_ENABLE went to 0 (the GPS stopped)."""
    ekf: bool = False
    """EKF failsafe latched (the position estimate is no longer trusted)."""
    fence_memo: FenceMemo | None = None
    """The last fence check and how far it holds (fence.FenceMemo)."""


class VehicleCore(Protocol):
    """What the vehicle's parts (boot, payload, RTL, the mission runner) read and call.

    ``SimVehicle`` satisfies it; the parts hold one as their back-reference.
    """

    params: ParamStore
    phys: Physics
    missions: MissionServer
    start: Home
    """Where the vehicle booted: the origin of the physics' north/east/up."""
    timeline: Timeline
    sim_time_s: float
    armed: bool
    payload_kg: float
    wp_speed_ms: float
    """The current horizontal navigation speed (WPNAV_SPEED or DO_CHANGE_SPEED)."""

    @property
    def climb_ms(self) -> float: ...
    @property
    def sink_ms(self) -> float: ...

    # ---- output and time
    def send(self, msg: Any) -> None: ...
    def raw(self, data: bytes) -> None: ...
    def text(self, severity: int, text: str) -> None: ...
    def send_long_text(self, severity: int, text: str) -> None: ...
    def schedule(self, delay_s: float, fn: Callable[[], None]) -> None: ...
    def schedule_at(self, at_s: float, fn: Callable[[], None]) -> None: ...
    def time_boot_ms(self) -> int: ...

    # ---- position and landing
    def alt_rel_m(self) -> float: ...
    def home_up_m(self) -> float: ...
    def home_ne(self) -> tuple[float, float]: ...
    def current_home(self) -> Home: ...
    def set_home(self, home: Home, announce: bool) -> None: ...
    def landed_for_s(self) -> float: ...
    def land_complete(self) -> bool: ...
    def land_descent_ms(self) -> float: ...
    def fence_enabled(self) -> bool: ...
    def ekf_ready(self) -> bool: ...

    # ---- navigation and the mission
    def item_target(self, item: StoredItem, keep_alt: bool) -> tuple[float, float, float]: ...
    def takeoff_target(self, alt_rel_m: float) -> NavTarget: ...
    def auto_armed_now(self) -> bool: ...
    def takeoff_done(self) -> bool: ...
    def takeoff_finished(self) -> None: ...
    def run_do_command(self, item: StoredItem, from_mission: bool) -> bool: ...
    def gripper_release(self, from_mission: bool) -> None: ...
    def mission_finished(self) -> None: ...
    def disarm(self, from_land: bool = False) -> None: ...
