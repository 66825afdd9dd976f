"""Planned against flown: what a flight took, next to what its plan said.

``FlightRecorder`` is pure (fed ``VehicleState`` snapshots): it times the phases on the
vehicle's own clock (``boot_ms``, so a simulator's speedup does not matter) from MISSION_CURRENT
(out: arming to the drop-off item passed; delivery: to the first item of the way home; back:
to the final land; landing: to the disarm), takes the energy from BATTERY_STATUS and measures
how far the vehicle strayed from the planned route (the polyline of the mission's positions).
The plan's figures come from ``Mission.meta`` (``missions.build.planned_meta``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from os import PathLike
from typing import Any

from groundcontrol.mavlink.vehicle import VehicleState
from missions.build import PHASE_GROUPS
from missions.items import Cmd, Mission

__all__ = ["FlightRecord", "FlightRecorder", "cross_track_m", "planned_figures", "planned_inputs",
           "record_from_tlog"]

_EARTH_M_PER_DEG = 111_319.5
ARRIVED_M = 15.0
"""Horizontal distance that counts as over the drop-off or the landing point."""


@dataclass(frozen=True, slots=True)
class FlightRecord:
    """One flight, planned against flown (times in vehicle seconds)."""

    planned_s: float | None
    flown_s: float | None
    planned_wh: float | None
    used_wh: float | None
    """Energy drawn between arming and the end, from BATTERY_STATUS (None: not reported)."""
    max_cross_track_m: float | None
    """Largest horizontal distance from the planned route while flying the mission."""
    planned_phases_s: dict[str, float] = field(default_factory=dict)
    flown_phases_s: dict[str, float] = field(default_factory=dict)
    planned_phases_wh: dict[str, float] = field(default_factory=dict)
    flown_phases_wh: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    """What the plan was computed from (``profile``, ``payload_kg``, ``out_m``, ``back_m``),
    so the flight can be re-planned with another profile (``planner.calibrate``)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The table ``fly`` prints: one line per phase, then time, energy and route."""
        out = [f"{'':<10}{'planned':>10}{'flown':>10}"]
        for name in PHASE_GROUPS:
            out.append(f"{name:<10}{_fmt(self.planned_phases_s.get(name), 's')}"
                       f"{_fmt(self.flown_phases_s.get(name), 's')}")
        out.append(f"{'total':<10}{_fmt(self.planned_s, 's')}{_fmt(self.flown_s, 's')}"
                   f"{_ratio(self.flown_s, self.planned_s)}")
        out.append(f"{'energy':<10}{_fmt(self.planned_wh, 'Wh')}{_fmt(self.used_wh, 'Wh')}"
                   f"{_ratio(self.used_wh, self.planned_wh)}")
        track = "-" if self.max_cross_track_m is None else f"{self.max_cross_track_m:.1f} m"
        out.append(f"largest distance from the planned route: {track}")
        return out


def _fmt(value: float | None, unit: str) -> str:
    return f"{'-':>10}" if value is None else f"{value:>{9 - len(unit)}.1f} {unit}"


def _ratio(flown: float | None, planned: float | None) -> str:
    if flown is None or not planned:
        return ""
    return f"  ({100.0 * (flown / planned - 1.0):+.0f} %)"


def _meta_number(mission: Mission, key: str) -> float | None:
    try:
        value = float(mission.meta[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def planned_figures(mission: Mission) -> tuple[float | None, float | None, dict[str, float]]:
    """(time s, energy Wh, time per phase) from the mission's metadata; None where absent."""
    phases = {n: v for n in PHASE_GROUPS
              if (v := _meta_number(mission, f"planned_{n}_s")) is not None}
    return _meta_number(mission, "planned_s"), _meta_number(mission, "planned_wh"), phases


def planned_inputs(mission: Mission) -> dict[str, Any]:
    """The plan's inputs kept in the mission's metadata (absent ones left out)."""
    out: dict[str, Any] = {}
    if isinstance(mission.meta.get("profile"), str):
        out["profile"] = mission.meta["profile"]
    for key in ("payload_kg", "out_m", "back_m", "cruise_alt_m"):
        if (value := _meta_number(mission, key)) is not None:
            out[key] = value
    return out


