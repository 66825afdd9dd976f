"""LinkManager reads all its links from one reactor thread: heartbeats, routing, reconnects."""

from __future__ import annotations

import threading
import time

import pytest
from fake_links import FakeServer
from fake_vehicle import FakeVehicle
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.mavlink.link import LinkManager
from groundcontrol.mavlink.messages import wait_for

LINKS = 12


def _wait(cond, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _link_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("link")]


@pytest.fixture
def servers():
    servers = [FakeServer([FakeVehicle(i + 1)]) for i in range(LINKS)]
    yield servers
    for s in servers:
        s.close()


def _heartbeats(server: FakeServer) -> int:
    return sum(m.get_type() == "HEARTBEAT" for m in list(server.received))


def test_one_thread_reads_every_link_and_keeps_each_alive(servers):
    before = set(_link_threads())
    with LinkManager(heartbeat_period_s=0.1) as manager:
        channels = [manager.vehicle(s.url, sysid=i + 1, timeout_s=5)
                    for i, s in enumerate(servers)]
        assert set(_link_threads()) - before == {"link reactor"}
        # Every vehicle is heard on its own channel, and every one gets the GCS heartbeat at
        # the link's period (ArduCopter's GCS failsafe counts them).
        start = [_heartbeats(s) for s in servers]
        time.sleep(1.0)
        got = [_heartbeats(s) - n for s, n in zip(servers, start, strict=True)]
        assert min(got) >= 6, got
        for channel in channels:
            assert channel.alive(2.0)  # the fake vehicles beat at 1 Hz
        servers[5].fakes[6].custom_mode = 4
        hb = wait_for(channels[5], lambda m: m.custom_mode == 4, 3, "guided",
                      types=["HEARTBEAT"])
        assert hb.get_srcSystem() == 6
    assert _wait(lambda: "link reactor" not in _link_threads(), 3), "closed with the manager"


def test_a_dropped_link_reconnects_while_the_others_keep_flowing(servers):
    with LinkManager(heartbeat_period_s=0.1) as manager:
        channels = [manager.vehicle(s.url, sysid=i + 1, timeout_s=5)
                    for i, s in enumerate(servers)]
        dropped = manager.links()[3]
        servers[3].drop_client()
        assert _wait(lambda: dropped.stats().reconnects >= 1, 5)
        assert servers[3].connections >= 2
        wait_for(channels[3], lambda m: True, 3, "heartbeat after reconnect",
                 types=["HEARTBEAT"])
        # The others never noticed.
        assert all(link.stats().reconnects == 0 for i, link in enumerate(manager.links())
                   if i != 3)
        # Commands still reach the reconnected vehicle and come back on its channel.
        with channels[3].inbox(["COMMAND_ACK"]) as box:
            channels[3].send(mavlink.MAVLink_command_long_message(
                4, 1, mavlink.MAV_CMD_DO_SET_MODE, 0, 1, 5, 0, 0, 0, 0, 0))
            ack = box.get_until(lambda m: m.command == mavlink.MAV_CMD_DO_SET_MODE,
                                time.monotonic() + 3)
        assert ack is not None and ack.result == mavlink.MAV_RESULT_ACCEPTED


def test_drop_connection_reconnects_through_the_reactor(servers):
    with LinkManager(heartbeat_period_s=0.1) as manager:
        channel = manager.vehicle(servers[0].url, sysid=1, timeout_s=5)
        link = manager.links()[0]
        for round_ in range(1, 4):  # the same descriptor number may come back each time
            link.drop_connection()
            assert _wait(lambda r=round_: link.stats().reconnects >= r, 5)
            wait_for(channel, lambda m: True, 3, f"heartbeat after drop {round_}",
                     types=["HEARTBEAT"])


def test_a_link_closed_alone_stops_being_read(servers):
    with LinkManager(heartbeat_period_s=0.1) as manager:
        for i, s in enumerate(servers[:3]):
            manager.vehicle(s.url, sysid=i + 1, timeout_s=5)
        first = manager.links()[0]
        first.close()
        received = first.stats().received
        sent_to_first = _heartbeats(servers[0])
        time.sleep(0.5)
        assert first.stats().received == received
        assert _heartbeats(servers[0]) == sent_to_first
        assert manager.links()[1].stats().received > 0
