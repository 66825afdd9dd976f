"""Pre-flight checks over a real TCP link: --configure sets a parameter that needs a reboot,
the link drops as ArduPilot SITL's does, the ground station reconnects and flies. Parameters
that depend on each other (payload outputs, planned speed) against the built-in simulator and
the scripted fake."""

from __future__ import annotations

import threading
import time

import pytest
import recordings
from conftest import needs_reference
from fake_links import FakeServer
from fake_vehicle import FlightReplayFake
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_flight import _fast_config, _flight_mission

from groundcontrol.errors import PreflightFailed
from groundcontrol.flight.flight import Flight, FlightConfig
from groundcontrol.flight.preflight import (
    CheckResult,
    PreflightConfig,
    check_home,
    check_param_dependencies,
    check_params,
    distance_m,
    run_preflight,
)
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.vehicle import VehicleState, VehicleTracker
from missions.items import Cmd, Frame, Mission, MissionItem, ParamRequirement


class RebootingFake(FlightReplayFake):
    """Drops the TCP client 0.1 s after ACKing MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN."""

    server: FakeServer | None = None
    reboots = 0

    def _apply_command(self, msg):
        if msg.command == mavlink.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN and self.server:
            self.reboots += 1
            threading.Timer(0.1, self.server.drop_client).start()
        super()._apply_command(msg)


@needs_reference
def test_configure_sets_params_reboots_and_flies():
    fake = RebootingFake("delivery_flight_continue", "Part 2", time_scale=50.0)
    fake.params["GRIP_ENABLE"] = (0.0, mavlink.MAV_PARAM_TYPE_INT8)
    fake.params["MIS_OPTIONS"] = (0.0, mavlink.MAV_PARAM_TYPE_INT16)
    server = FakeServer([fake])
    fake.server = server
    base = _fast_config()
    config = FlightConfig(speedup=base.speedup, preflight=PreflightConfig(
        ready_timeout_s=100.0, configure=True, reboot_timeout_s=10.0))
    try:
        with Link(server.url, heartbeat_period_s=0.02) as link:
            channel = link.wait_vehicle(1, 5)
            events = []
            outcome = Flight(channel, _flight_mission("delivery_flight_continue"),
                             config=config, observer=events.append).run()
            assert link.stats().reconnects >= 1
    finally:
        server.close()
    assert outcome.success, outcome
    assert fake.reboots == 1 and server.connections == 2
    assert fake.params["GRIP_ENABLE"][0] == 1 and fake.params["MIS_OPTIONS"][0] == 4
    checks = [e.detail for e in events if e.kind == "check"]
    assert any(c.startswith("param GRIP_ENABLE: 1") for c in checks)


@needs_reference
def test_without_configure_missing_params_are_named(channel, fake):
    fake.params.update({"MIS_OPTIONS": (0.0, 4), "DISARM_DELAY": (10.0, 2)})
    needs = [ParamRequirement("MIS_OPTIONS", 4, "bits", "continue after land"),
             ParamRequirement("DISARM_DELAY", 15, "ge", "ground wait"),
             ParamRequirement("NOT_A_PARAM", 1)]
    results, reboot = check_params(Commander(channel), needs, configure=False)
    assert [r.ok for r in results] == [False, False, False] and not reboot
    assert "needs bits 4: continue after land" in results[0].detail
    assert "NOT_A_PARAM" in results[2].detail


def test_home_must_be_near_the_depot():
    mission = Mission("m", (MissionItem(0, 16, 0, x=-35.0, y=149.0, z=500),))
    near = VehicleState(1, home_lat_deg=-35.0001, home_lon_deg=149.0)
    far = VehicleState(1, home_lat_deg=-35.01, home_lon_deg=149.0)
    assert check_home(near, mission, 50).ok
    result = check_home(far, mission, 50)
    assert not result.ok and "1112 m" in result.detail
    assert not check_home(VehicleState(1), mission, 50).ok
    assert round(distance_m(-35, 149, -35.01, 149)) == 1112



