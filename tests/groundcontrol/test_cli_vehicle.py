"""``upload``, ``download`` and ``vehicle``: one vehicle operated as a ground station does,
against the built-in simulator over TCP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundcontrol.cli.fly import load_mission
from groundcontrol.cli.main import main
from sitl.sim import SimFleet

SPEEDUP = 20.0


@pytest.fixture
def vehicle_url(shortest_mission: Path) -> Iterator[str]:
    """A built-in simulator vehicle at the home of ``shortest_mission``."""
    home = load_mission(shortest_mission).items[0]
    with SimFleet([(home.x, home.y, home.z, 0.0)], speedup=SPEEDUP, base_port=0) as fleet:
        yield fleet.endpoints[0]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.sim
def test_upload_then_download_gives_the_same_mission_fence_and_rally(
        shortest_mission: Path, vehicle_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    link = ["--connect", vehicle_url, "--speedup", str(SPEEDUP)]
    code, out, err = _cli(capsys, "upload", str(shortest_mission), *link)
    sent = load_mission(shortest_mission)
    assert code == 0, err
    assert f"mission {len(sent.items)} items verified" in out
    assert f"fence {len(sent.fence)} items verified" in out and "rally" in out
    back = tmp_path / "back.plan"
    code, out, err = _cli(capsys, "download", str(back), *link)
    assert code == 0, err
    got = load_mission(back)
    assert [(i.command, round(i.x, 5), round(i.y, 5)) for i in got.items[1:]] == \
        [(i.command, round(i.x, 5), round(i.y, 5)) for i in sent.items[1:]]
    assert len(got.fence) == len(sent.fence) and len(got.rally) == len(sent.rally)
    wpl = tmp_path / "back.waypoints"
    assert _cli(capsys, "download", str(wpl), *link)[0] == 0
    assert len(load_mission(wpl).items) == len(sent.items)


@pytest.mark.sim
def test_vehicle_actions_mode_param_arm_and_status(
        shortest_mission: Path, vehicle_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    link = ["--connect", vehicle_url, "--speedup", str(SPEEDUP)]
    code, out, err = _cli(capsys, "vehicle", "param", "WPNAV_SPEED", "1234", *link)
    assert code == 0, err
    assert "value 1234" in out
    code, out, _ = _cli(capsys, "vehicle", "param", "WPNAV_SPEED", "--json", *link)
    assert json.loads(out)["value"] == 1234.0
    assert _cli(capsys, "vehicle", "mode", "guided", *link)[0] == 0
    code, out, err = _cli(capsys, "vehicle", "status", "--json", *link)
    status = json.loads(out)
    assert status["mode"] == "GUIDED" and status["armed"] is False
    # Where the simulator was started (a GPS still acquiring may report 0 satellites).
    assert status["lat"] == pytest.approx(load_mission(shortest_mission).items[0].x, abs=1e-3)
    assert status["satellites"] is not None and status["gps_fix"] is not None
    # ArduCopter does not arm in LAND ("Mode not armable"): a refusal is one line, exit 1.
    assert _cli(capsys, "vehicle", "mode", "land", *link)[0] == 0
    code, _, err = _cli(capsys, "vehicle", "arm", *link)
    assert code == 1 and err.count("\n") == 1 and "arm" in err.lower()


@pytest.mark.parametrize("argv, problem", [
    (["vehicle", "mode", "hover"], "mode: expected one of"),
    (["vehicle", "goto", "-35.3", "149.1"], "expected LAT LON ALT"),
    (["vehicle", "goto", "-95", "149.1", "50"], "is not a position"),
    (["vehicle", "goto", "-35.3", "149.1", "nan"], "ALT: not a number"),
    (["vehicle", "param", "WPNAV_SPEED", "1_0"], "VALUE: not a number"),
    (["vehicle", "arm", "now"], "arm takes no values"),
    (["upload", "/nonexistent.plan"], "no such file"),
    (["download", "/tmp/x.json"], "expected a .plan or .waypoints"),
])
def test_bad_arguments_are_one_line_before_anything_connects(
        argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, *argv, "--connect", "tcp:127.0.0.1:1", "--timeout", "0.5")
    assert code == 2 and out == "" and err.count("\n") == 1 and problem in err


def test_no_vehicle_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = _cli(capsys, "vehicle", "status", "--connect", f"udpin:127.0.0.1:{port}",
                        "--timeout", "0.5")
    assert code == 1 and err.count("\n") == 1 and "HEARTBEAT" in err
