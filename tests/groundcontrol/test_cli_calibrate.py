"""``drone-delivery calibrate --records``: fitted profiles written, errors before and after."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from flown_records import flown_record

from groundcontrol.cli.main import main
from planner.vehicle import builtin_profile, load_profile

SLOW = replace(builtin_profile("delivery-quad"), cruise_speed_ms=19.0, cruise_accel_ms2=2.5,
               figure_of_merit=0.5)


def _lines(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_records_of_one_backend_fit_and_write_the_profile(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"backend": "ardupilot", **flown_record(SLOW, d, d, 1.0)}
            for d in (1500.0, 5000.0, 9000.0)]
    # Lines of another backend, and a failed flight without phases, are left out.
    rows.append({"backend": "builtin", **flown_record(builtin_profile("winch-quad"),
                                                      2000.0, 2000.0, 1.0)})
    rows.append({"backend": "ardupilot", "success": False, "flown_phases_s": {"out": 30.0},
                 "inputs": rows[0]["inputs"]})
    records = _lines(tmp_path / "flights.jsonl", rows)
    out = tmp_path / "fitted"
    assert main(["calibrate", "--records", str(records), "--backend", "ardupilot",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["delivery-quad.json"]
    fitted = load_profile(out / "delivery-quad.json")
    assert fitted.cruise_speed_ms == pytest.approx(19.0, rel=0.02)
    assert fitted.figure_of_merit == pytest.approx(0.5, rel=0.02)
    assert "delivery-quad: 3 flights" in text and "time error    before" in text
    assert "1 records skipped" in text


def test_a_profile_the_product_does_not_know_needs_its_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = replace(SLOW, name="heavy-hex")
    records = _lines(tmp_path / "f.jsonl", [flown_record(mine, 3000.0, 3000.0, 0.5)])
    assert main(["calibrate", "--records", str(records), "--out", str(tmp_path)]) == 2
    assert "heavy-hex: give its file with --profile" in capsys.readouterr().err
    profile = tmp_path / "heavy-hex.json"
    from planner.vehicle import profile_to_dict

    profile.write_text(json.dumps(profile_to_dict(mine)), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["calibrate", "--records", str(records), "--profile", str(profile),
                 "--out", str(out)]) == 0
    assert (out / "heavy-hex.json").is_file()


@pytest.mark.parametrize("content, message", [
    ("{not json\n", "f.jsonl:1: not a JSON object"),
    ("[1, 2]\n", "f.jsonl:1: not a JSON object"),
    ('{"flown_s": 1}\n', "no completed flight"),
    ("[" * 5000 + "\n", "f.jsonl:1: not a JSON object"),
])
def test_bad_records_are_one_line_errors_and_write_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str) -> None:
    records = tmp_path / "f.jsonl"
    records.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["calibrate", "--records", str(records), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_no_source_or_a_missing_file_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate"]) == 2
    assert "give flown records" in capsys.readouterr().err
    assert main(["calibrate", "--store", "/nonexistent/x.db"]) == 2
    assert "no such store" in capsys.readouterr().err
