"""The ArduPilot SITL launcher, its pytest plugin and ``drone-delivery sitl``, run for real.

The processes are ``tests/sitl/fake_arducopter.py``, a stand-in that takes arducopter's command
line and runs the built-in simulator (see its docstring): the launcher code is the one that runs
real SITL, so process handling, the port layout, working directories, logs, the readiness wait
and the clean stop are exercised without an ArduPilot build.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from groundcontrol.flight.preflight import distance_m
from groundcontrol.flight.ready import NotReady, ekf_ready_check, wait_vehicle_ready
from groundcontrol.mavlink.link import Link
from sitl.ardupilot import (
    DELIVERY_OVERLAY,
    MAX_INSTANCE,
    ArduPilotSitl,
    Home,
    SitlError,
    SitlNotFound,
    autotest_copter_parm,
    find_arducopter,
    find_defaults,
    free_instance,
    sitl_defaults,
    sitl_port,
)

pytestmark = pytest.mark.sim

REPO = Path(__file__).resolve().parents[2]
SPEEDUP = 50.0
HOME = Home(-35.4175, 149.066, 590.0, 90.0)


def _instance(count: int = 1) -> int:
    return free_instance(count, start=random.randint(20, 240))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); the launcher waits for its children, so none remain.
    return True


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- finding things --------------------------------------------------------------------------

def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_find_arducopter_prefers_option_then_env_then_path(tmp_path, monkeypatch):
    opt, env, on_path = (_executable(tmp_path / d / "arducopter") for d in ("a", "b", "c"))
    monkeypatch.setenv("ARDUPILOT_SITL", str(env))
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_arducopter(opt) == opt
    assert find_arducopter() == env
    monkeypatch.delenv("ARDUPILOT_SITL")
    assert find_arducopter() == on_path


def test_missing_arducopter_names_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("ARDUPILOT_SITL", str(tmp_path / "nope"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SitlNotFound, match=r"ARDUPILOT_SITL=.*nope.*not an executable"):
        find_arducopter()
    monkeypatch.delenv("ARDUPILOT_SITL")
    with pytest.raises(SitlNotFound, match="ARDUPILOT_SITL unset, not on PATH"):
        find_arducopter()


def test_defaults_come_from_the_option_env_or_the_ardupilot_tree(tmp_path, monkeypatch):
    tree = tmp_path / "ardupilot"
    binary = _executable(tree / "build" / "sitl" / "bin" / "arducopter")
    parm = tree / "Tools" / "autotest" / "default_params" / "copter.parm"
    parm.parent.mkdir(parents=True)
    parm.write_text("FRAME_CLASS 1\n")
    monkeypatch.delenv("ARDUPILOT_DEFAULTS", raising=False)
    assert autotest_copter_parm(binary) == parm
    assert sitl_defaults(binary) == [parm, DELIVERY_OVERLAY]
    assert sitl_defaults(binary, overlay=False) == [parm]
    other = tmp_path / "mine.parm"
    other.write_text("X 1\n")
    monkeypatch.setenv("ARDUPILOT_DEFAULTS", f"{other},{parm}")
    assert find_defaults() == [other, parm]
    assert sitl_defaults(binary, str(other)) == [other, DELIVERY_OVERLAY]
    with pytest.raises(SitlNotFound, match=r"missing\.parm"):
        find_defaults(str(tmp_path / "missing.parm"))
    monkeypatch.delenv("ARDUPILOT_DEFAULTS")
    with pytest.raises(SitlNotFound, match="ARDUPILOT_DEFAULTS"):
        sitl_defaults(_executable(tmp_path / "lonely" / "arducopter"))


def test_delivery_overlay_sets_what_missions_need():
    values = dict(line.split()[:2] for line in DELIVERY_OVERLAY.read_text().splitlines()
                  if line.strip() and not line.startswith("#"))
    assert values["GRIP_ENABLE"] == "1" and values["SERVO9_FUNCTION"] == "28"
    assert float(values["FENCE_RADIUS"]) > 150 and float(values["FENCE_ALT_MAX"]) >= 130


def test_command_line_is_arducopters(tmp_path, base_parm):
    sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=Path("/x/arducopter"),
                         defaults=[base_parm, DELIVERY_OVERLAY], speedup=10)
    assert sitl.command(3, 4, HOME) == [
        "/x/arducopter", "--model", "quad", "-I", "3", "--home",
        "-35.4175000,149.0660000,590.00,90", "--speedup", "10", "--sysid", "4", "-w",
        "--defaults", f"{base_parm.resolve()},{DELIVERY_OVERLAY}"]
    assert sitl_port(3) == 5790


def test_home_parse_rejects_bad_text():
    assert Home.parse("-35.1,149.2") == Home(-35.1, 149.2)
    for bad in ("1", "a,b", "95,0", "1,2,3,4,5"):
        with pytest.raises(ValueError, match="home"):
            Home.parse(bad)


# -- processes -------------------------------------------------------------------------------

def test_fleet_starts_ready_on_sitl_ports_and_stops_cleanly(
        tmp_path, fake_binary, base_parm, monkeypatch):
    monkeypatch.setenv("ARDUPILOT_DEFAULTS", str(base_parm))
    first = _instance(2)
    homes = [HOME, Home(HOME.lat, HOME.lon + 0.001, HOME.alt_amsl_m, 0.0)]
    sitl = ArduPilotSitl(homes=homes, log_dir=tmp_path, binary=fake_binary,
                         defaults=sitl_defaults(fake_binary), speedup=SPEEDUP,
                         first_instance=first, first_sysid=7,
                         ready=ekf_ready_check(SPEEDUP), ready_timeout_s=30)
    with sitl:
        assert sitl.endpoints == [f"tcp:127.0.0.1:{5760 + 10 * i}" for i in (first, first + 1)]
        pids = sitl.pids
        for i, (url, sysid, home) in enumerate(zip(sitl.endpoints, (7, 8), homes, strict=True)):
            # The readiness check has disconnected: a new client gets the same, ready vehicle.
            report = wait_vehicle_ready(url, timeout_s=10, speedup=SPEEDUP)
            assert report.sysid == sysid and "EKF flags" in report.detail
            assert (tmp_path / f"instance-{first + i}" / "eeprom.bin").is_file()
            with Link(url, heartbeat_period_s=0.05) as link:
                channel = link.wait_vehicle(sysid, timeout_s=10)
                with channel.inbox(["HOME_POSITION"]) as box:
                    channel.send(link_request_home(sysid))
                    msg = box.get(5.0)
                assert msg is not None
                assert msg.latitude == round(home.lat * 1e7)
                assert msg.longitude == round(home.lon * 1e7)
    assert not any(_alive(pid) for pid in pids)
    assert not any(_listening(5760 + 10 * i) for i in (first, first + 1))
    for i in (first, first + 1):
        log = (tmp_path / f"arducopter-{i}.log").read_text()
        assert f"bind port {5760 + 10 * i} for SERIAL0" in log
        assert f"Loaded defaults from {DELIVERY_OVERLAY}" in log
        assert "exiting on signal 15" in log


def link_request_home(sysid: int):
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    return mavlink.MAVLink_command_long_message(
        sysid, 1, mavlink.MAV_CMD_REQUEST_MESSAGE, 0, mavlink.MAVLINK_MSG_ID_HOME_POSITION,
        0, 0, 0, 0, 0, 0)


def test_bad_command_line_fails_start_with_the_log(tmp_path, fake_binary):
    sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=fake_binary,
                         first_instance=_instance(), extra_args=["--no-such-option"])
    with pytest.raises(SitlError, match=r"exited with 1(.|\n)*no-such-option") as err:
        sitl.start()
    assert err.value.log_path == tmp_path / f"arducopter-{sitl.first_instance}.log"
    assert sitl.endpoints == []


def test_a_dying_instance_is_reported_with_its_log(tmp_path, fake_binary):
    sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=fake_binary, speedup=SPEEDUP,
                         first_instance=_instance(), extra_args=["--fake-die-after", "0.5"])
    with sitl:
        sitl.check_alive()
        deadline = time.monotonic() + 15
        with pytest.raises(SitlError, match=r"died \(exit 3\)(.|\n)*crashing on purpose"):
            while time.monotonic() < deadline:
                sitl.check_alive()
                time.sleep(0.1)


def test_not_ready_in_time_names_the_instance_and_the_state(tmp_path, fake_binary):
    # At speedup 1 the EKF needs ~40 s: a 2 s wait must fail, naming what was missing.
    sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=fake_binary, speedup=1.0,
                         first_instance=_instance(), ready=ekf_ready_check(1.0),
                         ready_timeout_s=2.0)
    with pytest.raises(SitlError, match=r"not ready: .*not ready after .*EKF flags") as err:
        sitl.__enter__()
    assert isinstance(err.value.__cause__, NotReady)
    assert sitl.endpoints == []  # stopped on the way out


def test_stop_kills_an_instance_that_ignores_sigterm(tmp_path, fake_binary):
    sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=fake_binary, speedup=SPEEDUP,
                         first_instance=_instance(), extra_args=["--fake-ignore-sigterm"])
    sitl.start()
    pid = sitl.pids[0]
    t0 = time.monotonic()
    sitl.stop(timeout_s=1.0)
    assert not _alive(pid) and time.monotonic() - t0 < 8
    assert "ignoring SIGTERM" in (tmp_path / f"arducopter-{sitl.first_instance}.log").read_text()


def test_a_taken_port_is_refused_before_starting(tmp_path, fake_binary):
    first = _instance()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", sitl_port(first)))
        blocker.listen(1)
        sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=fake_binary,
                             first_instance=first)
        with pytest.raises(SitlError, match=f"port {sitl_port(first)} .* already in use"):
            sitl.start()
        assert free_instance(1, start=first) != first


# -- the pytest plugin and the command -------------------------------------------------------

PLUGIN_TESTS = textwrap.dedent("""
    def test_absent(sitl_fleet, monkeypatch, tmp_path):
        monkeypatch.setenv("ARDUPILOT_SITL", "")
        monkeypatch.setenv("PATH", str(tmp_path))
        sitl_fleet(1)
        raise AssertionError("not skipped")

    def test_fails_after_start(sitl_fleet):
        sitl = sitl_fleet(1, speedup=50.0)
        assert len(sitl.endpoints) == 1
        assert False, "deliberate failure"
