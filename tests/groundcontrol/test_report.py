"""``drone-delivery report`` (issue 12) on a store written by the real dispatcher and store.

Canberra's first orders go through the ``Dispatcher`` into the ``Store`` as ``run`` records
them; three of the accepted sorties then take off and end as the fleet ends flights: one
delivered late, one early, one failed. The report must show those values, in tables, CSV and
JSON that read back.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from groundcontrol.cli.main import main
from groundcontrol.console.screens.day import day_title
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.report import build_report, clock, day_lines, drone_lines
from groundcontrol.fleet.resync import released_setting
from groundcontrol.fleet.stats import summarize
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.flight.record import FlightRecord
from groundcontrol.scenarios import resolve_scenario
from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import Assign, DepotModel, OrderPlaced
from planner.load import load_scenario
from planner.plan import Planner

CANBERRA_DIR = resolve_scenario("canberra")
CANBERRA = load_scenario(CANBERRA_DIR)


@dataclass(frozen=True)
class Day:
    """The store and what the test did to it."""

    path: Path
    late: Assign
    early: Assign
    failed: Assign
    rejected: str


def _record(out_s: float, delivery_s: float, used_wh: float) -> dict[str, object]:
    return FlightRecord(planned_s=600.0, flown_s=out_s + delivery_s + 300.0, planned_wh=80.0,
                        used_wh=used_wh, max_cross_track_m=2.0,
                        flown_phases_s={"out": out_s, "delivery": delivery_s, "back": 280.0,
                                        "landing": 20.0}).as_dict()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    path = tmp_path_factory.mktemp("report") / "day.sqlite"
    planner = Planner(CANBERRA.airspace, CANBERRA.depots, margin_m=30.0)
    dispatcher = Dispatcher(fleet_of(CANBERRA), [DepotModel(d.id) for d in CANBERRA.depots],
                            planner_plan_fn(planner), promise_s=CANBERRA.promise_s)
    assigns: dict[str, Assign] = {}
    rejected = ""
    with Store.open(path) as store:
        record_scenario(store, CANBERRA_DIR, 30.0, 0.0)
        for order in sorted(CANBERRA.orders, key=lambda o: o.created_s)[:8]:
            decisions = dispatcher.handle(OrderPlaced(order), order.created_s)
            store.record_dispatch(OrderPlaced(order), order.created_s, decisions)
            assigns.update({d.order_id: d for d in decisions if isinstance(d, Assign)})
            rejected = rejected or next((d.order_id for d in decisions
                                         if hasattr(d, "reasons")), "")
        late, early, failed = list(assigns.values())[:3]
        for a in (late, early, failed):
            store.start_flight(a.order_id, a.drone_id, a.launch_at_s)
        # Late: released 125 s after the promise. Early: 60 s before it.
        store.end_flight(late.order_id, "delivered", late.due_s + 400.0,
                         _record(late.due_s - late.launch_at_s + 100.0, 25.0, 91.5))
        store.end_flight(early.order_id, "delivered", early.due_s + 200.0,
                         _record(early.due_s - early.launch_at_s - 80.0, 20.0, 70.25))
        store.end_flight(failed.order_id, "failed", failed.launch_at_s + 90.0)
    return Day(path, late, early, failed, rejected)


def test_the_release_the_flight_reported_is_the_drop_off(day: Day, tmp_path: Path) -> None:
    """The controller keeps the reported release time (setting 'released ORDER'); the
    flight record's phases are only the fallback for stores written before."""
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(day.path.read_bytes())
    with Store.open(copy, create=False) as store:
        store.set_setting(released_setting(day.late.order_id), repr(day.late.due_s + 7.5),
                          day.late.due_s + 400.0)
        lines = {o.order_id: o for o in build_report(store).orders}
    assert lines[day.late.order_id].dropped_off_s == pytest.approx(day.late.due_s + 7.5)
    assert lines[day.late.order_id].late_by_s == pytest.approx(7.5)
    assert lines[day.early.order_id].late_by_s == pytest.approx(-60.0)  # no setting: record


def test_an_order_released_with_its_drone_still_out_is_dropped_off(day: Day,
                                                                  tmp_path: Path) -> None:
    """The store delivers an order at the landing; before it, a released parcel is dropped
    off in the report, the day screen's title and the summary printed at quit."""
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(day.path.read_bytes())
    out = next(a for a in _assigns(copy) if a.order_id not in
               (day.late.order_id, day.early.order_id, day.failed.order_id))
    released = out.due_s - 30.0
    with Store.open(copy, create=False) as store:
        store.start_flight(out.order_id, out.drone_id, out.launch_at_s)
        before = {o.order_id: o for o in build_report(store).orders}[out.order_id]
        store.set_setting(released_setting(out.order_id), repr(released), released)
        report = build_report(store)
        summary = summarize(store, CANBERRA, {out.order_id: released}, {})
    line = {o.order_id: o for o in report.orders}[out.order_id]
    assert before.dropped_off_s is None and before.state == "in_flight"
    assert line.state == "in_flight" and line.dropped_off_s == pytest.approx(released)
    assert line.late_by_s == pytest.approx(-30.0)
    assert "1 dropped off" in day_title(report, None)
    assert "1 in flight" not in day_title(report, None)
    assert summary.dropped_off == 1
    assert summary.lines()[0].endswith(
        "(1 of them dropped off, their drones on the way back)")


