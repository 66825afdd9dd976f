"""The per-flight .tlog is readable by MAVProxy's tools (pymavlink's mavlogdump.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_links import FakeServer
from fake_vehicle import FakeVehicle
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.mavlink.commands import CommandConfig, Commander
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.tlog import TlogWriter, read_tlog

MAVLOGDUMP = Path(sys.executable).parent / "mavlogdump.py"


def test_tlog_records_both_directions_and_mavlogdump_reads_it(tmp_path):
    server = FakeServer([FakeVehicle(1), FakeVehicle(2)])
    path = tmp_path / "flight.tlog"
    try:
        with Link(server.url, heartbeat_period_s=0.1) as link, TlogWriter(path) as tlog:
            v1 = link.wait_vehicle(1, 5)
            link.wait_vehicle(2, 5)
            tlog.attach(v1)
            Commander(v1, CommandConfig(ack_timeout_s=1)).set_mode("GUIDED")
            time.sleep(0.3)
    finally:
        server.close()
    frames = read_tlog(path)
    assert len(frames) >= 4
    stamps = [t for t, _ in frames]
    assert stamps == sorted(stamps) and abs(stamps[-1] - time.time()) < 60
    if not MAVLOGDUMP.exists():
        pytest.skip(f"{MAVLOGDUMP} not installed")
    out = subprocess.run([sys.executable, str(MAVLOGDUMP), "--show-source", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "COMMAND_LONG" in out and "COMMAND_ACK" in out
    assert "srcSystem=255" in out and "srcSystem=1" in out
    assert "srcSystem=2 " not in out  # the other vehicle on the link is not in this log
    # the parsed frames are the ones on the wire
    parser = mavlink.MAVLink(None)
    types = {m.get_type() for _, raw in frames for m in parser.parse_buffer(raw) or []}
    assert {"HEARTBEAT", "COMMAND_LONG", "COMMAND_ACK"} <= types


def test_read_tlog_rejects_garbage(tmp_path):
    bad = tmp_path / "bad.tlog"
    bad.write_bytes(b"\x00" * 8 + b"XX" + b"\x00" * 10)
    with pytest.raises(ValueError, match="no MAVLink frame"):
        read_tlog(bad)
