"""One mission flown on a ``SimVehicle`` in lock step: no sockets, no clock, a contingency.

The contingency sweep (``bench safety``, ``tests/sitl/test_contingency_sweep.py``) flies
hundreds of deliveries with a failsafe injected part-way and checks the track against the
no-fly zones. Through TCP at a wall-clock speedup that would take hours; here the vehicle is
stepped as fast as the CPU allows, the ground station is a MAVLink packer beside it, and the
track is the simulator's own (true) position every step.

Contingencies, injected the way they would happen to a real copter:

* ``fence``: the circle fence shrinks to 20 m short of the copter's distance from home (a
  FENCE_RADIUS the operator got wrong), or near home the altitude fence drops under it;
* ``gcs``: the ground station's heartbeats stop (FS_GCS_TIMEOUT later: GCS failsafe);
* ``battery_low`` / ``battery_critical``: the pack is drained to under BATT_LOW_MAH /
  BATT_CRT_MAH (a weak cell);
* ``ekf``: the GPS stops (SIM_GPS1_ENABLE 0): EKF failsafe;
* ``operator``: the dispatcher's RTL, as the console sends it: SMART_RTL, else LAND.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import Mission, MissionItem, MissionType

from .params import load_parm_file
from .state import Home
from .vehicle import SimVehicle

__all__ = ["CONTINGENCIES", "LockstepFlight", "TrackPoint", "fly_lockstep"]

M = mavlink
CONTINGENCIES = ("fence", "gcs", "battery_low", "battery_critical", "ekf", "operator")
STEP_S = 0.02
_KEPT = {"STATUSTEXT", "MISSION_REQUEST", "MISSION_ACK", "COMMAND_ACK"}
_SMART_RTL, _LAND, _GUIDED = 21, 9, 4
FENCE_BREACH_M = 20.0
"""How far inside the copter is when its fence moves: a breach it flies back from (past
100 m ArduCopter gives up and lands)."""


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """Where the simulated copter truly was: seconds, degrees, metres above home."""

    t_s: float
    lat: float
    lon: float
    alt_m: float


@dataclass
class LockstepFlight:
    """What happened: the track, the modes flown, the texts, and how it ended."""

    track: list[TrackPoint] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    injected_at_s: float | None = None
    disarmed: bool = False
    landed_home_m: float | None = None
    """Distance from home at disarm, metres."""


class _Gcs:
    def __init__(self, vehicle: SimVehicle) -> None:
        self.v = vehicle
        self.packer = M.MAVLink(None, srcSystem=255, srcComponent=190)
        self.parser = M.MAVLink(None)
        self.parser.robust_parsing = True
        self.heartbeat = True
        self._next_hb = 0.0
        self.inbox: list[Any] = []

    def send(self, msg: Any) -> None:
        msg.pack(self.packer)
        self.v.receive(msg)
        self.collect()

    def collect(self) -> None:
        for msg in self.parser.parse_buffer(self.v.take_output()) or []:
            if msg.get_type() in _KEPT:
                self.inbox.append(msg)

    def tick(self) -> None:
        if self.heartbeat and self.v.sim_time_s >= self._next_hb:
            self._next_hb = self.v.sim_time_s + 1.0
            self.send(M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID,
                                                  0, 0, 0, 3))

    def command(self, cmd: int, *params: float) -> None:
        p = [*params, *([0.0] * (7 - len(params)))]
        self.send(M.MAVLink_command_long_message(1, 1, cmd, 0, *p))

    def upload(self, items: Sequence[MissionItem], mission_type: MissionType) -> None:
        if not items:
            return
        self.inbox.clear()
        self.send(M.MAVLink_mission_count_message(1, 1, len(items), int(mission_type)))
        for _ in range(len(items) + 5):
            pending, self.inbox = self.inbox, []
            for m in pending:
                if m.get_type() == "MISSION_ACK" and m.mission_type == int(mission_type):
                    if m.type != M.MAV_MISSION_ACCEPTED:
                        raise ValueError(f"{mission_type.name} upload refused: {m.type}")
                    return
                if m.get_type() == "MISSION_REQUEST" and m.mission_type == int(mission_type):
                    it = items[m.seq]
                    self.send(M.MAVLink_mission_item_int_message(
                        1, 1, it.seq, int(it.frame), int(it.command), it.current,
                        it.autocontinue, it.param1, it.param2, it.param3, it.param4,
                        it.x_int, it.y_int, it.z, int(mission_type)))
        raise ValueError(f"{mission_type.name} upload did not finish")


def _params(files: Sequence[Path], extra: dict[str, float] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for path in files:
        out.update(load_parm_file(path))
    out.update(extra or {})
    return out


def _configure(v: SimVehicle, mission: Mission) -> None:
    """Set what the mission relies on, as ``fly --configure`` does before a flight."""
    for req in mission.required_params:
        if req.name not in v.params or req.satisfied_by(v.params.get(req.name)):
            continue
        v.params.set(req.name, req.value_to_set(v.params.get(req.name)))


def _inject(kind: str, v: SimVehicle, gcs: _Gcs) -> None:
    if kind == "fence":
        home_n, home_e = v.home_ne()
        dist = math.hypot(v.phys.north_m - home_n, v.phys.east_m - home_e)
        if dist > 60.0:
            v.params.set("FENCE_RADIUS", dist - FENCE_BREACH_M)
        else:
            v.params.set("FENCE_ALT_MAX", max(5.0, v.alt_rel_m() - FENCE_BREACH_M / 4))
    elif kind == "gcs":
        gcs.heartbeat = False
    elif kind in ("battery_low", "battery_critical"):
        name = "BATT_LOW_MAH" if kind == "battery_low" else "BATT_CRT_MAH"
        threshold = v.params.get(name) or 0.1 * v.battery.capacity_mah
        v.params.set(name, threshold)
        left = v.battery.capacity_mah - v.battery.consumed_mah
        v.battery.drain_mah(max(0.0, left - threshold + 1.0))
    elif kind == "ekf":
        v.params.set("SIM_GPS1_ENABLE", 0)
    elif kind == "operator":
        gcs.command(M.MAV_CMD_DO_SET_MODE, 1, _SMART_RTL)
        if v.mode != _SMART_RTL:
            gcs.command(M.MAV_CMD_DO_SET_MODE, 1, _LAND)
    else:
        raise ValueError(f"unknown contingency {kind!r}; one of {', '.join(CONTINGENCIES)}")


def fly_lockstep(mission: Mission, *, param_files: Sequence[Path] = (),
                 params: dict[str, float] | None = None, airframe: Any = None,
                 contingency: str | None = None, inject_at_s: float = 0.0,
                 record_every_s: float = 0.2, timeout_s: float | None = None,
                 ) -> LockstepFlight:
    """Fly ``mission`` (with its fence and rally) from its home; inject ``contingency``
    ``inject_at_s`` simulated seconds after the start; return the track until disarm.

    Raises:
        ValueError: an unknown contingency, or a mission, fence or rally the vehicle refused.
        TimeoutError: still armed after ``timeout_s`` (default: twice the planned time + 10
            minutes) or never armed.
    """
    home_item = mission.items[0]
    v = SimVehicle(Home(home_item.x, home_item.y, home_item.z, 0.0), sysid=1,
                   params=_params(param_files, params), airframe=airframe)
    v.boot()
    _configure(v, mission)
    gcs = _Gcs(v)
    out = LockstepFlight()
    planned = float(mission.meta.get("planned_s", "900"))
    limit = timeout_s if timeout_s is not None else 2.0 * planned + 600.0

    def step(seconds: float) -> None:
        end = v.sim_time_s + seconds
        while v.sim_time_s < end:
            gcs.tick()
            v.step(STEP_S)
            gcs.collect()

    step(1.0)
    for _ in range(int(120 / 0.5)):
        if v.ekf_ready():
            break
        step(0.5)
    gcs.upload(mission.fence, MissionType.FENCE)
    gcs.upload(mission.rally, MissionType.RALLY)
    gcs.upload(mission.items, MissionType.MISSION)
    gcs.command(M.MAV_CMD_DO_SET_MODE, 1, _GUIDED)
    gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    step(0.5)
    if not v.armed:
        texts = [m.text for m in gcs.inbox if m.get_type() == "STATUSTEXT"]
        raise TimeoutError(f"not armed: {texts}")
    gcs.command(M.MAV_CMD_MISSION_START)
    t0 = v.sim_time_s
    next_rec = t0
    last_mode = None
    while v.armed:
        if v.sim_time_s - t0 > limit:
            raise TimeoutError(f"still armed {limit:.0f} s after the start (mode {v.mode})")
        if contingency and out.injected_at_s is None and v.sim_time_s - t0 >= inject_at_s:
            out.injected_at_s = v.sim_time_s - t0
            _inject(contingency, v, gcs)
        gcs.tick()
        v.step(STEP_S)
        gcs.collect()
        if v.mode != last_mode:
            last_mode = v.mode
            out.modes.append(_MODE_NAMES.get(v.mode, str(v.mode)))
        if v.sim_time_s >= next_rec:
            next_rec += record_every_s
            lat, lon = v.latlon()
            out.track.append(TrackPoint(v.sim_time_s - t0, lat, lon, v.alt_rel_m()))
    out.texts = [m.text for m in gcs.inbox if m.get_type() == "STATUSTEXT"]
    out.disarmed = True
    home_n, home_e = v.home_ne()
    out.landed_home_m = math.hypot(v.phys.north_m - home_n, v.phys.east_m - home_e)
    return out


_MODE_NAMES = {0: "STABILIZE", 2: "ALT_HOLD", 3: "AUTO", 4: "GUIDED", 5: "LOITER", 6: "RTL",
               9: "LAND", 17: "BRAKE", 21: "SMART_RTL"}