""")


def test_plugin_skips_without_arducopter_and_attaches_logs_to_failures(
        tmp_path, fake_binary, base_parm):
    (tmp_path / "test_plugin_probe.py").write_text(PLUGIN_TESTS)
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "sitl.pytest_plugin",
         "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(tmp_path),
         str(tmp_path / "test_plugin_probe.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "ARDUPILOT_SITL": str(fake_binary),
             "ARDUPILOT_DEFAULTS": str(base_parm), "PYTHONPATH": python_path})
    out = result.stdout
    assert result.returncode == 1 and "1 failed, 1 skipped" in out, out + result.stderr
    assert "ArduPilot SITL not usable here" in out and "not on PATH" in out
    assert "deliberate failure" in out
    assert out.count("SITL log arducopter-") == 1
    assert "arducopter STAND-IN" in out  # the log's own first line


def test_sitl_command_runs_until_interrupted(tmp_path, fake_binary, base_parm):
    first = _instance(2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundcontrol.cli.main", "sitl", "--count", "2",
         "--home", "-35.4175,149.066,590,90", "--sitl", str(fake_binary),
         "--defaults", str(base_parm), "--speedup", str(SPEEDUP), "--instance", str(first),
         "--log-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("running"):
                break
        ready = [line.split() for line in lines if line.startswith("ready")]
        assert [(r[2], r[3]) for r in ready] == [
            ("1", f"tcp:127.0.0.1:{sitl_port(first)}"),
            ("2", f"tcp:127.0.0.1:{sitl_port(first + 1)}")]
        spread = [Home.parse(r[5]) for r in ready]
        assert spread[0] == Home(-35.4175, 149.066, 590.0, 90.0)
        gap_m = distance_m(spread[0].lat, spread[0].lon, spread[1].lat, spread[1].lon)
        assert spread[1].lat == spread[0].lat and gap_m == pytest.approx(5.0, abs=0.05)
        report = wait_vehicle_ready(f"tcp:127.0.0.1:{sitl_port(first + 1)}", 10, SPEEDUP)
        assert report.sysid == 2
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped; logs in" in out
    assert not _listening(sitl_port(first)) and not _listening(sitl_port(first + 1))
    assert "exiting on signal 15" in (tmp_path / f"arducopter-{first}.log").read_text()


def test_sitl_command_bad_home_is_exit_2(capsys):
    from groundcontrol.cli.main import main

    assert main(["sitl", "--home", "1,2", "--home", "3,4", "--count", "3"]) == 2
    assert "--home given 2 times for --count 3" in capsys.readouterr().err


def test_instance_numbers_stay_in_ardupilots_eight_bits(tmp_path, fake_binary):
    """``-I`` keeps 8 bits in ArduPilot: the launcher never picks or accepts more."""
    assert 0 <= free_instance(3, start=10_000) <= MAX_INSTANCE - 2
    assert free_instance(1, start=MAX_INSTANCE) <= MAX_INSTANCE
    sitl = ArduPilotSitl(homes=[HOME, HOME], log_dir=tmp_path, binary=fake_binary,
                         first_instance=MAX_INSTANCE)
    with pytest.raises(ValueError, match=r"-I 255..256: ArduPilot's instance number is 0..255"):
        sitl.start()
    assert not sitl.endpoints


def test_relative_paths_from_the_environment_become_absolute(tmp_path, monkeypatch):
    """The README's ARDUPILOT_SITL=../shared/ardupilot/arducopter: each instance runs in its
    own folder, so a relative path given there named nothing ('No such file')."""
    binary = _executable(tmp_path / "shared" / "arducopter")
    parm = tmp_path / "shared" / "copter.parm"
    parm.write_text("FRAME_CLASS 1\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ARDUPILOT_SITL", "../shared/arducopter")
    monkeypatch.setenv("ARDUPILOT_DEFAULTS", "../shared/copter.parm")
    assert find_arducopter() == binary.resolve() and find_arducopter().is_absolute()
    assert find_defaults() == [parm.resolve()]
