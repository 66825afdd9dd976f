"""The simulator's fast paths say on the wire what the full step says.

Each test runs the same vehicles twice in lock step, once with a fast path switched off
(``SimVehicle.fast_idle``, ``Channels.fast_encode``, ``SimVehicle.fast_coast``) and once with
it on, and compares what was sent, at the same simulated times: an idle vehicle, one that is
woken up (a parameter, a command, a drained pack), and a delivery flown out and back with a
loiter. Idle stepping and the frame encoder send the same bytes; coasting (coast.py) sends
the same messages with the same numbers, floats within float precision (the full step's
cruise velocity wobbles in its last bits), and flies the same flight.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import Cmd, Frame, MissionItem
from sitl.sim.channels import Channels
from sitl.sim.rtl import _point_line_3d as segment_distance_3d
from sitl.sim.state import Home
from sitl.sim.vehicle import SimVehicle
from sitl.sim.wire import FrameEncoder

M = mavlink
STEP_S = 0.02
HOME = Home(-35.363261, 149.165230, 584.0, 353.0)
GRIPPER = {"GRIP_ENABLE": 1.0, "GRIP_TYPE": 1.0, "SERVO9_FUNCTION": 28.0}


class Recorder:
    """One vehicle and every frame it sent, stamped with its simulated time."""

    def __init__(self, sysid: int = 1) -> None:
        self.v = SimVehicle(HOME, sysid=sysid, params=dict(GRIPPER))
        self.v.boot()
        self.frames: list[tuple[float, bytes]] = []
        self.parser = M.MAVLink(None)
        self.parser.robust_parsing = True

    def drain(self) -> list[object]:
        data = self.v.take_output()
        if data:
            self.frames.append((round(self.v.sim_time_s, 3), data))
        return list(self.parser.parse_buffer(data) or [])

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / STEP_S)):
            self.v.step(STEP_S)
            self.drain()

    def send(self, msg: object) -> list[object]:
        self.v.receive(msg)
        return self.drain()

    def command(self, command: int, *params: float) -> None:
        p = [*params, *([0.0] * (7 - len(params)))]
        self.send(M.MAVLink_command_long_message(self.v.sysid, 1, command, 0, *p))

    def upload(self, items: list[MissionItem]) -> None:
        replies = self.send(M.MAVLink_mission_count_message(1, 1, len(items), 0))
        for _ in range(len(items)):
            asked = [m.seq for m in replies if m.get_type().startswith("MISSION_REQUEST")]
            if not asked:
                break
            it = items[asked[0]]
            replies = self.send(M.MAVLink_mission_item_int_message(
                1, 1, it.seq, int(it.frame), int(it.command), 0, 1, it.param1, it.param2,
                it.param3, it.param4, it.x_int, it.y_int, it.z, 0))
        assert self.v.runner.total == len(items) - 1


def _streams(r: Recorder) -> None:
    r.send(M.MAVLink_request_data_stream_message(1, 1, M.MAV_DATA_STREAM_ALL, 4, 1))
    r.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, 100_000)


def idle_then_woken(r: Recorder) -> None:
    _streams(r)
    r.run(60.0)  # boots, gets its fix and EKF, then sits idle
    r.v.params.set("BATT_CAPACITY", 4000)  # a parameter changed behind its back
    r.run(5.0)
    r.v.battery.drain_mah(2500)  # a weak pack: a low-battery failsafe while idle
    r.run(15.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)  # GUIDED: woken by a command
    r.run(5.0)


def delivery(r: Recorder) -> None:
    _streams(r)
    r.run(45.0)
    lat, lon = HOME.lat, HOME.lon
    drop = (lat + 500 / 111_320.0, lon + 300 / 90_800.0)
    rel = Frame.GLOBAL_RELATIVE_ALT_INT
    r.upload([
        MissionItem(0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=lat, y=lon, z=HOME.alt_m),
        MissionItem(1, Cmd.NAV_TAKEOFF, rel, z=30.0),
        MissionItem(2, Cmd.NAV_WAYPOINT, rel, x=drop[0], y=drop[1], z=30.0),
        MissionItem(3, Cmd.NAV_WAYPOINT, rel, x=drop[0], y=drop[1], z=10.0),
        MissionItem(4, Cmd.DO_GRIPPER, Frame.MISSION, param1=1, param2=0),
        MissionItem(5, Cmd.NAV_WAYPOINT, rel, param1=5, x=drop[0], y=drop[1], z=10.0),
        MissionItem(6, Cmd.NAV_WAYPOINT, rel, x=drop[0], y=drop[1], z=30.0),
        MissionItem(7, Cmd.NAV_LAND, rel, x=lat, y=lon, z=0.0),
    ])
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)
    r.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    r.command(M.MAV_CMD_MISSION_START)
    r.run(60.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 5)  # LOITER on the way out
    r.run(20.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 3)  # AUTO again: on to the drop-off, home, land
    r.run(240.0)
    assert not r.v.armed, "the delivery ended landed and disarmed"


def _recorded(scenario: object, monkeypatch: pytest.MonkeyPatch, fast: bool,
              coast: bool = False) -> list[tuple[float, bytes]]:
    return _flown(scenario, monkeypatch, fast, coast).frames


def _flown(scenario: object, monkeypatch: pytest.MonkeyPatch, fast: bool, coast: bool
           ) -> Recorder:
    with monkeypatch.context() as patch:
        patch.setattr(SimVehicle, "fast_idle", fast)
        patch.setattr(Channels, "fast_encode", fast)
        patch.setattr(SimVehicle, "fast_coast", coast)
        r = Recorder()
        scenario(r)  # type: ignore[operator]
        return r


@pytest.mark.parametrize("scenario", [idle_then_woken, delivery])
def test_fast_paths_send_the_same_bytes_at_the_same_times(
        scenario: object, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = _recorded(scenario, monkeypatch, fast=False)
    fast = _recorded(scenario, monkeypatch, fast=True)
    assert len(fast) == len(slow)
    for (t_slow, b_slow), (t_fast, b_fast) in zip(slow, fast, strict=True):
        assert (t_fast, b_fast) == (t_slow, b_slow), f"first difference at {t_slow} s"


def test_an_idle_vehicle_takes_the_fast_path() -> None:
    r = Recorder()
    _streams(r)
    r.run(60.0)
    assert r.v._idle_key is not None  # disarmed, on the ground, nothing timed: idle
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)
    r.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    r.run(1.0)
    assert r.v.armed and r.v._idle_key is None


@pytest.mark.parametrize("msg", [
    M.MAVLink_heartbeat_message(2, 3, 0x51, 0, 3, 3),
    M.MAVLink_statustext_message(6, b"Arming motors", 0, 0),
    M.MAVLink_param_value_message(b"ANGLE_MAX", 3000.0, 9, 1000, 5),
    M.MAVLink_global_position_int_message(1, -353632610, 1491652300, 584000, 0, -3, 4, 0, 0),
    M.MAVLink_vfr_hud_message(1.5, 2.5, 90, 30, 600.0, -0.5),
    M.MAVLink_system_time_message(0, 0),  # all zeros: one byte kept
    M.MAVLink_battery_status_message(0, 0, 0, 32767, [12600] + [65535] * 9, 0, 0, 0, 100, 0,
                                     1, [0, 0, 0, 0], 0, 0),  # arrays: pymavlink packs it
])
def test_the_encoder_packs_what_pymavlink_packs(msg: object) -> None:
    packer = M.MAVLink(None, srcSystem=42, srcComponent=1)
    encoder = FrameEncoder(packer)
    for seq in (0, 7):
        packer.seq = seq
        assert encoder.encode(msg) == msg.pack(packer)  # type: ignore[attr-defined]
        assert encoder.encode(msg) == msg.pack(packer)  # type: ignore[attr-defined]


# ---- coasting: holding a point, cruising a straight leg ---------------------------------------

def _messages(frames: list[tuple[float, bytes]]) -> list[tuple[float, Any]]:
    parser = M.MAVLink(None)
    parser.robust_parsing = True
    return [(t, m) for t, data in frames for m in parser.parse_buffer(data) or []]


def _same_value(a: object, b: object) -> bool:
    """Integers equal; floats equal to float precision (NaN equal to NaN); lists by item."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def assert_same_messages(slow: list[tuple[float, bytes]], fast: list[tuple[float, bytes]]
                         ) -> None:
    """The same messages (type, sequence number) at the same simulated times, their values
    equal but for float precision."""
    a, b = _messages(slow), _messages(fast)
    assert len(a) == len(b)
    for (t_a, m_a), (t_b, m_b) in zip(a, b, strict=True):
        where = f"{m_a.get_type()} at {t_a} s"
        assert (t_b, m_b.get_type(), m_b.get_seq()) == (t_a, m_a.get_type(), m_a.get_seq()), \
            where
        for name in m_a.get_fieldnames():
            assert _same_value(getattr(m_a, name), getattr(m_b, name)), f"{where}: {name}"


