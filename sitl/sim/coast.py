"""Coasting: the steps of a copter in steady flight, without the controller.

A copter holding a point (LOITER, GUIDED at its target, AUTO's LOITER_UNLIM) or cruising a
straight leg at its set speed is at a fixed point of the position controller: every step
asks for the velocity it already has, so the step only moves it, drains the pack, records the
SmartRTL path, runs the failsafes (only when the pack or the GCS heartbeat nears a threshold,
or a fence is on: ``failsafes.quiet``) and sends the telemetry due. ``plan`` finds that state
after a full step and how many steps it lasts: the controller is run once on a copy of the
physics (the velocity must come out the same), and a cruise ends a margin before the
braking distance of the waypoint, or before its acceptance radius. The vehicle then takes
those steps by ``SimVehicle._coast_step``, in the full step's order, until ``still`` says
anything it depends on changed (a mode, a parameter, a failsafe, a message, a timed event,
the copter moved by someone else), or the steps planned are done.

Most coasted steps have nothing due: no telemetry, and the pack and the GCS heartbeat
more than two steps from a failsafe threshold (``failsafes.Quiet.until_s``). Those only move
the copter, add the step's charge and energy (the same sums ``Battery.drain`` makes at a
steady current and voltage) and save a SmartRTL point when one is due; the rest of the step
runs when something is due.

Holding, the velocity is exactly zero and the wire is byte for byte the full step's. In a
cruise the full step's velocity wobbles in its last bits (the direction to the waypoint is
recomputed from a position that moved); coasting keeps it, within 1e-9 m/s of what the
controller asks, so positions agree to well under a micrometre over a leg.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .autopilot_mission import RunState
from .failsafes import Quiet, quiet
from .physics import NavTarget
from .protocol import SimVehicleLike
from .state import Mode

__all__ = ["Coast", "plan", "quiet_until_s", "still"]

M = mavlink
STEADY_MS = 1e-9
"""A velocity the controller would change by at most this much is steady (float noise)."""
MARGIN_M = 2.0
"""Cruising stops coasting this far before braking or the acceptance radius could begin."""
MIN_STEPS = 5
"""Fewer steps than this ahead: not worth a plan, take full steps."""
HOLD_STEPS = 1 << 30
"""Holding a point lasts until something changes."""
_FLY_COMMANDS = (M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_LOITER_UNLIM, M.MAV_CMD_NAV_LOITER_TIME,
                 M.MAV_CMD_NAV_SPLINE_WAYPOINT)
"""AUTO items flown by ``_verify_waypoint``: nothing happens before arrival."""
_APPROACH_COMMANDS = (M.MAV_CMD_NAV_LAND, M.MAV_CMD_NAV_PAYLOAD_PLACE)
"""AUTO items whose "fly" phase (to the point above) waits for an arrival within 1 m."""


@dataclass(slots=True)
class Coast:
    """A steady state the vehicle may step cheaply."""

    key: tuple[Any, ...]
    """``state_key`` when planned: any difference ends the coast."""
    quick: tuple[Any, ...]
    """``quick_key`` when planned, compared every step (the whole key on steps with
    something due)."""
    steps_left: int
    power_w: float
    """Electrical power (constant: airspeed, climb rate and payload are)."""
    at: tuple[float, float, float]
    """Where the last step left the copter (north, east, up): moved by anyone else, the
    coast ends."""
    mah: float
    """The pack's consumed charge after the last step (drained by anyone else: it ends)."""
    failsafes: Quiet | None
    """While it holds, the failsafe checks would change nothing (None: run them)."""
    srtl_accuracy_m: float
    """SmartRTL saves a point this far from the last one (SRTL_ACCURACY, at least 0.1)."""
    dt: float
    """The step the plan was made for."""
    drain: tuple[float, float] | None = None
    """Charge (mAh) and energy (Wh) a step drains, once the first coasted step has set the
    pack's steady current and voltage (None: ``Battery.drain`` each step, as with a pack
    whose voltage sags)."""
    until_s: float = -math.inf
    """Before this time no step has telemetry due and the failsafes are quiet: a step only
    moves the copter, drains the pack and records the path."""


def state_key(v: SimVehicleLike, pending_events: int) -> tuple[Any, ...]:
    """Everything a coasted step assumes unchanged."""
    p, fs, act = v.phys, v.fs, v.runner.active
    return (v.params.version, v.payload_kg, v.mode, v.armed, v.hold_ne, v.guided_target,
            v.takeoff_up_m, v.auto_waiting, act, act.phase if act is not None else None,
            v.runner.paused, v.runner.state, v.wp_speed_ms, fs.battery_level, fs.gcs, fs.ekf,
            fs.breaches, v.fence_runtime_enabled, v.home, v.winch.relaxed, p.vn, p.ve, p.vu,
            p.on_ground, pending_events)


