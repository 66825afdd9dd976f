"""Battery, GCS-heartbeat and geofence failsafes as ArduCopter 4.7 runs them.

Battery (AP_BattMonitor + Copter::handle_battery_failsafe): low/critical when the voltage
stays under BATT_LOW_VOLT/BATT_CRT_VOLT for BATT_LOW_TIMER s, or at once when the remaining
capacity drops under BATT_LOW_MAH/BATT_CRT_MAH; latched until reboot; system_status CRITICAL.
GCS: only HEARTBEATs from MAV_GCS_SYSID count; RTL after FS_GCS_TIMEOUT; the mode stays after
recovery. Fence: breach texts, the FENCE_ACTION, then "Manual recovery started" (any mode
change during a breach suspends checks for 10 s); system_status stays ACTIVE.

Failsafe actions change mode through the vehicle (``v.set_mode``, ``v.disarm``) rather than
calling modes.py, because modes.py asks this module for arming reasons and the fence's
manual recovery: the imports then only point one way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .fence import Breach, fence_memo
from .protocol import SimVehicleLike
from .state import Mode

SMART_RTL = 21

__all__ = ["Quiet", "battery_arm_reasons", "fence_arm_reasons", "fence_enabled",
           "fence_status_message", "gcs_heartbeat", "on_mode_change", "quiet", "update"]

M = mavlink
WARNING = M.MAV_SEVERITY_WARNING
RECOVERY_S = 10.0
_BREACH_NAMES = ((Breach.ALT_MAX, "Max Alt"), (Breach.CIRCLE, "Circle"),
                 (Breach.POLYGON, "Polygon"), (Breach.ALT_MIN, "Min Alt"))


def update(v: SimVehicleLike, dt: float) -> None:
    """Run all failsafe checks once per step."""
    _battery(v)
    _gcs(v)
    _fence(v)
    _ekf(v)


@dataclass(frozen=True, slots=True)
class Quiet:
    """Bounds within which ``update`` changes nothing (``quiet``): while the pack and the
    GCS heartbeat stay inside them, a step may skip the checks."""

    volt_floor_v: float
    """The highest voltage threshold set (BATT_LOW_VOLT, BATT_CRT_VOLT; -inf: none)."""
    mah_floor: float
    """The highest remaining-capacity threshold set (BATT_LOW_MAH, BATT_CRT_MAH; -inf)."""
    gcs_last_s: float | None
    """The last GCS heartbeat (None: none yet, or FS_GCS_ENABLE 0, when a loss does nothing)."""
    gcs_timeout_s: float

    def holds(self, v: SimVehicleLike) -> bool:
        b = v.battery
        return (b.voltage_v >= self.volt_floor_v
                and b.capacity_mah - b.consumed_mah >= self.mah_floor
                and (self.gcs_last_s is None
                     or v.sim_time_s - self.gcs_last_s <= self.gcs_timeout_s))

    def until_s(self, v: SimVehicleLike, mah_per_step: float, dt: float) -> float:
        """A time before which ``holds`` stays true, two steps short, for a pack drained
        ``mah_per_step`` a step at a steady voltage (-inf: it does not hold now)."""
        if not self.holds(v):
            return -math.inf
        until = math.inf
        b = v.battery
        if self.mah_floor > -math.inf and mah_per_step > 0:
            steps = (b.capacity_mah - b.consumed_mah - self.mah_floor) / mah_per_step
            until = v.sim_time_s + (math.floor(steps) - 2) * dt
        if self.gcs_last_s is not None:
            until = min(until, self.gcs_last_s + self.gcs_timeout_s - 2 * dt)
        return until


def quiet(v: SimVehicleLike) -> Quiet | None:
    """Where ``update`` would change nothing as long as the parameters, the GCS heartbeat and
    the failsafe state stay as they are (the caller watches those) and ``Quiet.holds``; None
    when it must run every step (a fence to check, a timer running, a latched GCS or GPS
    failsafe)."""
    fs, p = v.fs, v.params
    if fence_enabled(v) or fs.breaches or fs.low_since_s is not None \
            or fs.crit_since_s is not None or fs.gcs or fs.gps_lost_s is not None \
            or p.get("SIM_GPS1_ENABLE") == 0:
        return None
    volts = [-math.inf]
    mahs = [-math.inf]
    if int(p.get("BATT_MONITOR")) != 0:
        volts += [x for x in (p.get("BATT_LOW_VOLT"), p.get("BATT_CRT_VOLT")) if x > 0]
        mahs += [x for x in (p.get("BATT_LOW_MAH"), p.get("BATT_CRT_MAH")) if x > 0]
    gcs_last = fs.last_gcs_heartbeat_s if int(p.get("FS_GCS_ENABLE")) else None
    return Quiet(max(volts), max(mahs), gcs_last, p.get("FS_GCS_TIMEOUT"))


# ---- battery ---------------------------------------------------------------------------------
def _battery_condition(v: SimVehicleLike, volt_param: str, mah_param: str,
                       since: float | None) -> tuple[bool, float | None, bool]:
    """(triggered, new 'since', by_voltage) for one threshold pair."""
    p = v.params
    b = v.battery
    threshold_v = p.get(volt_param)
    now = v.sim_time_s
    low_v = threshold_v > 0 and b.voltage_v < threshold_v
    since = (since if since is not None else now) if low_v else None
    by_voltage = since is not None and now - since >= p.get("BATT_LOW_TIMER")
    mah = p.get(mah_param)
    by_mah = mah > 0 and b.capacity_mah - b.consumed_mah < mah
    return by_voltage or by_mah, since, by_voltage


def _battery(v: SimVehicleLike) -> None:
    fs = v.fs
    if int(v.params.get("BATT_MONITOR")) == 0:
        return
    crit, fs.crit_since_s, crit_v = _battery_condition(v, "BATT_CRT_VOLT", "BATT_CRT_MAH",
                                                       fs.crit_since_s)
    low, fs.low_since_s, low_v = _battery_condition(v, "BATT_LOW_VOLT", "BATT_LOW_MAH",
                                                    fs.low_since_s)
    if crit and fs.battery_level < 2:
        _battery_event(v, 2, "critical", "BATT_FS_CRT_ACT", crit_v)
    elif low and fs.battery_level < 1:
        _battery_event(v, 1, "low", "BATT_FS_LOW_ACT", low_v)


def _battery_event(v: SimVehicleLike, level: int, word: str, action_param: str,
                   by_voltage: bool) -> None:
    v.fs.battery_level = level
    v.fs.battery_by_voltage = v.fs.battery_by_voltage or by_voltage
    b = v.battery
    v.text(WARNING, f"Battery 1 is {word} {b.voltage_v:.2f}V used {b.consumed_mah:.0f} mAh")
    action = int(v.params.get(action_param))
    if action == 0 or not v.armed:
        return
    v.text(WARNING, "Battery Failsafe")
    if v.land_complete():
        v.disarm()
        return
    # Copter::do_failsafe_action: 3 SmartRTL or RTL, 4 SmartRTL or Land.
    _failsafe_action(v, {1: (Mode.LAND,), 2: (Mode.RTL,), 3: (SMART_RTL, Mode.RTL),
                         4: (SMART_RTL,), 6: (Mode.RTL,), 7: (Mode.BRAKE,)}.get(action, ()))


def _failsafe_action(v: SimVehicleLike, tries: tuple[int, ...]) -> None:
    """Try each mode in turn, LAND last; "SmartRTL Unavailable" texts as ArduCopter's."""
    for mode in tries:
        if v.set_mode(mode):
            return
        if mode == SMART_RTL:
            nxt = "RTL" if Mode.RTL in tries else "Land"
            v.text(WARNING, f"SmartRTL Unavailable, {'Trying' if nxt == 'RTL' else 'Using'} "
                            f"{nxt} Mode")
    v.set_mode(Mode.LAND)


