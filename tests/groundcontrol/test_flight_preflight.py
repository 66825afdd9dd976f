"""Pre-flight checks over a real TCP link: --configure sets a parameter that needs a reboot,
the link drops as ArduPilot SITL's does, the ground station reconnects and flies."""

from __future__ import annotations

import threading

import replay
from conftest import needs_reference
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_flight import _fast_config, _flight_mission

from groundcontrol.flight.flight import Flight, FlightConfig
from groundcontrol.flight.preflight import PreflightConfig, check_home, check_params, distance_m
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.vehicle import VehicleState
from missions.items import Mission, MissionItem, ParamRequirement


class RebootingFake(replay.FlightReplayFake):
    """Drops the TCP client 0.1 s after ACKing MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN."""

    server: replay.FakeServer | None = None
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
    server = replay.FakeServer([fake])
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

