"""Values and seams of the fleet controller: configuration, clocks, ground crews, views.

The controller (``groundcontrol.fleet.controller``) runs on a scenario clock (``Clock``): the
built-in simulator's own time (``SimClock``) or wall time, optionally scaled
(``ScaledWallClock``). The depot turnaround the dispatcher plans (keep, swap or charge the
battery) is carried out by a ``GroundCrew``: the simulator's crew sets the simulated pack's
charge, a real crew is waited for until the vehicle reports the charge the sortie needs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from groundcontrol.errors import GroundControlError
from groundcontrol.mavlink.vehicle import VehicleState, VehicleTracker
from planner.dispatch_model import (
    Assign,
    BatteryAction,
    CancelAnswer,
    Decision,
    Fail,
    Reject,
    Sortie,
    SwapBattery,
    Unassign,
)
from planner.separation import SeparationRules

__all__ = [
    "Clock",
    "CrewTimeout",
    "DroneActivity",
    "DroneView",
    "FleetConfig",
    "FleetEvent",
    "FleetEventKind",
    "GroundCrew",
    "ManualCrew",
    "ScaledWallClock",
    "SimClock",
    "SimCrew",
    "VehicleClock",
    "battery_wh_of",
    "clock_text",
    "decision_text",
    "mav_severity_name",
    "separation_text",
]


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """How the controller runs. Times are scenario seconds unless named ``_wall_s``."""

    speedup: float = 1.0
    """Vehicle seconds per wall second (the simulator's speedup; 1 for real vehicles)."""
    stream_rate_hz: int = 1
    """Telemetry rate asked of each vehicle, in its own seconds: at a simulator speedup K the
    wall rate is K times this, so keep it low (2 CPU cores carry 9 vehicles at 1 Hz x 50)."""
    poll_wall_s: float = 0.05
    tick_s: float = 10.0
    """Tell the dispatcher that time passed at most this often (only while sorties wait)."""
    promise_slack_s: float = 120.0
    """Accept an order only if the plan drops it off this long before it is due (see
    ``planner.dispatch.Dispatcher``): pre-flights, winds and queues at the pads eat into
    plans, and a promise made with no time in hand is broken by the first delay."""
    launch_lead_s: float = 600.0
    """Start the crew's turnaround, the pre-flight and the upload this long before the
    planned launch (never before the dispatcher fixes the sortie, when its turnaround
    begins); the drone then holds on the pad until its launch time. Checks and uploads take
    vehicle seconds (many at a simulator's speedup); starting them with the turnaround keeps
    them out of the flight's time."""
    link_lost_wall_s: float = 5.0
    configure: bool = False
    """Let pre-flight set missing vehicle parameters (rebooting when one needs it)."""
    auto_recover_s: float | None = None
    """Put a drone that failed before take-off back in service after this long; None: never
    (a person calls ``recover``)."""
    snapshot_s: float = 60.0
    """Record each vehicle's snapshot in the store at most this often."""
    resync_wall_s: float = 20.0
    """How long a restart waits for each vehicle's telemetry before treating it as lost."""
    vehicles_start_fresh: bool = False
    """The vehicles start with the controller, on their pads (the built-in simulator in the
    same process): after a restart a flight the store has in the air ended with the last
    process, the parcel still on board, and the order flies again (with vehicles that live on,
    a restart re-attaches to the flight or settles it from the vehicle's evidence)."""
    margin_m: float = 30.0
    seed: int = 0
    min_battery_pct: int = 20
    """Floor of the pre-flight battery check (the dispatcher checked the energy already)."""
    mission_timeout_s: float | None = None
    separation: SeparationRules | None = field(default_factory=SeparationRules)
    """Minima between the fleet's planned flights (``planner.separation``): a sortie that
    would come too close to another one cruises on another layer or launches later. None
    plans every drone as if it flew alone."""


class FleetEventKind(Enum):
    ORDER = "order"
    """An order changed state (``order_id``)."""
    DECISION = "decision"
    """A dispatcher decision (text is its summary)."""
    FLIGHT = "flight"
    """A flight's progress, problems and outcome."""
    TEXT = "text"
    """A STATUSTEXT from a vehicle."""
    NOTE = "note"
    """Something the controller did (resync, crew instruction, link loss)."""


@dataclass(frozen=True, slots=True)
class FleetEvent:
    """One thing an observer (console, progress printer) may want to show."""

    kind: FleetEventKind
    t_s: float
    text: str = ""
    drone_id: str | None = None
    order_id: str | None = None
    severity: str = "info"
    """``debug``, ``info``, ``notice``, ``warning`` or ``error``."""


def mav_severity_name(mav_severity: int) -> str:
    """A FleetEvent severity for a STATUSTEXT's MAV_SEVERITY (0 emergency .. 7 debug).

    >>> [mav_severity_name(s) for s in (2, 3, 4, 5, 6, 7)]
    ['error', 'error', 'warning', 'notice', 'info', 'debug']
    """
    if mav_severity <= 3:
        return "error"
    return {4: "warning", 5: "notice", 6: "info"}.get(mav_severity, "debug")


class DroneActivity(Enum):
    """What a drone is doing, as a dispatcher thinks of it: one vocabulary for the fleet and
    the console (``groundcontrol.console.model.VehicleState`` is this enum)."""

    IDLE = "idle"
    PREFLIGHT = "preflight"
    UPLOADING = "uploading"
    EN_ROUTE = "en route"
    PAUSED = "paused"
    """Holding in the air on the operator's request (the mission resumes with resume)."""
    DELIVERING = "delivering"
    RETURNING = "returning"
    LANDED = "landed"
    CHARGING = "charging"
    FAULT = "fault"
    LINK_LOST = "link lost"


@dataclass(frozen=True, slots=True)
class DroneView:
    """A drone as the controller sees it at one moment."""

    drone_id: str
    name: str
    sysid: int
    activity: DroneActivity
    vehicle: VehicleState
    order_id: str | None = None
    eta_s: float | None = None
    """Scenario time of the next milestone (drop-off outbound, landing on the way back)."""
    fault: str = ""


# ------------------------------------------------------------------------------ clocks


class Clock(Protocol):
    """Scenario seconds; never goes backwards."""

    def now_s(self) -> float: ...


class ScaledWallClock:
    """``start_s`` plus wall seconds since construction times ``speedup``.

    >>> ScaledWallClock(100.0, 0.0).now_s()
    100.0
    """

    def __init__(self, start_s: float, speedup: float = 1.0) -> None:
        self.start_s = start_s
        self.speedup = speedup
        self._t0 = time.monotonic()

    def now_s(self) -> float:
        return self.start_s + (time.monotonic() - self._t0) * self.speedup


class SimClock:
    """``start_s`` plus the simulated seconds a ``SimFleet`` ran since construction (the sim
    slows down when the CPU cannot keep up; its clock, not the wall's, is the truth)."""

    def __init__(self, fleet: Any, start_s: float) -> None:
        self._fleet = fleet
        self.start_s = start_s
        self._sim0 = float(fleet.sim_time_s)

    def now_s(self) -> float:
        return self.start_s + (float(self._fleet.sim_time_s) - self._sim0)


class VehicleClock:
    """Scenario time from the vehicles' own clocks (``time_boot_ms``): right for ArduPilot
    SITL at any speedup and for real vehicles (wall time), and it does not run on while the
    vehicles stand still (a simulator falling behind).

    Time advances by the largest increase of any vehicle's boot time since the last reading;
    a reboot (boot time going back) only restarts that vehicle's count. With no vehicle heard
    for ``fallback_after_wall_s`` it runs on wall time times ``fallback_speedup``.
    """

    def __init__(self, trackers: Callable[[], list[VehicleTracker]], start_s: float,
                 fallback_speedup: float = 1.0, fallback_after_wall_s: float = 2.0) -> None:
        self._trackers = trackers
        self._now_s = start_s
        self._last_ms: dict[int, int] = {}
        self._fallback_speedup = fallback_speedup
        self._fallback_after_wall_s = fallback_after_wall_s
        self._last_advance = time.monotonic()

    def now_s(self) -> float:
        step_s = 0.0
        for tracker in self._trackers():
            state = tracker.snapshot()
            if state.boot_ms is None:
                continue
            last = self._last_ms.get(state.sysid)
            self._last_ms[state.sysid] = state.boot_ms
            if last is not None and state.boot_ms > last:
                step_s = max(step_s, (state.boot_ms - last) / 1000.0)
        wall = time.monotonic()
        if step_s > 0:
            self._last_advance = wall
        elif wall - self._last_advance > self._fallback_after_wall_s:
            step_s = (wall - self._last_advance) * self._fallback_speedup
            self._last_advance = wall
        self._now_s += step_s
        return self._now_s


# ------------------------------------------------------------------------ ground crews


class CrewTimeout(GroundControlError):
    """The depot turnaround did not finish in time (battery not swapped or charged)."""


def battery_wh_of(state: VehicleState, capacity_wh: float) -> float | None:
    """Energy in the pack from the vehicle's battery percentage (None when not reported).

    >>> battery_wh_of(VehicleState(sysid=1, battery_pct=50), 500.0)
    250.0
    """
    if state.battery_pct is None or state.battery_pct < 0:
        return None
    return capacity_wh * min(100, state.battery_pct) / 100.0


class GroundCrew(Protocol):
    """Carries out a sortie's turnaround before the flight starts (called on a worker)."""

    def prepare(self, drone_id: str, sortie: Sortie, tracker: VehicleTracker,
                capacity_wh: float, say: Callable[[str], None]) -> None:
        """Return once the vehicle holds the energy the sortie launches with.

        Raises:
            CrewTimeout: it did not happen in time.
        """
        ...


def _wait_pct(tracker: VehicleTracker, pct: float, timeout_wall_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_wall_s
    while True:
        got = tracker.snapshot().battery_pct
        if got is not None and got >= pct:
            return
        if time.monotonic() > deadline:
            raise CrewTimeout(f"{what}: battery at {got} %, needs {pct:.0f} % after "
                              f"{timeout_wall_s:.0f} s")
        time.sleep(0.05)


def _needed_pct(sortie: Sortie, capacity_wh: float) -> float:
    # One percent of slack: the vehicle reports whole percent.
    return max(0.0, math.floor(100.0 * sortie.launch_wh / capacity_wh) - 1.0)


class SimCrew:
    """The built-in simulator's depot: a swap or a charge sets the simulated pack's charge.

    Args:
        fleet: the ``sitl.sim.SimFleet``, or a ``sitl.sim_process.SimFleetProcess``.
        index_of: the fleet index of each drone id.
    """

    def __init__(self, fleet: Any, index_of: Mapping[str, int],
                 timeout_wall_s: float = 10.0) -> None:
        self._fleet = fleet
        self._index_of = dict(index_of)
        self._timeout_wall_s = timeout_wall_s

    def prepare(self, drone_id: str, sortie: Sortie, tracker: VehicleTracker,
                capacity_wh: float, say: Callable[[str], None]) -> None:
        if sortie.action is BatteryAction.KEEP:
            return
        fraction = min(1.0, max(0.0, sortie.launch_wh / capacity_wh))
        index = self._index_of[drone_id]
        from sitl.sim_process import SimFleetProcess, set_pack_charge

        if isinstance(self._fleet, SimFleetProcess):
            self._fleet.set_charge(index, fraction, capacity_wh)
        else:
            set_pack_charge(self._fleet, index, fraction, capacity_wh)
        say(f"{sortie.action.value}: battery {sortie.battery_id} at {100 * fraction:.0f} %")
        _wait_pct(tracker, _needed_pct(sortie, capacity_wh), self._timeout_wall_s,
                  f"drone {drone_id} {sortie.action.value}")


class ManualCrew:
    """People at the depot: say what to do, then wait until the vehicle reports the charge."""

    def __init__(self, timeout_wall_s: float = 900.0) -> None:
        self._timeout_wall_s = timeout_wall_s

    def prepare(self, drone_id: str, sortie: Sortie, tracker: VehicleTracker,
                capacity_wh: float, say: Callable[[str], None]) -> None:
        if sortie.action is BatteryAction.KEEP:
            return
        if sortie.action is BatteryAction.SWAP:
            say(f"crew: put battery {sortie.battery_id} into {drone_id} "
                f"(take out {sortie.swapped_out_id})")
        else:
            say(f"crew: charge {drone_id} to {sortie.launch_wh:.0f} Wh")
        _wait_pct(tracker, _needed_pct(sortie, capacity_wh), self._timeout_wall_s,
                  f"drone {drone_id} {sortie.action.value}")


def clock_text(t_s: float) -> str:
    """Scenario seconds (since midnight) as the clock time HH:MM:SS, as the event log shows.

    >>> clock_text(13 * 3600 + 65.4)
    '13:01:05'
    """
    t = int(t_s)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def decision_text(d: Decision) -> str:
    """One line for the event log about a dispatcher decision (clock times)."""
    if isinstance(d, Assign):
        wait = d.sortie.separation
        return (f"assign {d.order_id} -> {d.drone_id}: launch {clock_text(d.launch_at_s)}, "
                f"drop-off {clock_text(d.eta_dropoff_s)} (due {clock_text(d.due_s)})"
                f"{', LATE' if d.late else ''}"
                + ("" if wait is None else f"; {wait.describe(d.drone_id)}"))
    if isinstance(d, Reject):
        return f"reject {d.order_id}: " + "; ".join(str(r) for r in d.reasons)
    if isinstance(d, Unassign):
        return f"unassign {d.order_id} from {d.drone_id}: {d.reason}"
    if isinstance(d, SwapBattery):
        return f"swap battery {d.battery_in_id} into {d.drone_id} at {clock_text(d.at_s)}"
    if isinstance(d, Fail):
        return f"order {d.order_id} failed with {d.drone_id}: {d.reason}"
    assert isinstance(d, CancelAnswer)
    return (f"cancel {d.order_id}: " + ("done" if d.cancelled else "refused")
            + (f" ({d.reason})" if d.reason else ""))


def separation_text(sortie: Sortie) -> str:
    """What the console says when a drone holds on the pad for its launch slot: the slot, and
    why it is later than it could be when it waits for separation."""
    text = f"ready on the pad: launch at {clock_text(sortie.launch_s)}"
    wait = sortie.separation
    if wait is not None:
        text += f"; {wait.describe(sortie.drone_id)}"
    return text
