"""Replay the recorded GCS side of the ground transfers against the simulator and compare its
answers with what real ArduCopter 4.7 SITL sent, message by message (telemetry ignored)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, load_recording

from sitl.sim import SimVehicle

M = mavlink
pytestmark = pytest.mark.sim
STEP_S = 0.005
GCS = M.MAVLink(None, srcSystem=255, srcComponent=190)

PROTOCOL = {"MISSION_COUNT", "MISSION_REQUEST", "MISSION_ITEM_INT", "MISSION_ITEM",
            "MISSION_ACK", "COMMAND_ACK"}
KEY_FIELDS = {
    "MISSION_COUNT": ("count", "mission_type"),
    "MISSION_REQUEST": ("seq", "mission_type"),
    "MISSION_ACK": ("type", "mission_type"),
    "COMMAND_ACK": ("command", "result"),
    "MISSION_ITEM_INT": ("seq", "command", "frame", "param1", "param2", "param3", "param4", "x",
                         "y", "z", "mission_type", "autocontinue"),
    "MISSION_ITEM": ("seq", "command", "frame", "param1", "param2", "param3", "param4", "x",
                     "y", "z", "mission_type"),
    "PARAM_VALUE": ("param_id", "param_value", "param_type", "param_index"),
    "STATUSTEXT": ("text",),
}
# Texts that belong to the protocol (boot chatter and EKF texts are compared elsewhere).
PROTOCOL_TEXTS = {
    "Flight plan received", "got MISSION_REQUEST; use MISSION_REQUEST_INT!",
    "Mission upload timeout", "Fence Indexed OK", "Invalid vertex count (2)",
    "Fence validation failed", "Arming motors", "Disarming motors",
    "PreArm: Vehicle breaching Polygon fence", "Arm: Vehicle breaching Polygon fence",
}


def _build(rec: dict[str, Any]) -> Any:
    cls = getattr(M, f"MAVLink_{rec['type'].lower()}_message")
    fields = rec["fields"]
    args = []
    for name in cls.fieldnames:
        value = fields.get(name)
        if value is None:
            value = 0
        if isinstance(value, str) and name in ("param_id",):
            value = value.encode()
        args.append(value)
    return cls(*args)


def _key(kind: str, fields: dict[str, Any]) -> tuple[Any, ...]:
    out: list[Any] = [kind]
    for name in KEY_FIELDS.get(kind, ()):
        value = fields.get(name)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if isinstance(value, float):
            value = round(value, 2)
        out.append(value)
    return tuple(out)


def _close(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if len(a) != len(b) or a[0] != b[0]:
        return False
    for x, y in zip(a[1:], b[1:], strict=True):
        if isinstance(x, int | float) and isinstance(y, int | float):
            # Home is the vehicle's own estimate: 1e-7 deg and 1 cm of the recorded value.
            if not math.isclose(x, y, abs_tol=1.5 if abs(x) > 1e6 else 0.02):
                return False
        elif x != y:
            return False
    return True


def _wanted(kind: str, fields: dict[str, Any], texts: set[str]) -> bool:
    if kind in PROTOCOL:
        return True
    return kind == "STATUSTEXT" and fields.get("text") in texts


def replay(name: str, texts: set[str], until_s: float | None = None,
           extra: set[str] | None = None, skip: Callable[[tuple[Any, ...]], bool] | None = None,
           ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Feed the recorded gcs>veh messages to a vehicle at their recorded sim times, stepping it
    in lock-step (deterministic); return (expected, got) vehicle messages.

    Vehicle messages are compared when their type is a protocol type, or in ``extra``, or a
    STATUSTEXT in ``texts``, and ``skip(key)`` is false.
    """
    records = load_recording(name)
    extra = extra or set()
    skip = skip or (lambda key: False)

    def wanted(kind: str, fields: dict[str, Any]) -> bool:
        return (_wanted(kind, fields, texts) or kind in extra) and not skip(_key(kind, fields))

    vehicle = SimVehicle(CMAC, sysid=1)
    vehicle.boot()
    parser = M.MAVLink(None)
    parser.robust_parsing = True
    got: list[tuple[Any, ...]] = []

    def collect() -> None:
        for msg in parser.parse_buffer(vehicle.take_output()) or []:
            if msg.get_type() != "BAD_DATA" and wanted(msg.get_type(), msg.to_dict()):
                got.append(_key(msg.get_type(), msg.to_dict()))

    expected = []
    for rec in records:
        if until_s is not None and rec["t"] > until_s:
            break
        if rec["dir"] == "veh>gcs" and wanted(rec["type"], rec["fields"]):
            expected.append(_key(rec["type"], rec["fields"]))
        if rec["dir"] != "gcs>veh":
            continue
        while vehicle.sim_time_s < rec["t"]:
            vehicle.step(STEP_S)
            collect()
        msg = _build(rec)
        msg.pack(GCS)  # gives it the GCS's source ids
        vehicle.receive(msg)
        collect()
    end = vehicle.sim_time_s + 2.0
    while vehicle.sim_time_s < end:
        vehicle.step(STEP_S)
        collect()
    return expected, got


def _assert_same(expected: list[tuple[Any, ...]], got: list[tuple[Any, ...]]) -> None:
    for i, (e, g) in enumerate(zip(expected, got, strict=False)):
        assert _close(e, g), f"message {i}: recorded {e}, simulator sent {g}"
    assert len(got) == len(expected), (
        f"recorded {len(expected)} protocol messages, simulator sent {len(got)}: "
        f"extra/missing {got[len(expected):] or expected[len(got):]}")


def test_mission_transfer_replay_matches_the_recording() -> None:
    expected, got = replay("mission_transfer", PROTOCOL_TEXTS)
    assert len(expected) > 80
    _assert_same(expected, got)


def test_fence_rally_transfer_replay_matches_the_recording() -> None:
    expected, got = replay("fence_rally_transfer", PROTOCOL_TEXTS)
    assert any(k[0] == "MISSION_ACK" and k[1] == M.MAV_MISSION_ERROR for k in expected)
    _assert_same(expected, got)


def test_param_protocol_replay_reads_and_sets_match() -> None:
    # Up to the PARAM_REQUEST_LIST (the simulator models fewer parameters than the 1354 of
    # real ArduCopter, so the list itself and reads by index are checked in test_sim_params).
    unsolicited = ("ESC_CALIBRATION", "RELAY1_FUNCTION", "BARO", "MIS_TOTAL", "EK3_",
                   "STAT_", "COMPASS", "CAM", "INS_")

    def skip(key: tuple[Any, ...]) -> bool:
        return key[1].startswith(unsolicited) or key[4] != 65535

    expected, got = replay("param_protocol", set(), until_s=24.0, extra={"PARAM_VALUE"},
                           skip=skip)
    assert len(expected) >= 9, "no PARAM_VALUE answers in the recording slice"
    # param_count differs; compare name, value, type and the 65535 index.
    _assert_same(expected, got)
