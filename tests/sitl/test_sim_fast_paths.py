"""The simulator's fast paths say on the wire exactly what the full step says.

Each test runs the same vehicles twice in lock step, once with a fast path switched off
(``SimVehicle.fast_idle``, ``Channels.fast_encode``) and once with it on, and compares
every byte sent, at the same simulated times: an idle vehicle, one that is woken up (a
parameter, a command, a drained pack), and a delivery flown out and back with a loiter.
"""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import Cmd, Frame, MissionItem
from sitl.sim.channels import Channels
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


def _recorded(scenario: object, monkeypatch: pytest.MonkeyPatch, fast: bool
              ) -> list[tuple[float, bytes]]:
    with monkeypatch.context() as patch:
        patch.setattr(SimVehicle, "fast_idle", fast)
        patch.setattr(Channels, "fast_encode", fast)
        r = Recorder()
        scenario(r)  # type: ignore[operator]
        return r.frames


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
