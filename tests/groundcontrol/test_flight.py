"""Flight progress logic against the recorded real ArduCopter flights (no simulator needed)."""

from __future__ import annotations

import time

import pytest
import replay
from conftest import needs_reference

from groundcontrol.flight import FlightReason, FlightState, ProgressTracker
from groundcontrol.transfer import item_from_message
from groundcontrol.vehicle import VehicleTracker
from missions.items import Mission


def _recorded_mission(records) -> Mission:
    items = []
    for r in records:
        if r.dir == "gcs>veh" and r.type == "MISSION_ITEM_INT":
            item = item_from_message(replay.build_message(r.type, r.fields))
            if item.seq == 0:
                items = []
            if item.seq == len(items):
                items.append(item)
            if len(items) == 12:
                break
    assert [i.command for i in items[5:8]] == [21, 211, 93]  # land, gripper, delay
    return Mission("recorded", tuple(items), delivery_seq=6, dropoff_seq=5)


def _fly_recording(name: str, until_note: str):
    records = replay.load(name)
    cutoff = next(r.t for r in records if r.dir == "note" and until_note in r.fields["text"])
    mission = _recorded_mission(records)
    tracker = VehicleTracker(1)
    progress = ProgressTracker(mission, since_s=time.monotonic())
    phases = []
    outcome = None

    def feed(msg):
        nonlocal outcome
        tracker.update(msg)
        phase = progress.update(tracker.snapshot())
        if not phases or phases[-1] != phase:
            phases.append(phase)
        outcome = outcome or progress.ending(tracker.snapshot())

    replay.play([r for r in records if r.t < cutoff], feed)
    return progress, phases, outcome


@needs_reference
def test_continue_after_land_flight_is_a_delivery():
    progress, phases, outcome = _fly_recording("delivery_flight_continue", "Part 2")
    assert outcome is not None and outcome.reason is FlightReason.COMPLETED
    assert outcome.success and outcome.reached_seq == 11
    assert progress.text_seen == "Gripper Released"
    assert phases[0] is FlightState.ARMING and phases[-1] is FlightState.DONE
    flown = [p for p in phases if p is not FlightState.LANDED]
    for earlier, later in [(FlightState.TAKEOFF, FlightState.EN_ROUTE),
                           (FlightState.EN_ROUTE, FlightState.DELIVERING),
                           (FlightState.DELIVERING, FlightState.RETURNING),
                           (FlightState.RETURNING, FlightState.LANDING)]:
        assert flown.index(earlier) < flown.index(later)


@needs_reference
def test_land_without_continue_is_reported_as_a_mission_reset():
    progress, phases, outcome = _fly_recording("delivery_flight", "GCS resumes it")
    assert outcome is not None and outcome.reason is FlightReason.MISSION_RESET
    assert not outcome.delivered and outcome.landed and outcome.disarmed
    assert outcome.reached_seq == 5 and "MIS_OPTIONS" in outcome.detail
    assert not outcome.success


@needs_reference
def test_battery_failsafe_recording_names_the_failsafe():
    records = replay.load("failsafe_battery")
    mission = Mission("m", tuple(_recorded_mission(replay.load("delivery_flight")).items),
                      delivery_seq=6, dropoff_seq=5)
    tracker = VehicleTracker(1)
    progress = ProgressTracker(mission, since_s=time.monotonic())
    outcome = None

    def feed(msg):
        nonlocal outcome
        tracker.update(msg)
        progress.update(tracker.snapshot())
        outcome = outcome or progress.ending(tracker.snapshot())

    replay.play(records, feed)
    assert outcome is not None and outcome.reason is FlightReason.BATTERY_FAILSAFE
    assert not outcome.delivered


def test_texts_from_before_the_flight_do_not_count():
    items = tuple(_recorded_mission(replay.load("delivery_flight")).items)
    mission = Mission("m", items, delivery_seq=6, dropoff_seq=5)
    tracker = VehicleTracker(1)
    replay.play([r for r in replay.load("delivery_flight_continue")
                 if r.type == "STATUSTEXT" and r.t < 200], tracker.update)
    progress = ProgressTracker(mission, since_s=time.monotonic())
    progress.update(tracker.snapshot())
    assert progress.text_seen is None


if not replay.REFERENCE_DIR.is_dir():  # pragma: no cover
    pytest.skip("reference recordings missing", allow_module_level=True)