def cross_track_m(route: list[tuple[float, float]], lat: float, lon: float) -> float:
    """Distance (m) from a point to the nearest segment of a lat/lon polyline (local flat
    earth at the point; fine over a delivery's few kilometres).

    >>> round(cross_track_m([(-35.0, 149.0), (-35.0, 149.01)], -35.0001, 149.005), 1)
    11.1
    """
    kx = _EARTH_M_PER_DEG * math.cos(math.radians(lat))
    pts = [((p_lon - lon) * kx, (p_lat - lat) * _EARTH_M_PER_DEG) for p_lat, p_lon in route]
    if len(pts) == 1:
        return math.hypot(*pts[0])
    best = math.inf
    for (x1, y1), (x2, y2) in itertools.pairwise(pts):
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
        best = min(best, math.hypot(x1 + t * dx, y1 + t * dy))
    return best


class FlightRecorder:
    """Fed every snapshot of one flight; ``record()`` gives planned against flown."""

    def __init__(self, mission: Mission) -> None:
        self.mission = mission
        self.planned_s, self.planned_wh, self.planned_phases = planned_figures(mission)
        self.planned_phases_wh = {n: v for n in PHASE_GROUPS
                                  if (v := _meta_number(mission, f"planned_{n}_wh")) is not None}
        self.route = [(it.x, it.y) for it in mission.items[1:] if it.has_position]
        try:
            self.return_seq = int(mission.meta.get("return_seq", "")) or None
        except ValueError:
            self.return_seq = None
        self.marks: dict[str, float] = {}
        """Vehicle time (s) when each boundary passed: armed, dropoff, home, land, end."""
        self.mark_wh: dict[str, float] = {}
        """Energy drawn (BATTERY_STATUS, Wh) when each boundary passed."""
        self.energy_at_arm: float | None = None
        self.energy_last: float | None = None
        self.max_cross_track: float | None = None
        self._now = 0.0

    def update(self, s: VehicleState) -> None:
        if s.boot_ms is None:
            return
        now = self._now = s.boot_ms / 1000.0
        if s.armed and "armed" not in self.marks:
            self.energy_at_arm = s.energy_wh
            self._mark("armed", now)
        if "armed" not in self.marks:
            return
        if s.energy_wh is not None:
            self.energy_last = s.energy_wh
            if self.energy_at_arm is None:
                self.energy_at_arm = s.energy_wh
        if not s.armed:
            self._mark("end", now)
            return
        self._phase_marks(s, now)
        if s.mode == "AUTO" and s.lat_deg is not None and s.lon_deg is not None \
                and self.route and (s.mission_seq or 0) >= 2:
            off = cross_track_m(self.route, s.lat_deg, s.lon_deg)
            self.max_cross_track = max(off, self.max_cross_track or 0.0)

    def _phase_marks(self, s: VehicleState, now: float) -> None:
        # Positions, not items alone: the cruise home may be inside the final NAV_LAND
        # (no return waypoints), and the drop-off item may be the descent.
        seq = s.mission_seq
        if seq is None or s.mode != "AUTO" or s.lat_deg is None or s.lon_deg is None:
            return
        m = self.mission
        if m.dropoff_seq is not None and "dropoff" not in self.marks:
            drop = m.items[m.dropoff_seq]
            if cross_track_m([(drop.x, drop.y)], s.lat_deg, s.lon_deg) < ARRIVED_M:
                self._mark("dropoff", now)
        if self.return_seq is not None and seq >= self.return_seq:
            self._mark("home", now)
        last = m.items[-1]
        if seq >= len(m.items) - 1 and cross_track_m(
                [(last.x, last.y)], s.lat_deg, s.lon_deg) < ARRIVED_M:
            self._mark("land", now)

    def _mark(self, name: str, now: float) -> None:
        if name in self.marks:
            return
        self.marks[name] = now
        if self.energy_last is not None:
            self.mark_wh[name] = self.energy_last
        elif self.energy_at_arm is not None:
            self.mark_wh[name] = self.energy_at_arm

    def remaining_s(self, s: VehicleState) -> float | None:
        """Vehicle seconds until the landing, from live progress: the route left (from the
        vehicle through the mission's positions still ahead) at the ground speed while
        cruising (the plan's speed otherwise), plus the plan's delivery and landing times
        not yet begun (the part begun, by time or height, taken off). None when not flying
        the mission."""
        if not s.armed or s.mission_seq is None or s.lat_deg is None or s.lon_deg is None \
                or "armed" not in self.marks:
            return None
        items = self.mission.items
        ahead = [(it.x, it.y) for it in items[max(1, s.mission_seq):] if it.has_position]
        left_m, here = 0.0, (s.lat_deg, s.lon_deg)
        for point in ahead:
            left_m += cross_track_m([point], *here)
            here = point
        cruise = self.mission.cruise_speed_ms or 10.0
        speed = s.groundspeed_ms if (s.groundspeed_ms or 0.0) > 0.5 * cruise else cruise
        out = left_m / max(speed or cruise, 1.0)
        now = s.boot_ms / 1000.0 if s.boot_ms is not None else self._now
        out += self._climb_left_s(s, cruise)
        delivery = self.planned_phases.get("delivery", 0.0)
        landing = self.planned_phases.get("landing", 0.0)
        if "dropoff" not in self.marks:
            out += delivery
        elif "home" not in self.marks:
            out += max(0.0, delivery - (now - self.marks["dropoff"]))
        if "land" not in self.marks:
            out += landing
        else:
            top = max((float(it.z) for it in items[1:]), default=0.0)
            share = (s.alt_rel_m or 0.0) / top if top > 0 else 1.0
            out += landing * min(1.0, max(0.0, share))
        return out

    def _climb_left_s(self, s: VehicleState, cruise_ms: float) -> float:
        """The part of the takeoff climb not yet flown: the plan's time out beyond its
        cruise (climb and speed-up) times the height still to climb. Without it the first
        estimates, taken on the pad, come out a climb early."""
        takeoff = next((it for it in self.mission.items[1:]
                        if it.command == Cmd.NAV_TAKEOFF), None)
        planned_out, out_m = self.planned_phases.get("out"), _meta_number(self.mission, "out_m")
        if takeoff is None or planned_out is None or out_m is None or takeoff.z <= 0 \
                or "dropoff" in self.marks or (s.mission_seq or 0) > takeoff.seq:
            return 0.0
        overhead = max(0.0, planned_out - out_m / cruise_ms)
        return overhead * min(1.0, max(0.0, 1.0 - (s.alt_rel_m or 0.0) / float(takeoff.z)))

    def elapsed_s(self) -> float | None:
        """Vehicle seconds since arming (to the end once disarmed); None before arming."""
        if "armed" not in self.marks:
            return None
        return self.marks.get("end", self._now) - self.marks["armed"]

    def record(self) -> FlightRecord:
        order = ("armed", "dropoff", "home", "land", "end")
        flown: dict[str, float] = {}
        flown_wh: dict[str, float] = {}
        at_wh = dict(self.mark_wh)
        if self.energy_at_arm is not None:
            at_wh["armed"] = self.energy_at_arm
        for name, (a, b) in zip(PHASE_GROUPS, itertools.pairwise(order), strict=True):
            if a in self.marks and b in self.marks:
                flown[name] = self.marks[b] - self.marks[a]
            if a in at_wh and b in at_wh:
                flown_wh[name] = at_wh[b] - at_wh[a]
        total = None
        if "armed" in self.marks and "end" in self.marks:
            total = self.marks["end"] - self.marks["armed"]
        used = None
        if self.energy_at_arm is not None and self.energy_last is not None:
            used = self.energy_last - self.energy_at_arm
        return FlightRecord(self.planned_s, total, self.planned_wh, used,
                            self.max_cross_track, self.planned_phases, flown,
                            self.planned_phases_wh, flown_wh, planned_inputs(self.mission))


