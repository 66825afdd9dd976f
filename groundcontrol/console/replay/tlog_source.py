"""A ``.tlog`` as a ``ReplaySource``: one or several vehicles (by system id) as they flew.

Every vehicle's messages are folded by a ``VehicleTracker`` as they were live (so the fleet
panel's health columns fill as they did: GPS, EKF, battery volts, amps and time left, and
the link's share of messages received from the recorded sequence numbers); STATUSTEXTs
become event-log lines with their severity, the positions a track on the map, and the mission
and fence the ground station uploaded (MISSION_ITEM_INT, both directions are in a tlog with
their system ids) the planned route and the no-fly zones. A ``.plan`` given beside the log
draws its route and fence from the start.

Time is the vehicle's own clock (``time_boot_ms`` of the first vehicle heard, across reboots)
counted from the log's first stamp: a flight recorded on a simulator running 50 times faster
than real time replays at its flown pace, not in the few wall seconds it took. A log without
``time_boot_ms`` plays on its stamps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.console.health import LinkQuality, battery_left_s, ekf_health
from groundcontrol.console.model import (
    DepotView,
    EventView,
    MapView,
    RouteView,
    Severity,
    VehicleState,
    VehicleView,
    map_view_from_airspace,
)
from groundcontrol.console.replay.playback import Frame
from groundcontrol.flight.progress import DELIVERY_TEXTS
from groundcontrol.mavlink.messages import MavMessage
from groundcontrol.mavlink.tlog import read_tlog
from groundcontrol.mavlink.vehicle import StatusTextAssembler, VehicleTracker
from groundcontrol.mavlink.vehicle import VehicleState as Telemetry
from missions.errors import MissionFormatError
from missions.fence import airspace_from_fence
from missions.items import Mission, MissionItem, MissionType
from planner.model import Airspace, LatLon

__all__ = ["LINK_LOST_S", "TlogSource", "load_tlog"]

LINK_LOST_S = 5.0
"""Recorded seconds without a message from a vehicle before it shows as link lost."""
TRACK_STEP_M = 5.0
"""A track point is kept once the vehicle has moved this far from the last one."""
MAX_TRACK_POINTS = 2000
FOCUS_MARGIN_M = 1500.0
"""The map shows what lies within this distance of home, the mission and the track."""
_PAUSE_MODES = frozenset({"BRAKE", "LOITER", "POSHOLD", "GUIDED"})
_HOME_MODES = frozenset({"RTL", "SMART_RTL", "LAND", "AUTO_RTL"})
_RELEASE_TEXTS = tuple(t for texts in DELIVERY_TEXTS.values() for t in texts)
_M_PER_DEG = 111_319.5


def load_tlog(path: str | PathLike[str]) -> list[tuple[float, MavMessage]]:
    """The messages of a ``.tlog`` with their replay time (see the module docstring).

    Raises:
        ValueError: no such file, not a tlog, or no vehicle heartbeat in it (empty).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    frames = read_tlog(path)
    parser = mavlink.MAVLink(None)
    parser.robust_parsing = True
    stamped: list[tuple[float, MavMessage]] = []
    for stamp, raw in frames:
        try:
            messages = parser.parse_buffer(raw) or []
        except mavlink.MAVError:
            continue
        stamped.extend((stamp, m) for m in messages if m.get_type() != "BAD_DATA")
    if not any(_is_vehicle_heartbeat(m) for _, m in stamped):
        raise ValueError(f"{path}: not a flight log: no vehicle heartbeat in "
                         f"{len(frames)} MAVLink frame(s)")
    return _on_vehicle_clock(stamped)


def _is_vehicle_heartbeat(msg: MavMessage) -> bool:
    return bool(msg.get_type() == "HEARTBEAT" and msg.type != mavlink.MAV_TYPE_GCS
                and msg.autopilot != mavlink.MAV_AUTOPILOT_INVALID)


def _on_vehicle_clock(stamped: list[tuple[float, MavMessage]]) -> list[tuple[float, MavMessage]]:
    """Re-time messages on the first vehicle's ``time_boot_ms`` (stamps when it has none)."""
    vehicles = {m.get_srcSystem() for _, m in stamped if _is_vehicle_heartbeat(m)}
    ref = next((m.get_srcSystem() for _, m in stamped if m.get_srcSystem() in vehicles
                and getattr(m, "time_boot_ms", None) is not None), None)
    if ref is None:
        return stamped
    start, elapsed, last = stamped[0][0], 0.0, None
    out = []
    for _, msg in stamped:
        boot = getattr(msg, "time_boot_ms", None)
        if msg.get_srcSystem() == ref and boot is not None:
            if last is not None and boot > last:
                elapsed += (boot - last) / 1000.0
            last = boot  # lower after a reboot: count on from there
        out.append((start + elapsed, msg))
    return out


