"""Mission protocol and execution details not covered by the replays: one uploader at a time,
MISSION_ITEM (float) uploads, MAVLink 2 for fence/rally, DO_JUMP, DO_CHANGE_SPEED, loiter."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, Bench, item, offset

M = mavlink
pytestmark = pytest.mark.sim


def _from(bench: Bench, sysid: int, msg: object) -> None:
    msg.pack(M.MAVLink(None, srcSystem=sysid, srcComponent=190))  # type: ignore[attr-defined]
    bench.v.receive(msg)
    bench._collect()


def test_second_uploader_is_denied_while_an_upload_runs() -> None:
    bench = Bench(streams_hz=0)
    bench.send(M.MAVLink_mission_count_message(1, 1, 3, 0))
    since = len(bench.msgs)
    _from(bench, 254, M.MAVLink_mission_count_message(1, 1, 2, 0))
    acks = [m for m in bench.msgs[since:] if m.get_type() == "MISSION_ACK"]
    assert [a.type for a in acks] == [M.MAV_MISSION_DENIED]
    since = len(bench.msgs)
    bench.send(M.MAVLink_mission_request_list_message(1, 1, 0))
    assert [m.type for m in bench.msgs[since:] if m.get_type() == "MISSION_ACK"] == [
        M.MAV_MISSION_DENIED]


def test_float_mission_items_are_accepted_and_read_back_as_int() -> None:
    bench = Bench(streams_hz=0)
    north = offset(CMAC, 100.0, 0.0)
    items = [M.MAVLink_mission_item_message(1, 1, 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
             M.MAVLink_mission_item_message(1, 1, 1, 3, 22, 0, 1, 0, 0, 0, 0, 0, 0, 25, 0),
             M.MAVLink_mission_item_message(1, 1, 2, 3, 16, 0, 1, 0, 0, 0, 0, north[0],
                                            north[1], 25, 0)]
    assert bench.upload(items) == 0
    since = len(bench.msgs)
    bench.send(M.MAVLink_mission_request_int_message(1, 1, 2, 0))
    got = next(m for m in bench.msgs[since:] if m.get_type() == "MISSION_ITEM_INT")
    assert abs(got.x - round(north[0] * 1e7)) <= 1 and got.z == pytest.approx(25.0)


def test_fence_and_rally_need_mavlink2() -> None:
    bench = Bench(streams_hz=0)
    bench.v.missions.mavlink1_link = True
    since = len(bench.msgs)
    bench.send(M.MAVLink_mission_count_message(1, 1, 2, 2))
    assert [m.type for m in bench.msgs[since:] if m.get_type() == "MISSION_ACK"] == [
        M.MAV_MISSION_UNSUPPORTED]
    assert "Need mavlink2 for item transfer" in bench.texts(since)


def test_mission_clear_all_and_count_zero() -> None:
    bench = Bench(streams_hz=0)
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=10)]) == 0
    since = len(bench.msgs)
    bench.send(M.MAVLink_mission_clear_all_message(1, 1, 0))
    bench.send(M.MAVLink_mission_request_list_message(1, 1, 0))
    kinds = [(m.get_type(), getattr(m, "type", None), getattr(m, "count", None))
             for m in bench.msgs[since:] if m.get_type() in ("MISSION_ACK", "MISSION_COUNT")]
    assert kinds == [("MISSION_ACK", 0, None), ("MISSION_COUNT", None, 0)]


def test_do_jump_repeats_and_change_speed_applies() -> None:
    bench = Bench(step_s=0.05)
    a = offset(CMAC, 60.0, 0.0)
    b = offset(CMAC, 60.0, 60.0)
    items = [item(0, 16, frame=0), item(1, 22, z=20),
             item(2, M.MAV_CMD_DO_CHANGE_SPEED, frame=2, p1=1, p2=5),
             item(3, 16, *a, 20), item(4, 16, *b, 20),
             item(5, M.MAV_CMD_DO_JUMP, frame=2, p1=3, p2=1), item(6, 20)]
    assert bench.upload(items) == 0
    bench.ready()
    bench.arm_and_start()
    bench.until(lambda: bench.v.runner.current_seq == 3, 60.0, "first leg")
    bench.step(8.0)
    assert 4.5 < bench.v.phys.groundspeed_ms < 5.3
    bench.until(lambda: not bench.v.armed, 400.0, "end")
    assert bench.reached() == [1, 3, 4, 3, 4, 6]
    assert "Mission: 5 Jump 1/1" in bench.texts()


def test_loiter_time_reports_reached_after_the_wait() -> None:
    bench = Bench(step_s=0.05)
    items = [item(0, 16, frame=0), item(1, 22, z=15),
             item(2, M.MAV_CMD_NAV_LOITER_TIME, p1=8), item(3, 21)]
    assert bench.upload(items) == 0
    bench.ready()
    bench.arm_and_start()
    bench.until_text("Mission: 2 LoitTime", 60.0)
    t0 = bench.t
    bench.until_text("Reached command #2", 20.0)
    assert 7.9 <= bench.t - t0 <= 9.5
    bench.until(lambda: not bench.v.armed, 60.0, "land")