def battery_arm_reasons(v: SimVehicleLike) -> list[str]:
    if v.fs.battery_level == 0:
        return []
    kind = "low voltage" if v.fs.battery_by_voltage else "low capacity"
    return [f"Battery 1 {kind} failsafe", "Battery failsafe"]


# ---- GCS ---------------------------------------------------------------------------------------
def gcs_heartbeat(v: SimVehicleLike, sysid: int) -> None:
    """A HEARTBEAT arrived from sysid: only MAV_GCS_SYSID keeps the failsafe quiet."""
    if sysid != int(v.params.get("MAV_GCS_SYSID")):
        return
    v.fs.last_gcs_heartbeat_s = v.sim_time_s


def _gcs(v: SimVehicleLike) -> None:
    fs = v.fs
    enabled = int(v.params.get("FS_GCS_ENABLE"))
    if fs.last_gcs_heartbeat_s is None:
        return
    lost = v.sim_time_s - fs.last_gcs_heartbeat_s > v.params.get("FS_GCS_TIMEOUT")
    if fs.gcs and not lost:
        fs.gcs = False
        v.text(WARNING, "GCS Failsafe Cleared")
        return
    if fs.gcs or not lost or not enabled or not v.armed:
        return
    fs.gcs = True
    # Copter::failsafe_gcs_on_event: disarm when landed (in AUTO only before the mission
    # started), go on with AUTO when FS_OPTIONS bit 1 says so, else the FS_GCS_ENABLE action.
    if v.land_complete() and (v.mode != Mode.AUTO or not v.auto_armed):
        v.text(WARNING, "GCS Failsafe")
        v.disarm()
        return
    if v.mode == Mode.AUTO and (enabled == 2 or int(v.params.get("FS_OPTIONS")) & 2):
        v.text(WARNING, "GCS Failsafe - Continuing Auto Mode")
        return
    v.text(WARNING, "GCS Failsafe")
    _failsafe_action(v, {3: (SMART_RTL, Mode.RTL), 4: (SMART_RTL,), 5: (Mode.LAND,),
                         7: (Mode.BRAKE,)}.get(enabled, (Mode.RTL,)))


