"""Battery, GCS and fence failsafes against the recorded sequences."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, Bench, item, offset, recorded

M = mavlink
pytestmark = pytest.mark.sim


def _status(bench: Bench) -> int:
    return [m for m in bench.msgs if m.get_type() == "HEARTBEAT"][-1].system_status


def _goto(bench: Bench, north_m: float, alt_m: float = 20.0) -> None:
    lat, lon = offset(CMAC, north_m, 0.0)
    bench.send(M.MAVLink_set_position_target_global_int_message(
        0, 1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0xFF8, round(lat * 1e7), round(lon * 1e7),
        alt_m, 0, 0, 0, 0, 0, 0, 0, 0))


def test_battery_failsafe_sequence_matches_the_recording() -> None:
    bench = Bench(params={"BATT_FS_LOW_ACT": 2, "BATT_FS_CRT_ACT": 1})
    bench.ready()
    bench.takeoff(20.0)
    _goto(bench, 100.0)
    bench.step(10.0)
    start = len(bench.msgs)
    bench.set_param("BATT_LOW_VOLT", 12.9)
    raised = bench.t
    bench.until_text("Battery Failsafe", 15.0, since=start)
    assert 10.0 <= bench.t - raised <= 10.6
    assert bench.v.mode == 6
    bench.step(1.5)
    assert _status(bench) == M.MAV_STATE_CRITICAL
    batt = [m for m in bench.msgs if m.get_type() == "BATTERY_STATUS"][-1]
    assert batt.charge_state == M.MAV_BATTERY_CHARGE_STATE_LOW
    sys_status = [m for m in bench.msgs if m.get_type() == "SYS_STATUS"][-1]
    assert not sys_status.onboard_control_sensors_health & (1 << 25)
    bench.set_param("BATT_CRT_VOLT", 12.8)
    bench.until(lambda: bench.v.mode == 9, 12.0, "critical failsafe LAND")
    bench.until(lambda: not bench.v.armed, 120.0, "landing")
    bench.step(1.5)
    texts = [t for t in bench.texts(start) if t.startswith(("Battery", "Disarming"))]
    assert [t.split(" 12.")[0] for t in texts] == ["Battery 1 is low", "Battery Failsafe",
                                                     "Battery 1 is critical", "Battery Failsafe",
                                                     "Disarming motors"]
    recorded_texts = [r["fields"]["text"] for r in recorded("failsafe_battery", "STATUSTEXT")]
    assert texts[0].startswith("Battery 1 is low 12.60V used ") and texts[0].endswith(" mAh")
    assert any(t.startswith("Battery 1 is low 12.60V used") for t in recorded_texts)
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    assert bench.texts(since)[:2] == ["Arm: Battery 1 low voltage failsafe",
                                      "Arm: Battery failsafe"]
    assert _status(bench) == M.MAV_STATE_CRITICAL


def test_battery_drained_with_voltage_sag_triggers_low_failsafe() -> None:
    bench = Bench(params={"SIM_BATT_CAP_AH": 3.3, "BATT_LOW_VOLT": 11.0, "BATT_FS_LOW_ACT": 2})
    bench.ready()
    bench.takeoff(15.0)
    v0 = bench.v.battery.voltage_v
    bench.v.battery.drain_mah(2000.0)
    bench.until_text("Battery Failsafe", 15.0)
    assert bench.v.battery.voltage_v < 11.0 < v0
    assert bench.v.mode == 6


def test_low_mah_failsafe_triggers_without_timer() -> None:
    bench = Bench(params={"BATT_LOW_MAH": 1000, "BATT_FS_LOW_ACT": 1})
    bench.ready()
    bench.takeoff(15.0)
    bench.v.battery.drain_mah(2400.0)
    bench.step(0.1)
    assert bench.v.mode == 9


def test_gcs_failsafe_only_heartbeats_count_and_mode_stays_rtl() -> None:
    bench = Bench(params={"FS_GCS_ENABLE": 1})
    bench.ready()
    bench.takeoff(20.0)
    bench.heartbeat = False
    lost_at = bench.t
    start = len(bench.msgs)

    def other_traffic() -> bool:
        # Commands and a heartbeat from another system do not keep the failsafe quiet.
        bench.send(M.MAVLink_command_long_message(1, 1, M.MAV_CMD_REQUEST_MESSAGE, 0, 2,
                                                  0, 0, 0, 0, 0, 0))
        other = M.MAVLink(None, srcSystem=254, srcComponent=190)
        hb = M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID, 0, 0, 0, 3)
        hb.pack(other)
        bench.v.receive(hb)
        return "GCS Failsafe" in bench.texts(start)

    bench.until(other_traffic, 10.0, "GCS failsafe")
    assert 4.9 <= bench.t - lost_at <= 6.2
    assert bench.v.mode == 6
    bench.step(1.2)
    assert _status(bench) == M.MAV_STATE_CRITICAL
    bench.heartbeat = True
    bench.until_text("GCS Failsafe Cleared", 1.5, since=start)
    bench.step(1.5)
    assert _status(bench) == M.MAV_STATE_ACTIVE and bench.v.mode == 6
    bench.until(lambda: not bench.v.armed, 120.0, "RTL landing")


def _fence_items() -> list:
    incl = [(-35.3497863, 149.1652300), (-35.3590971, 149.1809446), (-35.3741623, 149.1749421),
            (-35.3741623, 149.1555179), (-35.3590971, 149.1495154)]
    excl = [(-35.3627220, 149.1645691), (-35.3627220, 149.1658909), (-35.3621830, 149.1658909),
            (-35.3621830, 149.1645691)]
    items = [item(i, 5001, lat, lon, frame=0, p1=5, mission_type=1)
             for i, (lat, lon) in enumerate(incl)]
    items += [item(5 + i, 5002, lat, lon, frame=0, p1=4, mission_type=1)
              for i, (lat, lon) in enumerate(excl)]
    return items


def test_fence_breach_sequence_matches_the_recording() -> None:
    bench = Bench()
    assert bench.upload(_fence_items(), mission_type=1) == 0
    bench.set_param("FENCE_ENABLE", 1)
    bench.until_text("PreArm: Fence enabled, need position estimate", 40.0, since=0)
    bench.ready()
    bench.takeoff(20.0)
    _goto(bench, 90.0)  # inside the exclusion zone: silently ignored
    before = bench.v.latlon()
    bench.step(6.0)
    assert bench.v.latlon() == pytest.approx(before, abs=2e-6)
    start = len(bench.msgs)
    _goto(bench, 140.0)  # beyond the zone: the path crosses it
    bench.until(lambda: bench.v.mode == 6, 30.0, "fence RTL")
    bench.step(1.0)
    status = [m for m in bench.msgs if m.get_type() == "FENCE_STATUS"][-1]
    assert (status.breach_status, status.breach_count, status.breach_type) == (1, 1, 3)
    assert _status(bench) == M.MAV_STATE_ACTIVE
    bench.until_text("Fence breach cleared", 15.0, since=start)
    texts = [t for t in bench.texts(start) if "fence" in t.lower() or "recovery" in t]
    expected = [r["fields"]["text"] for r in recorded("failsafe_fence", "STATUSTEXT")
                if "fence breach" in r["fields"]["text"].lower() or "breached" in
                r["fields"]["text"] or "recovery" in r["fields"]["text"]]
    assert texts == expected
    bench.until(lambda: not bench.v.armed, 150.0, "RTL landing")


def test_no_fence_status_while_the_fence_is_disabled() -> None:
    bench = Bench()
    bench.step(5.0)
    assert not [m for m in bench.msgs if m.get_type() == "FENCE_STATUS"]
    assert bench.command(M.MAV_CMD_DO_FENCE_ENABLE, 1) == 0
    bench.step(2.0)
    assert [m for m in bench.msgs if m.get_type() == "FENCE_STATUS"]
    assert bench.v.params.get("FENCE_ENABLE") == 0  # DO_FENCE_ENABLE leaves the parameter


def test_rc_override_from_the_gcs_also_counts_as_alive() -> None:
    bench = Bench(params={"FS_GCS_ENABLE": 1})
    bench.ready()
    bench.takeoff(10.0)
    bench.heartbeat = False
    end = bench.t + 12.0
    while bench.t < end:
        bench.send(M.MAVLink_rc_channels_override_message(1, 1, *([0] * 18)))
        bench.step(1.0)
    assert "GCS Failsafe" not in bench.texts() and bench.v.mode == 4
