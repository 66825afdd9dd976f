"""Parameter protocol quirks, streams and REQUEST_MESSAGE, reboot persistence, .parm files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import Bench

from sitl.sim import load_parm_file

M = mavlink
pytestmark = pytest.mark.sim


def _read(bench: Bench, name: str = "", index: int = -1) -> list:
    since = len(bench.msgs)
    bench.send(M.MAVLink_param_request_read_message(1, 1, name.encode(), index))
    bench.step(0.1)
    return [m for m in bench.msgs[since:] if m.get_type() == "PARAM_VALUE"
            and (not name or m.param_id == name) and m.param_id != "MIS_TOTAL"]


def test_param_list_is_complete_and_announced() -> None:
    bench = Bench(streams_hz=0)
    bench.step(3.0)
    since = len(bench.msgs)
    bench.send(M.MAVLink_param_request_list_message(1, 1))
    texts = bench.texts(since)[:3]
    assert texts == ["ArduCopter V4.7.0-dev (90700977)", "7d1219c7c4c5404aaa1f6d2a48adfda4",
                     "Frame: QUAD/PLUS"]
    values = [m for m in bench.msgs[since:] if m.get_type() == "PARAM_VALUE"]
    count = values[0].param_count
    assert sorted(m.param_index for m in values) == list(range(count))
    assert values[0].param_id == "FORMAT_VERSION"
    assert {"MAV_SYSID", "RTL_ALT", "WPNAV_SPEED", "BATT_CAPACITY", "FENCE_ENABLE",
            "MIS_OPTIONS", "DISARM_DELAY", "GRIP_ENABLE", "FS_GCS_ENABLE",
            "ARMING_CHECK"} <= {m.param_id for m in values}


def test_reads_by_name_and_index_and_unknown_names() -> None:
    bench = Bench(streams_hz=0)
    bench.step(3.0)
    (value,) = _read(bench, "RTL_ALT")
    assert (value.param_value, value.param_type, value.param_index) == (1500, 6, 65535)
    assert _read(bench, "SYSID_THISMAV") == [] and _read(bench, "NO_SUCH_PARAM") == []
    (first,) = _read(bench, index=0)
    assert (first.param_id, first.param_index) == ("FORMAT_VERSION", 0)
    assert _read(bench, index=5000) == []
    since = len(bench.msgs)
    bench.send(M.MAVLink_param_set_message(1, 1, b"NO_SUCH_PARAM", 1, 9))
    bench.step(0.1)
    assert not [m for m in bench.msgs[since:] if m.get_type() == "PARAM_VALUE"]


def test_set_echoes_in_the_vehicle_type_accepts_out_of_range_and_same_value() -> None:
    bench = Bench(streams_hz=0)
    echo = bench.set_param("RTL_ALT", 2500)
    assert (echo.param_value, echo.param_type, echo.param_index) == (2500, 6, 65535)
    assert bench.set_param("FENCE_ACTION", 99).param_value == 99
    assert bench.set_param("DISARM_DELAY", 12.7).param_value == 12
    same = bench.set_param("MAV_SYSID", 1)
    assert same.param_type == M.MAV_PARAM_TYPE_REAL32


def test_hidden_groups_readable_and_param_count_grows_when_enabled() -> None:
    bench = Bench(streams_hz=0)
    (grip_type,) = _read(bench, "GRIP_TYPE")
    base = grip_type.param_count
    assert bench.set_param("GRIP_ENABLE", 1).param_count == base + 7
    assert bench.set_param("WINCH_TYPE", 1).param_count == base + 10


def test_parameters_persist_across_reboot_but_streams_do_not() -> None:
    bench = Bench(streams_hz=4)
    bench.step(3.0)
    assert [m for m in bench.msgs if m.get_type() == "GLOBAL_POSITION_INT"]
    bench.set_param("RTL_ALT", 3000)
    assert bench.command(M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1) == 0
    bench.step(0.1)
    since = len(bench.msgs)
    bench.step(5.0)
    kinds = {m.get_type() for m in bench.msgs[since:]}
    assert kinds <= {"HEARTBEAT", "STATUSTEXT", "PARAM_VALUE", "TIMESYNC"}
    assert _read(bench, "RTL_ALT")[0].param_value == 3000


def test_reboot_refused_while_armed() -> None:
    bench = Bench()
    bench.ready()
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    assert bench.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
    assert bench.command(M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1) == M.MAV_RESULT_FAILED


def _rate_hz(bench: Bench, kind: str, since: int) -> float:
    times = [m.sim_t for m in bench.msgs[since:] if m.get_type() == kind]
    return (len(times) - 1) / (times[-1] - times[0])


def test_set_message_interval_overrides_the_stream_rate() -> None:
    bench = Bench(streams_hz=4)
    for msgid, interval in ((33, 500_000), (1, 1_000_000), (242, 5_000_000)):
        assert bench.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, msgid, interval) == 0
    since = len(bench.msgs)
    bench.step(30.0)
    assert _rate_hz(bench, "GLOBAL_POSITION_INT", since) == pytest.approx(2.0, rel=0.05)
    assert _rate_hz(bench, "SYS_STATUS", since) == pytest.approx(1.0, rel=0.05)
    assert _rate_hz(bench, "ATTITUDE", since) == pytest.approx(4.0, rel=0.05)
    homes = [m for m in bench.msgs[since:] if m.get_type() == "HOME_POSITION"]
    assert 1 <= len(homes) <= 3  # home exists only from ~20 s
    syncs = [m for m in bench.msgs if m.get_type() == "TIMESYNC"]
    assert syncs and all(m.tc1 == 0 for m in syncs)


def test_request_message_acks_first_and_home_only_once_set() -> None:
    bench = Bench(streams_hz=0)
    bench.step(3.0)
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_REQUEST_MESSAGE, 148) == 0
    kinds = [m.get_type() for m in bench.msgs[since:] if m.get_type() != "HEARTBEAT"]
    assert kinds[:2] == ["COMMAND_ACK", "AUTOPILOT_VERSION"]
    version = next(m for m in bench.msgs[since:] if m.get_type() == "AUTOPILOT_VERSION")
    assert version.flight_sw_version == 0x04070000
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_REQUEST_MESSAGE, 242) == 0
    bench.step(1.0)
    assert not [m for m in bench.msgs[since:] if m.get_type() == "HOME_POSITION"]
    bench.step(20.0)
    since = len(bench.msgs)
    assert bench.command(M.MAV_CMD_REQUEST_MESSAGE, 242) == 0
    assert [m for m in bench.msgs[since:] if m.get_type() == "HOME_POSITION"]


def test_parm_files(tmp_path: Path) -> None:
    good = tmp_path / "a.parm"
    good.write_text("# comment\nGRIP_ENABLE 1\nSERVO9_FUNCTION,28\n\nUNKNOWN_PARAM 3\n")
    assert load_parm_file(good) == {"GRIP_ENABLE": 1.0, "SERVO9_FUNCTION": 28.0,
                                    "UNKNOWN_PARAM": 3.0}
    bad = tmp_path / "b.parm"
    bad.write_text("GRIP_ENABLE 1\nFENCE_RADIUS lots\n")
    with pytest.raises(ValueError, match=r"b.parm:2"):
        load_parm_file(bad)
    repo = Path(__file__).resolve().parents[2] / "sitl" / "params"
    delivery = load_parm_file(repo / "delivery.parm")
    assert delivery["GRIP_ENABLE"] == 1 and delivery["SERVO9_FUNCTION"] == 28
    bench = Bench(params={**load_parm_file(repo / "copter.parm"), **delivery})
    bench.step(5.0)
    assert "Gripper load grabbed" in bench.texts()  # defaults apply at boot, no reboot needed


def test_sys_status_and_gps_raw_like_the_recorded_boot() -> None:
    from test_sim_support import recorded

    bench = Bench(streams_hz=1)
    assert bench.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
    bench.step(45.0)

    def masks(msgs: list) -> set:
        return {(m["onboard_control_sensors_present"], m["onboard_control_sensors_health"])
                for m in msgs}

    ours = masks([m.to_dict() for m in bench.msgs if m.get_type() == "SYS_STATUS"])
    theirs = masks([r["fields"] for r in recorded("boot_to_ready", "SYS_STATUS")])
    assert (0x5371FC2F, 0x4771FC2F) in ours & theirs  # GPS fix, EKF not yet ready
    assert (0x5371FC2F, 0x5771FC2F) in ours & theirs  # ready: prearm bit 28 healthy
    gps = [m for m in bench.msgs if m.get_type() == "GPS_RAW_INT" and m.fix_type == 6][-1]
    assert (gps.eph, gps.epv, gps.satellites_visible) == (121, 200, 10)