@dataclass
class _Upload:
    """A mission or fence list being transferred: MISSION_COUNT then its items."""

    count: int
    items: dict[int, MissionItem] = field(default_factory=dict)


@dataclass
class _Vehicle:
    """One vehicle of the log, folded up to the replay's moment."""

    name: str
    sysid: int
    tracker: VehicleTracker
    texts: StatusTextAssembler = field(default_factory=StatusTextAssembler)
    last_t: float = 0.0
    released: bool = False
    flown: bool = False
    max_alt_m: float | None = None
    track: list[LatLon] = field(default_factory=list)
    release_index: int | None = None
    mission: Mission | None = None
    dropoff_seq: int | None = None
    view: VehicleView | None = None
    link: LinkQuality = field(default_factory=LinkQuality)
    """Messages received of those sent, on the recording's clock."""
    link_pct: float | None = None


class TlogSource:
    """A ``ReplaySource`` over a ``.tlog``; ``mission``: a ``.plan`` to draw from the start.

    Raises:
        ValueError: as ``load_tlog``.
    """

    def __init__(self, path: str | PathLike[str], mission: Mission | None = None) -> None:
        self.path = Path(path)
        self.messages = load_tlog(self.path)
        self.title = self.path.name
        self.start_s = self.messages[0][0]
        self.end_s = self.messages[-1][0]
        sysids = sorted({m.get_srcSystem() for _, m in self.messages if _is_vehicle_heartbeat(m)})
        self.vehicles = {s: _Vehicle(f"vehicle {s}", s, VehicleTracker(s)) for s in sysids}
        self.airspace: Airspace | None = None
        self.homes: dict[int, LatLon] = {}
        self._uploads: dict[tuple[int, int], _Upload] = {}
        self._next = 0
        self._map_dirty = True
        self._now = self.start_s
        if mission is not None:
            self._plan_mission(mission)

    def _plan_mission(self, mission: Mission) -> None:
        for vehicle in self.vehicles.values():
            _set_mission(vehicle, mission)
        if mission.fence:
            self._set_fence(mission.fence)

    # ------------------------------------------------------------------------ folding

    def advance(self, t_s: float) -> Frame:
        views: list[VehicleView] = []
        events: list[EventView] = []
        while self._next < len(self.messages) and self.messages[self._next][0] <= t_s:
            at, msg = self.messages[self._next]
            self._next += 1
            self._now = at
            self._fold(at, msg, views, events)
        self._now = max(self._now, t_s)
        for vehicle in self.vehicles.values():
            _refresh(vehicle, self._now, views, link_only=True)
        map_view = self._map_view() if self._map_dirty else None
        self._map_dirty = False
        return Frame(vehicles=tuple(views), events=tuple(events), map=map_view)

    def _fold(self, at: float, msg: MavMessage, views: list[VehicleView],
              events: list[EventView]) -> None:
        mtype, src = msg.get_type(), msg.get_srcSystem()
        if mtype in ("MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM"):
            self._transfer(msg, src)
        vehicle = self.vehicles.get(src)
        if vehicle is None:
            return
        vehicle.tracker.update(msg)
        vehicle.last_t = at
        counts = vehicle.tracker.snapshot()
        vehicle.link_pct = vehicle.link.update(at, counts.link_received, counts.link_lost)
        if mtype == "STATUSTEXT":
            text = vehicle.texts.add(msg, at)
            if text is not None:
                events.append(EventView(at, vehicle.name,
                                        Severity.from_mav_severity(text.severity), text.text))
                if text.text.startswith(_RELEASE_TEXTS) and not vehicle.released:
                    vehicle.released = True
                    vehicle.release_index = max(0, len(vehicle.track) - 1)
        elif mtype == "HOME_POSITION" and src not in self.homes:
            self.homes[src] = LatLon(msg.latitude / 1e7, msg.longitude / 1e7)
            self._map_dirty = True
        elif mtype == "GLOBAL_POSITION_INT":
            self._map_dirty |= _extend_track(vehicle, vehicle.tracker.snapshot())
        _refresh(vehicle, at, views)

    def _transfer(self, msg: MavMessage, src: int) -> None:
        """Collect uploaded (or downloaded) lists; a complete one replaces the last."""
        owner = src if src in self.vehicles else getattr(msg, "target_system", 0)
        kind = int(getattr(msg, "mission_type", 0) or 0)
        key = (owner, kind)
        if msg.get_type() == "MISSION_COUNT":
            self._uploads[key] = _Upload(msg.count)
            return
        upload = self._uploads.get(key)
        if upload is None or owner not in self.vehicles:
            return
        upload.items[msg.seq] = _mission_item(msg, kind)
        if len(upload.items) < upload.count:
            return
        items = tuple(upload.items[s] for s in sorted(upload.items))
        del self._uploads[key]
        if kind == MissionType.MISSION:
            _set_mission(self.vehicles[owner], Mission(f"sysid {owner}", items))
            self._map_dirty = True
        elif kind == MissionType.FENCE:
            self._set_fence(items)

    def _set_fence(self, items: Sequence[MissionItem]) -> None:
        try:
            self.airspace = airspace_from_fence(items)
        except MissionFormatError:
            return  # a fence the map cannot draw; the flight still replays
        self._map_dirty = True

    # ------------------------------------------------------------------------- views

    def _map_view(self) -> MapView:
        depots = [DepotView("home" if len(self.homes) == 1 else f"home{s}", p)
                  for s, p in sorted(self.homes.items())]
        routes: list[RouteView] = []
        for v in self.vehicles.values():
            if v.mission is not None:
                routes.extend(_mission_route(v))
            if len(v.track) >= 2:
                drop = v.release_index if v.release_index is not None else 0
                routes.append(RouteView(f"{v.name} track", tuple(v.track), v.name, True, drop))
        view = MapView(depots=tuple(depots), routes=tuple(routes))
        if self.airspace is not None:
            view = replace(map_view_from_airspace((), self.airspace, routes),
                           depots=tuple(depots))
        return _around_flight(view)

    def summary(self) -> str:
        """Each vehicle as the log leaves it: mode, armed, where, highest, released."""
        seconds = self._now - self.start_s
        parts = [_vehicle_summary(v) for v in self.vehicles.values()]
        return f"{seconds:.0f} s of {self.title}: " + "; ".join(parts)