def _coasted(scenario: object, monkeypatch: pytest.MonkeyPatch) -> tuple[Recorder, int]:
    """The scenario flown with coasting on, and how many steps coasted."""
    count = [0]
    real = SimVehicle._coast_step

    def counted(v: SimVehicle, plan: Any, dt: float) -> None:
        count[0] += 1
        real(v, plan, dt)

    with monkeypatch.context() as patch:
        patch.setattr(SimVehicle, "_coast_step", counted)
        r = _flown(scenario, monkeypatch, fast=True, coast=True)
    return r, count[0]


def _guided_to(r: Recorder, north_m: float, east_m: float, alt_m: float) -> None:
    lat = HOME.lat + north_m / 111_320.0
    lon = HOME.lon + east_m / (111_320.0 * math.cos(math.radians(HOME.lat)))
    r.send(M.MAVLink_set_position_target_global_int_message(
        0, 1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0b110111111000, round(lat * 1e7),
        round(lon * 1e7), alt_m, 0, 0, 0, 0, 0, 0, 0, 0))


_GCS = M.MAVLink(None, srcSystem=255, srcComponent=190)


def _gcs_heartbeat(r: Recorder) -> None:
    """A heartbeat from the GCS (MAV_GCS_SYSID 255): the GCS failsafe counts only those."""
    msg = M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0, 3)
    msg.pack(_GCS)
    r.send(msg)