# -- parameters that depend on each other ------------------------------------------------------

I8, I16, F32 = (mavlink.MAV_PARAM_TYPE_INT8, mavlink.MAV_PARAM_TYPE_INT16,
                mavlink.MAV_PARAM_TYPE_REAL32)


def _payload_mission(release: Cmd | None, cruise_speed_ms: float | None = None) -> Mission:
    """Home, takeoff, a waypoint, the release (DO_WINCH lower / DO_GRIPPER open), land."""
    lat, lon, alt = recordings.HOME
    items = [MissionItem(0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=lat, y=lon, z=alt),
             MissionItem(1, Cmd.NAV_TAKEOFF, z=20.0),
             MissionItem(2, Cmd.NAV_WAYPOINT, x=lat + 0.001, y=lon, z=20.0)]
    if release is Cmd.DO_WINCH:
        items.append(MissionItem(3, Cmd.DO_WINCH, Frame.MISSION, param1=1, param2=1, param3=5))
    elif release is Cmd.DO_GRIPPER:
        items.append(MissionItem(3, Cmd.DO_GRIPPER, Frame.MISSION, param1=1, param2=0))
    items.append(MissionItem(len(items), Cmd.NAV_LAND, x=lat, y=lon, z=0.0))
    return Mission("payload", tuple(items), cruise_speed_ms=cruise_speed_ms)


def _sim_preflight(params: dict[str, float], mission: Mission) -> list[CheckResult]:
    """``run_preflight`` against the built-in simulator booted with ``params``."""
    from sitl.sim import SimFleet

    speedup = 50.0
    with SimFleet(homes=[(*recordings.HOME, 0.0)], speedup=speedup, params=params,
                  base_port=0) as fleet, \
            Link(fleet.endpoints[0], heartbeat_period_s=1 / speedup) as link:
        channel = link.wait_vehicle(1, 10)
        tracker = VehicleTracker(channel.sysid)
        channel.subscribe(tracker.update)
        commander = Commander(channel)
        commander.request_streams(0, speedup=speedup)
        deadline = time.monotonic() + 10.0
        while tracker.snapshot().heartbeats == 0:
            assert time.monotonic() < deadline, "no HEARTBEAT from the simulator"
            time.sleep(0.02)
        return run_preflight(commander, tracker, mission, PreflightConfig(
            speedup=speedup, min_battery_pct=50, configure=True))


def _by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


@pytest.mark.sim
def test_winch_without_a_winch_output_fails_preflight_naming_both_params():
    params = {"WINCH_TYPE": 1, "SERVO9_FUNCTION": 28}
    with pytest.raises(PreflightFailed) as caught:
        _sim_preflight(params, _payload_mission(Cmd.DO_WINCH))
    text = str(caught.value)
    assert "WINCH_TYPE 1 needs an output with SERVOn_FUNCTION 88 (winch)" in text
    assert "winch unhealthy" in text and "SERVO1..16_FUNCTION" in text
    assert "--configure does not" in text


@pytest.mark.sim
def test_winch_on_servo10_passes_and_a_slow_wpnav_speed_only_warns():
    params = {"WINCH_TYPE": 1, "SERVO10_FUNCTION": 88, "WPNAV_SPEED": 1000}
    results = _by_name(_sim_preflight(params, _payload_mission(Cmd.DO_WINCH, 22.0)))
    assert results["winch"].ok and "SERVO10_FUNCTION 88" in results["winch"].detail
    speed = results["speed"]
    assert speed.ok
    assert speed.detail.startswith("WPNAV_SPEED 10.0 m/s below the planned 22.0 m/s")
    assert "ANGLE_MAX 30.0 deg" in speed.detail