def _around_flight(view: MapView) -> MapView:
    """The map around the flight: a fence's zones more than ``FOCUS_MARGIN_M`` away from
    home, the mission and the track, and an operating area reaching beyond that, would
    shrink a delivery of a kilometre or two to a few cells."""
    focus = [d.position for d in view.depots] + [p for r in view.routes for p in r.points]
    if not focus:
        return view
    dlat = FOCUS_MARGIN_M / _M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(focus[0].lat)), 1e-6)
    south, north = min(p.lat for p in focus) - dlat, max(p.lat for p in focus) + dlat
    west, east = min(p.lon for p in focus) - dlon, max(p.lon for p in focus) + dlon

    def inside(p: LatLon) -> bool:
        return south <= p.lat <= north and west <= p.lon <= east

    zones = tuple(z for z in view.zones if any(inside(p) for ring in z.outline(16)
                                               for p in ring))
    area = view.operating_area
    if area is not None and not all(inside(p) for p in area):
        area = None
    return replace(view, zones=zones, operating_area=area)


def _mission_item(msg: MavMessage, kind: int) -> MissionItem:
    scale = 1e7 if msg.get_type() == "MISSION_ITEM_INT" else 1.0
    return MissionItem(msg.seq, msg.command, msg.frame, msg.param1, msg.param2, msg.param3,
                       msg.param4, msg.x / scale, msg.y / scale, msg.z, msg.current,
                       msg.autocontinue, MissionType(kind))


def _set_mission(vehicle: _Vehicle, mission: Mission) -> None:
    vehicle.mission = mission
    vehicle.dropoff_seq = mission.dropoff_seq
    if vehicle.dropoff_seq is None:
        delivery = next((i.seq for i in mission.items if i.command in DELIVERY_TEXTS), None)
        if delivery is not None:
            vehicle.dropoff_seq = next((i.seq for i in reversed(mission.items[:delivery + 1])
                                        if i.has_position), None)


def _mission_route(vehicle: _Vehicle) -> Iterable[RouteView]:
    assert vehicle.mission is not None
    positional = [i for i in vehicle.mission.items if i.has_position]
    if len(positional) < 2:
        return ()
    points = tuple(LatLon(i.x, i.y) for i in positional)
    drop = next((n for n, i in enumerate(positional) if i.seq == vehicle.dropoff_seq), None)
    key = vehicle.mission.order_id or f"{vehicle.name} mission"
    return (RouteView(key, points, vehicle.name, False, drop),)


def _extend_track(vehicle: _Vehicle, s: Telemetry) -> bool:
    """Add the vehicle's position to its track when it moved; True when the track grew."""
    if s.lat_deg is None or s.lon_deg is None or (s.lat_deg == 0 and s.lon_deg == 0):
        return False
    here = LatLon(s.lat_deg, s.lon_deg)
    if vehicle.track:
        last = vehicle.track[-1]
        dx = (here.lon - last.lon) * _M_PER_DEG * math.cos(math.radians(here.lat))
        if math.hypot(dx, (here.lat - last.lat) * _M_PER_DEG) < TRACK_STEP_M:
            return False
    vehicle.track.append(here)
    if len(vehicle.track) > MAX_TRACK_POINTS:  # keep the shape, halve the points
        vehicle.track[:] = vehicle.track[::2]
        vehicle.release_index = None if vehicle.release_index is None \
            else vehicle.release_index // 2
    return True