def _assigns(path: Path) -> list[Assign]:
    """The sorties the day's store recorded, in order."""
    from planner.dispatch_codec import decode

    with Store.open(path, create=False) as store:
        return [d for e in store.events() if e.kind == "decision"
                for d in [decode(e.data)] if isinstance(d, Assign)]


def test_orders_show_promise_drop_off_and_late_by(day: Day) -> None:
    with Store.open(day.path, create=False) as store:
        report = build_report(store)
    lines = {o.order_id: o for o in report.orders}
    assert report.scenario == "canberra" and len(report.orders) == 8
    late, early = lines[day.late.order_id], lines[day.early.order_id]
    assert late.state == "delivered" and late.promised_s == day.late.due_s
    assert late.late_by_s == pytest.approx(125.0)
    assert late.dropped_off_s == pytest.approx(day.late.due_s + 125.0)
    assert early.late_by_s == pytest.approx(-60.0) and early.drone_id == day.early.drone_id
    failed = lines[day.failed.order_id]
    assert (failed.state, failed.reason, failed.dropped_off_s) == ("failed", "failed", None)
    assert lines[day.rejected].state == "infeasible" and lines[day.rejected].reason
    flights = {f.order_id: f for f in report.flights}
    assert flights[day.late.order_id].used_wh == 91.5
    assert flights[day.late.order_id].launched_s == day.late.launch_at_s
    assert flights[day.failed.order_id].outcome == "failed"
    assert flights[day.failed.order_id].ended_s == day.failed.launch_at_s + 90.0
    assert flights[day.early.order_id].route_km == pytest.approx(
        day.early.sortie.plan.distance_m / 1000.0)


def test_each_drone_day_counts_its_sorties(day: Day) -> None:
    with Store.open(day.path, create=False) as store:
        drones = {d.drone_id: d for d in build_report(store).drones}
    assert sum(d.sorties for d in drones.values()) == 3
    assert sum(d.delivered for d in drones.values()) == 2
    assert sum(d.on_time for d in drones.values()) == 1
    assert sum(d.used_wh for d in drones.values()) == pytest.approx(91.5 + 70.25)
    km = (day.late.sortie.plan.distance_m + day.early.sortie.plan.distance_m) / 1000.0
    assert sum(d.km for d in drones.values()) == pytest.approx(km)


def test_out_writes_csv_and_json_that_read_back(
        day: Day, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rep"
    assert main(["report", "--store", str(day.path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 delivered late" in printed and f"late: {day.late.order_id} by 125 s" in printed
    with (out / "orders.csv").open(newline="", encoding="utf-8") as f:
        rows = {r["order_id"]: r for r in csv.DictReader(f)}
    row = rows[day.late.order_id]
    assert float(row["late_by_s"]) == pytest.approx(125.0)
    assert row["promised_clock"] == clock(day.late.due_s) and row["dropped_off_clock"]
    assert rows[day.failed.order_id]["dropped_off_s"] == ""
    with (out / "flights.csv").open(newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 3
    with (out / "drones.csv").open(newline="", encoding="utf-8") as f:
        assert sum(int(r["delivered"]) for r in csv.DictReader(f)) == 2
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert main(["report", "--store", str(day.path), "--json"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    data = json.loads(printed)
    assert data == {**saved, "files": []}
    late = next(o for o in data["orders"] if o["order_id"] == day.late.order_id)
    assert late["late_by_s"] == pytest.approx(125.0) and late["placed_clock"]


@pytest.mark.parametrize("content", [None, b"", b"not a database at all" * 100])
def test_a_missing_or_corrupt_store_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None) -> None:
    path = tmp_path / "bad.sqlite"
    if content is not None:
        path.write_bytes(content)
    assert main(["report", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("drone-delivery report: error: ")
    assert str(path) in err
    assert not path.exists() or path.read_bytes() == content


def test_the_drone_lines_the_console_prints_at_quit_are_the_reports(day: Day) -> None:
    with Store.open(day.path, create=False) as store:
        report = build_report(store)
    lines = drone_lines(report)
    assert lines[0].split() == ["drone", "sorties", "delivered", "on", "time", "km", "Wh",
                                "used", "records"]
    assert [line.split()[0] for line in lines[1:]] == [d.drone_id for d in report.drones]
    assert day_lines(report)[:len(lines)] == lines
