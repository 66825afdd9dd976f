"""Pre-flight checks: link, GPS/EKF readiness, battery, the parameters a mission relies on, home.

Each check returns a ``CheckResult``; ``run_preflight`` runs them all and raises
``PreflightFailed`` naming every failure. Waiting checks (EKF ready) have timeouts in the
vehicle's own seconds, divided by the simulator speedup. With ``configure`` the missing
parameters are set, and the vehicle is rebooted when one of them only acts after a reboot
(GRIP_ENABLE/GRIP_TYPE/WINCH_TYPE, as recorded).
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
from missions.items import Mission, ParamRequirement

__all__ = [
    "REBOOT_PARAMS",
    "CheckResult",
    "PreflightConfig",
    "check_battery",
    "check_home",
    "check_link",
    "check_params",
    "distance_m",
    "reboot_and_wait",
    "run_preflight",
    "wait_ready",
]

REBOOT_PARAMS = frozenset({"GRIP_ENABLE", "GRIP_TYPE", "WINCH_TYPE"})
"""Parameters ArduPilot only acts on after a reboot (DO_GRIPPER/DO_WINCH before it do nothing)."""


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
        if req.satisfied_by(value):
            results.append(CheckResult(f"param {req.name}", True, f"{value:g}"))
            continue
        if not configure:
            results.append(CheckResult(f"param {req.name}", False,
                                       f"is {value:g}, needs {req.check} {req.value:g}: {req.why}"))
            continue
        wanted = _value_to_set(req, value)
        echoed = commander.set_param(req.name, wanted)
        ok = req.satisfied_by(echoed)
        reboot = reboot or (ok and req.name in REBOOT_PARAMS)
        results.append(CheckResult(f"param {req.name}", ok, f"set {value:g} -> {echoed:g}"))
    return results, reboot


def _value_to_set(req: ParamRequirement, current: float) -> float:
    if req.check == "bits":
        return float(int(current) | int(req.value))
    if req.check == "gt":
        return req.value + 1
    return req.value


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
    results.append(wait_ready(tracker, config.ready_timeout_s, config.speedup, stop))
    state = tracker.snapshot()
    results.append(check_battery(state, config.min_battery_pct))
    results.append(check_home(state, mission, config.home_tolerance_m))
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    if failed:
        raise PreflightFailed(failed)
    return results