def _refresh(vehicle: _Vehicle, now_s: float, views: list[VehicleView],
             link_only: bool = False) -> None:
    """Append the vehicle's view when it changed (``link_only``: when only its link age
    moved by a second or more, or it crossed into link lost)."""
    s = vehicle.tracker.snapshot()
    if s.heartbeats == 0:
        return
    if s.armed:
        vehicle.flown = True
    if s.alt_rel_m is not None and s.armed:
        vehicle.max_alt_m = max(s.alt_rel_m, vehicle.max_alt_m or -math.inf)
    view = _vehicle_view(vehicle, s, max(0.0, now_s - vehicle.last_t))
    old = vehicle.view
    if link_only and old is not None and old.state == view.state and \
            abs((old.link_age_s or 0.0) - (view.link_age_s or 0.0)) < 1.0:
        return
    if view != old:
        vehicle.view = view
        views.append(view)


def _activity(vehicle: _Vehicle, s: Telemetry, link_age_s: float) -> VehicleState:
    if link_age_s > LINK_LOST_S:
        return VehicleState.LINK_LOST
    if s.system_status in (mavlink.MAV_STATE_CRITICAL, mavlink.MAV_STATE_EMERGENCY):
        return VehicleState.FAULT
    if not s.armed:
        return VehicleState.LANDED if vehicle.flown else VehicleState.IDLE
    if s.on_ground:  # armed on the pad: before the takeoff, or just landed
        return VehicleState.RETURNING if vehicle.released else VehicleState.PREFLIGHT
    if s.mode in _PAUSE_MODES:
        return VehicleState.PAUSED
    if s.mode in _HOME_MODES or vehicle.released:
        return VehicleState.RETURNING
    if vehicle.dropoff_seq is not None and (s.mission_seq or 0) >= vehicle.dropoff_seq:
        return VehicleState.DELIVERING
    return VehicleState.EN_ROUTE


def _vehicle_view(vehicle: _Vehicle, s: Telemetry, link_age_s: float) -> VehicleView:
    state = _activity(vehicle, s, link_age_s)
    position = LatLon(s.lat_deg, s.lon_deg) if s.lat_deg is not None and \
        s.lon_deg is not None else None
    fault = {VehicleState.LINK_LOST: f"no message for {link_age_s:.0f} s",
             VehicleState.FAULT: "failsafe (MAV_STATE critical)"}.get(state, "")
    order_id = vehicle.mission.order_id if vehicle.mission is not None else None
    pct = None if s.battery_pct is None else float(s.battery_pct)
    draw = s.voltage_v * s.current_a if s.voltage_v and s.current_a else None
    # No capacity in a tlog: the time left is extrapolated from the energy drawn so far.
    left = battery_left_s(pct, None, draw, s.energy_wh) if s.armed else None
    return VehicleView(
        name=vehicle.name, sysid=vehicle.sysid, state=state, mode=s.mode, armed=s.armed,
        battery_pct=pct, alt_m=s.alt_rel_m, ground_speed_ms=s.groundspeed_ms,
        heading_deg=s.heading_deg, position=position, order_id=order_id,
        link_age_s=round(link_age_s, 1),
        link_pct=None if vehicle.link_pct is None else round(vehicle.link_pct),
        mission_seq=s.mission_seq,
        mission_count=None if s.mission_total is None else s.mission_total + 1, fault=fault,
        gps_fix_type=s.gps_fix_type, gps_sats=s.gps_sats, ekf=ekf_health(s.ekf_flags),
        voltage_v=None if s.voltage_v is None else round(s.voltage_v, 1),
        current_a=None if s.current_a is None else round(s.current_a, 1),
        energy_wh=s.energy_wh, battery_left_s=None if left is None else round(left, -1),
        fence_breached=s.fence_breached)


def _vehicle_summary(vehicle: _Vehicle) -> str:
    s = vehicle.tracker.snapshot()
    where = "no position" if s.lat_deg is None or s.lon_deg is None else \
        f"at {s.lat_deg:.5f},{s.lon_deg:.5f}"
    alt = "-" if s.alt_rel_m is None else f"{s.alt_rel_m:.0f} m"
    top = "-" if vehicle.max_alt_m is None else f"{vehicle.max_alt_m:.0f} m"
    return (f"{vehicle.name} {s.mode} {'armed' if s.armed else 'disarmed'} {where} alt {alt}, "
            f"highest {top}, {'released' if vehicle.released else 'no release seen'}")