def record_from_tlog(path: str | PathLike[str], mission: Mission,
                     sysid: int | None = None) -> FlightRecord:
    """Planned against flown from a ``.tlog`` of the flight (``fly --tlog``, or any ground
    station's, MAVLink 1 or 2) and the mission it flew: the vehicle's messages are folded
    as they were live. ``sysid``: the vehicle (default: the first autopilot heard).

    Raises:
        ValueError: the file is not a tlog, or it holds no message from a vehicle.
    """
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    from groundcontrol.mavlink.tlog import read_tlog
    from groundcontrol.mavlink.vehicle import VehicleTracker

    parser = mavlink.MAVLink(None)
    parser.robust_parsing = True
    tracker: VehicleTracker | None = None
    recorder = FlightRecorder(mission)
    for _, raw in read_tlog(path):
        try:
            messages = parser.parse_buffer(raw) or []
        except mavlink.MAVError:
            continue
        for msg in messages:
            if msg.get_type() == "BAD_DATA":
                continue
            src = msg.get_srcSystem()
            if tracker is None:
                if msg.get_type() != "HEARTBEAT" or (sysid is not None and src != sysid) \
                        or msg.autopilot == mavlink.MAV_AUTOPILOT_INVALID:
                    continue
                tracker = VehicleTracker(src)
            if src != tracker.snapshot().sysid:
                continue
            tracker.update(msg)
            recorder.update(tracker.snapshot())
    if tracker is None:
        raise ValueError(f"{path}: no vehicle heartbeat" +
                         (f" from system {sysid}" if sysid is not None else ""))
    return recorder.record()
