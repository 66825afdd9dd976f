"""``drone-delivery replay``: bad input is one line and exit 2; ``--headless`` prints the
replayed events and a last line."""

from __future__ import annotations

from pathlib import Path

import pytest
from flown_tlog import FlownTlog, flown_tlog

from groundcontrol.cli.main import main


@pytest.fixture(scope="session")
def flown(tmp_path_factory: pytest.TempPathFactory) -> FlownTlog:
    return flown_tlog(tmp_path_factory.getbasetemp())


def _bad(tmp_path: Path) -> dict[str, list[str]]:
    junk = tmp_path / "junk.tlog"
    junk.write_bytes(b"\x00" * 8 + b"this is not MAVLink at all")
    empty = tmp_path / "empty.tlog"
    empty.write_bytes(b"")
    return {
        "missing": ["replay", str(tmp_path / "nope.tlog")],
        "not a tlog": ["replay", str(junk)],
        "empty": ["replay", str(empty)],
        "neither": ["replay"],
        "missing store": ["replay", "--store", str(tmp_path / "nope.sqlite")],
    }


@pytest.mark.parametrize("case", ["missing", "not a tlog", "empty", "neither", "missing store"])
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_bad(tmp_path)[case]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("drone-delivery replay: error: ")


@pytest.mark.sim
@pytest.mark.parametrize("speed", ["0", "-3", "nan", "inf"])
def test_a_speed_that_is_not_positive_is_refused(
        speed: str, flown: FlownTlog, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(flown.tlog), "--speed", speed, "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "speed" in err


@pytest.mark.sim
def test_headless_prints_the_flight(flown: FlownTlog,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(flown.tlog), "--plan", str(flown.plan), "--headless"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.endswith("Gripper Released") for line in lines)
    assert lines[-1].startswith("replayed ") and "vehicle 1 AUTO disarmed" in lines[-1]
    assert "released" in lines[-1]
