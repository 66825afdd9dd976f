"""``drone-delivery sitl`` with an airframe ``--profile`` and a ``--scenario``'s fleet.

The processes are ``tests/sitl/fake_arducopter.py`` (arducopter's command line in front of the
built-in simulator), so what is checked is the command line each instance gets, the instance
and sysid layout, the ready lines and the clean stop, not ArduCopter's flight.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from groundcontrol.cli.main import main
from groundcontrol.cli.sitl import PLAIN_QUAD, Copter, group_copters
from sitl.airframe import load_airframe
from sitl.ardupilot import Home, free_instance, sitl_port

REPO = Path(__file__).resolve().parents[2]
SPEEDUP = 50.0
HOME_ARG = "-35.4175,149.066,590,90"
CanberraCopy = Callable[[Path, int, tuple[str, ...], float], Path]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run_until_running(argv: list[str]) -> tuple[list[str], str, str, int]:
    """Run ``drone-delivery sitl ARGV`` until it prints "running", then Ctrl-C it; its ready
    lines split in words, its remaining stdout and stderr, and its exit status."""
    proc = subprocess.Popen([sys.executable, "-m", "groundcontrol.cli.main", "sitl", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("running"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert any(line.startswith("running") for line in lines), "".join(lines) + err
    return [line for line in lines if line.startswith("ready")], out, err, proc.returncode


def test_runs_group_consecutive_sysids_of_one_airframe() -> None:
    quad, winch = load_airframe("delivery-quad"), load_airframe("winch-quad")
    home = Home(0.0, 0.0)
    fleet = [Copter(home, 1, quad), Copter(home, 2, quad), Copter(home, 3, winch),
             Copter(home, 4, quad), Copter(home, 6, quad), Copter(home, 7, None)]
    runs = group_copters(fleet)
    assert [(offset, [c.sysid for c in run]) for offset, run in runs] == [
        (0, [1, 2]), (2, [3]), (3, [4]), (4, [6]), (5, [7])]
    assert group_copters([]) == []


@pytest.mark.sim
def test_profile_is_the_model_every_instance_flies(
        tmp_path: Path, fake_binary: Path, base_parm: Path) -> None:
    first = free_instance(2, start=random.randint(20, 240))
    ready, _, err, status = _run_until_running(
        ["--count", "2", "--home", HOME_ARG, "--profile", "winch-quad", "--sitl",
         str(fake_binary), "--defaults", str(base_parm), "--speedup", str(SPEEDUP),
         "--instance", str(first), "--log-dir", str(tmp_path)])
    assert status == 0, err
    assert [r.split()[2] for r in ready] == ["1", "2"]
    airframe = load_airframe("winch-quad")
    for i in (first, first + 1):
        log = (tmp_path / f"arducopter-{i}.log").read_text()
        assert "model quad:winch-quad.json " in log
        # Later defaults win: the airframe's parameters come after the base file.
        assert log.index(f"Loaded defaults from {base_parm}") < log.index(
            f"Loaded defaults from {airframe.parm_path}")
        assert (tmp_path / f"instance-{i}" / "winch-quad.json").is_file()


@pytest.mark.sim
def test_plain_quad_profile_has_no_airframe(
        tmp_path: Path, fake_binary: Path, base_parm: Path) -> None:
    first = free_instance(1, start=random.randint(20, 240))
    _, _, err, status = _run_until_running(
        ["--home", HOME_ARG, "--profile", PLAIN_QUAD, "--sitl", str(fake_binary),
         "--defaults", str(base_parm), "--speedup", str(SPEEDUP), "--instance", str(first),
         "--log-dir", str(tmp_path)])
    assert status == 0, err
    log = (tmp_path / f"arducopter-{first}.log").read_text()
    assert "model quad instance" in log and "airframes" not in log


@pytest.mark.sim
def test_scenario_starts_one_instance_per_drone_at_its_depot(
        tmp_path: Path, fake_binary: Path, base_parm: Path,
        canberra_copy: CanberraCopy) -> None:
    folder = canberra_copy(tmp_path / "s", 2, ("CBR-060",), 60.0)
    logs = tmp_path / "logs"
    first = free_instance(2, start=random.randint(20, 240))
    ready, out, err, status = _run_until_running(
        ["--scenario", str(folder), "--sitl", str(fake_binary), "--defaults", str(base_parm),
         "--speedup", str(SPEEDUP), "--instance", str(first), "--log-dir", str(logs)])
    assert status == 0, err
    words = [r.split() for r in ready]
    assert [(w[2], w[3]) for w in words] == [
        ("1", f"tcp:127.0.0.1:{sitl_port(first)}"),
        ("2", f"tcp:127.0.0.1:{sitl_port(first + 1)}")]
    assert [" ".join(w[6:]) for w in words] == [
        "drone mit-q1 (delivery-quad)", "drone mit-q2 (delivery-quad)"]
    homes = [Home.parse(w[5]) for w in words]
    assert homes[0].lat != homes[1].lat and homes[0].lon == homes[1].lon  # two pads
    for i, sysid in ((first, 1), (first + 1, 2)):
        log = (logs / f"arducopter-{i}.log").read_text()
        assert f"model quad:delivery-quad.json instance {i} sysid {sysid} " in log
        assert f"Loaded defaults from {folder / 'vehicle.parm'}" in log
        assert "exiting on signal 15" in log
    assert "stopped; logs in" in out
    assert not _listening(sitl_port(first)) and not _listening(sitl_port(first + 1))


@pytest.mark.sim
def test_scenario_of_two_airframes_starts_every_group_and_stops_them_all(
        tmp_path: Path, fake_binary: Path, base_parm: Path,
        canberra_copy: CanberraCopy) -> None:
    # Canberra's fourth drone is a winch quad: two launchers, -I and sysids continuing.
    folder = canberra_copy(tmp_path / "s", 5, ("CBR-060",), 60.0)
    logs = tmp_path / "logs"
    first = free_instance(5, start=random.randint(20, 230))
    ready, _, err, status = _run_until_running(
        ["--scenario", str(folder), "--sitl", str(fake_binary), "--defaults", str(base_parm),
         "--speedup", str(SPEEDUP), "--instance", str(first), "--log-dir", str(logs)])
    assert status == 0, err
    words = [r.split() for r in ready]
    assert [(w[2], w[3], w[7], w[8]) for w in words] == [
        (str(s), f"tcp:127.0.0.1:{sitl_port(first + s - 1)}", d, f"({p})")
        for s, d, p in ((1, "mit-q1", "delivery-quad"), (2, "mit-q2", "delivery-quad"),
                        (3, "mit-q3", "delivery-quad"), (4, "mit-w1", "winch-quad"),
                        (5, "hum-q1", "delivery-quad"))]
    models = [(logs / f"arducopter-{first + k}.log").read_text() for k in range(5)]
    assert ["model quad:winch-quad.json" in log for log in models] == [
        False, False, False, True, False]
    assert all("exiting on signal 15" in log for log in models)
    assert not any(_listening(sitl_port(first + k)) for k in range(5))


def test_scenario_and_home_together_is_one_line_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sitl", "--scenario", "canberra", "--home", HOME_ARG]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "give either --scenario or --home (exactly one)" in err
    assert main(["sitl"]) == 2
    assert "exactly one" in capsys.readouterr().err


def test_bad_combinations_and_instances_fail_before_starting(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "no-arducopter")  # never reached: arguments fail first
    assert main(["sitl", "--scenario", "canberra", "--count", "2", "--sitl", missing]) == 2
    assert "--count and --profile are for --home copters" in capsys.readouterr().err
    assert main(["sitl", "--scenario", "canberra", "--instance", "250", "--sitl",
                 missing]) == 2
    assert "-I 250..258: ArduPilot's instance number is 0..255" in capsys.readouterr().err
    assert main(["sitl", "--home", HOME_ARG, "--instance", "-1", "--sitl", missing]) == 2
    assert "-I -1..-1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["sitl", "--home", HOME_ARG, "--profile", "no-such-frame"])
    assert exit_.value.code == 2
    assert "delivery-quad" in capsys.readouterr().err
