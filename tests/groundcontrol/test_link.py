"""The link against a fake ArduCopter on a real TCP socket, and vehicle state from recordings."""

from __future__ import annotations

import time

import pytest
import recordings
from conftest import needs_reference
from fake_links import FakeServer
from fake_vehicle import FakeVehicle
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import LinkError, ResponseTimeout
from groundcontrol.mavlink.link import Link, LinkManager
from groundcontrol.mavlink.messages import wait_for
from groundcontrol.mavlink.vehicle import (
    VehicleTracker,
    copter_mode_name,
    copter_mode_number,
    ekf_ready,
)


def _wait(cond, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def server():
    srv = FakeServer([FakeVehicle(1), FakeVehicle(2)])
    yield srv
    srv.close()


def test_link_skips_boot_text_and_routes_vehicles_by_sysid(server):
    with Link(server.url, heartbeat_period_s=0.1) as link:
        v1 = link.wait_vehicle(1, timeout_s=5)
        v2 = link.wait_vehicle(2, timeout_s=5)
        assert link.sysids() == [1, 2]
        assert link.stats().bad_data >= 1  # the boot text came first and was skipped
        server.fakes[2].custom_mode = 4
        hb2 = wait_for(v2, lambda m: m.custom_mode == 4, 3, "guided", types=["HEARTBEAT"])
        assert hb2.get_srcSystem() == 2
        # vehicle 1 never saw mode 4: its messages stay on its own channel
        with v1.inbox(["HEARTBEAT"]) as box:
            msg = box.get(2.0)
        assert msg is not None and msg.get_srcSystem() == 1 and msg.custom_mode == 0


def test_gcs_heartbeat_is_sent_with_gcs_identity(server):
    with Link(server.url, heartbeat_period_s=0.05):
        assert _wait(lambda: sum(m.get_type() == "HEARTBEAT" for m in server.received) >= 5)
    hb = next(m for m in server.received if m.get_type() == "HEARTBEAT")
    assert (hb.get_srcSystem(), hb.get_srcComponent()) == (255, 190)
    assert hb.type == mavlink.MAV_TYPE_GCS
    assert hb.get_header().incompat_flags is not None and hb._header.mlen > 0
    assert server.received[0]._header.__class__ is mavlink.MAVLink_header


def test_liveness_counts_any_message_not_only_heartbeats(server):
    with Link(server.url, heartbeat_period_s=0.1) as link:
        v1 = link.wait_vehicle(1, 5)
        time.sleep(1.2)
        age_before = v1.link_age_s()
        server.push(1, mavlink.MAVLink_statustext_message(6, b"ping", 0, 0))
        assert _wait(lambda: v1.link_age_s() < 0.3, 2)
        assert age_before is not None and age_before < 1.5


def test_link_reconnects_after_the_vehicle_drops_tcp(server):
    with Link(server.url, heartbeat_period_s=0.1) as link:
        v1 = link.wait_vehicle(1, 5)
        server.drop_client()
        assert _wait(lambda: server.connections >= 2, 5)
        assert _wait(lambda: link.stats().reconnects >= 1, 5)
        # messages flow again on the same channel object after the reconnect
        wait_for(v1, lambda m: True, 3, "heartbeat after reconnect", types=["HEARTBEAT"])


def test_commands_reach_the_addressed_vehicle_only(server):
    with Link(server.url, heartbeat_period_s=0.2) as link:
        v2 = link.wait_vehicle(2, 5)
        with v2.inbox(["COMMAND_ACK"]) as box:  # opened before sending: no reply is missed
            v2.send(mavlink.MAVLink_command_long_message(
                2, 1, mavlink.MAV_CMD_DO_SET_MODE, 0, 1, 5, 0, 0, 0, 0, 0))
            ack = box.get_until(lambda m: m.command == mavlink.MAV_CMD_DO_SET_MODE,
                                time.monotonic() + 3)
        assert ack is not None and ack.result == mavlink.MAV_RESULT_ACCEPTED
    assert server.fakes[2].custom_mode == 5 and server.fakes[1].custom_mode == 0


def test_link_manager_holds_many_links():
    servers = [FakeServer([FakeVehicle(i + 1)]) for i in range(3)]
    try:
        with LinkManager(heartbeat_period_s=0.2) as manager:
            channels = [manager.vehicle(s.url, timeout_s=5) for s in servers]
            assert [c.sysid for c in channels] == [1, 2, 3]
            assert len(manager.links()) == 3
            assert manager.connect(servers[0].url) is manager.links()[0]
    finally:
        for s in servers:
            s.close()


def test_wait_vehicle_times_out_with_named_error(server):
    with Link(server.url, heartbeat_period_s=0.2) as link, pytest.raises(
            ResponseTimeout, match="vehicle 9"):
        link.wait_vehicle(9, timeout_s=0.5)


def test_unreachable_endpoint_is_a_link_error():
    with pytest.raises(LinkError, match="cannot connect"):
        Link("tcp:127.0.0.1:1", connect_timeout_s=0.3).open()
    with pytest.raises(ValueError, match="not tcp"):
        Link("bogus:thing").open()


def test_udp_link_roundtrip():
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.settimeout(3)
    with Link(f"udpout:127.0.0.1:{port}", heartbeat_period_s=0.1) as link:
        data, addr = sock.recvfrom(1024)  # the GCS heartbeat arrives first
        parser = mavlink.MAVLink(None)
        assert parser.parse_buffer(data)[0].get_type() == "HEARTBEAT"
        sock.sendto(recordings.encode(FakeVehicle(7).heartbeat(), 7, 1), addr)
        assert link.wait_vehicle(7, 3).sysid == 7
    sock.close()


def test_mode_table_and_ekf_flags():
    assert copter_mode_name(3) == "AUTO" and copter_mode_number("RTL") == 6
    assert copter_mode_name(99) == "MODE_99"
    with pytest.raises(ValueError, match="not an ArduCopter mode"):
        copter_mode_number("FLYAWAY")
    assert ekf_ready(0x33F) and not ekf_ready(0xA7) and not ekf_ready(0x400)
    assert not ekf_ready(0x33F | mavlink.EKF_GPS_GLITCHING)


@needs_reference
def test_vehicle_state_follows_boot_to_ready():
    records = recordings.load("boot_to_ready")
    tracker = VehicleTracker(1)
    states = []
    tracker.add_observer(states.append)
    recordings.play(records, tracker.update)
    final = tracker.snapshot()
    assert final.home_lat_deg == pytest.approx(-35.363261, abs=1e-6)
    assert final.home_alt_amsl_m == pytest.approx(584.08, abs=0.02)
    assert final.gps_fix_type is not None and final.gps_fix_type >= 3
    assert final.ekf_ready
    # the EKF was not ready at first (0x400 then 0xa7), only later
    flags_seen = [s.ekf_flags for s in states if s.ekf_flags is not None]
    assert flags_seen[0] == 0x400 and not ekf_ready(flags_seen[0])
    first_ready = next(i for i, s in enumerate(states) if s.ekf_ready)
    assert any(s.mode == "GUIDED" for s in states[:first_ready])  # GUIDED came before EKF
    assert any(s.armed for s in states) and not final.armed  # armed, then auto-disarmed
    texts = [t.text for t in final.texts]
    assert "Arm: AHRS: waiting for home" in texts and "Disarming motors" in texts
    assert final.voltage_v == pytest.approx(12.6)


@needs_reference
def test_vehicle_state_follows_the_delivery_flight():
    records = recordings.load("delivery_flight_continue")
    tracker = VehicleTracker(1)
    recordings.play(records, tracker.update)
    s = tracker.snapshot()
    assert s.reached[:9] == (1, 2, 3, 4, 5, 7, 8, 9, 10)
    assert s.mission_total == 5 and s.on_ground and not s.armed  # part 2: a 5-item mission
    assert any(t.text == "Gripper Released" for t in s.texts)
    assert s.consumed_mah is not None and s.consumed_mah > 0


@needs_reference
def test_chunked_statustext_is_reassembled():
    records = recordings.load("payload_commands")
    tracker = VehicleTracker(1)
    recordings.play(records, tracker.update, types=["STATUSTEXT"])
    texts = [t.text for t in tracker.snapshot().texts]
    joined = [t for t in texts if t.startswith("PayloadPlace: payload release thrust")]
    assert joined and joined[0].endswith("315431")


@needs_reference
def test_failsafe_texts_and_critical_status():
    tracker = VehicleTracker(1)
    recordings.play(recordings.load("failsafe_battery"), tracker.update)
    s = tracker.snapshot()
    assert s.system_status == mavlink.MAV_STATE_CRITICAL
    assert any(t.text == "Battery Failsafe" for t in s.texts)
    tracker = VehicleTracker(1)
    recordings.play(recordings.load("failsafe_fence"), tracker.update)
    assert tracker.snapshot().fence_breach_count >= 1


def test_serial_link_over_a_pty():
    import os

    master, slave = os.openpty()
    try:
        with Link(f"serial:{os.ttyname(slave)}:57600", heartbeat_period_s=0.1) as link:
            os.write(master, recordings.encode(FakeVehicle(3).heartbeat(), 3, 1))
            assert link.wait_vehicle(3, 3).sysid == 3
            data = os.read(master, 512)  # our GCS heartbeat went out on the serial line
            msgs = mavlink.MAVLink(None).parse_buffer(data) or []
            assert any(m.get_type() == "HEARTBEAT" and m.get_srcSystem() == 255 for m in msgs)
    finally:
        os.close(master)
        os.close(slave)


def test_udpin_link_answers_the_vehicle_that_wrote_first():
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a free port for the ground station to listen on
    vehicle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    vehicle.settimeout(3)
    with Link(f"udpin:127.0.0.1:{port}", heartbeat_period_s=0.1) as link:
        vehicle.sendto(recordings.encode(FakeVehicle(4).heartbeat(), 4, 1), ("127.0.0.1", port))
        assert link.wait_vehicle(4, 3).sysid == 4
        data, _ = vehicle.recvfrom(1024)  # the GCS heartbeat comes back to the vehicle
        msgs = mavlink.MAVLink(None).parse_buffer(data) or []
        assert msgs and msgs[0].get_type() == "HEARTBEAT" and msgs[0].get_srcSystem() == 255
    vehicle.close()


def test_a_pinned_link_drops_and_reports_another_sysid(server):
    # Two autopilots answer on one link: pinned to the one connected to, the other is
    # never taken for the vehicle (no channel, no HEARTBEAT on ours), and is reported once.
    with Link(server.url, heartbeat_period_s=0.1) as link:
        ours = link.wait_vehicle(1, timeout_s=5)
        seen: list[tuple[int, str]] = []
        link.add_stranger_listener(lambda sysid, mtype: seen.append((sysid, mtype)))
        link.pin(1)
        assert _wait(lambda: link.strangers().get(2, 0) >= 3)
        assert link.sysids() == [1]
        assert [s for s, _ in seen] == [2]  # reported once, however many it sends
        with ours.inbox(["HEARTBEAT"]) as box:
            for _ in range(5):
                msg = box.get(2.0)
                assert msg is not None and msg.get_srcSystem() == 1
        with pytest.raises(ResponseTimeout):
            link.wait_vehicle(2, timeout_s=0.5)