def _run_heard(r: Recorder, seconds: int) -> None:
    """``seconds`` of simulated time with a GCS heartbeat every second."""
    for _ in range(seconds):
        _gcs_heartbeat(r)
        r.run(1.0)


def _guided_takeoff_heard(r: Recorder, alt_m: float) -> None:
    """Boot settled, GUIDED, armed and climbed to ``alt_m``, the GCS heard throughout."""
    _streams(r)
    _run_heard(r, 45)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)
    r.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    r.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m)
    _run_heard(r, 20)


def hold_and_cruise(r: Recorder) -> None:
    """GUIDED takeoff, a LOITER, a GUIDED leg and a hold at its end, a low-capacity failsafe
    reached by draining while holding, and the RTL it starts."""
    r.v.params.set("BATT_LOW_MAH", 1500)
    r.v.params.set("BATT_FS_LOW_ACT", 2)  # RTL
    _streams(r)
    r.run(45.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)
    r.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    r.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 25.0)
    r.run(25.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 5)  # LOITER
    r.run(30.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)
    _guided_to(r, 600.0, -250.0, 25.0)
    r.run(90.0)  # out there and holding
    # A weak pack: 40 mAh above BATT_LOW_MAH, crossed while holding (~8 mAh/s) five s on.
    b = r.v.battery
    b.drain_mah(b.capacity_mah - b.consumed_mah - 1540)
    r.run(30.0)
    assert r.v.fs.battery_level == 1
    r.run(150.0)  # home by RTL
    assert r.v.mode == 6 or not r.v.armed


def fenced_cruise(r: Recorder) -> None:
    """A cruise across a circular fence (checked every step: no quiet failsafes) with the
    GCS failsafe on: the breach and its LAND come at the same step either way."""
    r.v.params.set("FENCE_ENABLE", 1)
    r.v.params.set("FENCE_TYPE", 2)  # circle
    r.v.params.set("FENCE_RADIUS", 300)
    r.v.params.set("FENCE_ACTION", 2)  # land
    r.v.params.set("FS_GCS_ENABLE", 1)
    _guided_takeoff_heard(r, 20.0)
    _guided_to(r, 900.0, 0.0, 20.0)
    _run_heard(r, 60)  # through the fence at 300 m: LAND
    assert r.v.fs.breaches
    r.run(30.0)  # landed, the GCS quiet


