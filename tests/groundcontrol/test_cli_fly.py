"""``drone-delivery fly --json``: one JSON object on stdout, planned against flown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundcontrol.cli.fly import load_mission
from groundcontrol.cli.main import main
from groundcontrol.flight.record import record_from_tlog


@pytest.mark.sim
def test_fly_json_prints_the_outcome_with_planned_against_flown(
        shortest_mission: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tlog = tmp_path / "flight.tlog"
    code = main(["fly", str(shortest_mission), "--backend", "builtin", "--speedup", "50",
                 "--json", "--tlog", str(tlog)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)  # stdout holds the object alone
    assert result["delivered"] and result["landed"] and result["success"]
    assert result["planned_s"] > 0 and result["planned_wh"] > 0
    # The delivery airframe flies the plan within a third (calibration narrows it further).
    assert 0.8 < result["flown_s"] / result["planned_s"] < 1.33
    assert 0.8 < result["used_wh"] / result["planned_wh"] < 1.5
    assert 0 <= result["max_cross_track_m"] < 30
    assert set(result["flown_phases_s"]) == {"out", "delivery", "back", "landing"}
    assert "planned against flown" in captured.err

    # The .tlog folds into the same record as the live flight (what calibrate --tlog reads).
    # Live marks are read from the snapshot the flight loop polls, the tlog's from every
    # message: they agree to a few telemetry periods (seconds at this stream rate).
    again = record_from_tlog(tlog, load_mission(shortest_mission))
    assert again.flown_s == pytest.approx(result["flown_s"], rel=0.03)
    assert again.used_wh == pytest.approx(result["used_wh"], rel=0.02)
    assert again.inputs == result["inputs"] and again.inputs["profile"] == "delivery-quad"
    assert set(again.flown_phases_wh) == set(result["flown_phases_wh"])