# ---- EKF ---------------------------------------------------------------------------------------
EKF_FAILSAFE_AFTER_S = 5.0
"""GPS gone to EKF failsafe (Copter::ekf_check: variances over FS_EKF_THRESH for 1 s)."""


def _ekf(v: SimVehicleLike) -> None:
    fs = v.fs
    if v.params.get("SIM_GPS1_ENABLE") != 0:
        fs.gps_lost_s = None
        return
    if fs.gps_lost_s is None:
        fs.gps_lost_s = v.sim_time_s
    if fs.ekf or v.sim_time_s - fs.gps_lost_s < EKF_FAILSAFE_AFTER_S:
        return
    fs.ekf = True
    v.text(M.MAV_SEVERITY_CRITICAL, "EKF variance")
    if v.rtl.smart.active:
        v.rtl.smart.active = False
        v.text(WARNING, "SmartRTL deactivated: bad position")
    action = int(v.params.get("FS_EKF_ACTION"))
    if not v.armed or action == 0:
        return
    if v.land_complete():
        v.disarm()
        return
    target = Mode.ALT_HOLD if action == 2 else Mode.LAND
    if v.mode != target and v.set_mode(target):
        v.text(M.MAV_SEVERITY_CRITICAL, f"EKF Failsafe: changed to {_NAMES[target]} Mode")


_NAMES = {Mode.LAND: "LAND", Mode.ALT_HOLD: "ALT_HOLD"}


# ---- fence -------------------------------------------------------------------------------------
def fence_enabled(v: SimVehicleLike) -> bool:
    if v.fence_runtime_enabled is not None:
        return v.fence_runtime_enabled
    return bool(v.params.get("FENCE_ENABLE"))


def _current_breaches(v: SimVehicleLike) -> Breach:
    if v.home is None:
        return Breach.NONE
    p, params, home = v.phys, v.params, v.home
    inputs = (int(params.get("FENCE_TYPE")), params.get("FENCE_RADIUS"),
              params.get("FENCE_ALT_MAX"), (home.lat, home.lon), v.home_up_m())
    memo = v.fs.fence_memo
    if memo is None or not memo.holds(v.fence_geom, inputs, p.north_m, p.east_m, p.up_m):
        memo = v.fs.fence_memo = fence_memo(v.fence_geom, inputs, (v.start.lat, v.start.lon),
                                            (p.north_m, p.east_m, p.up_m))
    return memo.breaches


