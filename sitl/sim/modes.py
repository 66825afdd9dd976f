"""Flight modes, arming and disarming, as ArduCopter 4.7 does them (per the recordings and
ArduCopter/mode*.cpp, AP_Arming)."""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from . import failsafes
from .autopilot_mission import RunState
from .physics import NavTarget
from .protocol import SimVehicleLike

__all__ = ["arm", "arm_failures", "disarm", "nav_target", "periodic_prearm_report",
           "prearm_failures", "set_mode", "update"]

M = mavlink
INFO = M.MAV_SEVERITY_INFO
STABILIZE, ALT_HOLD, AUTO, GUIDED, LOITER, RTL, LAND, BRAKE = 0, 2, 3, 4, 5, 6, 9, 17
SMART_RTL = 21
SUPPORTED = (STABILIZE, ALT_HOLD, AUTO, GUIDED, LOITER, RTL, LAND, BRAKE, SMART_RTL)
ARDUCOPTER_MODES = frozenset({*range(0, 8), 9, 11, *range(13, 26), 27, 28})
"""Mode numbers a SITL quad has (the rest get "No such mode N": 8, 10, 12, 26 and 29 up,
measured); the simulator flies only ``SUPPORTED``."""
NEEDS_POSITION = (AUTO, GUIDED, LOITER, RTL, BRAKE, SMART_RTL)
AUTO_ALLOW_ARMING = 1
LAND_COMPLETE_S = 2.07
"""Touchdown to land-complete (disarm in LAND/RTL/AUTO) as recorded: 2.06-2.1 s."""


def set_mode(v: SimVehicleLike, mode: int) -> bool:
    """Copter::set_mode; True when the vehicle is now in ``mode``."""
    if mode not in SUPPORTED:
        return False
    if mode == v.mode:
        return True
    if v.armed and mode in NEEDS_POSITION and (not v.ekf_ready() or v.fs.ekf):
        return False
    if mode == AUTO:
        if not (v.runner.total > 0 or not v.armed):
            return False
        if v.armed and v.land_complete() and not v.runner.starts_with_takeoff():
            v.text(M.MAV_SEVERITY_CRITICAL, "Auto: Missing Takeoff Cmd")
            return False
    if mode == SMART_RTL and (not v.armed or not v.rtl.start_smart()):
        return False  # ModeSmartRTL::init: needs a path (AP_SmartRTL::is_active)
    if v.mode == AUTO and v.runner.state == RunState.RUNNING:
        v.runner.stop()
    v.runner.paused = False
    v.mode = mode
    v.hold_ne = None
    v.guided_target = None
    if mode != GUIDED and v.takeoff_up_m is not None:
        # A new mode ends a pending takeoff even before the copter left the ground; otherwise
        # an RTL during the spool-up sat armed on the ground for ever, where ArduCopter's
        # auto-disarm disarms a landed copter after DISARM_DELAY.
        v.takeoff_up_m = None
    v.auto_waiting = mode == AUTO
    if mode in (AUTO, GUIDED, RTL):
        # wp_and_spline_init: a new mode starts from WPNAV_SPEED (DO_CHANGE_SPEED is forgotten).
        v.wp_speed_ms = v.params.get("WPNAV_SPEED") / 100.0
    if mode == RTL:
        v.rtl.start()
    failsafes.on_mode_change(v)
    return True


def nav_target(v: SimVehicleLike) -> NavTarget | None:
    """The target of the current mode while armed (None: hold where it is)."""
    p = v.phys
    if v.mode == AUTO:
        return v.runner.nav_target()
    if v.mode == GUIDED:
        if v.takeoff_up_m is not None:
            return v.takeoff_target(0.0)
        if v.guided_target is not None:
            n, e, up = v.guided_target
            return NavTarget(n, e, up, speed_ms=v.wp_speed_ms, climb_ms=v.climb_ms,
                             sink_ms=v.sink_ms)
        return None
    if v.mode in (RTL, SMART_RTL):
        return v.rtl.target()
    if v.mode == LAND:
        if v.hold_ne is None:
            v.hold_ne = v.stopping_point()
        return NavTarget(v.hold_ne[0], v.hold_ne[1], None, land=True,
                         descent_ms=v.land_descent_ms())
    if v.mode in (STABILIZE, ALT_HOLD):
        # No pilot: the SITL RC throttle sits at its minimum, so the copter sinks.
        if p.on_ground:
            return NavTarget(p.north_m, p.east_m, p.up_m)
        return NavTarget(None, None, None, land=True, descent_ms=v.sink_ms)
    return None


def is_landing(v: SimVehicleLike) -> bool:
    if v.mode == LAND or (v.mode in (RTL, SMART_RTL) and v.rtl.phase == "land"):
        return True
    act = v.runner.active
    return v.mode == AUTO and act is not None and act.phase == "descend"


