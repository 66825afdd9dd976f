"""Flights end to end against a vehicle backend: the built-in simulator (``sim``) or ArduPilot
SITL (``sitl``, skipped with the reason when ``arducopter`` is not found).

Only things ArduCopter itself offers are used to provoke failures (parameters, heartbeats,
dropping our own connection), so every test means the same on both backends.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import pytest
import recordings
from fake_links import LossyChannel
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import GroundControlError, MissionRejected
from groundcontrol.flight.flight import (
    Flight,
    FlightConfig,
    FlightEvent,
    FlightOutcome,
    FlightReason,
)
from groundcontrol.flight.flight import FlightState as S
from groundcontrol.flight.preflight import PreflightConfig
from groundcontrol.mavlink.commands import CommandConfig, Commander
from groundcontrol.mavlink.link import LinkManager
from groundcontrol.mavlink.tlog import TlogWriter, read_tlog
from groundcontrol.mavlink.transfer import TransferConfig, compare_items, download, upload_verified
from groundcontrol.mavlink.vehicle import VehicleTracker
from missions.items import Frame, Mission, MissionItem, MissionType, ParamRequirement

pytestmark = pytest.mark.timeout(240)
HOME = (recordings.HOME[0], recordings.HOME[1], 584.0, 0.0)


def short_delivery(home: tuple[float, ...], north_m: float = 250.0, alt_m: float = 30.0,
                   fence: tuple[MissionItem, ...] = (), extra: tuple[ParamRequirement, ...] = ()
                   ) -> Mission:
    """Take off, fly north, descend, release the gripper, hover, climb, land at home."""
    lat, lon, alt_amsl = home[0], home[1], home[2]
    drop = lat + north_m / 111_320.0
    items = (
        MissionItem(0, 16, Frame.GLOBAL, x=lat, y=lon, z=alt_amsl),
        MissionItem(1, 22, z=alt_m),
        MissionItem(2, 16, x=drop, y=lon, z=alt_m),
        MissionItem(3, 16, x=drop, y=lon, z=10.0),
        MissionItem(4, 211, Frame.MISSION, param1=1, param2=0),
        MissionItem(5, 19, param1=2, x=drop, y=lon, z=10.0),
        MissionItem(6, 16, x=drop, y=lon, z=alt_m),
        MissionItem(7, 21, x=lat, y=lon, z=0.0),
    )
    needs = (ParamRequirement("GRIP_ENABLE", 1.0, "eq", "the release is a DO_GRIPPER"),
             ParamRequirement("GRIP_TYPE", 1.0, "eq", "servo gripper (0 = none)"),
             ParamRequirement("SERVO9_FUNCTION", 28.0, "eq", "servo 9 drives the gripper"),
             *extra)
    return Mission("short", items, fence=fence, required_params=needs, delivery_seq=4,
                   dropoff_seq=3)


def config(speedup: float, **kw: object) -> FlightConfig:
    kw.setdefault("mission_timeout_s", 900.0)
    return FlightConfig(speedup=speedup,  # type: ignore[arg-type]
                        preflight=PreflightConfig(configure=True, min_battery_pct=50), **kw)


def _sleep_vehicle(tracker: VehicleTracker, seconds: float, speedup: float) -> None:
    deadline = tracker.deadline(seconds, speedup)
    while not deadline.expired():
        time.sleep(0.01)


class Run:
    """A flight running in its own thread, with the events it reported."""

    def __init__(self, flight: Flight, follow: bool = False) -> None:
        self.flight = flight
        self.follow = follow
        self.events: list[FlightEvent] = []
        flight.observer = self.events.append
        self.outcome: FlightOutcome | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.outcome = self.flight.follow() if self.follow else self.flight.run()

    def states(self) -> list[S]:
        return [e.state for e in self.events if e.kind == "state"]

    def wait_state(self, state: S, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while state not in self.states():
            assert self.outcome is None, f"flight ended before {state}: {self.outcome}"
            assert time.monotonic() < deadline, f"no {state} within {timeout_s} s"
            time.sleep(0.02)

    def result(self, timeout_s: float = 200.0) -> FlightOutcome:
        self.thread.join(timeout_s)
        assert self.outcome is not None, f"flight still running, states {self.states()}"
        return self.outcome


@pytest.fixture
def fleet(vehicle_endpoints) -> Callable[..., tuple[LinkManager, list, float]]:
    managers: list[LinkManager] = []

    def start(count: int = 1, homes=None):
        urls, speedup = vehicle_endpoints(count, homes)
        manager = LinkManager(heartbeat_period_s=1.0 / speedup)
        managers.append(manager)
        channels = [manager.vehicle(url, timeout_s=30) for url in urls]
        return manager, channels, speedup

    yield start
    for m in managers:
        m.close()


def test_short_delivery_end_to_end_with_tlog(fleet, tmp_path):
    _, (channel,), speedup = fleet(1)
    path = tmp_path / "flight.tlog"
    with TlogWriter(path) as tlog:
        tlog.attach(channel)
        run = Run(Flight(channel, short_delivery(HOME), config=config(speedup)))
        outcome = run.result()
    assert outcome.success, outcome
    assert outcome.reason is FlightReason.COMPLETED and outcome.reached_seq == 7
    states = run.states()
    for a, b in [(S.UPLOADING, S.ARMING), (S.ARMING, S.TAKEOFF), (S.EN_ROUTE, S.DELIVERING),
                 (S.DELIVERING, S.RETURNING), (S.RETURNING, S.LANDING), (S.LANDING, S.DONE)]:
        assert states.index(a) < states.index(b), states
    assert any(e.kind == "delivered" for e in run.events)
    assert len(read_tlog(path)) > 100


def test_planned_canberra_delivery(fleet):
    cmd_plan = pytest.importorskip("groundcontrol.cli.plan")
    from groundcontrol.scenarios import resolve_scenario
    from missions.build import build_mission
    from planner.load import load_scenario

    scenario = load_scenario(resolve_scenario("canberra"))
    feasible = [p for p in cmd_plan.plan_scenario(scenario) if p.result.feasible]
    chosen = min(feasible, key=lambda p: p.result.plan.flight_time_s)
    plan = chosen.result.plan
    mission = build_mission(plan, chosen.profile, scenario.airspace, depots=scenario.depots)
    names = {r.name for r in mission.required_params}
    assert {"GRIP_ENABLE", "GRIP_TYPE"} <= names  # a DO_GRIPPER does nothing with GRIP_TYPE 0
    home = (plan.depot.position.lat, plan.depot.position.lon, plan.depot.ground_alt_amsl_m, 0.0)
    _, (channel,), speedup = fleet(1, [home])
    outcome = Run(Flight(channel, mission, config=config(speedup))).result(400)
    assert outcome.success, outcome


def test_three_vehicles_from_one_ground_station(fleet):
    homes = [(HOME[0], HOME[1] + 0.004 * i, HOME[2], 0.0) for i in range(3)]
    manager, channels, speedup = fleet(3, homes)
    assert sorted(c.sysid for c in channels) == [1, 2, 3]
    runs = [Run(Flight(c, short_delivery(h, north_m=150 + 50 * i), config=config(speedup)))
            for i, (c, h) in enumerate(zip(channels, homes, strict=True))]
    outcomes = [r.result() for r in runs]
    assert all(o.success for o in outcomes), outcomes
    assert len(manager.links()) == 3


def test_rtl_in_flight_returns_and_reports_abort(fleet):
    _, (channel,), speedup = fleet(1)
    run = Run(Flight(channel, short_delivery(HOME, north_m=400), config=config(speedup)))
    run.wait_state(S.EN_ROUTE)
    run.flight.rtl()
    outcome = run.result()
    assert outcome.reason is FlightReason.ABORTED
    assert outcome.landed and outcome.disarmed and not outcome.delivered
    assert S.RETURNING in run.states()
    # The operator's return retraces the path flown (never a straight RTL through zones).
    assert outcome.detail.startswith("SMART_RTL as the operator asked"), outcome.detail


def test_follow_picks_up_a_mission_past_its_delivery_without_sending_anything(fleet):
    """A second ground station (as after a controller restart) follows the flight to the end:
    no checks, upload or arming, and passing the delivery item is the evidence."""
    _, (channel,), speedup = fleet(1)
    mission = short_delivery(HOME, north_m=300)
    first = Run(Flight(channel, mission, config=config(speedup)))
    first.wait_state(S.RETURNING)
    tracker = VehicleTracker(channel.sysid)
    channel.subscribe(tracker.update)
    deadline = time.monotonic() + 10.0
    while tracker.snapshot().mission_seq is None:
        assert time.monotonic() < deadline, "no MISSION_CURRENT"
        time.sleep(0.02)
    sent: list[str] = []
    send = channel.send
    channel.send = lambda msg: (sent.append(msg.get_type()), send(msg))[1]
    second = Run(Flight(channel, mission, tracker=tracker, config=config(speedup)), follow=True)
    outcome = second.result()
    assert outcome.success and outcome.delivered and outcome.landed, outcome
    assert first.result().success
    assert not {S.PREFLIGHT, S.UPLOADING, S.ARMING} & set(second.states())
    assert not {"MISSION_COUNT", "COMMAND_LONG", "SET_MODE"} & set(sent), sent


def test_flight_config_stream_rate_is_what_the_flight_asks_for(fleet):
    _, (channel,), speedup = fleet(1)
    sent: list[tuple[str, int]] = []
    send = channel.send
    channel.send = lambda msg: (sent.append((msg.get_type(), getattr(msg, "req_message_rate",
                                                                         -1))), send(msg))[1]
    flight = Flight(channel, short_delivery(HOME), config=config(speedup, stream_rate_hz=3))
    flight.abort()  # the streams are asked for before the checks; nothing flies
    assert not flight.run().delivered
    assert ("REQUEST_DATA_STREAM", 3) in sent


def test_pause_holds_then_resume_completes(fleet):
    _, (channel,), speedup = fleet(1)
    tracker = VehicleTracker(channel.sysid)
    channel.subscribe(tracker.update)
    run = Run(Flight(channel, short_delivery(HOME, north_m=400), tracker=tracker,
                     config=config(speedup)))
    run.wait_state(S.EN_ROUTE)
    time.sleep(5 / speedup)
    run.flight.pause()
    run.wait_state(S.PAUSED, 30)
    _sleep_vehicle(tracker, 8.0, speedup)  # braking
    start = tracker.snapshot()
    _sleep_vehicle(tracker, 5.0, speedup)
    held = tracker.snapshot()
    assert held.groundspeed_ms is not None and held.groundspeed_ms < 1.0
    from groundcontrol.flight.preflight import distance_m
    assert distance_m(start.lat_deg, start.lon_deg, held.lat_deg, held.lon_deg) < 3.0
    run.flight.resume()
    outcome = run.result()
    assert outcome.success, outcome


def test_battery_failsafe_ends_the_flight_with_its_reason(fleet):
    _, (channel,), speedup = fleet(1)
    mission = short_delivery(HOME, north_m=500, extra=(
        ParamRequirement("BATT_FS_LOW_ACT", 2.0, "eq", "RTL on low battery"),))
    run = Run(Flight(channel, mission, config=config(speedup)))
    run.wait_state(S.EN_ROUTE)
    Commander(channel, CommandConfig()).set_param("BATT_LOW_VOLT", 12.9)  # above the 12.6 V
    outcome = run.result()
    assert outcome.reason is FlightReason.BATTERY_FAILSAFE, outcome
    assert outcome.landed and outcome.disarmed and not outcome.success


def test_fence_breach_triggers_rtl_and_is_reported(fleet):
    lat, lon = HOME[0], HOME[1]
    north = lat + 150 / 111_320.0  # an exclusion square across the route, 150-250 m north
    square = [(north, lon - 0.001), (north, lon + 0.001), (north + 0.0009, lon + 0.001),
              (north + 0.0009, lon - 0.001)]
    fence = tuple(MissionItem(i, 5002, Frame.GLOBAL, param1=4, x=a, y=b,
                              mission_type=MissionType.FENCE) for i, (a, b) in enumerate(square))
    mission = short_delivery(HOME, north_m=400, fence=fence, extra=(
        ParamRequirement("FENCE_TYPE", 4.0, "bits", "polygon fences"),
        ParamRequirement("FENCE_ACTION", 1.0, "eq", "RTL on breach")))
    _, (channel,), speedup = fleet(1)
    outcome = Run(Flight(channel, mission, config=config(speedup))).result()
    assert outcome.reason is FlightReason.FENCE_BREACH, outcome
    assert not outcome.delivered and outcome.landed and outcome.disarmed


def test_link_drop_reconnects_and_the_flight_goes_on(fleet):
    _, (channel,), speedup = fleet(1)
    run = Run(Flight(channel, short_delivery(HOME, north_m=300), config=config(speedup)))
    run.wait_state(S.EN_ROUTE)
    channel.link.drop_connection()
    outcome = run.result()
    assert outcome.success, outcome
    assert channel.link.stats().reconnects >= 1


def test_gcs_heartbeat_loss_triggers_the_gcs_failsafe(fleet):
    _, (channel,), speedup = fleet(1)
    mission = short_delivery(HOME, north_m=500, extra=(
        ParamRequirement("FS_GCS_ENABLE", 1.0, "eq", "RTL when the GCS goes quiet"),
        ParamRequirement("FS_OPTIONS", 16.0, "eq", "not bit 1: no going on in AUTO"),))
    run = Run(Flight(channel, mission, config=config(speedup)))
    run.wait_state(S.EN_ROUTE)
    channel.link.heartbeat_enabled = False  # commands and telemetry go on, heartbeats stop
    time.sleep(10 / speedup)
    channel.link.heartbeat_enabled = True
    outcome = run.result()
    assert outcome.reason is FlightReason.GCS_FAILSAFE, outcome
    assert outcome.landed and outcome.disarmed


def test_rejected_fence_gives_a_clear_error(fleet):
    _, (channel,), speedup = fleet(1)
    two = tuple(MissionItem(i, 5001, Frame.GLOBAL, param1=2, x=HOME[0] + 0.001 * i, y=HOME[1],
                            mission_type=MissionType.FENCE) for i in range(2))
    with pytest.raises(MissionRejected) as err:
        upload_verified(channel, two, MissionType.FENCE, TransferConfig())
    assert err.value.result == mavlink.MAV_MISSION_ERROR
    outcome = Run(Flight(channel, short_delivery(HOME, fence=two), config=config(speedup))).result()
    assert outcome.reason is FlightReason.UPLOAD_FAILED
    assert "FENCE upload rejected with MAV_MISSION_ERROR" in outcome.detail


def test_lossy_link_upload_against_the_vehicle(fleet):
    _, (channel,), _ = fleet(1)
    lossy = LossyChannel(channel, drop=0.2, duplicate=0.1, reorder=0.1, seed=7)
    items = [MissionItem(0, 16, Frame.GLOBAL, x=HOME[0], y=HOME[1], z=584.0)] + [
        MissionItem(i, 16, x=HOME[0] + 1e-5 * i, y=HOME[1] + 2e-5 * i, z=20 + i)
        for i in range(1, 25)]
    try:
        back = upload_verified(lossy, items, MissionType.MISSION, TransferConfig())
    except GroundControlError as exc:  # a clean, named failure is acceptable
        assert type(exc).__module__ == "groundcontrol.errors", exc
        return
    assert compare_items(items, back, 0) == []
    assert compare_items(items, download(channel, 0, TransferConfig()), 0) == []


def test_fly_command_against_the_vehicle(vehicle_endpoints, tmp_path, capsys):
    from groundcontrol.cli.main import main
    from missions.qgc_plan import write_plan

    (url,), speedup = vehicle_endpoints(1, None)
    plan = tmp_path / "short.plan"
    write_plan(plan, short_delivery(HOME))
    tlog = tmp_path / "fly.tlog"
    code = main(["fly", "--connect", url, str(plan), "--speedup", f"{speedup:g}",
                 "--configure", "--min-battery", "50", "--tlog", str(tlog), "--timeout", "60"])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "delivered, landed and disarmed" in out
    assert len(read_tlog(tlog)) > 100


def _with_plan(mission: Mission, planned_s: float) -> Mission:
    return dataclasses.replace(mission, meta={**mission.meta, "planned_s": str(planned_s)})


def test_a_flight_slower_than_planned_is_re_estimated_not_aborted(fleet):
    # The plan says 1 s: the budget (1.5 x plan + 120 s) runs out mid-flight, the vehicle is
    # still making progress, so the flight reports it and goes on to land.
    _, (channel,), speedup = fleet(1)
    mission = _with_plan(short_delivery(HOME, north_m=700), 1.0)
    run = Run(Flight(channel, mission, config=config(speedup, mission_timeout_s=None)))
    outcome = run.result()
    assert outcome.success, outcome
    slow = [e.detail for e in run.events if e.kind == "problem" and "slower" in e.detail]
    assert slow and "plan said 1 s" in slow[0]
    assert outcome.record is not None and outcome.record.flown_s is not None
    assert outcome.record.flown_s > 121.5


def test_a_confirmed_release_stays_delivered_when_the_flight_times_out(fleet):
    _, (channel,), speedup = fleet(1)
    tracker = VehicleTracker(channel.sysid)
    channel.subscribe(tracker.update)
    mission = _with_plan(short_delivery(HOME, north_m=400), 1.0)
    run = Run(Flight(channel, mission, tracker=tracker,
                     config=config(speedup, mission_timeout_s=None, stall_s=15.0)))
    run.wait_state(S.RETURNING)
    run.flight.pause()  # holds in BRAKE on the way home: no progress
    outcome = run.result()
    assert outcome.reason is FlightReason.TIMEOUT, outcome
    assert "no progress" in outcome.detail
    assert outcome.delivered and not outcome.landed


def test_a_closed_launch_gate_holds_the_vehicle_on_the_pad(fleet):
    """Checked and uploaded, the vehicle waits disarmed for its launch slot, then flies."""
    _, (channel,), speedup = fleet(1)
    gate = threading.Event()
    flight = Flight(channel, short_delivery(HOME),
                    config=config(speedup, launch_gate=gate.is_set))
    run = Run(flight)
    deadline = time.monotonic() + 60.0
    while not any(e.kind == "hold" for e in run.events):
        assert time.monotonic() < deadline and run.outcome is None, run.states()
        time.sleep(0.02)
    _sleep_vehicle(flight.tracker, 20.0, speedup)
    assert not flight.tracker.snapshot().armed and S.ARMING not in run.states()
    gate.set()
    outcome = run.result()
    assert outcome.success, outcome
    assert run.states().index(S.UPLOADING) < run.states().index(S.ARMING)


def test_preflight_refuses_a_straight_line_return_and_configure_sets_the_safe_one(fleet):
    """A vehicle whose fence breach would fly RTL straight home (FENCE_ACTION 1) is refused
    by name; with ``configure`` the check sets SmartRTL-or-Land (5) and the flight goes."""
    from missions.build import CONTINGENCY_NEEDS

    _, (channel,), speedup = fleet(1)
    commander = Commander(channel, CommandConfig())
    commander.set_param("FENCE_ACTION", 1)
    mission = short_delivery(HOME, north_m=150, extra=CONTINGENCY_NEEDS)
    strict = FlightConfig(speedup=speedup, preflight=PreflightConfig(configure=False,
                                                                     min_battery_pct=50))
    refused = Flight(channel, mission, config=strict).run()
    assert refused.reason is FlightReason.PREFLIGHT_FAILED, refused
    assert "FENCE_ACTION" in refused.detail and "SmartRTL" in refused.detail, refused.detail
    assert commander.get_param("FENCE_ACTION") == 1  # nothing changed on the vehicle
    outcome = Flight(channel, mission, config=config(speedup)).run()
    assert outcome.success, outcome
    assert commander.get_param("FENCE_ACTION") == 5