def fence_arm_reasons(v: SimVehicleLike) -> list[str]:
    breaches = _current_breaches(v)
    return [f"Vehicle breaching {name} fence" for bit, name in _BREACH_NAMES if breaches & bit]


def on_mode_change(v: SimVehicleLike) -> None:
    """Any mode change during a breach starts manual recovery (AC_Fence::manual_recovery_start)."""
    if v.fs.breaches and fence_enabled(v):
        v.fs.recovery_until_s = v.sim_time_s + RECOVERY_S
        v.text(M.MAV_SEVERITY_INFO, "Manual recovery started")


def _fence(v: SimVehicleLike) -> None:
    fs = v.fs
    if not fence_enabled(v):
        fs.breaches = Breach.NONE
        return
    if v.sim_time_s < fs.recovery_until_s:
        return
    now = _current_breaches(v)
    new = now & ~fs.breaches
    if not now and fs.breaches:
        fs.breaches = Breach.NONE
        v.text(M.MAV_SEVERITY_NOTICE, "Fence breach cleared")
        return
    if not new:
        fs.breaches = now
        return
    fs.breach_count += 1
    fs.last_breach_ms = v.time_boot_ms()
    fs.breaches = now
    for bit, name in _BREACH_NAMES:
        if new & bit:
            v.text(M.MAV_SEVERITY_NOTICE, f"{name} fence breached")
    action = int(v.params.get("FENCE_ACTION"))
    if not v.armed or action == 0 or v.land_complete():
        return
    if _breach_distance_m(v, new) > GIVE_UP_DISTANCE_M:
        v.set_mode(Mode.LAND)  # Copter::fence_check: too far outside to fly back
        return
    # AC_Fence::Action: 1 RTL or Land, 2 Land, 3 SmartRTL or RTL or Land, 4 Brake or Land,
    # 5 SmartRTL or Land (ArduCopter/fence.cpp).
    tries = {2: (Mode.LAND,), 3: (SMART_RTL, Mode.RTL), 4: (Mode.BRAKE,),
             5: (SMART_RTL,)}.get(action, (Mode.RTL,))
    if v.mode in tries:
        return  # Copter::set_mode to the mode it is in succeeds: it flies on (through zones)
    _failsafe_action(v, tries)


GIVE_UP_DISTANCE_M = 100.0
"""AC_FENCE_GIVE_UP_DISTANCE: farther outside a fence than this, ArduCopter just lands."""


def _breach_distance_m(v: SimVehicleLike, breaches: Breach) -> float:
    """AC_Fence::get_breach_distance: how far past the breached altitude / circle fence."""
    dist = 0.0
    if breaches & Breach.ALT_MAX:
        dist = max(dist, v.alt_rel_m() - v.params.get("FENCE_ALT_MAX"))
    if breaches & Breach.CIRCLE and v.home is not None:
        n, e = v.home_ne()
        from_home = math.hypot(v.phys.north_m - n, v.phys.east_m - e)
        dist = max(dist, from_home - v.params.get("FENCE_RADIUS"))
    return dist


def fence_status_message(v: SimVehicleLike) -> Any | None:
    if not fence_enabled(v):
        return None
    fs = v.fs
    if fs.breaches & (Breach.CIRCLE | Breach.POLYGON):
        kind = M.FENCE_BREACH_BOUNDARY
    elif fs.breaches & Breach.ALT_MAX:
        kind = M.FENCE_BREACH_MAXALT
    elif fs.breaches & Breach.ALT_MIN:
        kind = M.FENCE_BREACH_MINALT
    else:
        kind = M.FENCE_BREACH_NONE
    return M.MAVLink_fence_status_message(1 if fs.breaches else 0, fs.breach_count, kind,
                                          fs.last_breach_ms, 1)