def quick_key(v: SimVehicleLike, pending_events: int) -> tuple[Any, ...]:
    """What may change between steps without a message or an event (a test, a fault
    injected); the rest changes only in steps that run the checks."""
    p = v.phys
    return (v.params.version, v.payload_kg, v.mode, v.armed, p.vn, p.ve, p.vu, pending_events)


def still(v: SimVehicleLike, coast: Coast, pending_events: int, dt: float) -> bool:
    """True while ``coast`` holds: steps left and nothing it assumed has changed."""
    p = v.phys
    if coast.steps_left <= 0 or dt != coast.dt or coast.at != (p.north_m, p.east_m, p.up_m) \
            or coast.mah != v.battery.consumed_mah \
            or coast.quick != quick_key(v, pending_events):
        return False
    return v.sim_time_s < coast.until_s or coast.key == state_key(v, pending_events)


def quiet_until_s(v: SimVehicleLike, coast: Coast, dt: float) -> float:
    """``Coast.until_s`` after a step that ran the checks, given when telemetry is due
    next (the caller's)."""
    if coast.failsafes is None or coast.drain is None:
        return -math.inf  # the checks every step
    return coast.failsafes.until_s(v, coast.drain[0], dt)


def _target(v: SimVehicleLike) -> tuple[NavTarget, float] | None:
    """The target the next full step flies to and the acceptance radius it checks (0: none),
    where working it out changes nothing (no takeoff, no stopping point to take)."""
    if v.takeoff_up_m is not None or v.auto_waiting:
        return None
    if v.mode == Mode.AUTO:
        runner, act = v.runner, v.runner.active
        if act is None or runner.state != RunState.RUNNING or runner.paused or act.target is None \
                or act.item.command not in _FLY_COMMANDS + _APPROACH_COMMANDS:
            return None
        holding = act.phase == "hold" and act.item.command == M.MAV_CMD_NAV_LOITER_UNLIM
        target = runner.nav_target() if holding or act.phase == "fly" else None
        if target is None or holding:
            return (target, 0.0) if target is not None else None
        item = act.item
        if item.command in _APPROACH_COMMANDS:
            radius = 1.0  # _verify_land / _verify_payload_place: within 1 m, then down
        elif item.command == M.MAV_CMD_NAV_WAYPOINT and item.param2 > 0:
            radius = item.param2
        else:
            radius = v.params.get("WPNAV_RADIUS") / 100.0
        return target, max(radius, 0.5)
    if v.mode == Mode.GUIDED and v.guided_target is not None:
        n, e, up = v.guided_target
        return NavTarget(n, e, up, speed_ms=v.wp_speed_ms, climb_ms=v.climb_ms,
                         sink_ms=v.sink_ms), 0.0
    if v.mode in (Mode.GUIDED, Mode.LOITER) and v.hold_ne is not None:
        return NavTarget(*v.hold_ne), 0.0
    return None


def _steps(v: SimVehicleLike, target: NavTarget, radius_m: float, dt: float) -> int:
    """Steps until braking or arrival could start (``HOLD_STEPS`` when holding still)."""
    p = v.phys
    speed = p.groundspeed_ms
    if speed == 0.0:
        return HOLD_STEPS
    assert target.north_m is not None and target.east_m is not None
    dn, de = target.north_m - p.north_m, target.east_m - p.east_m
    dist = math.hypot(dn, de)
    if dist <= 0.0 or (p.vn * dn + p.ve * de) / (speed * dist) < 1.0 - 1e-9:
        return 0  # not flying straight at it
    # Physics._desired_velocity keeps asking for speed_ms while the braking curve and the
    # final approach both allow more.
    end = target.end_speed_ms
    brake_m = (target.speed_ms ** 2 - end ** 2) / (1.6 * p.accel_mss)
    if end <= 0.0:
        brake_m = max(brake_m, (target.speed_ms - 0.05) / 1.5)
    return int((dist - max(brake_m, radius_m) - MARGIN_M) / (speed * dt))


def plan(v: SimVehicleLike, pending_events: int, dt: float) -> Coast | None:
    """A coast from here, or None when the next step is not a steady one."""
    p = v.phys
    if p.on_ground or p.vu != 0.0 or not v.armed or not (v.winch.relaxed or not v.winch.present):
        return None
    found = _target(v)
    if found is None:
        return None
    target, radius_m = found
    if target.land or target.up_m is None or target.north_m is None:
        return None
    trial = copy.copy(p)
    trial.step(dt, target)
    if trial.vu != 0.0 or abs(trial.vn - p.vn) > STEADY_MS or abs(trial.ve - p.ve) > STEADY_MS:
        return None
    steps = _steps(v, target, radius_m, dt)
    if steps < MIN_STEPS:
        return None
    power = v.power.power_w(p.airspeed_ms, p.vu, v.payload_kg)
    return Coast(state_key(v, pending_events), quick_key(v, pending_events), steps, power,
                 (p.north_m, p.east_m, p.up_m), v.battery.consumed_mah, quiet(v),
                 max(v.params.get("SRTL_ACCURACY"), 0.1), dt)
