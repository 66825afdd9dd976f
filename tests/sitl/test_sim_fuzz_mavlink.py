"""Hostile MAVLink fuzzing of the built-in simulator (issue 11): seeded, without sockets.

Each input is fed as bytes to a flying ``SimVehicle`` (``receive_bytes``: parser, signing,
validation, handlers), in random chunks, with a simulation step after it. Inputs are:

* 40 %: random messages of every type the simulator handles, each field drawn from its MAVLink
  type with the values that break code (NaN, +-Inf, 1e38, type limits, command ids it knows);
* 10 %: mission, fence and rally uploads (MISSION_COUNT, then random items in sequence);
* 35 %: valid messages (commands, parameters, a mission upload) mutated on the wire: bytes
  flipped, replaced, cut, repeated, frames spliced, mostly with the CRC fixed after so the
  mutated payload gets past the parser;
* 15 %: random bytes, frames with a bad CRC, truncated frames, random MAVLink 1 frames.

Asserted: no exception escapes, no handler fault (``SimVehicle.faults`` stays empty), no input
takes longer than a second of wall time (a hang), every parameter and the vehicle's state stay
finite numbers, and afterwards the vehicle answers a heartbeat and a command and, with its
parameters put back, flies a short mission to its end.
"""

from __future__ import annotations

import math
import random
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from pymavlink.generator.mavcrc import x25crc
from test_sim_support import CMAC, Bench, item, offset

from sitl.sim.mission_server import LOCATION_COMMANDS

M = mavlink
pytestmark = pytest.mark.sim

HANDLED = (
    "HEARTBEAT", "RC_CHANNELS_OVERRIDE", "MANUAL_CONTROL", "REQUEST_DATA_STREAM", "COMMAND_LONG",
    "COMMAND_INT", "SET_MODE", "MISSION_SET_CURRENT", "SET_POSITION_TARGET_GLOBAL_INT",
    "PARAM_REQUEST_READ", "PARAM_SET", "PARAM_REQUEST_LIST", "SETUP_SIGNING", "TIMESYNC",
    "MISSION_ACK", "MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_REQUEST_LIST",
    "MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_CLEAR_ALL", "RADIO_STATUS",
)
"""Message types the simulator acts on (commands.py, mission_server.py, signing.py)."""
COMMANDS = (
    M.MAV_CMD_COMPONENT_ARM_DISARM, M.MAV_CMD_DO_SET_MODE, M.MAV_CMD_DO_SET_HOME,
    M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAV_CMD_REQUEST_MESSAGE, M.MAV_CMD_MISSION_START,
    M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, M.MAV_CMD_DO_WINCH, M.MAV_CMD_NAV_TAKEOFF,
    M.MAV_CMD_DO_CHANGE_SPEED, M.MAV_CMD_DO_PAUSE_CONTINUE, M.MAV_CMD_DO_SET_MISSION_CURRENT,
    M.MAV_CMD_DO_FENCE_ENABLE, M.MAV_CMD_DO_GRIPPER, M.MAV_CMD_DO_REPOSITION,
    M.MAV_CMD_RUN_PREARM_CHECKS, M.MAV_CMD_NAV_RETURN_TO_LAUNCH, M.MAV_CMD_NAV_LAND,
    M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_DO_JUMP,
    M.MAV_CMD_NAV_PAYLOAD_PLACE, M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
    M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION, M.MAV_CMD_NAV_RALLY_POINT,
)
"""Command ids drawn for COMMAND_* and MISSION_ITEM* (the rest are random)."""
FLOATS = (math.nan, math.inf, -math.inf, 1e38, -1e38, 3.4028235e38, 1e-45, 0.0, -0.0, 1.0,
          -1.0, 2.0, 0.5, 2.0 ** 31, -(2.0 ** 31), 65535.0, 1e7, 21196.0, 4.0, 3.0, 6.0, 9.0)
PARAM_NAMES = (b"WPNAV_SPEED", b"ANGLE_MAX", b"GRIP_ENABLE", b"WINCH_TYPE", b"FENCE_ENABLE",
               b"FENCE_RADIUS", b"BATT_CAPACITY", b"MAV_SYSID", b"SIM_WIND_SPD", b"DISARM_DELAY",
               b"RTL_ALT", b"NO_SUCH_PARAM", b"", b"\xff\xfe\x00garbage")
_INT_RANGES = {"uint8_t": (0, 255), "int8_t": (-128, 127), "uint16_t": (0, 65535),
               "int16_t": (-32768, 32767), "uint32_t": (0, 2 ** 32 - 1),
               "int32_t": (-2 ** 31, 2 ** 31 - 1), "uint64_t": (0, 2 ** 64 - 1),
               "int64_t": (-2 ** 63, 2 ** 63 - 1)}
