"""Gripper, winch and NAV_PAYLOAD_PLACE: enabled only after a reboot, texts, servo outputs."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, Bench, item, offset, recorded

M = mavlink
pytestmark = pytest.mark.sim


def _servo(bench: Bench, n: int) -> int:
    out = [m for m in bench.msgs if m.get_type() == "SERVO_OUTPUT_RAW"][-1]
    return int(getattr(out, f"servo{n}_raw"))


def test_gripper_needs_a_reboot_after_it_is_enabled() -> None:
    bench = Bench()
    bench.step(2.0)
    assert bench.command(M.MAV_CMD_DO_GRIPPER, 1, 0) == M.MAV_RESULT_FAILED
    count_before = bench.set_param("GRIP_ENABLE", 1).param_count
    bench.set_param("GRIP_TYPE", 1)
    bench.set_param("SERVO9_FUNCTION", 28)
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_DO_GRIPPER, 1, 0) == M.MAV_RESULT_ACCEPTED
    bench.step(2.0)
    assert not [t for t in bench.texts(since) if "Gripper" in t]
    assert _servo(bench, 9) == 0
    assert bench.command(M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1) == 0
    since = len(bench.msgs)
    bench.step(6.0)
    assert bench.texts(since).count("Gripper load grabbing") == 1
    assert "Gripper load grabbed" in bench.texts(since)
    bench.send(M.MAVLink_request_data_stream_message(1, 1, 0, 4, 1))
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_DO_GRIPPER, 1, 0) == M.MAV_RESULT_ACCEPTED
    bench.step(1.0)
    assert bench.texts(since)[:2] == ["Gripper load releasing", "Gripper load released"]
    assert _servo(bench, 9) == 1100
    assert bench.command(M.MAV_CMD_DO_GRIPPER, 1, 1) == M.MAV_RESULT_ACCEPTED
    bench.step(1.0)
    assert _servo(bench, 9) == 1900
    assert count_before > 0


def test_winch_commands_after_reboot() -> None:
    bench = Bench()
    bench.step(2.0)
    assert bench.command(M.MAV_CMD_DO_WINCH, 1, 0) == M.MAV_RESULT_FAILED
    bench.set_param("WINCH_TYPE", 1)
    bench.set_param("SERVO10_FUNCTION", 88)
    assert bench.command(M.MAV_CMD_DO_WINCH, 1, 0) == M.MAV_RESULT_FAILED
    assert bench.command(M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1) == 0
    bench.step(3.0)
    bench.send(M.MAVLink_request_data_stream_message(1, 1, 0, 4, 1))
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_DO_WINCH, 1, 1, 5, 1) == 0
    assert bench.texts(since) == ["Winch: lowering  5.0m to  5.0m"]
    assert bench.texts(since) == [r["fields"]["text"] for r in recorded("payload_commands",
                                  "STATUSTEXT") if r["fields"]["text"].startswith("Winch")]
    bench.step(2.5)
    status = [m for m in bench.msgs if m.get_type() == "WINCH_STATUS"][-1]
    assert 1.5 < status.line_length < 3.0 and status.speed == pytest.approx(1.0, abs=0.05)
    assert _servo(bench, 10) > 1500
    assert bench.command(M.MAV_CMD_DO_WINCH, 1, 2, 0, -0.5) == 0
    bench.step(1.0)
    assert [m for m in bench.msgs if m.get_type() == "WINCH_STATUS"][-1].speed < 0
    assert bench.command(M.MAV_CMD_DO_WINCH, 1, 0) == 0
    bench.step(1.0)
    assert _servo(bench, 10) == 0
    assert bench.command(M.MAV_CMD_DO_WINCH, 1, 3) == M.MAV_RESULT_FAILED


def test_payload_place_descends_to_touchdown_releases_and_climbs() -> None:
    bench = Bench(params={"GRIP_ENABLE": 1, "GRIP_TYPE": 1, "SERVO9_FUNCTION": 28})
    bench.ready()
    bench.takeoff(20.0)
    north = offset(CMAC, 60.0, 0.0)
    back = offset(CMAC, 10.0, 0.0)
    items = [item(0, 16, frame=0), item(1, M.MAV_CMD_NAV_PAYLOAD_PLACE, *north, 20, p1=30),
             item(2, 16, *back, 20), item(3, 20)]
    assert bench.upload(items) == 0
    start = len(bench.msgs)
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 3) == 0
    bench.until_text("PayloadPlace: Releasing the gripper", 120.0, since=start)
    chunks = [m for m in bench.msgs[start:] if m.get_type() == "STATUSTEXT" and m.id != 0]
    assert [c.text for c in chunks] == ["PayloadPlace: payload release thrust threshold: 0.",
                                        "315431"]
    assert [c.chunk_seq for c in chunks] == [0, 1]
    bench.until(lambda: 2 in bench.reached(start), 60.0, "item 2")
    states = {m.landed_state for m in bench.msgs[start:] if m.get_type() == "EXTENDED_SYS_STATE"}
    assert states == {M.MAV_LANDED_STATE_IN_AIR}
    assert bench.reached(start)[:1] == [1]
    bench.until(lambda: not bench.v.armed, 150.0, "RTL")
    bench.step(1.5)
    assert bench.reached(start) == recorded("payload_commands", "MISSION_ITEM_REACHED", "seq")
    current = [m for m in bench.msgs if m.get_type() == "MISSION_CURRENT"][-1]
    assert (current.seq, current.mission_state) == (0, M.MISSION_STATE_COMPLETE)
    want = [r["fields"]["text"] for r in recorded("payload_commands", "STATUSTEXT")
            if r["t"] > 84.0 and r["fields"]["text"].startswith(("Mission", "PayloadPlace",
                                                                  "Gripper", "315431"))]
    got = [t for t in bench.texts(start) if t.startswith(("Mission", "PayloadPlace", "Gripper",
                                                          "315431"))]
    assert got == want


def test_a_pwm_winch_without_its_output_refuses_to_arm_like_arducopter() -> None:
    # ArduCopter 4.7 SITL with WINCH_TYPE 1 and no SERVOn_FUNCTION 88: "Arm: winch unhealthy"
    # on every attempt (shared/ardupilot/README.md); with the output assigned it arms.
    bench = Bench(params={"WINCH_TYPE": 1})
    bench.ready()
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    assert "Arm: winch unhealthy" in bench.texts(since)
    bench.set_param("SERVO10_FUNCTION", 88)
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
