"""Flights on the simulator compared with the recorded ArduCopter flights: the delivery
mission with and without MIS_OPTIONS=4, arming, GUIDED, AUTO refusals, RTL, LAND, pause."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import (
    CMAC,
    Bench,
    item,
    load_recording,
    offset,
    recorded,
    recorded_upload,
)

M = mavlink
pytestmark = pytest.mark.sim
GRIPPER = {"GRIP_ENABLE": 1, "GRIP_TYPE": 1, "SERVO9_FUNCTION": 28}


def recorded_all(name: str) -> list[dict]:
    return [r for r in load_recording(name) if r["dir"] == "veh>gcs"]


def _mission_texts(texts: list[str]) -> list[str]:
    keep = ("Mission:", "Reached command", "Gripper", "Delaying", "Disarming", "Arming")
    return [t for t in texts if t.startswith(keep)]


def _recorded_mission_texts(name: str, after_s: float = 0.0) -> list[str]:
    texts = [r["fields"]["text"] for r in recorded(name, "STATUSTEXT") if r["t"] > after_s]
    return _mission_texts(texts)


def _event_times(kinds_texts: list[tuple[float, str]]) -> list[float]:
    """Times of: first takeoff text, each reached item, touchdown — from the first takeoff."""
    t0 = next(t for t, k in kinds_texts if k == "Mission: 1 Takeoff")
    keep = [t for t, k in kinds_texts if k.startswith(("reached", "SIM Hit ground"))]
    return [round(t - t0, 1) for t in keep]


def _assert_timing_close(bench: Bench, start: int) -> None:
    """Leg times within 10 % (and 3 s) of the recorded SITL flight, up to the drop-off."""
    ours = [(m.sim_t, f"reached {m.seq}" if m.get_type() == "MISSION_ITEM_REACHED" else m.text)
            for m in bench.msgs[start:] if m.get_type() in ("MISSION_ITEM_REACHED", "STATUSTEXT")]
    theirs = [(r["t"], f"reached {r['fields']['seq']}" if r["type"] == "MISSION_ITEM_REACHED"
               else r["fields"].get("text", "")) for r in recorded_all("delivery_flight")
              if r["type"] in ("MISSION_ITEM_REACHED", "STATUSTEXT") and r["t"] < 172.0]
    got, want = _event_times(ours), _event_times(theirs)
    assert len(got) == len(want) == 5
    for g, w in zip(got, want, strict=True):
        assert abs(g - w) <= max(3.0, 0.1 * w), f"simulator {got}, recorded {want}"


def test_delivery_flight_matches_the_recording_mis_options_0() -> None:
    bench = Bench(params=GRIPPER)
    assert bench.upload(recorded_upload("delivery_flight")) == M.MAV_MISSION_ACCEPTED
    bench.ready()
    start = len(bench.msgs)
    bench.arm_and_start()
    # NAV_LAND at the drop-off disarms and resets the mission to seq 1.
    bench.until(lambda: not bench.v.armed, 400.0, "disarm at the drop-off")
    _assert_timing_close(bench, start)
    bench.until_text("Mission: 1 Takeoff", 2.0, since=len(bench.msgs) - 5)
    bench.step(1.0)
    current = [m for m in bench.msgs if m.get_type() == "MISSION_CURRENT"][-1]
    assert (current.seq, current.mission_state) == (1, M.MISSION_STATE_ACTIVE)
    lat, lon = bench.v.latlon()
    drop = recorded_upload("delivery_flight")[5]
    assert math.hypot(lat - drop.x / 1e7, lon - drop.y / 1e7) < 2e-6
    # The GCS resumes: MISSION_SET_CURRENT 6 runs the gripper on the ground at once.
    bench.send(M.MAVLink_mission_set_current_message(1, 1, 6))
    bench.step(1.0)
    assert bench.v.servo_pwm(9) == 1100
    bench.arm_and_start()
    home_after_rearm = bench.v.home
    bench.until(lambda: not bench.v.armed, 400.0, "final disarm")
    assert bench.reached(start) == recorded("delivery_flight", "MISSION_ITEM_REACHED", "seq")
    texts = _mission_texts(bench.texts(start))
    expected = _recorded_mission_texts("delivery_flight", after_s=40.0)
    assert texts == expected
    # Re-arming at the drop-off moved HOME there.
    assert home_after_rearm is not None
    moved = (home_after_rearm.lat - drop.x / 1e7, home_after_rearm.lon - drop.y / 1e7)
    assert math.hypot(*moved) < 2e-6


def test_delivery_flight_continue_is_one_flight_with_mis_options_4() -> None:
    bench = Bench(params={**GRIPPER, "MIS_OPTIONS": 4})
    assert bench.upload(recorded_upload("delivery_flight_continue")) == M.MAV_MISSION_ACCEPTED
    bench.ready()
    start = len(bench.msgs)
    bench.arm_and_start()
    bench.until(lambda: not bench.v.armed, 600.0, "final disarm")
    assert bench.reached(start) == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    expected = _recorded_mission_texts("delivery_flight_continue", after_s=40.0)
    got = _mission_texts(bench.texts(start))
    assert got == expected[:len(got)]
    assert "Disarming motors" in got and got.count("Arming motors") == 1
    assert bench.v.home is not None and abs(bench.v.home.lat - CMAC.lat) < 1e-6


def test_ground_delay_longer_than_disarm_delay_disarms_and_resets() -> None:
    bench = Bench(params={"MIS_OPTIONS": 4})
    north = offset(CMAC, 40.0, 0.0)
    items = [item(0, 16, CMAC.lat, CMAC.lon, 0, frame=0),
             item(1, 22, z=10), item(2, 21, *north, 0),
             item(3, 93, frame=2, p1=15, p2=-1, p3=-1, p4=-1),
             item(4, 22, z=10), item(5, 21, CMAC.lat, CMAC.lon, 0)]
    assert bench.upload(items) == 0
    bench.ready()
    start = len(bench.msgs)
    bench.arm_and_start()
    bench.until_text("Delaying 15 sec", 200.0, since=start)
    landed_at = bench.t
    bench.until(lambda: not bench.v.armed, 20.0, "disarm during the ground delay")
    assert 9.0 <= bench.t - landed_at <= 12.0
    assert bench.reached(start) == [1, 2]
    bench.step(0.5)
    assert bench.texts()[-1] == "Mission: 1 Takeoff"


def test_auto_refuses_to_start_on_the_ground_without_takeoff() -> None:
    bench = Bench()
    north = offset(CMAC, 50.0, 0.0)
    assert bench.upload([item(0, 16, frame=0), item(1, 16, *north, 20)]) == 0
    bench.ready()
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_MISSION_START) == M.MAV_RESULT_FAILED
    assert "Auto: Missing Takeoff Cmd" in bench.texts(since)
    assert bench.v.mode == 4


def test_arm_refused_before_the_ekf_then_accepted_and_home_moves() -> None:
    bench = Bench()
    bench.step(4.0)
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    kinds = [m.get_type() for m in bench.msgs[since:]]
    assert kinds[0] == "COMMAND_ACK" and "STATUSTEXT" in kinds
    assert bench.texts(since)[0] == "Arm: Accels inconsistent"
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0  # GUIDED before the EKF: accepted
    bench.step(7.0)
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    bench.until_text("PreArm: Need Position Estimate", 40.0)
    bench.ready()
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    assert "Arming motors" in bench.texts(since)
    assert any(m.get_type() == "HOME_POSITION" for m in bench.msgs[since:])
    armed_at = bench.t
    bench.until_text("Disarming motors", 15.0, since=since)
    assert 9.5 <= bench.t - armed_at <= 10.6


def test_ekf_timeline_and_system_status() -> None:
    bench = Bench()
    bench.ready()
    ekf = [(round(m.sim_t), m.flags) for m in bench.msgs if m.get_type() == "EKF_STATUS_REPORT"]
    flags = [f for _, f in ekf]
    assert flags[0] == 0x400 and 0xA7 in flags and flags[-1] == 0x33F
    first_ready = next(t for t, f in ekf if f == 0x33F)
    assert 40 <= first_ready <= 44
    gps = [m for m in bench.msgs if m.get_type() == "GPS_RAW_INT" and m.fix_type >= 3]
    assert {m.fix_type for m in bench.msgs if m.get_type() == "GPS_RAW_INT"} == {0, 6}
    assert 9.5 <= gps[0].sim_t <= 11.0
    homes = [m for m in bench.msgs if m.get_type() == "HOME_POSITION"]
    assert homes and 19.5 <= homes[0].sim_t <= 21.0


def test_guided_takeoff_goto_and_rtl_lands_and_disarms() -> None:
    bench = Bench()
    bench.ready()
    bench.takeoff(20.0)
    target = offset(CMAC, 200.0, 0.0)
    bench.send(M.MAVLink_set_position_target_global_int_message(
        0, 1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0xFF8, round(target[0] * 1e7),
        round(target[1] * 1e7), 20, 0, 0, 0, 0, 0, 0, 0, 0))
    bench.until(lambda: math.hypot(*[a - b for a, b in zip(bench.v.latlon(), target,
                                                             strict=True)]) < 2e-5, 60.0, "goto")
    assert bench.command(M.MAV_CMD_NAV_RETURN_TO_LAUNCH) == 0
    assert bench.v.mode == 6
    bench.until(lambda: bench.v.alt_rel_m() > 14.5, 30.0, "RTL climb to RTL_ALT 15 m or more")
    bench.until(lambda: not bench.v.armed, 200.0, "RTL landing")
    lat, lon = bench.v.latlon()
    assert math.hypot(lat - CMAC.lat, lon - CMAC.lon) < 3e-5
    assert bench.v.mode == 6


def test_cruise_speed_is_capped_by_angle_max() -> None:
    bench = Bench(params={"WPNAV_SPEED": 1500})
    far = offset(CMAC, 1500.0, 0.0)
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=30),
                         item(2, 16, *far, 30), item(3, 20)]) == 0
    bench.ready()
    bench.arm_and_start()
    bench.until(lambda: bench.v.runner.current_seq == 2, 60.0, "leg start")
    bench.step(40.0)
    assert 10.0 < bench.v.phys.groundspeed_ms < 10.6
    assert -0.53 < bench.v.phys.pitch_rad < -0.50
    assert 28.0 < bench.v.battery.current_a < 33.0


def test_pause_and_continue_in_auto() -> None:
    bench = Bench()
    far = offset(CMAC, 600.0, 0.0)
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=20), item(2, 16, *far, 20),
                         item(3, 21)]) == 0
    bench.ready()
    bench.arm_and_start()
    bench.until(lambda: bench.v.runner.current_seq == 2, 60.0, "leg")
    bench.step(10.0)
    assert bench.command(M.MAV_CMD_DO_PAUSE_CONTINUE, 0) == 0
    bench.step(8.0)
    assert bench.v.phys.groundspeed_ms < 0.2
    paused_at = bench.v.latlon()
    bench.step(3.0)
    assert bench.v.latlon() == pytest.approx(paused_at, abs=1e-7)
    assert bench.command(M.MAV_CMD_DO_PAUSE_CONTINUE, 1) == 0
    bench.step(5.0)
    assert bench.v.phys.groundspeed_ms > 3.0
    # BRAKE then AUTO resumes the same item.
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 17) == 0
    bench.step(5.0)
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 3) == 0
    bench.step(1.0)
    assert bench.v.runner.current_seq == 2 and bench.texts()[-1] == "Mission: 2 WP"
    bench.until(lambda: not bench.v.armed, 300.0, "mission end")
    assert bench.reached()[-1] == 2


def test_land_mode_and_auto_disarm() -> None:
    bench = Bench()
    bench.ready()
    bench.takeoff(10.0)
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_NAV_LAND) == 0
    bench.until(lambda: not bench.v.armed, 60.0, "land")
    bench.step(2.0)
    texts = bench.texts(since)
    assert texts[0].startswith("SIM Hit ground at 0.5") and texts[-1] == "Disarming motors"
    states = [m.landed_state for m in bench.msgs[since:] if m.get_type() == "EXTENDED_SYS_STATE"]
    assert M.MAV_LANDED_STATE_LANDING in states and states[-1] == M.MAV_LANDED_STATE_ON_GROUND


def test_do_reposition_in_guided_and_speed_reset_on_mode_change() -> None:
    bench = Bench()
    bench.ready()
    bench.takeoff(15.0)
    target = offset(CMAC, 0.0, 150.0)
    since = len(bench.msgs)
    bench.send(M.MAVLink_command_int_message(
        1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, M.MAV_CMD_DO_REPOSITION, 0, 0, 4.0, 0, 0, 0,
        round(target[0] * 1e7), round(target[1] * 1e7), 15.0))
    ack = next(m for m in bench.msgs[since:] if m.get_type() == "COMMAND_ACK")
    assert ack.result == M.MAV_RESULT_ACCEPTED
    bench.step(15.0)
    assert bench.v.phys.groundspeed_ms == pytest.approx(4.0, abs=0.2)
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 5) == 0
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    assert bench.v.wp_speed_ms == pytest.approx(10.0)


def test_prearm_health_bit_in_guided_waits_for_the_ekf() -> None:
    bench = Bench()
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    bench.step(25.0)
    status = [m for m in bench.msgs if m.get_type() == "SYS_STATUS"][-1]
    assert status.onboard_control_sensors_present & (1 << 28)
    assert not status.onboard_control_sensors_health & (1 << 28)
    bench.ready()
    bench.step(1.0)
    status = [m for m in bench.msgs if m.get_type() == "SYS_STATUS"][-1]
    assert status.onboard_control_sensors_health & (1 << 28)


def test_auto_by_set_mode_on_the_ground_does_not_take_off_without_mission_start() -> None:
    # ArduCopter needs auto_armed (MISSION_START, or the throttle raised) to take off in AUTO.
    bench = Bench()
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=20), item(2, 21)]) == 0
    bench.ready()
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 3) == 0
    bench.step(8.0)
    assert bench.v.alt_rel_m() < 0.1 and "Mission: 1 Takeoff" in bench.texts()
    bench.until(lambda: not bench.v.armed, 10.0, "auto-disarm on the ground")


def test_mission_start_in_the_air_climbs_to_the_takeoff_altitude_first() -> None:
    bench = Bench()
    far = offset(CMAC, 80.0, 0.0)
    assert bench.upload([item(0, 16, frame=0), item(1, 22, z=30), item(2, 16, *far, 30),
                         item(3, 21)]) == 0
    bench.ready()
    bench.takeoff(10.0)
    assert bench.command(M.MAV_CMD_MISSION_START) == 0
    bench.until(lambda: 1 in bench.reached(), 40.0, "takeoff item")
    assert bench.v.alt_rel_m() > 29.0
    assert bench.command(M.MAV_CMD_MISSION_START, 9) == M.MAV_RESULT_DENIED
