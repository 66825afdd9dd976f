"""The event log's rules without the UI: repeats, chatter, filters and late orders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from groundcontrol.console.event_filter import (
    Collapser,
    EventFilter,
    LogEntry,
    is_alert,
    is_chatter,
    late_order_events,
)
from groundcontrol.console.model import EventView, OrderStatus, OrderView, Severity
from planner.model import LatLon
from sitl.sim.boot import FIRMWARE_TEXT


def _reference_dir() -> Path:
    if "DRONE_REFERENCE_DIR" in os.environ:
        return Path(os.environ["DRONE_REFERENCE_DIR"])
    beside = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ardupilot-copter"
    return beside if beside.is_dir() else Path("/work/shared/reference/ardupilot-copter")


def _feed(collapser: Collapser, events: list[EventView]) -> list[LogEntry]:
    entries = []
    for e in events:
        if collapser.repeat_of(e) is None:
            entry = LogEntry(e)
            collapser.add(entry)
            entries.append(entry)
    return entries


def test_the_autopilots_double_takeoff_text_is_one_line_with_a_count() -> None:
    takeoff = EventView(390.0, "gre-q2", Severity.INFO, "Mission: 1 Takeoff")
    entries = _feed(Collapser(), [takeoff, EventView(390.001, "gre-q2", Severity.INFO,
                                                     "Mission: 1 Takeoff")])
    assert [(x.event.text, x.count) for x in entries] == [("Mission: 1 Takeoff", 2)]


def test_repeats_are_per_source_and_a_later_flight_shows_again() -> None:
    texts = [EventView(0.0, "S1", Severity.INFO, "Mission: 1 Takeoff"),
             EventView(0.5, "S2", Severity.INFO, "Mission: 1 Takeoff"),
             EventView(1.0, "S1", Severity.INFO, "Mission: 1 Takeoff"),
             EventView(1500.0, "S1", Severity.INFO, "Mission: 1 Takeoff")]
    entries = _feed(Collapser(), texts)
    assert [(x.event.source, x.event.time_s, x.count) for x in entries] == [
        ("S1", 0.0, 2), ("S2", 0.5, 1), ("S1", 1500.0, 1)]


def test_prearm_reasons_every_30_s_collapse_but_a_new_link_loss_is_a_new_line() -> None:
    events = []
    for k in range(4):
        events += [EventView(30.0 * k, "S1", Severity.WARNING, "PreArm: Need Position Estimate"),
                   EventView(30.0 * k, "S1", Severity.WARNING, "PreArm: Battery failsafe")]
    events += [EventView(200.0, "S1", Severity.WARNING, "link lost"),
               EventView(210.0, "S1", Severity.WARNING, "link lost")]
    entries = _feed(Collapser(), events)
    assert [(x.event.text, x.count) for x in entries] == [
        ("PreArm: Need Position Estimate", 4), ("PreArm: Battery failsafe", 4),
        ("link lost", 1), ("link lost", 1)]


def test_boot_texts_of_the_simulator_and_of_sitl_are_chatter_and_flight_texts_are_not() -> None:
    reference = _reference_dir() / "index.json"
    if not reference.is_file():
        pytest.skip(f"the ArduCopter recordings are not at {reference.parent}")
    recorded = set()
    for scenario in json.loads(reference.read_text())["scenarios"].values():
        recorded.update(scenario["statustexts"])
    chatter = {t for t in recorded if is_chatter(EventView(0.0, "S1", Severity.INFO, t))}
    shown = recorded - chatter
    for boot in ("GPS 1: probing for u-blox at 230400 baud", "EKF3 IMU0 initialised",
                 "AHRS: DCM active", "Field Elevation Set: 584m", "Frame: QUAD/PLUS",
                 "Barometer 1 calibration complete", "PreArm: Need Position Estimate",
                 FIRMWARE_TEXT, "RC7: SaveWaypoint LOW", "EKF3 IMU1 is using GPS"):
        assert boot in chatter
    for needed in ("Mission: 1 Takeoff", "Arming motors", "Disarming motors",
                   "Arm: Battery failsafe", "Battery 1 is low 12.60V used 302 mAh",
                   "Polygon fence breached", "GCS Failsafe", "Gripper load released",
                   "Flight plan received", "Reached command #3", "Mission upload timeout"):
        assert needed in shown
    for real in ("RCOut: PWM:1-12", "IMU0: fast sampling enabled 8.0kHz/1.0kHz",
                 "u-blox 1 HW: 00080000 SW: EXT CORE 3.01 (107888)", "Frame: QUAD/X"):
        assert is_chatter(EventView(0.0, "S1", Severity.INFO, real))


def test_filter_by_vehicle_severity_and_chatter() -> None:
    boot = EventView(0.0, "S1", Severity.INFO, "EKF3 IMU0 initialised")
    warn = EventView(0.0, "S1", Severity.WARNING, "link lost")
    other = EventView(0.0, "S2", Severity.ERROR, "fence breach")
    assert [EventFilter().accepts(e) for e in (boot, warn, other)] == [False, True, True]
    assert [EventFilter(show_chatter=True).accepts(e) for e in (boot, warn, other)] == [
        True, True, True]
    assert [EventFilter("S1", show_chatter=True).accepts(e) for e in (boot, warn, other)] == [
        True, True, False]
    assert [EventFilter(min_severity=Severity.ERROR).accepts(e) for e in (boot, warn, other)] \
        == [False, False, True]
    assert EventFilter().describe() == ""
    assert is_alert(warn) and is_alert(other)
    assert not is_alert(EventView(0.0, "S1", Severity.WARNING, "PreArm: Need Position Estimate"))


def test_a_late_order_is_reported_once() -> None:
    late = OrderView("O1", OrderStatus.IN_FLIGHT, "N", LatLon(0, 0), 1.0, promised_s=100.0,
                     time_left_s=-3.0)
    done = OrderView("O2", OrderStatus.DELIVERED, "N", LatLon(0, 0), 1.0, promised_s=100.0,
                     time_left_s=-3.0)
    known: set[str] = set()
    events = late_order_events((late, done), known, 103.0)
    assert [(e.source, e.severity, e.text) for e in events] == [
        ("dispatch", Severity.WARNING, "O1 is late (promised 00:01:40, in flight)")]
    assert late_order_events((late,), known, 104.0) == []


def test_the_rules_import_without_textual() -> None:
    code = ("import sys, groundcontrol.console.event_filter; "
            "assert 'textual' not in sys.modules, 'textual imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