@pytest.mark.sim
def test_servo_gripper_without_an_output_fails_preflight():
    params = {"GRIP_ENABLE": 1, "GRIP_TYPE": 1}
    with pytest.raises(PreflightFailed) as caught:
        _sim_preflight(params, _payload_mission(Cmd.DO_GRIPPER))
    text = str(caught.value)
    assert "gripper: GRIP_TYPE 1 (servo) needs an output with SERVOn_FUNCTION 28" in text
    assert "WINCH_TYPE" not in text


def test_unused_payloads_read_no_servo_functions(channel, fake):
    fake.params.update({"WINCH_TYPE": (0.0, I8), "GRIP_ENABLE": (1.0, I8),
                        "GRIP_TYPE": (1.0, I8)})
    results = check_param_dependencies(Commander(channel), _payload_mission(None))
    assert results == [CheckResult("winch", True, "WINCH_TYPE 0 (no winch)")]
    asked = [m.param_id for m in fake.received if m.get_type() == "PARAM_REQUEST_READ"]
    assert asked == ["WINCH_TYPE"]


def test_a_do_winch_needs_a_winch_and_a_do_gripper_a_gripper(channel, fake):
    fake.params.update({"WINCH_TYPE": (0.0, I8), "GRIP_ENABLE": (0.0, I8),
                        "GRIP_TYPE": (0.0, I8)})
    commander = Commander(channel)
    (winch,) = check_param_dependencies(commander, _payload_mission(Cmd.DO_WINCH))
    assert not winch.ok and "WINCH_TYPE 0: the mission's DO_WINCH is refused" in winch.detail
    _, gripper = check_param_dependencies(commander, _payload_mission(Cmd.DO_GRIPPER))
    assert not gripper.ok and gripper.detail.startswith("GRIP_ENABLE 0")
    assert not any(m.get_type() == "PARAM_SET" for m in fake.received)


def test_speed_line_covers_a_fast_enough_vehicle_and_never_fails(channel, fake):
    fake.params.update({"WINCH_TYPE": (0.0, I8), "WPNAV_SPEED": (1500.0, F32),
                        "ANGLE_MAX": (4500.0, I16)})
    results = check_param_dependencies(Commander(channel), _payload_mission(None, 12.0))
    assert results[-1] == CheckResult(
        "speed", True, "WPNAV_SPEED 15.0 m/s covers the planned 12.0 m/s; ANGLE_MAX 45.0 deg")


@pytest.mark.parametrize("method", [Cmd.DO_WINCH, Cmd.DO_GRIPPER, None])
def test_nan_parameters_from_the_vehicle_fail_checks_by_name_never_raise(channel, fake, method):
    """A vehicle answering NaN (a broken autopilot, a hostile one) is the vehicle's fault: the
    check fails naming the parameter, it is not a crash nor 'bad user input' (exit 2)."""
    nan = float("nan")
    fake.params.update({name: (nan, F32) for name in (
        "WINCH_TYPE", "GRIP_ENABLE", "GRIP_TYPE", "WPNAV_SPEED", "ANGLE_MAX",
        *(f"SERVO{n}_FUNCTION" for n in range(1, 17)))})
    commander = Commander(channel)
    results = check_param_dependencies(commander, _payload_mission(method, 12.0))
    assert results and all(isinstance(r, CheckResult) for r in results)
    if method is not None:
        assert not results[0].ok and "nan" in results[0].detail.lower()
    needs = _payload_mission(method).required_params or (
        ParamRequirement("FS_OPTIONS", 2, "bits"), ParamRequirement("GRIP_ENABLE", 1))
    fake.params.update({req.name: (nan, F32) for req in needs})
    required, _ = check_params(commander, needs, configure=False)
    assert len(required) == len(needs) and not any(r.ok for r in required)
    assert all("reported as nan by the vehicle" in r.detail for r in required)
    # --configure sets a value that holds, as it would for any wrong value.
    configured, _ = check_params(commander, needs, configure=True)
    assert all(r.ok and r.detail.startswith("set nan -> ") for r in configured)