def update(v: SimVehicleLike) -> None:
    """Per-step mode logic after physics."""
    if v.mode == AUTO and v.auto_waiting and v.home is not None:
        v.auto_waiting = False
        v.runner.resume()
    if v.armed:
        v.rtl.smart.record()
    if v.mode == AUTO:
        v.runner.update()
    elif v.mode in (RTL, SMART_RTL):
        v.rtl.update()
    elif v.mode == LAND and v.armed and v.land_complete():
        disarm(v)
    elif v.mode == GUIDED and v.takeoff_up_m is not None and v.takeoff_done():
        v.takeoff_finished()
    _auto_disarm(v)


def _auto_disarm(v: SimVehicleLike) -> None:
    delay = v.params.get("DISARM_DELAY")
    if not v.armed or delay <= 0 or not v.land_complete() or v.takeoff_up_m is not None:
        return
    act = v.runner.active
    if v.mode == AUTO and act is not None and act.item.command == M.MAV_CMD_NAV_PAYLOAD_PLACE:
        return
    since = max(v.arm_time_s, (v.touchdown_s or 0.0) + LAND_COMPLETE_S)
    if v.sim_time_s - since >= delay:
        disarm(v)


def mission_finished(v: SimVehicleLike) -> None:
    """ModeAuto::exit_mission: hover in the air, disarm on the ground."""
    if v.armed and v.land_complete():
        disarm(v)


def _ekf_reasons(v: SimVehicleLike) -> list[str]:
    t = v.timeline
    if v.sim_time_s < t.ekf_init_s:
        return ["Accels inconsistent", "EKF attitude is bad",
                "AHRS: not using configured AHRS type"]
    if v.sim_time_s < t.origin_s:
        return ["Accels inconsistent", "AHRS: waiting for home"]
    return []


def prearm_failures(v: SimVehicleLike) -> list[str]:
    """Reasons ARM would fail now (without the "PreArm: "/"Arm: " prefix)."""
    if int(v.params.get("ARMING_CHECK")) == 0:
        return failsafes.battery_arm_reasons(v)
    reasons = _ekf_reasons(v)
    if not reasons and v.mode in NEEDS_POSITION and not v.ekf_ready():
        reasons.append("Need Position Estimate")
    if v.fence_enabled():
        if not v.ekf_ready():
            reasons.append("Fence enabled, need position estimate")
        else:
            reasons.extend(failsafes.fence_arm_reasons(v))
    reasons.extend(failsafes.battery_arm_reasons(v))
    return reasons


def arm_failures(v: SimVehicleLike) -> list[str]:
    if v.mode in (RTL, LAND) or (v.mode == AUTO and
                                  not int(v.params.get("AUTO_OPTIONS")) & AUTO_ALLOW_ARMING):
        return ["Mode not armable"]
    reasons = prearm_failures(v)
    if int(v.params.get("ARMING_CHECK")) != 0 and _winch_unhealthy(v):
        reasons.append("winch unhealthy")  # as measured on ArduCopter 4.7 SITL
    return reasons


def _winch_unhealthy(v: SimVehicleLike) -> bool:
    """A PWM winch (WINCH_TYPE 1) with no output assigned the winch function (88)."""
    if int(v.params.get("WINCH_TYPE")) != 1:
        return False
    return all(int(v.params.get(f"SERVO{n}_FUNCTION")) != 88 for n in range(1, 17))


def arm(v: SimVehicleLike) -> None:
    """Arm now (checks done by the caller): home moves to here."""
    v.armed = True
    v.arm_time_s = v.sim_time_s
    v.hold_ne = None
    v.set_home(v.current_home(), announce=True)
    v.rtl.smart.reset()
    v.text(INFO, "Arming motors")


def disarm(v: SimVehicleLike) -> None:
    """Disarm; the mission is reset (AP_Arming_Copter::disarm) and restarts if in AUTO."""
    if not v.armed:
        return
    v.armed = False
    v.auto_armed = False
    v.takeoff_up_m = None
    v.guided_target = None
    v.hold_ne = None
    v.text(INFO, "Disarming motors")
    v.notify_param("MOT_THST_HOVER")
    if v.mode == AUTO and v.runner.state == RunState.RUNNING:
        v.runner.reset_after_disarm()
    else:
        v.runner.rewind()


def periodic_prearm_report(v: SimVehicleLike) -> None:
    """1 Hz pre-arm check: failures that persist are reported, at most every 30 s."""
    now = v.sim_time_s
    reasons = [] if v.armed else prearm_failures(v)
    if not reasons:
        v.prearm_failing_since_s = None
        return
    if v.prearm_failing_since_s is None:
        v.prearm_failing_since_s = now
        return
    if now - v.last_prearm_report_s >= 30.0:
        v.last_prearm_report_s = now
        for reason in reasons:
            v.text(M.MAV_SEVERITY_CRITICAL, f"PreArm: {reason}")
