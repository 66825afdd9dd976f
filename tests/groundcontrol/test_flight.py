"""Flight progress logic against the recorded real ArduCopter flights (no simulator needed)."""

from __future__ import annotations

import time

import pytest
import recordings
from conftest import needs_reference
from fake_links import FakeServer, MemoryChannel
from fake_vehicle import FlightReplayFake

from groundcontrol.flight.flight import FlightReason, FlightState, ProgressTracker
from groundcontrol.mavlink.transfer import item_from_message
from groundcontrol.mavlink.vehicle import VehicleTracker
from missions.items import Mission


def _recorded_mission(records) -> Mission:
    items = []
    for r in records:
        if r.dir == "gcs>veh" and r.type == "MISSION_ITEM_INT":
            item = item_from_message(recordings.build_message(r.type, r.fields))
            if item.seq == 0:
                items = []
            if item.seq == len(items):
                items.append(item)
            if len(items) == 12:
                break
    assert [i.command for i in items[5:8]] == [21, 211, 93]  # land, gripper, delay
    return Mission("recorded", tuple(items), delivery_seq=6, dropoff_seq=5)


def _fly_recording(name: str, until_note: str):
    records = recordings.load(name)
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

    recordings.play([r for r in records if r.t < cutoff], feed)
    return progress, phases, outcome


@needs_reference
def test_continue_after_land_flight_is_a_delivery():
    progress, phases, outcome = _fly_recording("delivery_flight_continue", "Part 2")
    assert outcome is not None and outcome.reason is FlightReason.COMPLETED
    assert outcome.success and outcome.reached_seq == 11
    assert progress.text_seen == "Gripper Released"
    assert phases[0] is FlightState.ARMING and phases[-1] is FlightState.LANDED
    flown = [p for p in phases if p is not FlightState.LANDED]
    for earlier, later in [(FlightState.TAKEOFF, FlightState.EN_ROUTE),
                           (FlightState.EN_ROUTE, FlightState.DELIVERING),
                           (FlightState.DELIVERING, FlightState.RETURNING),
                           (FlightState.RETURNING, FlightState.LANDING)]:
        assert flown.index(earlier) < flown.index(later)


@needs_reference
def test_land_without_continue_is_reported_as_a_mission_reset():
    _, _, outcome = _fly_recording("delivery_flight", "GCS resumes it")
    assert outcome is not None and outcome.reason is FlightReason.MISSION_RESET
    assert not outcome.delivered and outcome.landed and outcome.disarmed
    assert outcome.reached_seq == 5 and "MIS_OPTIONS" in outcome.detail
    assert not outcome.success


@needs_reference
def test_battery_failsafe_recording_names_the_failsafe():
    records = recordings.load("failsafe_battery")
    mission = Mission("m", tuple(_recorded_mission(recordings.load("delivery_flight")).items),
                      delivery_seq=6, dropoff_seq=5)
    tracker = VehicleTracker(1)
    progress = ProgressTracker(mission, since_s=time.monotonic())
    outcome = None

    def feed(msg):
        nonlocal outcome
        tracker.update(msg)
        progress.update(tracker.snapshot())
        outcome = outcome or progress.ending(tracker.snapshot())

    recordings.play(records, feed)
    assert outcome is not None and outcome.reason is FlightReason.BATTERY_FAILSAFE
    assert not outcome.delivered


def test_texts_from_before_the_flight_do_not_count():
    items = tuple(_recorded_mission(recordings.load("delivery_flight")).items)
    mission = Mission("m", items, delivery_seq=6, dropoff_seq=5)
    tracker = VehicleTracker(1)
    recordings.play([r for r in recordings.load("delivery_flight_continue")
                 if r.type == "STATUSTEXT" and r.t < 200], tracker.update)
    progress = ProgressTracker(mission, since_s=time.monotonic())
    progress.update(tracker.snapshot())
    assert progress.text_seen is None


if not recordings.REFERENCE_DIR.is_dir():  # pragma: no cover
    pytest.skip("reference recordings missing", allow_module_level=True)


def _flight_mission(name: str) -> Mission:
    from missions.items import ParamRequirement

    m = _recorded_mission(recordings.load(name))
    needs = (ParamRequirement("MIS_OPTIONS", 4, "bits", "continue after the drop-off land"),
             ParamRequirement("GRIP_ENABLE", 1, "eq", "gripper release"))
    return Mission(m.name, m.items, required_params=needs, delivery_seq=6, dropoff_seq=5)


def _fast_config():
    from groundcontrol.flight.flight import FlightConfig
    from groundcontrol.flight.preflight import PreflightConfig

    return FlightConfig(speedup=50.0, preflight=PreflightConfig(ready_timeout_s=100.0))


@needs_reference
def test_flight_run_follows_the_recorded_delivery_to_completion():
    from groundcontrol.flight.flight import Flight

    fake = FlightReplayFake("delivery_flight_continue", "Part 2", time_scale=50.0)
    channel = MemoryChannel(fake)
    events = []
    try:
        outcome = Flight(channel, _flight_mission("delivery_flight_continue"),
                         config=_fast_config(), observer=events.append).run()
    finally:
        channel.close()
    assert outcome.success, outcome
    kinds = [e.kind for e in events]
    assert "delivered" in kinds and kinds[-1] == "outcome"
    sent = [m.get_type() for m in fake.received]
    assert sent.index("MISSION_COUNT") < sent.index("COMMAND_LONG", sent.index("MISSION_COUNT"))
    starts = [m for m in fake.received if m.get_type() == "COMMAND_LONG" and m.command == 300]
    assert len(starts) == 1


