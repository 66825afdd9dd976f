"""``drone-delivery scenario generate``: a folder every --scenario command takes, the same
files for the same seed, and bad arguments refused in one line before anything is written."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from groundcontrol.cli.main import main
from planner.load import load_scenario

SMALL = ["--depots", "4", "--drones", "10", "--orders", "40", "--seed", "7"]


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[int, str]:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buf)
    return main(argv), buf.getvalue()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_generate_then_plan_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "day"
    code, out = _run(monkeypatch, ["scenario", "generate", "--out", str(folder), *SMALL,
                                   "--demand", "evening", "--start", "14", "--hours", "6"])
    assert code == 0, out
    assert "4 depots, 10 drones" in out and "40 orders" in out
    assert set(_files(folder)) == {"scenario.json", "depots.json", "fleet.json", "orders.csv",
                                   "airspace.geojson", "vehicle.parm"}
    scenario = load_scenario(folder)
    assert scenario.name == "day" and len(scenario.orders) == 40
    assert all(14 * 3600 <= o.created_s < 20 * 3600 for o in scenario.orders)
    code, out = _run(monkeypatch, ["plan", str(folder), "--json", "--out", str(tmp_path / "p")])
    assert code == 0
    result = json.loads(out)
    assert result["orders_total"] == 40
    assert result["feasible"] >= 36  # most: a route bent round zones may still be too long


def test_same_seed_same_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert _run(monkeypatch, ["scenario", "generate", "--out", str(tmp_path / name),
                                  "--name", "same", *SMALL])[0] == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_check_plans_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, out = _run(monkeypatch, ["scenario", "generate", "--out", str(tmp_path / "d"), *SMALL,
                                   "--profiles", "winch-quad", "--check"])
    assert code == 0
    assert "10 winch-quad" in out and "of 40 orders feasible" in out


def test_zones_without_an_area_and_a_weight_list(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = load_scenario_airspace_without_area(tmp_path)
    code, out = _run(monkeypatch, ["scenario", "generate", "--out", str(tmp_path / "d"),
                                   *SMALL, "--zones", str(source), "--ground-alt", "600",
                                   "--demand", "1,0,3"])
    assert code == 0, out
    assert "derived round the depots" in out
    scenario = load_scenario(tmp_path / "d")
    assert scenario.airspace.operating_area is not None
    assert all(d.ground_alt_amsl_m == 600 for d in scenario.depots)
    assert not any(12 * 3600 <= o.created_s < 13 * 3600 for o in scenario.orders)


def load_scenario_airspace_without_area(tmp_path: Path) -> Path:
    canberra = Path(__file__).resolve().parents[2] / "missions/scenarios/canberra"
    data = json.loads((canberra / "airspace.geojson").read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"]
                        if f["properties"].get("role") != "operating_area"]
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_non_empty_folder_needs_force(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    argv = ["scenario", "generate", "--out", str(tmp_path), *SMALL]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err and "--force" in err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert _run(monkeypatch, [*argv, "--force"])[0] == 0
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert (tmp_path / "orders.csv").is_file()


@pytest.mark.parametrize(("args", "words"), [
    (["--depots", "-2"], "--depots: must be >= 1"),
    (["--drones", "-1"], "--drones: must be >= 1"),
    (["--orders", "0"], "--orders: must be >= 1"),
    (["--depots", "5", "--drones", "3"], "3 drones cannot staff 5 depots"),
    (["--depots", "5", "--drones", "300"], "at most 254"),
    (["--demand", "brunch"], "unknown curve 'brunch'"),
    (["--demand", "1,2", "--hours", "3"], "--hours 3 but --demand has 2"),
    (["--hours", "0"], "--hours must be >= 1"),
    (["--start", "25"], "--start"),
    (["--profiles", "hover-bike"], "hover-bike"),
    (["--profiles", "winch-quad=-1"], "must be >= 0"),
    (["--zones", "no-such.geojson", "--ground-alt", "600"], "no-such.geojson"),
    (["--zones", "no-such.geojson"], "--ground-alt is needed"),
    (["--margin", "-3"], "--margin"),
])
def test_bad_arguments_are_one_line_and_write_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], words: str) -> None:
    out = tmp_path / "day"
    assert main(["scenario", "generate", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("drone-delivery scenario: error:"), err
    assert words in err
    assert not out.exists()


def test_unreadable_geojson_is_one_line(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    out = tmp_path / "day"
    assert main(["scenario", "generate", "--out", str(out), "--zones", str(bad),
                 "--ground-alt", "600"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.geojson" in err
    assert not out.exists()
