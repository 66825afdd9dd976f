"""AUTO mode's mission executor, as ArduCopter's AP_Mission + ModeAuto behave on the wire.

Semantics reproduced from the recordings: "Mission: N Name" when an item starts, DO items run
at once, MISSION_ITEM_REACHED when a NAV item completes ("Reached command #N" for waypoints and
loiters), a NAV_LAND that disarms is never reported, a disarm in AUTO resets the mission to
seq 1, MIS_OPTIONS bit 2 lets a landed copter continue when the next NAV item is a takeoff,
NAV_DELAY runs even while disarmed, DO_JUMP is resolved when looking for the next item.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .mission_server import StoredItem
from .physics import NavTarget, pass_speed_ms
from .rtl import RtlController
from .state import VehicleCore

__all__ = ["MissionRunner", "MissionVehicle", "RunState", "command_name"]

M = mavlink
INFO = M.MAV_SEVERITY_INFO
CONTINUE_AFTER_LAND = 4
LAND_SETTLE_S = 1.0
NAV_COMMANDS = frozenset({
    M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_LOITER_UNLIM, M.MAV_CMD_NAV_LOITER_TURNS,
    M.MAV_CMD_NAV_LOITER_TIME, M.MAV_CMD_NAV_RETURN_TO_LAUNCH, M.MAV_CMD_NAV_LAND,
    M.MAV_CMD_NAV_TAKEOFF, M.MAV_CMD_NAV_DELAY, M.MAV_CMD_NAV_PAYLOAD_PLACE,
    M.MAV_CMD_NAV_SPLINE_WAYPOINT,
})
_NAMES = {
    M.MAV_CMD_NAV_WAYPOINT: "WP", M.MAV_CMD_NAV_RETURN_TO_LAUNCH: "RTL",
    M.MAV_CMD_NAV_LAND: "Land", M.MAV_CMD_NAV_TAKEOFF: "Takeoff",
    M.MAV_CMD_NAV_LOITER_TIME: "LoitTime", M.MAV_CMD_NAV_LOITER_UNLIM: "LoitUnlim",
    M.MAV_CMD_NAV_LOITER_TURNS: "LoitTurns", M.MAV_CMD_NAV_DELAY: "Delay",
    M.MAV_CMD_NAV_PAYLOAD_PLACE: "PayloadPlace", M.MAV_CMD_NAV_SPLINE_WAYPOINT: "SplineWP",
    M.MAV_CMD_DO_CHANGE_SPEED: "ChangeSpeed", M.MAV_CMD_DO_GRIPPER: "Gripper",
    M.MAV_CMD_DO_WINCH: "Winch", M.MAV_CMD_DO_JUMP: "Jump", M.MAV_CMD_DO_SET_HOME: "SetHome",
    M.MAV_CMD_DO_LAND_START: "LandStart", M.MAV_CMD_CONDITION_DELAY: "CondDelay",
    M.MAV_CMD_CONDITION_YAW: "CondYaw",
}


def command_name(command: int) -> str:
    """The short name ArduPilot prints in "Mission: N Name"."""
    return _NAMES.get(command, "?")


class MissionVehicle(VehicleCore, Protocol):
    """The vehicle as the runner sees it: the core plus the RTL that NAV_RETURN_TO_LAUNCH flies."""

    rtl: RtlController


class RunState(IntEnum):
    STOPPED = 0
    RUNNING = 1
    COMPLETE = 2


@dataclass
class _Active:
    seq: int
    item: StoredItem
    phase: str = "start"
    t0_s: float = 0.0
    target: tuple[float, float, float] | None = None
    """north, east, up (metres from the physics origin)."""
    base_up_m: float = 0.0


class MissionRunner:
    """Runs the stored mission for one vehicle."""

    def __init__(self, vehicle: MissionVehicle) -> None:
        self.v = vehicle
        self.state = RunState.STOPPED
        self.current_seq = 0
        self.active: _Active | None = None
        self.paused = False
        self._jumps: dict[int, int] = {}

    # ---- mission list helpers -----------------------------------------------------
    @property
    def items(self) -> list[StoredItem]:
        return self.v.missions.mission()

    @property
    def total(self) -> int:
        return max(0, len(self.items) - 1)

    def _resolve(self, seq: int, count_jumps: bool) -> int | None:
        """The first non-jump item at or after seq (following DO_JUMPs), None at the end."""
        for _ in range(64):
            if seq < 1 or seq >= len(self.items):
                return None
            item = self.items[seq]
            if item.command != M.MAV_CMD_DO_JUMP:
                return seq
            target, repeat = int(item.param1), int(item.param2)
            if target < 1 or target >= len(self.items):
                return None
            done = self._jumps.get(seq, 0)
            if repeat < 0 or done < repeat:
                if count_jumps:
                    self._jumps[seq] = done + 1
                    self.v.text(INFO, f"Mission: {seq} Jump {done + 1}/{repeat}")
                seq = target
            else:
                seq += 1
        return None

    def starts_with_takeoff(self) -> bool:
        """AP_Mission::starts_with_takeoff_cmd: the first NAV item from the current one."""
        seq = self.current_seq if self.current_seq >= 1 else 1
        for _ in range(16):
            found = self._resolve(seq, count_jumps=False)
            if found is None:
                return False
            cmd = self.items[found].command
            if cmd not in NAV_COMMANDS:
                seq = found + 1
                continue
            if cmd == M.MAV_CMD_NAV_TAKEOFF:
                return True
            if cmd != M.MAV_CMD_NAV_DELAY:
                return False
            seq = found + 1
        return False

    def _next_nav_is_takeoff(self, after: int) -> bool:
        seq = after + 1
        for _ in range(32):
            found = self._resolve(seq, count_jumps=False)
            if found is None:
                return False
            cmd = self.items[found].command
            if cmd == M.MAV_CMD_NAV_TAKEOFF:
                return True
            if cmd in NAV_COMMANDS and cmd != M.MAV_CMD_NAV_DELAY:
                return False
            seq = found + 1
        return False

    # ---- control ------------------------------------------------------------------
    def start(self) -> None:
        """Start from the first item (AP_Mission::start)."""
        self._jumps.clear()
        self.current_seq = 1
        self.state = RunState.RUNNING
        self._begin(1)

    def resume(self) -> None:
        """Restart the current item (AP_Mission::resume / start_or_resume)."""
        if self.total == 0:
            return
        if self.state == RunState.COMPLETE or self.current_seq < 1:
            self.start()
            return
        self.state = RunState.RUNNING
        self.paused = False
        self._begin(self.current_seq)

    def stop(self) -> None:
        self.state = RunState.STOPPED
        self.active = None

    def reset_after_disarm(self) -> None:
        """A disarm in AUTO rewinds the mission to seq 1 and starts it again (as recorded)."""
        self._jumps.clear()
        self.current_seq = 1
        if self.total == 0:
            return
        self.state = RunState.RUNNING
        self._begin(1)

    def rewind(self) -> None:
        """AP_Mission::reset outside AUTO: the next start begins at seq 1."""
        self._jumps.clear()
        if self.state != RunState.RUNNING:
            self.current_seq = 0

    def set_current(self, seq: int, in_auto: bool) -> bool:
        """MISSION_SET_CURRENT / DO_SET_MISSION_CURRENT; False when seq is out of range."""
        if seq < 1 or seq > self.total:
            return False
        self.current_seq = seq
        if in_auto and self.state == RunState.RUNNING:
            self._begin(seq)
        elif self.state == RunState.COMPLETE:
            self.state = RunState.STOPPED
        return True

    def mission_changed(self) -> None:
        if self.current_seq > self.total:
            self.current_seq = 0 if self.total == 0 else self.total
        if self.total == 0:
            self.state = RunState.STOPPED
            self.current_seq = 0
            self.active = None

    # ---- execution ----------------------------------------------------------------
    def _begin(self, seq: int) -> None:
        """Start items from seq: DO items run at once, stopping at the next NAV item."""
        for _ in range(64):
            found = self._resolve(seq, count_jumps=True)
            if found is None:
                self._complete()
                return
            item = self.items[found]
            self.current_seq = found
            self.v.text(INFO, f"Mission: {found} {command_name(item.command)}")
            if item.command in NAV_COMMANDS:
                self.active = _Active(found, item, t0_s=self.v.sim_time_s)
                self._start_nav(self.active)
                return
            self.v.run_do_command(item, from_mission=True)
            seq = found + 1
        self._complete()

    def _complete(self) -> None:
        self.state = RunState.COMPLETE
        self.active = None
        self.v.mission_finished()

    def _advance(self, reached: bool) -> None:
        act = self.active
        if act is None:
            return
        if reached:
            self.v.send(M.MAVLink_mission_item_reached_message(act.seq))
        self.active = None
        self._begin(act.seq + 1)

    def _start_nav(self, act: _Active) -> None:
        v = self.v
        item = act.item
        act.base_up_m = v.phys.up_m
        if item.command == M.MAV_CMD_NAV_DELAY:
            secs = max(0, int(item.param1))
            v.text(INFO, f"Delaying {secs} sec")
            act.t0_s = v.sim_time_s
        elif item.command in (M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_LOITER_TIME,
                              M.MAV_CMD_NAV_LAND, M.MAV_CMD_NAV_PAYLOAD_PLACE,
                              M.MAV_CMD_NAV_LOITER_UNLIM, M.MAV_CMD_NAV_SPLINE_WAYPOINT):
            act.target = v.item_target(item, keep_alt=item.command in (
                M.MAV_CMD_NAV_LAND, M.MAV_CMD_NAV_PAYLOAD_PLACE))
            act.phase = "fly"
        elif item.command == M.MAV_CMD_NAV_TAKEOFF:
            act.phase = "takeoff"
        elif item.command == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            v.rtl.start(in_mission=True)
            act.phase = "rtl"

    def nav_target(self) -> NavTarget | None:
        """Where AUTO flies now (None: hold position)."""
        act = self.active
        if act is None or self.state != RunState.RUNNING:
            return None
        v = self.v
        cmd = act.item.command
        if self.paused:
            return None
        if cmd == M.MAV_CMD_NAV_TAKEOFF:
            if v.phys.on_ground and not v.auto_armed_now():
                return None  # ModeAuto waits for auto_armed (MISSION_START, or throttle up)
            return v.takeoff_target(act.item.z)
        if cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return v.rtl.target()
        if act.target is None:
            return None
        n, e, up = act.target
        if act.phase == "fly":
            return NavTarget(n, e, up, speed_ms=v.wp_speed_ms, end_speed_ms=self._end_speed(act),
                             climb_ms=v.climb_ms, sink_ms=v.sink_ms)
        if act.phase == "descend" and cmd == M.MAV_CMD_NAV_LAND:
            return NavTarget(n, e, None, land=True, descent_ms=v.land_descent_ms())
        if act.phase == "descend":
            return NavTarget(n, e, None, land=True, descent_ms=0.5)
        if act.phase == "climb":
            return NavTarget(n, e, act.base_up_m, climb_ms=v.climb_ms)
        return NavTarget(n, e, up)

    def _end_speed(self, act: _Active) -> float:
        """Pass-through speed at a waypoint with no hold, limited by the turn angle."""
        if act.item.command != M.MAV_CMD_NAV_WAYPOINT or act.item.param1 > 0:
            return 0.0
        nxt = self._resolve(act.seq + 1, count_jumps=False)
        while nxt is not None and self.items[nxt].command not in NAV_COMMANDS:
            nxt = self._resolve(nxt + 1, count_jumps=False)
        if nxt is None or self.items[nxt].command != M.MAV_CMD_NAV_WAYPOINT or act.target is None:
            return 0.0
        n2, e2, _ = self.v.item_target(self.items[nxt], keep_alt=False)
        n1, e1, _ = act.target
        if math.hypot(n2 - n1, e2 - e1) < 1.0:
            return 0.0  # the next leg is vertical (a descent over the drop-off): stop here
        p = self.v.phys
        return pass_speed_ms(self.v.wp_speed_ms, (p.north_m, p.east_m), (n1, e1), (n2, e2),
                             self.v.params.get("WPNAV_ACCEL") / 100.0,
                             self.v.params.get("WPNAV_RADIUS") / 100.0)

    def update(self) -> None:
        """Check whether the active item is done (called every physics step)."""
        act = self.active
        if act is None or self.state != RunState.RUNNING or self.paused:
            return
        handler = {
            M.MAV_CMD_NAV_TAKEOFF: self._verify_takeoff,
            M.MAV_CMD_NAV_DELAY: self._verify_delay,
            M.MAV_CMD_NAV_LAND: self._verify_land,
            M.MAV_CMD_NAV_PAYLOAD_PLACE: self._verify_payload_place,
            M.MAV_CMD_NAV_RETURN_TO_LAUNCH: self._verify_rtl,
        }.get(act.item.command, self._verify_waypoint)
        handler(act)

    def _verify_takeoff(self, act: _Active) -> None:
        v = self.v
        if not v.armed:
            return
        if v.alt_rel_m() >= act.item.z - 0.2 or v.takeoff_done():
            v.takeoff_finished()
            self._advance(reached=True)

    def _verify_delay(self, act: _Active) -> None:
        if self.v.sim_time_s - act.t0_s >= max(0.0, act.item.param1):
            self._advance(reached=True)

    def _arrived(self, act: _Active, radius_m: float) -> bool:
        if act.target is None:
            return True
        p = self.v.phys
        n, e, up = act.target
        return math.hypot(n - p.north_m, e - p.east_m) <= radius_m and abs(up - p.up_m) < 2.0

    def _verify_waypoint(self, act: _Active) -> None:
        v = self.v
        if not v.armed:
            return
        item = act.item
        if act.phase == "fly":
            radius = item.param2 if item.command == M.MAV_CMD_NAV_WAYPOINT and item.param2 > 0 \
                else v.params.get("WPNAV_RADIUS") / 100.0
            if not self._arrived(act, max(radius, 0.5 if self._end_speed(act) == 0 else radius)):
                return
            act.phase = "hold"
            act.t0_s = v.sim_time_s
        if item.command == M.MAV_CMD_NAV_LOITER_UNLIM:
            return
        hold = item.param1 if item.command in (M.MAV_CMD_NAV_WAYPOINT,
                                               M.MAV_CMD_NAV_LOITER_TIME) else 0.0
        if v.sim_time_s - act.t0_s >= hold:
            v.text(INFO, f"Reached command #{act.seq}")
            self._advance(reached=True)

    def _verify_land(self, act: _Active) -> None:
        v = self.v
        if act.phase == "fly":
            if v.land_complete():
                act.phase = "descend"
            elif self._arrived(act, 1.0) and v.phys.groundspeed_ms < 0.3:
                act.phase = "settle"
                act.t0_s = v.sim_time_s
            return
        if act.phase == "settle":
            # The recorded copter hovers about a second over the point before descending.
            if v.sim_time_s - act.t0_s >= LAND_SETTLE_S:
                act.phase = "descend"
            return
        if not v.armed or not v.land_complete():
            return
        if (int(v.params.get("MIS_OPTIONS")) & CONTINUE_AFTER_LAND) and \
                self._next_nav_is_takeoff(act.seq):
            self._advance(reached=True)
            return
        v.disarm(from_land=True)

    def _verify_payload_place(self, act: _Active) -> None:
        v = self.v
        if act.phase == "fly":
            if self._arrived(act, 1.0):
                act.phase = "descend"
                act.base_up_m = v.phys.up_m
            return
        if act.phase == "descend":
            max_descent = act.item.param1
            descended = act.base_up_m - v.phys.up_m
            if v.phys.on_ground and v.landed_for_s() >= 0.5:
                self._release_payload(act)
            elif max_descent > 0 and descended >= max_descent:
                act.phase = "climb"
            return
        if act.phase == "climb" and abs(v.phys.up_m - act.base_up_m) < 0.5:
            self._advance(reached=True)

    def _release_payload(self, act: _Active) -> None:
        v = self.v
        v.send_long_text(INFO, "PayloadPlace: payload release thrust threshold: 0.315431")
        v.text(INFO, "PayloadPlace: Releasing the gripper")
        v.gripper_release(from_mission=False)
        act.phase = "climb"

    def _verify_rtl(self, act: _Active) -> None:
        self.v.rtl.update()
        if self.v.rtl.done():
            self._advance(reached=True)