@needs_reference
def test_flight_run_reports_the_reset_of_a_mis_options_0_vehicle():
    from groundcontrol.flight.flight import Flight

    fake = FlightReplayFake("delivery_flight", "GCS resumes it", time_scale=50.0)
    channel = MemoryChannel(fake)
    mission = _flight_mission("delivery_flight")
    mission = Mission(mission.name, mission.items, delivery_seq=6, dropoff_seq=5)  # no MIS check
    try:
        outcome = Flight(channel, mission, config=_fast_config()).run()
    finally:
        channel.close()
    assert outcome.reason is FlightReason.MISSION_RESET and not outcome.success


@needs_reference
def test_preflight_refuses_a_vehicle_without_continue_after_land():
    from groundcontrol.flight.flight import Flight

    fake = FlightReplayFake("delivery_flight", "GCS resumes it", time_scale=50.0)
    channel = MemoryChannel(fake)
    try:
        outcome = Flight(channel, _flight_mission("delivery_flight"), config=_fast_config()).run()
    finally:
        channel.close()
    assert outcome.reason is FlightReason.PREFLIGHT_FAILED
    assert "MIS_OPTIONS" in outcome.detail and not fake.armed
    assert not any(m.get_type() == "MISSION_COUNT" for m in fake.received)


@needs_reference
@pytest.mark.parametrize(("recording", "note", "status"), [
    ("delivery_flight_continue", "Part 2", 0),
    ("delivery_flight", "GCS resumes it", 1),
])
def test_fly_command_exit_status(tmp_path, capsys, recording, note, status):
    from groundcontrol.cli.main import main
    from groundcontrol.mavlink.tlog import read_tlog
    from missions.qgc_plan import write_plan

    mission = _flight_mission("delivery_flight_continue")
    if status:  # the MIS_OPTIONS=0 vehicle: do not check the parameter, see the reset happen
        mission = Mission(mission.name, mission.items, delivery_seq=6, dropoff_seq=5)
    plan = tmp_path / "m.plan"
    write_plan(plan, mission)
    server = FakeServer([FlightReplayFake(recording, note, time_scale=50.0)])
    try:
        code = main(["fly", "--connect", server.url, str(plan), "--speedup", "50",
                     "--tlog", str(tmp_path / "f.tlog"), "--timeout", "60"])
    finally:
        server.close()
    out, err = capsys.readouterr()
    assert code == status, (out, err)
    if status == 0:
        assert "delivered, landed and disarmed" in out and "delivering" in out
    else:
        assert "vehicle disarmed mid-mission and reset the mission" in err
    assert len(read_tlog(tmp_path / "f.tlog")) > 50


def test_fly_command_rejects_a_missing_file(tmp_path, capsys):
    from groundcontrol.cli.main import main

    assert main(["fly", str(tmp_path / "nope.plan")]) == 2
    assert "no such file" in capsys.readouterr().err


@needs_reference
def test_abort_before_takeoff_sends_nothing_more():
    from groundcontrol.flight.flight import Flight, FlightState

    fake = FlightReplayFake("delivery_flight_continue", "Part 2", time_scale=50.0)
    channel = MemoryChannel(fake)
    try:
        flight = Flight(channel, _flight_mission("delivery_flight_continue"),
                        config=_fast_config())
        flight.abort()
        outcome = flight.run()
    finally:
        channel.close()
    assert outcome.reason is FlightReason.ABORTED and outcome.state is FlightState.ABORTED
    assert flight.state is FlightState.ABORTED
    assert not any(m.get_type() == "MISSION_COUNT" for m in fake.received) and not fake.armed


def test_waypoints_file_delivery_is_derived():
    from groundcontrol.cli.fly import mission_from_items
    from missions.items import MissionItem

    items = (MissionItem(0, 16, 0), MissionItem(1, 22), MissionItem(2, 16, x=1, y=1),
             MissionItem(3, 178, 2), MissionItem(4, 211, 2, 1, 0), MissionItem(5, 21))
    m = mission_from_items("w", items)
    assert (m.delivery_seq, m.dropoff_seq) == (4, 2)
    assert mission_from_items("w", items[:3]).delivery_seq is None


@needs_reference
def test_a_failsafe_seen_only_after_a_reattach_names_what_was_seen_not_seq_0():
    # A ground station that restarted finds the vehicle already returning: the ending says
    # so, with the vehicle's own mission item, instead of "at seq 0".
    import dataclasses

    from groundcontrol.mavlink.vehicle import StatusText, VehicleState

    mission = Mission("m", tuple(_recorded_mission(recordings.load("delivery_flight")).items),
                      delivery_seq=6, dropoff_seq=5)
    progress = ProgressTracker(mission, since_s=time.monotonic() - 1.0)
    texts = (StatusText(2, "GCS Failsafe", time.monotonic()),)
    air = VehicleState(1, mode="RTL", armed=True, mission_seq=3, texts=texts)
    assert progress.update(air) is FlightState.RETURNING
    outcome = progress.ending(dataclasses.replace(air, armed=False))
    assert outcome is not None and outcome.reason is FlightReason.GCS_FAILSAFE
    assert outcome.detail == ("ended in RTL with the vehicle's current mission item 3 of 11, "
                              "parcel not seen released")
