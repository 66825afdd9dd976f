"""The command line as a user meets it: output goes where stdout is now, errors are one line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from groundcontrol.cli.main import main
from groundcontrol.fleet.store.sqlite import Store


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[int, str]:
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buf)
    return main(argv), buf.getvalue()


def test_each_call_writes_to_the_stdout_of_that_moment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A default argument bound to sys.stdout at import time would send the second call's
    # output to the first (by then closed) stream: seen as "I/O operation on closed file".
    db = str(tmp_path / "o.db")
    Store.open(db).close()  # order list reads an existing store; it never creates one
    for argv, expected in ((["order", "list", "--store", db], "0 orders"),
                           (["plan", "--out", str(tmp_path / "out"),
                             "--orders", str(_one_order(tmp_path))], "1 of 1 orders feasible")):
        first = _run(monkeypatch, argv)
        second = _run(monkeypatch, argv)
        assert first[0] == second[0] == 0
        assert expected in first[1]
        assert expected in second[1]
    code, out = _run(monkeypatch, ["plan", "--json", "--out", str(tmp_path / "out"),
                                   "--orders", str(_one_order(tmp_path))])
    assert code == 0 and json.loads(out)["orders"][0]["order"] == "T-1"


def _one_order(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("id,depot,lat,lon,payload_kg,created_s\nT-1,mitchell,-35.19,149.13,0.5,0\n")
    return path


def test_bad_arguments_give_one_line_naming_the_problem(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "no-such-scenario", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "no-such-scenario" in err and "canberra" in err
    assert main(["plan", "--margin", "-5", "--out", str(tmp_path)]) == 2
    assert "--margin" in capsys.readouterr().err


@pytest.mark.sim
def test_fly_on_a_builtin_vehicle_started_at_the_mission_home(
        shortest_mission: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fly", str(shortest_mission), "--backend", "builtin", "--speedup", "50"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "started a builtin vehicle at the mission's home" in out
    assert "delivered, landed and disarmed" in out


def test_fly_on_ardupilot_without_arducopter_says_so_in_one_line(
        shortest_mission: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ARDUPILOT_SITL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no arducopter here
    assert main(["fly", str(shortest_mission), "--backend", "ardupilot"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "arducopter" in err and "not found" in err


def test_every_order_gets_files_of_its_own_whatever_its_id(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Seen: "6 of 6 feasible" and 3 sets of files (ORD.1 and ORD.2 became ORD.plan; a/b and
    # a_b one name; "." and ".." hidden or nothing).
    ids = ["ORD.1", "ORD.2", "a/b", "a_b", "..", "."]
    orders = tmp_path / "orders.csv"
    rows = "".join(f'"{oid}",mitchell,-35.19,149.13,0.5,0\n' for oid in ids)
    orders.write_text("id,depot,lat,lon,payload_kg,created_s\n" + rows)
    out = tmp_path / "out"
    code, text = _run(monkeypatch, ["plan", "--out", str(out), "--orders", str(orders)])
    assert code == 0 and "6 of 6 orders feasible" in text
    plans = sorted(p.name for p in out.glob("*.plan"))
    assert len(plans) == 6 and not any(p.startswith(".") for p in plans), plans
    assert "ORD.1.plan" in plans and "a_b.plan" in plans
    names = {json.loads(p.read_text())["droneDelivery"]["orderId"] for p in out.glob("*.plan")}
    assert names == set(ids)


def test_run_with_no_vehicle_answering_says_so_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import time

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a port nothing answers on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "r.db"
    began = time.monotonic()
    # --timeout counts the wait for the vehicles (it waited its 20 s first, then --timeout).
    code = main(["run", "--connect", f"udpin:127.0.0.1:{port}", "--store", str(db),
                 "--orders", "2", "--timeout", "2"])
    assert time.monotonic() - began < 8.0
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [f"drone-delivery run: no vehicle answered on udpin:127.0.0.1:{port} within "
                   "2 s; check --connect and that the vehicles are running (the store is kept: "
                   "run again to resume)"]
    assert Store.open(db, create=False).orders() == []  # nothing placed, nothing flown


@pytest.mark.parametrize("value", ["0", "-5", "nan", "1e308"])
def test_run_refuses_a_timeout_that_is_not_a_duration(
        value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--connect", "udpin:127.0.0.1:1", "--store", str(tmp_path / "r.db"),
                 f"--timeout={value}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--timeout must be > 0" in err[0]
    assert not (tmp_path / "r.db").exists()


def test_json_of_plan_and_order_list_is_one_object_on_stdout(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Issue 12: like fly --json, each prints exactly one JSON object, nothing else on stdout.
    orders = tmp_path / "orders.csv"
    orders.write_text("id,depot,lat,lon,payload_kg,created_s\n"
                      "T-1,mitchell,-35.19,149.13,0.5,0\n"
                      "T-2,mitchell,-35.19,149.13,9.5,0\n")
    out_dir = tmp_path / "out"
    code, out = _run(monkeypatch, ["plan", "--json", "--out", str(out_dir), "--orders",
                                   str(orders)])
    assert code == 0 and out.count("\n") == 1
    data = json.loads(out)
    assert (data["orders_total"], data["feasible"], data["out"]) == (2, 1, str(out_dir))
    ok, heavy = data["orders"]
    assert ok["feasible"] is True and ok["distance_m"] > 0 and ok["reasons"] == []
    assert {Path(f).suffix for f in ok["files"]} == {".plan", ".waypoints", ".geojson"}
    assert all(Path(f).is_file() for f in data["files"])
    assert len(data["files"]) == 4  # the airspace and T-1's three files
    assert heavy["feasible"] is False and heavy["files"] == []
    payload = next(r for r in heavy["reasons"] if r["rule"] == "payload")
    assert (payload["measured"], payload["unit"]) == (9.5, "kg") and payload["limit"] < 9.5

    db = str(tmp_path / "o.db")
    assert main(["order", "add", "--store", db, "--depot", "hume", "--to", "-35.37,149.10",
                 "--payload", "1.2", "--at", "100", "--id", "c1"]) == 0
    assert main(["order", "add", "--store", db, "--depot", "hume", "--to", "-35.37,149.10",
                 "--payload", "1", "--at", "110", "--id", "c2"]) == 0
    assert main(["order", "cancel", "--store", db, "c2", "--at", "120"]) == 0
    code, out = _run(monkeypatch, ["order", "list", "--store", db, "--json"])
    assert code == 0 and out.count("\n") == 1
    data = json.loads(out)
    assert data["count"] == 2 and data["store"] == db
    assert [(o["id"], o["state"], o["reasons"]) for o in data["orders"]] == [
        ("c1", "new", []), ("c2", "cancelled", [])]
    code, out = _run(monkeypatch, ["order", "list", "--store", db, "--json", "--state", "new"])
    assert [o["id"] for o in json.loads(out)["orders"]] == ["c1"]