def gcs_lost_while_holding(r: Recorder) -> None:
    """A GCS whose heartbeats stop while the copter holds in LOITER: the GCS failsafe
    (RTL) comes FS_GCS_TIMEOUT after the last one, coasting or not."""
    r.v.params.set("FS_GCS_ENABLE", 1)
    _guided_takeoff_heard(r, 20.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 5)
    _run_heard(r, 10)
    r.run(20.0)
    assert r.v.fs.gcs


@pytest.mark.parametrize("scenario", [delivery, hold_and_cruise, fenced_cruise,
                                      gcs_lost_while_holding])
def test_coasting_sends_the_same_messages_at_the_same_times(
        scenario: object, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = _flown(scenario, monkeypatch, fast=True, coast=False)
    fast, coasted = _coasted(scenario, monkeypatch)
    assert coasted > 0, "the scenario never coasted"
    assert_same_messages(slow.frames, fast.frames)
    # The same flight: where it ended, the energy it used, the texts it sent.
    a, b = slow.v, fast.v
    assert (b.armed, b.mode, b.fs.battery_level, b.fs.gcs) == \
        (a.armed, a.mode, a.fs.battery_level, a.fs.gcs)
    assert math.isclose(b.phys.north_m, a.phys.north_m, abs_tol=1e-6)
    assert math.isclose(b.phys.east_m, a.phys.east_m, abs_tol=1e-6)
    assert math.isclose(b.phys.up_m, a.phys.up_m, abs_tol=1e-6)
    assert math.isclose(b.battery.consumed_wh, a.battery.consumed_wh, rel_tol=1e-9)
    assert math.isclose(b.battery.consumed_mah, a.battery.consumed_mah, rel_tol=1e-9)
    # The SmartRTL path: the same line within its own precision. A point is saved 2 m
    # (SRTL_ACCURACY) from the last and 10 m/s moves the copter 0.2 m a step, exactly: float
    # noise decides on which of two steps a point falls, with or without coasting, and the
    # points after it shift one step along the line (the last one before a stop by up to
    # SRTL_ACCURACY).
    accuracy = a.params.get("SRTL_ACCURACY")
    assert len(b.rtl.smart.points) == len(a.rtl.smart.points)
    assert _off_path_m(a.rtl.smart.points, b.rtl.smart.points) <= accuracy
    assert _off_path_m(b.rtl.smart.points, a.rtl.smart.points) <= accuracy


def _off_path_m(points: list[tuple[float, float, float]],
                path: list[tuple[float, float, float]]) -> float:
    """How far the farthest of ``points`` lies from the polyline ``path``."""
    def off(p: tuple[float, float, float]) -> float:
        return min(segment_distance_3d(p, a, b) for a, b in itertools.pairwise(path))
    return max((off(p) for p in points), default=0.0)


def test_a_delivery_coasts_most_of_its_cruise(monkeypatch: pytest.MonkeyPatch) -> None:
    r, coasted = _coasted(delivery, monkeypatch)
    steps = round(r.v.sim_time_s / STEP_S)
    # Of its 365 s, 45 s are on the ground before the start and 55 s after the landing, 20 s
    # loitering, ~100 s cruising level out and back: 5,400 steps coasted as measured (30 %),
    # from braking distances and accelerations left to the full step.
    assert coasted > 0.25 * steps, f"{coasted} of {steps} steps coasted"


def test_a_coast_ends_when_the_copter_is_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    r = Recorder()
    _streams(r)
    r.run(45.0)
    r.command(M.MAV_CMD_DO_SET_MODE, 1, 4)
    r.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    r.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20.0)
    r.run(25.0)
    assert r.v._coast is not None, "holding at the takeoff altitude coasts"
    r.v.phys.north_m += 5.0  # a test (or a fault) moves it: back to the full step
    r.run(0.02)
    assert r.v._coast is None
    r.run(10.0)
    assert abs(r.v.phys.north_m) < 0.05, "the controller flew it back to its hold point"
