"""Pre-flight checks: link, GPS/EKF readiness, battery, the parameters a mission relies on, home.

Each check returns a ``CheckResult``; ``run_preflight`` runs them all and raises
``PreflightFailed`` naming every failure. Waiting checks (EKF ready) have timeouts in the
vehicle's own seconds, divided by the simulator speedup. With ``configure`` the missing
parameters are set, and the vehicle is rebooted when one of them only acts after a reboot
(GRIP_ENABLE/GRIP_TYPE/WINCH_TYPE, as recorded). ``check_param_dependencies`` then checks
parameters that only make sense together (a PWM winch needs an output with the winch function);
it never sets servo functions, because which output drives what is a wiring fact.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import GroundControlError, ParameterTimeout, PreflightFailed
from groundcontrol.mavlink.commands import Commander, default_stream_rate_hz
from groundcontrol.mavlink.vehicle import VehicleState, VehicleTracker
from missions.items import Cmd, Mission, ParamRequirement

__all__ = [
    "REBOOT_PARAMS",
    "SERVO_OUTPUTS",
    "CheckResult",
    "PreflightConfig",
    "check_battery",
    "check_home",
    "check_link",
    "check_param_dependencies",
    "check_params",
    "distance_m",
    "reboot_and_wait",
    "run_preflight",
    "wait_ready",
]

REBOOT_PARAMS = frozenset({"GRIP_ENABLE", "GRIP_TYPE", "WINCH_TYPE"})
"""Parameters ArduPilot only acts on after a reboot (DO_GRIPPER/DO_WINCH before it do nothing)."""

SERVO_OUTPUTS = 16
"""Outputs searched for a payload function: SERVO1_FUNCTION .. SERVO16_FUNCTION."""
_WINCH_FUNCTION = 88
_GRIPPER_FUNCTION = 28
_GRIP_TYPE_SERVO = 1


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PreflightConfig:
    speedup: float = 1.0
    """Vehicle seconds per wall second (the simulator's speedup)."""
    ready_timeout_s: float = 120.0
    """Vehicle seconds to wait for GPS/EKF "ready to arm" (ArduCopter SITL takes ~45 s)."""
    link_max_age_s: float = 3.0
    min_battery_pct: int = 90
    home_tolerance_m: float = 50.0
    configure: bool = False
    reboot_timeout_s: float = 30.0
    """Wall seconds to get the vehicle back after a reboot."""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (spherical Earth; fine for "is home at the depot").

    >>> round(distance_m(-35.0, 149.0, -35.001, 149.0))
    111
    """
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, a)))


def check_link(state: VehicleState, max_age_s: float) -> CheckResult:
    age = state.link_age_s()
    ok = age is not None and age <= max_age_s and state.heartbeats > 0
    detail = "never heard" if age is None else f"last message {age:.1f} s ago"
    return CheckResult("link", ok, detail)


def wait_ready(tracker: VehicleTracker, timeout_s: float, speedup: float = 1.0,
               stop: Callable[[], bool] = lambda: False, prearm_grace_s: float = 10.0
               ) -> CheckResult:
    """Wait until the EKF has a GPS position, home is set and the pre-arm bit is healthy.

    Times are the vehicle's seconds (its own clock, see ``VehicleDeadline``). The pre-arm bit
    gets ``prearm_grace_s`` once the EKF is ready; if it still fails the check passes anyway
    and arming (with retries) reports the vehicle's own reasons.
    """
    deadline = tracker.deadline(timeout_s, speedup)
    grace = None
    while True:
        s = tracker.snapshot()
        if s.ekf_ready and s.has_home:
            grace = grace or tracker.deadline(prearm_grace_s, speedup)
            if s.prearm_ok is not False:
                return CheckResult("ready to arm", True, f"EKF flags {s.ekf_flags:#x}")
            if grace.expired():
                return CheckResult("ready to arm", True,
                                   f"EKF flags {s.ekf_flags:#x}; pre-arm bit still failing")
        else:
            grace = None
        if deadline.expired() or stop():
            flags = f"{s.ekf_flags:#x}" if s.ekf_flags is not None else "none"
            return CheckResult(
                "ready to arm", False,
                f"not ready after {deadline.elapsed_s():.0f} s: EKF flags {flags}, GPS fix "
                f"{s.gps_fix_type}, home {'set' if s.has_home else 'not set'}, "
                f"pre-arm {'ok' if s.prearm_ok is not False else 'failing'}")
        time.sleep(0.05)


def check_battery(state: VehicleState, min_pct: int) -> CheckResult:
    pct = state.battery_pct
    if pct is None:
        return CheckResult("battery", False, "no battery level reported")
    bad_state = (state.battery_charge_state or 0) >= mavlink.MAV_BATTERY_CHARGE_STATE_LOW
    ok = pct >= min_pct and not bad_state
    return CheckResult("battery", ok, f"{pct} % (need {min_pct} %)"
                       + (", vehicle reports low/critical" if bad_state else ""))


def check_home(state: VehicleState, mission: Mission, tolerance_m: float) -> CheckResult:
    if not mission.items:
        return CheckResult("home", False, "mission has no items")
    depot = mission.items[0]
    if state.home_lat_deg is None or state.home_lon_deg is None:
        return CheckResult("home", False, "vehicle has no home position")
    d = distance_m(state.home_lat_deg, state.home_lon_deg, depot.x, depot.y)
    return CheckResult("home", d <= tolerance_m,
                       f"vehicle home {d:.0f} m from the mission's depot (limit {tolerance_m:g} m)")


def check_params(
    commander: Commander, requirements: Sequence[ParamRequirement], configure: bool
) -> tuple[list[CheckResult], bool]:
    """Check (and with ``configure`` set) each required parameter; returns the results and
    whether a reboot is needed for a changed parameter to act."""
    results, reboot = [], False
    for req in requirements:
        try:
            value = commander.get_param(req.name)
        except ParameterTimeout as exc:
            results.append(CheckResult(f"param {req.name}", False, str(exc)))
            continue
        finite = math.isfinite(value)
        if not finite and not configure:
            # No ArduPilot parameter holds NaN or infinity: the vehicle is broken or lying.
            results.append(CheckResult(f"param {req.name}", False, _not_a_number(value)))
            continue
        if finite and req.satisfied_by(value):
            results.append(CheckResult(f"param {req.name}", True, f"{value:g}"))
            continue
        if not configure:
            results.append(CheckResult(f"param {req.name}", False,
                                       f"is {value:g}, needs {req.check} {req.value:g}: {req.why}"))
            continue
        wanted = req.value_to_set(value if finite else 0.0)  # int(NaN) would raise
        echoed = commander.set_param(req.name, wanted)
        ok = req.satisfied_by(echoed)
        reboot = reboot or (ok and req.name in REBOOT_PARAMS)
        results.append(CheckResult(f"param {req.name}", ok, f"set {value:g} -> {echoed:g}"))
    return results, reboot


def check_param_dependencies(commander: Commander, mission: Mission) -> list[CheckResult]:
    """Check parameters that depend on each other: payload outputs and the planned speed.

    A winch (WINCH_TYPE != 0) needs an output with SERVOn_FUNCTION 88 whatever the mission,
    because ArduCopter refuses to arm without one; a mission's DO_WINCH needs a winch. A servo
    gripper needs an output with function 28, checked only when the mission has DO_GRIPPER.
    The speed line never fails: the mission's DO_CHANGE_SPEED sets the outbound speed.

    Args:
        commander: reads the parameters (the SERVOn_FUNCTIONs only when a payload needs one).
        mission: its DO_WINCH/DO_GRIPPER items and ``cruise_speed_ms`` decide what is checked.

    Returns:
        One result for the winch, one for the gripper (missions with DO_GRIPPER) and one for
        the speed (missions with a cruise speed).
    """
    commands = {item.command for item in mission.items}
    uses_gripper = Cmd.DO_GRIPPER in commands
    names = ["WINCH_TYPE"]
    names += ["GRIP_ENABLE", "GRIP_TYPE"] if uses_gripper else []
    names += ["WPNAV_SPEED", "ANGLE_MAX"] if mission.cruise_speed_ms is not None else []
    values = _read_params(commander, names)
    broken = {name: value for name, value in values.items() if not math.isfinite(value)}
    if broken:
        return [CheckResult("params", False, "; ".join(
            f"{name} {_not_a_number(value)}" for name, value in broken.items()))]
    wanted: set[int] = set()
    if values.get("WINCH_TYPE", 0.0) != 0:
        wanted.add(_WINCH_FUNCTION)
    if uses_gripper and _servo_gripper(values):
        wanted.add(_GRIPPER_FUNCTION)
    outputs = _find_outputs(commander, wanted) if wanted else _Outputs({}, 0)
    results = [_winch_result(values, outputs, Cmd.DO_WINCH in commands)]
    if uses_gripper:
        results.append(_gripper_result(values, outputs))
    if mission.cruise_speed_ms is not None:
        results.append(_speed_result(values, mission.cruise_speed_ms))
    return results


@dataclass(frozen=True, slots=True)
class _Outputs:
    """What the SERVOn_FUNCTION search found."""

    by_function: dict[int, int]
    """Servo output number of each wanted function that was found."""
    unreported: int
    """SERVOn_FUNCTIONs the vehicle never answered for (unknown name or lost link)."""

    def describe_missing(self, function: int) -> str:
        unreported = f" ({self.unreported} of them not reported)" if self.unreported else ""
        return (f"no SERVO1..{SERVO_OUTPUTS}_FUNCTION is {function}{unreported}; set it on the "
                "output wired to it (--configure does not: the wiring is a hardware fact)")


def _servo_gripper(values: dict[str, float]) -> bool:
    return values.get("GRIP_ENABLE") == 1 and values.get("GRIP_TYPE") == _GRIP_TYPE_SERVO


def _not_a_number(value: float) -> str:
    return f"reported as {value} by the vehicle: not a number any parameter can hold"


def _function(value: float) -> int:
    """A SERVOn_FUNCTION as the integer it is; -1 for a value no output function has."""
    return int(value) if math.isfinite(value) else -1


def _find_outputs(commander: Commander, functions: set[int]) -> _Outputs:
    """Search SERVO1..16_FUNCTION for ``functions``, stopping once each has an output."""
    names = [f"SERVO{n}_FUNCTION" for n in range(1, SERVO_OUTPUTS + 1)]

    def all_found(got: dict[str, float]) -> bool:
        return functions <= {_function(v) for v in got.values()}

    values = _read_params(commander, names, all_found)
    found: dict[int, int] = {}
    for n, name in enumerate(names, start=1):
        function = _function(values.get(name, 0.0))
        if function in functions and function not in found:
            found[function] = n
    unreported = 0 if all_found(values) else len(names) - len(values)
    return _Outputs(found, unreported)


def _winch_result(values: dict[str, float], outputs: _Outputs, has_do_winch: bool
                  ) -> CheckResult:
    winch_type = values.get("WINCH_TYPE")
    if winch_type is None:
        # Firmware built without AP_Winch has no WINCH_TYPE (no answer) and nothing to block arming.
        return CheckResult("winch", not has_do_winch, "WINCH_TYPE not reported"
                           + (": the mission's DO_WINCH needs a winch" if has_do_winch else ""))
    if winch_type == 0:
        return CheckResult("winch", not has_do_winch, "WINCH_TYPE 0"
                           + (": the mission's DO_WINCH is refused without a winch"
                              if has_do_winch else " (no winch)"))
    servo = outputs.by_function.get(_WINCH_FUNCTION)
    if servo is not None:
        return CheckResult("winch", True, f"WINCH_TYPE {winch_type:g} on SERVO{servo} "
                           f"(SERVO{servo}_FUNCTION {_WINCH_FUNCTION})")
    return CheckResult(
        "winch", False,
        f"WINCH_TYPE {winch_type:g} needs an output with SERVOn_FUNCTION {_WINCH_FUNCTION} "
        f"(winch); ArduCopter refuses to arm: winch unhealthy; "
        + outputs.describe_missing(_WINCH_FUNCTION))


def _gripper_result(values: dict[str, float], outputs: _Outputs) -> CheckResult:
    enable, grip_type = values.get("GRIP_ENABLE"), values.get("GRIP_TYPE")
    if enable != 1:
        # ArduCopter accepts a mission's DO_GRIPPER without a gripper and releases nothing.
        shown = "not reported" if enable is None else f"{enable:g}"
        return CheckResult("gripper", False,
                           f"GRIP_ENABLE {shown}: the mission's DO_GRIPPER would release nothing")
    if grip_type != _GRIP_TYPE_SERVO:
        shown = "not reported" if grip_type is None else f"{grip_type:g}"
        return CheckResult("gripper", True, f"GRIP_TYPE {shown}: not a servo gripper, "
                           "no output to check")
    servo = outputs.by_function.get(_GRIPPER_FUNCTION)
    if servo is not None:
        return CheckResult("gripper", True, f"GRIP_TYPE 1 (servo) on SERVO{servo} "
                           f"(SERVO{servo}_FUNCTION {_GRIPPER_FUNCTION})")
    return CheckResult(
        "gripper", False,
        f"GRIP_TYPE 1 (servo) needs an output with SERVOn_FUNCTION {_GRIPPER_FUNCTION} "
        "(gripper); without one DO_GRIPPER releases nothing; "
        + outputs.describe_missing(_GRIPPER_FUNCTION))


def _speed_result(values: dict[str, float], cruise_ms: float) -> CheckResult:
    """Never a failure: DO_CHANGE_SPEED may exceed WPNAV_SPEED, only returns and RTL
    (RTL_SPEED 0 = WPNAV_SPEED) fly at it."""
    angle = values.get("ANGLE_MAX")
    # ANGLE_MAX also caps speed (3 kg SITL quad at 30 deg: 10.35 m/s of a planned 22 m/s).
    lean = "ANGLE_MAX not reported" if angle is None else f"ANGLE_MAX {angle / 100:.1f} deg"
    wpnav = values.get("WPNAV_SPEED")
    if wpnav is None:
        return CheckResult("speed", True, f"WPNAV_SPEED not reported, planned "
                           f"{cruise_ms:.1f} m/s unchecked; {lean}")
    if wpnav / 100 < cruise_ms - 1e-6:
        return CheckResult("speed", True, f"WPNAV_SPEED {wpnav / 100:.1f} m/s below the "
                           f"planned {cruise_ms:.1f} m/s: returns and RTL fly slower than "
                           f"planned; {lean}")
    return CheckResult("speed", True, f"WPNAV_SPEED {wpnav / 100:.1f} m/s covers the planned "
                       f"{cruise_ms:.1f} m/s; {lean}")


def _read_params(commander: Commander, names: Sequence[str],
                 enough: Callable[[dict[str, float]], bool] = lambda got: False
                 ) -> dict[str, float]:
    """Read ``names`` by name in bursts; returns those answered (unknown names are absent).

    Every request of a burst goes out before any answer is awaited, so the names ArduPilot
    does not know (it stays silent) cost one timeout together, not one each. Unanswered names
    (lost, or dropped by a full request queue on the vehicle) are asked again, as
    ``Commander.get_param`` does, until ``enough`` or every name has answered.
    """
    cfg, channel = commander.config, commander.channel
    wanted = set(names)
    got: dict[str, float] = {}
    with channel.inbox(["PARAM_VALUE"], lambda m: m.param_id in wanted) as box:
        for _ in range(cfg.param_retries):
            for name in names:
                if name not in got:
                    channel.send(mavlink.MAVLink_param_request_read_message(
                        channel.sysid, channel.compid, name.encode(), -1))
            deadline = time.monotonic() + cfg.param_timeout_s
            while len(got) < len(wanted) and not enough(got) \
                    and (remaining := deadline - time.monotonic()) > 0:
                msg = box.get(remaining)
                if msg is not None:
                    got[msg.param_id] = float(msg.param_value)
            if len(got) == len(wanted) or enough(got):
                break
    return got


def reboot_and_wait(commander: Commander, tracker: VehicleTracker, config: PreflightConfig) -> None:
    """Reboot, forget the stale state, wait for the vehicle and request its streams again.

    Raises:
        GroundControlError: the vehicle did not come back within ``reboot_timeout_s``.
    """
    link = getattr(commander.channel, "link", None)
    reconnects = link.stats().reconnects if link is not None else 0
    commander.reboot()
    # Wait for a sign of the reboot (SITL drops TCP ~5 s sim after the ACK, a radio link goes
    # quiet, the vehicle reports BOOT) so no pre-reboot EKF/home report survives the reset.
    deadline = time.monotonic() + max(2.0, 10.0 / config.speedup)
    while time.monotonic() < deadline:
        s = tracker.snapshot()
        if (link is not None and link.stats().reconnects > reconnects) \
                or s.system_status == mavlink.MAV_STATE_BOOT or (s.link_age_s() or 0) > 1.0:
            break
        time.sleep(0.02)
    tracker.reset()
    deadline = time.monotonic() + config.reboot_timeout_s
    while tracker.snapshot().heartbeats == 0:
        if time.monotonic() > deadline:
            raise GroundControlError(
                f"vehicle {tracker.snapshot().sysid} not back {config.reboot_timeout_s:.0f} s "
                "after the reboot")
        time.sleep(0.05)
    commander.request_streams(default_stream_rate_hz(config.speedup), speedup=config.speedup)


def run_preflight(
    commander: Commander,
    tracker: VehicleTracker,
    mission: Mission,
    config: PreflightConfig,
    skip_params: frozenset[str] = frozenset(),
    stop: Callable[[], bool] = lambda: False,
) -> list[CheckResult]:
    """All pre-flight checks; returns the results when every one passed.

    ``skip_params`` are required parameters the flight sets itself (FENCE_ENABLE after the
    fence upload).

    Raises:
        PreflightFailed: lists every failed check.
    """
    results = [check_link(tracker.snapshot(), config.link_max_age_s)]
    if not results[0].ok:
        raise PreflightFailed([f"{r.name}: {r.detail}" for r in results])
    needs = [r for r in mission.required_params if r.name not in skip_params]
    param_results, reboot = check_params(commander, needs, config.configure)
    if reboot:
        reboot_and_wait(commander, tracker, config)
        param_results, _ = check_params(commander, needs, False)
    results += param_results
    results += check_param_dependencies(commander, mission)
    results.append(wait_ready(tracker, config.ready_timeout_s, config.speedup, stop))
    state = tracker.snapshot()
    results.append(check_battery(state, config.min_battery_pct))
    results.append(check_home(state, mission, config.home_tolerance_m))
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    if failed:
        raise PreflightFailed(failed)
    return results