MAX_INPUT_WALL_S = 5.0
"""An input that takes longer than this is a hang."""


def _float(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(FLOATS)
    if roll < 0.8:
        return float(rng.randint(-5, 30))
    return struct.unpack("<f", struct.pack("<f", rng.uniform(-1e6, 1e6)))[0]


def _int(rng: random.Random, ftype: str, name: str) -> int:
    low, high = _INT_RANGES[ftype]
    if name == "target_system":
        return rng.choice((1, 1, 1, 0, 2, 255))
    if name == "command":
        return rng.choice(COMMANDS) if rng.random() < 0.8 else rng.randint(low, high)
    if name == "mission_type":
        return rng.choice((0, 0, 1, 2, 255, rng.randint(low, high)))
    if ftype == "int32_t" and name in ("x", "y", "lat_int", "lon_int") and rng.random() < 0.5:
        lat, lon = offset(CMAC, rng.uniform(-500, 500), rng.uniform(-500, 500))
        return round((lat if name in ("x", "lat_int") else lon) * 1e7)
    return rng.choice((low, high, 0, 1, rng.randint(low, high), rng.randint(0, 30)))


def random_message(rng: random.Random, kind: str) -> Any:
    """A ``kind`` message with every field drawn from its type's troublesome values."""
    cls = M.mavlink_map[getattr(M, f"MAVLINK_MSG_ID_{kind}")]
    lengths = dict(zip(cls.ordered_fieldnames, cls.array_lengths, strict=True))
    args: list[Any] = []
    for name, ftype in zip(cls.fieldnames, cls.fieldtypes, strict=True):
        length = lengths[name]
        if ftype == "char":
            args.append(rng.choice(PARAM_NAMES) if name == "param_id" else
                        bytes(rng.randrange(256) for _ in range(rng.randrange(length + 1))))
        elif length:
            args.append([_value(rng, ftype, name) for _ in range(length)])
        else:
            args.append(_value(rng, ftype, name))
    return cls(*args)


def _value(rng: random.Random, ftype: str, name: str) -> Any:
    if ftype in ("float", "double"):
        return _float(rng)
    return _int(rng, ftype, name)


def _valid_corpus() -> list[Any]:
    lat, lon = offset(CMAC, 80.0, 60.0)
    return [
        M.MAVLink_command_long_message(1, 1, M.MAV_CMD_DO_SET_MODE, 0, 1, 4, 0, 0, 0, 0, 0),
        M.MAVLink_command_long_message(1, 1, M.MAV_CMD_COMPONENT_ARM_DISARM, 0, 1, 0, 0, 0, 0, 0,
                                       0),
        M.MAVLink_command_long_message(1, 1, M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 0, 20),
        M.MAVLink_command_int_message(1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                                      M.MAV_CMD_DO_REPOSITION, 0, 0, 5, 0, 0, 0,
                                      round(lat * 1e7), round(lon * 1e7), 25),
        M.MAVLink_command_long_message(1, 1, M.MAV_CMD_SET_MESSAGE_INTERVAL, 0, 33, 2e5, 0, 0, 0,
                                       0, 0),
        M.MAVLink_param_set_message(1, 1, b"WPNAV_SPEED", 800.0, M.MAV_PARAM_TYPE_REAL32),
        M.MAVLink_set_position_target_global_int_message(
            0, 1, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0xFF8, round(lat * 1e7),
            round(lon * 1e7), 30, 0, 0, 0, 0, 0, 0, 0, 0),
        M.MAVLink_mission_count_message(1, 1, 3, 0),
        item(0, M.MAV_CMD_NAV_WAYPOINT, CMAC.lat, CMAC.lon, 0.0),
        item(1, M.MAV_CMD_NAV_TAKEOFF, z=20.0),
        item(2, M.MAV_CMD_NAV_WAYPOINT, lat, lon, 30.0),
        M.MAVLink_mission_request_list_message(1, 1, 0),
        M.MAVLink_mission_set_current_message(1, 1, 1),
        M.MAVLink_param_request_read_message(1, 1, b"ANGLE_MAX", -1),
        M.MAVLink_timesync_message(0, 12345),
    ]


def _fix_crc(frame: bytearray) -> None:
    """Recompute a MAVLink 2 frame's CRC (when its msgid is known) so a mutated payload
    reaches the handlers instead of dying at the checksum."""
    if len(frame) < 12 or frame[0] != 0xFD:
        return
    length = frame[1]
    msgid = frame[7] | frame[8] << 8 | frame[9] << 16
    cls = M.mavlink_map.get(msgid)
    end = 10 + length
    if cls is None or len(frame) < end + 2:
        return
    crc = x25crc(bytes(frame[1:end]))
    crc.accumulate(bytes([cls.crc_extra]))
    frame[end:end + 2] = struct.pack("<H", crc.crc)


def mutate(rng: random.Random, frame: bytes, other: bytes) -> bytes:
    """One to four edits of a packed frame; the CRC is fixed after most of them."""
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[pos] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2 and len(data) > 14:  # payload float set to NaN/Inf/1e38
            start = rng.randrange(10, max(11, len(data) - 5))
            data[start:start + 4] = struct.pack("<f", rng.choice(FLOATS[:6]))
        elif op == 3:
            data = data[:pos]
        elif op == 4:
            data[pos:pos] = data[pos:pos + rng.randint(1, 8)]
        else:
            data += other[:rng.randrange(len(other) + 1)]
    if rng.random() < 0.8:
        _fix_crc(data)
    return bytes(data)


@dataclass
class Barrage:
    """What a fuzz run did and saw."""

    inputs: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    slowest_s: float = 0.0
    reboots: int = 0


class HostileGcs:
    """Packs and feeds hostile input into a Bench's vehicle; ``run`` is the barrage."""

    def __init__(self, bench: Bench, seed: int) -> None:
        self.bench = bench
        self.rng = random.Random(seed)
        self.packer = M.MAVLink(None, srcSystem=255, srcComponent=190)
        self.corpus = [m.pack(self.packer) for m in _valid_corpus()]

    def _pack(self, msg: Any) -> bytes:
        return bytes(msg.pack(self.packer))

    def _input(self) -> tuple[str, bytes]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            kind = rng.choice(HANDLED)
            return kind, self._pack(random_message(rng, kind))
        if roll < 0.5:
            return "upload", self._upload()
        if roll < 0.85:
            return "mutated", mutate(rng, rng.choice(self.corpus), rng.choice(self.corpus))
        if roll < 0.9:
            return "garbage", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        frame = bytearray(rng.choice(self.corpus))
        if roll < 0.93:
            frame[-1] ^= 0x55  # bad CRC
            return "bad_crc", bytes(frame)
        if roll < 0.96:
            return "cut", bytes(frame[:rng.randrange(1, len(frame))])
        kind = rng.choice([k for k in HANDLED if getattr(M, f"MAVLINK_MSG_ID_{k}") < 256])
        return "mavlink1", bytes(random_message(rng, kind).pack(self.packer, force_mavlink1=True))

    def _upload(self) -> bytes:
        """MISSION_COUNT then random items in sequence, so their contents get checked."""
        rng = self.rng
        mission_type = rng.choice((0, 0, 0, 1, 2))
        count = rng.randint(1, 4)
        frames = [self._pack(M.MAVLink_mission_count_message(1, 1, count, mission_type))]
        for seq in range(count):
            msg = random_message(rng, rng.choice(("MISSION_ITEM_INT", "MISSION_ITEM")))
            msg.target_system, msg.seq, msg.mission_type = 1, seq, mission_type
            frames.append(self._pack(msg))
        return b"".join(frames)

    def feed(self, data: bytes) -> None:
        """Bytes in random chunks, as TCP would deliver them."""
        v = self.bench.v
        while data:
            cut = self.rng.randint(1, len(data))
            v.receive_bytes(data[:cut])
            data = data[cut:]

    def run(self, count: int) -> Barrage:
        out = Barrage()
        bench = self.bench
        for _ in range(count):
            kind, data = self._input()
            started = time.perf_counter()
            self.feed(data)
            bench.step(bench.step_s)
            elapsed = time.perf_counter() - started
            out.slowest_s = max(out.slowest_s, elapsed)
            assert elapsed < MAX_INPUT_WALL_S, f"input {out.inputs} ({kind}) took {elapsed:.2f} s"
            out.inputs += 1
            out.by_kind[kind] = out.by_kind.get(kind, 0) + 1
            out.reboots = bench.v.boots - 1  # PREFLIGHT_REBOOT in the barrage
        return out


def _assert_finite_state(bench: Bench) -> None:
    v = bench.v
    bad = [name for name in v.params.visible_names() if not math.isfinite(v.params.get(name))]
    assert not bad, f"parameters that are not numbers: {bad}"
    p = v.phys
    state = [p.north_m, p.east_m, p.up_m, p.vn, p.ve, p.vu, p.yaw_rad, v.wp_speed_ms,
             *(v.guided_target or ()), *(v.hold_ne or ())]
    assert all(math.isfinite(x) for x in state), f"vehicle state not finite: {state}"
    for mtype, items in v.missions.items.items():
        for it in items:
            assert math.isfinite(it.z), f"stored item with z {it.z} (type {mtype})"
            if mtype != 1 and it.command in LOCATION_COMMANDS:  # fences: their validation
                assert abs(it.lat) <= 90 and abs(it.lon) <= 180, it


def _answers(bench: Bench) -> None:
    """A heartbeat within a second, and a valid command acknowledged."""
    since = len(bench.msgs)
    bench.step(1.1)
    assert [m for m in bench.msgs[since:] if m.get_type() == "HEARTBEAT"], "no heartbeat"
    sysid = bench.v.sysid
    since = len(bench.msgs)
    bench.send(M.MAVLink_command_long_message(sysid, 1, M.MAV_CMD_REQUEST_MESSAGE, 0,
                                              M.MAVLINK_MSG_ID_AUTOPILOT_VERSION, 0, 0, 0, 0, 0,
                                              0))
    acks = [m for m in bench.msgs[since:] if m.get_type() == "COMMAND_ACK"]
    assert acks and acks[0].result == M.MAV_RESULT_ACCEPTED, acks


def _restore_and_fly(bench: Bench, params: dict[str, float]) -> None:
    """Parameters put back over MAVLink, a reboot, then a short mission flown to its end."""
    v = bench.v
    for name, value in params.items():
        bench.send(M.MAVLink_param_set_message(0, 1, name.encode(), value,
                                               M.MAV_PARAM_TYPE_REAL32))
    bench.send(M.MAVLink_command_long_message(0, 1, M.MAV_CMD_COMPONENT_ARM_DISARM, 0, 0, 21196,
                                              0, 0, 0, 0, 0))
    bench.send(M.MAVLink_command_long_message(0, 1, M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 0, 1, 0,
                                              0, 0, 0, 0, 0))
    bench.step(0.1)
    assert v.boots >= 2 and v.sysid == 1
    bench.ready()
    assert v.home is not None
    lat, lon = offset(v.home, 60.0, 0.0)  # from wherever the barrage left it
    for mtype in (1, 2):
        assert bench.upload([], mtype) == M.MAV_MISSION_ACCEPTED
    mission = [item(0, M.MAV_CMD_NAV_WAYPOINT, v.home.lat, v.home.lon, 0.0),
               item(1, M.MAV_CMD_NAV_TAKEOFF, z=10.0),
               item(2, M.MAV_CMD_NAV_WAYPOINT, lat, lon, 10.0),
               item(3, M.MAV_CMD_NAV_RETURN_TO_LAUNCH)]
    assert bench.upload(mission) == M.MAV_MISSION_ACCEPTED
    since = len(bench.msgs)
    bench.arm_and_start()
    bench.until(lambda: not v.armed, 180.0, "the mission flown and landed")
    assert bench.reached(since) == [1, 2, 3]


def _barrage(seed: int, count: int) -> tuple[Barrage, float]:
    bench = Bench()
    bench.ready()
    params = {name: bench.v.params.get(name) for name in bench.v.params.visible_names()}
    bench.takeoff(15.0)  # the hostile input meets a flying vehicle
    started = time.perf_counter()
    report = HostileGcs(bench, seed).run(count)
    wall_s = time.perf_counter() - started
    answers = {(m.get_type(), m.result if m.get_type() == "COMMAND_ACK" else m.type)
               for m in bench.msgs if m.get_type() in ("COMMAND_ACK", "MISSION_ACK")}
    # The barrage reached the handlers: refusals of both kinds came back.
    assert ("COMMAND_ACK", M.MAV_RESULT_UNSUPPORTED) in answers
    assert any(kind == "MISSION_ACK" and result >= M.MAV_MISSION_INVALID_PARAM1
               for kind, result in answers), answers
    assert bench.v.faults == [], bench.v.faults
    _assert_finite_state(bench)
    _answers(bench)
    _restore_and_fly(bench, params)
    assert bench.v.faults == []
    return report, wall_s


def test_a_thousand_hostile_inputs_leave_the_vehicle_answering_and_flying() -> None:
    report, _ = _barrage(seed=11, count=1_000)
    assert report.inputs == 1_000
    assert set(report.by_kind) >= {"mutated", "garbage", "bad_crc", "COMMAND_LONG"}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ten_thousand_hostile_inputs_leave_the_vehicle_answering_and_flying() -> None:
    report, wall_s = _barrage(seed=1011, count=10_000)
    assert report.inputs == 10_000
    assert wall_s < 30.0, f"10,000 inputs took {wall_s:.1f} s"  # about 3 s here

