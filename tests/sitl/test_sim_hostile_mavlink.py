"""Hostile MAVLink (issue 11): the built-in simulator refuses it as ArduCopter does and flies on.

One NaN in a COMMAND_LONG used to kill the simulator process and every vehicle in it. Each case
below was first sent to ArduCopter 4.7 SITL (the project's binary); ``sitl`` says what it did:

* ``same``: SITL answered, and the simulator answers the same (``test_*_on_ardupilot_sitl``
  sends these to SITL again and asserts it);
* ``aborts``: SITL itself died, "ERROR: Floating point exception - aborting" (it traps
  FE_INVALID/FE_OVERFLOW: a NaN compared, 1e38 converted to an integer); the simulator refuses
  with the answer ArduCopter gives that command for an invalid finite value
  (``sitl/sim/validation.py``);
* anything else: what SITL did where the simulator deliberately differs.

After every case the vehicle has no handler fault, still answers, and (cases in the air) still
flies.
"""

from __future__ import annotations

import logging
import math
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, Bench, SimClient, item, offset

from sitl.ardupilot import DELIVERY_OVERLAY, SitlError
from sitl.pytest_plugin import SitlFleetFactory
from sitl.sim import SimFleet, commands, load_parm_file

M = mavlink
NAN, INF = math.nan, math.inf
LAT, LON = round(CMAC.lat * 1e7), round(CMAC.lon * 1e7)
ACCEPTED, DENIED, FAILED = M.MAV_RESULT_ACCEPTED, M.MAV_RESULT_DENIED, M.MAV_RESULT_FAILED
UNSUPPORTED = M.MAV_RESULT_UNSUPPORTED
Build = Callable[[int], list[Any]]
"""target sysid -> the messages of one case."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the vehicle sends back: a COMMAND_ACK, a MISSION_ACK, a PARAM_VALUE or nothing."""

    kind: str
    """"ack", "mission", "param" or "none"."""
    key: int | str | None = None
    """The command acknowledged, or the parameter echoed."""
    result: float | None = None
    """ACK result, MISSION_ACK type, PARAM_VALUE value; None: no such reply."""
    texts: tuple[str, ...] = ()


def ack(command: int, result: int | None, *texts: str) -> Answer:
    return Answer("ack", command, result, texts)


def mission(result: int, *texts: str) -> Answer:
    return Answer("mission", None, result, texts)


def echo(name: str, value: float | None) -> Answer:
    return Answer("param", name, value)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    build: Build
    expect: Answer
    sitl: str
    """"same", "aborts" or what SITL did instead."""
    air: bool = False
    """Sent while flying in GUIDED at 15 m (else on the ground, disarmed, ready)."""
    param_after: tuple[str, float] | None = None


def cl(cmd: int, *p: float, target_component: int = 1) -> Build:
    params = [*p, *([0.0] * (7 - len(p)))]
    return lambda t: [M.MAVLink_command_long_message(t, target_component, cmd, 0, *params)]


def ci(cmd: int, p: Sequence[float], x: int = LAT, y: int = LON, z: float = 15.0,
       frame: int = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT) -> Build:
    return lambda t: [M.MAVLink_command_int_message(t, 1, frame, cmd, 0, 0, *p, x, y, z)]


def param_set(name: str, value: float) -> Build:
    return lambda t: [M.MAVLink_param_set_message(t, 1, name.encode(), value,
                                                  M.MAV_PARAM_TYPE_REAL32)]


def upload(command: int, mission_type: int = 0, legacy: bool = False, **fields: float) -> Build:
    """MISSION_COUNT and the items up to one carrying ``fields`` (mission: after home)."""
    f: dict[str, float] = {"x": LAT + 10000, "y": LON, "z": 15.0, "param1": 0.0,
                           "frame": M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT}
    if command == M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION:
        f["param1"] = 50.0
    f.update(fields)

    def build(t: int) -> list[Any]:
        seq = 1 if mission_type == 0 else 0
        msgs: list[Any] = [M.MAVLink_mission_count_message(t, 1, seq + 1, mission_type)]
        if mission_type == 0:
            msgs.append(item(0, M.MAV_CMD_NAV_WAYPOINT, CMAC.lat, CMAC.lon, 0.0, target=t))
        p = [f["param1"], f.get("param2", 0.0), f.get("param3", 0.0), f.get("param4", 0.0)]
        if legacy:
            msgs.append(M.MAVLink_mission_item_message(
                t, 1, seq, int(f["frame"]), command, 0, 1, *p, f["x"], f["y"] / 1e7, f["z"],
                mission_type))
        else:
            msgs.append(M.MAVLink_mission_item_int_message(
                t, 1, seq, int(f["frame"]), command, 0, 1, *p, int(f["x"]), int(f["y"]), f["z"],
                mission_type))
        return msgs
    return build


def raw(data: bytes) -> Build:
    return lambda t: [data]


_ARM, _MODE, _HOME = M.MAV_CMD_COMPONENT_ARM_DISARM, M.MAV_CMD_DO_SET_MODE, M.MAV_CMD_DO_SET_HOME
_INTERVAL, _REQUEST = M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAV_CMD_REQUEST_MESSAGE
_START, _REBOOT = M.MAV_CMD_MISSION_START, M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN
_WINCH, _REPOS, _SPEED = M.MAV_CMD_DO_WINCH, M.MAV_CMD_DO_REPOSITION, M.MAV_CMD_DO_CHANGE_SPEED
_GRIP, _WP, _RALLY = M.MAV_CMD_DO_GRIPPER, M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_RALLY_POINT
_FENCE_CIRCLE = M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
_ALL_NAN = [NAN] * 7
_GOOD_FRAME = bytes(M.MAVLink_command_long_message(1, 1, _ARM, 0, 1, 0, 0, 0, 0, 0, 0).pack(
    M.MAVLink(None, srcSystem=255, srcComponent=190)))

CASES: tuple[Case, ...] = (
    # ---- the issue's messages ------------------------------------------------------------
    Case("ARM_DISARM all NaN", cl(_ARM, *_ALL_NAN), ack(_ARM, UNSUPPORTED), "aborts"),
    Case("ARM_DISARM param1 NaN", cl(_ARM, NAN), ack(_ARM, UNSUPPORTED), "aborts"),
    Case("ARM_DISARM param2 NaN", cl(_ARM, 1, NAN), ack(_ARM, UNSUPPORTED), "aborts"),
    Case("ARM_DISARM param1 Inf", cl(_ARM, INF), ack(_ARM, UNSUPPORTED), "aborts"),
    Case("ARM_DISARM param1 1e38", cl(_ARM, 1e38), ack(_ARM, UNSUPPORTED), "same"),
    Case("ARM_DISARM param1 2", cl(_ARM, 2), ack(_ARM, UNSUPPORTED), "same"),
    Case("ARM_DISARM param7 NaN (not read)", cl(_ARM, 1, 0, 0, 0, 0, 0, NAN),
         ack(_ARM, ACCEPTED, "Arming motors"), "same"),
    Case("DO_SET_MODE all NaN", cl(_MODE, *_ALL_NAN), ack(_MODE, FAILED), "aborts"),
    Case("DO_SET_MODE mode 1e38", cl(_MODE, 1, 1e38), ack(_MODE, FAILED), "aborts"),
    Case("DO_SET_MODE mode 99", cl(_MODE, 1, 99), ack(_MODE, FAILED, "No such mode 99"), "same"),
    Case("DO_SET_MODE mode -4", cl(_MODE, 1, -4), ack(_MODE, FAILED, "No such mode 252"), "same"),
    Case("DO_SET_HOME all NaN", cl(_HOME, *_ALL_NAN), ack(_HOME, DENIED), "aborts"),
    Case("DO_SET_HOME altitude NaN", cl(_HOME, 0, 0, 0, 0, -35.3632, 149.1652, NAN),
         ack(_HOME, DENIED), "same"),
    Case("DO_SET_HOME altitude 1e38", cl(_HOME, 0, 0, 0, 0, -35.3632, 149.1652, 1e38),
         ack(_HOME, DENIED), "same"),
    Case("DO_SET_HOME latitude NaN", cl(_HOME, 0, 0, 0, 0, NAN, 149.1652, 584),
         ack(_HOME, DENIED), "ACCEPTED, home set at latitude 0"),
    Case("DO_SET_HOME latitude Inf", cl(_HOME, 0, 0, 0, 0, INF, 149.1652, 584),
         ack(_HOME, DENIED), "aborts"),
    Case("DO_SET_HOME latitude 95", cl(_HOME, 0, 0, 0, 0, 95, 149, 584), ack(_HOME, FAILED),
         "same"),
    Case("SET_MESSAGE_INTERVAL all NaN", cl(_INTERVAL, *_ALL_NAN), ack(_INTERVAL, DENIED),
         "aborts"),
    Case("SET_MESSAGE_INTERVAL interval 1e38", cl(_INTERVAL, 33, 1e38), ack(_INTERVAL, DENIED),
         "aborts"),
    Case("SET_MESSAGE_INTERVAL id 99999", cl(_INTERVAL, 99999, 1000),
         ack(_INTERVAL, DENIED, "No ap_message for mavlink id (99999)"), "same"),
    Case("REQUEST_MESSAGE all NaN", cl(_REQUEST, *_ALL_NAN), ack(_REQUEST, FAILED), "aborts"),
    Case("REQUEST_MESSAGE id 99999", cl(_REQUEST, 99999), ack(_REQUEST, FAILED), "same"),
    Case("MISSION_START all NaN", cl(_START, *_ALL_NAN), ack(_START, DENIED), "aborts"),
    Case("MISSION_START first -5", cl(_START, -5), ack(_START, DENIED), "same"),
    Case("MISSION_START first 1e38", cl(_START, 1e38), ack(_START, DENIED), "same"),
    Case("PREFLIGHT_REBOOT all NaN", cl(_REBOOT, *_ALL_NAN), ack(_REBOOT, UNSUPPORTED), "aborts"),
    Case("PREFLIGHT_REBOOT param2 NaN", cl(_REBOOT, 0, NAN), ack(_REBOOT, UNSUPPORTED), "same"),
    Case("DO_WINCH all NaN (no winch)", cl(_WINCH, *_ALL_NAN), ack(_WINCH, FAILED), "same"),
    Case("DO_WINCH all Inf", cl(_WINCH, *[INF] * 7), ack(_WINCH, FAILED), "aborts"),
    Case("COMMAND_INT DO_REPOSITION all NaN", ci(_REPOS, [NAN, 1, NAN, NAN], z=NAN),
         ack(_REPOS, DENIED), "same"),
    Case("COMMAND_INT DO_REPOSITION altitude Inf", ci(_REPOS, [-1, 1, 0, 0], z=INF),
         ack(_REPOS, DENIED), "same"),
    Case("COMMAND_INT DO_REPOSITION altitude 1e38", ci(_REPOS, [-1, 1, 0, 0], z=1e38),
         ack(_REPOS, DENIED), "same"),
    Case("COMMAND_INT DO_REPOSITION latitude 2**31-1", ci(_REPOS, [-1, 1, 0, 0], x=2**31 - 1),
         ack(_REPOS, DENIED), "same"),
    Case("COMMAND_INT DO_SET_HOME altitude NaN", ci(_HOME, [0, 0, 0, 0], z=NAN,
                                                    frame=M.MAV_FRAME_GLOBAL),
         ack(_HOME, DENIED), "same"),
    Case("COMMAND_INT DO_SET_HOME latitude 95", ci(_HOME, [0, 0, 0, 0], x=950_000_000, z=584,
                                                   frame=M.MAV_FRAME_GLOBAL),
         ack(_HOME, FAILED), "same"),
    Case("PARAM_SET NaN", param_set("WPNAV_SPEED", NAN), echo("WPNAV_SPEED", None), "same",
         param_after=("WPNAV_SPEED", 1000.0)),
    Case("PARAM_SET Inf", param_set("WPNAV_SPEED", INF), echo("WPNAV_SPEED", None), "same",
         param_after=("WPNAV_SPEED", 1000.0)),
    Case("PARAM_SET -Inf int16", param_set("ANGLE_MAX", -INF), echo("ANGLE_MAX", None), "same",
         param_after=("ANGLE_MAX", 3000.0)),
    Case("PARAM_SET 1e38 float", param_set("WPNAV_SPEED", 1e38),
         echo("WPNAV_SPEED", 9.999999680285692e37), "same"),
    Case("PARAM_SET 1e38 int16", param_set("ANGLE_MAX", 1e38), echo("ANGLE_MAX", 32767), "same"),
    Case("PARAM_SET -1e38 int16", param_set("ANGLE_MAX", -1e38), echo("ANGLE_MAX", -32768),
         "same"),
    Case("PARAM_SET 70000 int16", param_set("ANGLE_MAX", 70000), echo("ANGLE_MAX", 32767), "same"),
    Case("PARAM_SET unknown name", param_set("NO_SUCH_PARAM", 1), echo("NO_SUCH_PARAM", None),
         "same"),
    Case("MISSION_ITEM_INT z NaN", upload(_WP, z=NAN), mission(M.MAV_MISSION_INVALID_PARAM7),
         "same"),
    Case("MISSION_ITEM_INT z Inf", upload(_WP, z=INF), mission(M.MAV_MISSION_INVALID_PARAM7),
         "same"),
    Case("MISSION_ITEM_INT z 83001", upload(_WP, z=83001), mission(M.MAV_MISSION_INVALID_PARAM7),
         "same"),
    Case("MISSION_ITEM_INT z 82999", upload(_WP, z=82999),
         mission(M.MAV_MISSION_ACCEPTED, "Flight plan received"), "same"),
    Case("MISSION_ITEM_INT param1 NaN", upload(_WP, param1=NAN),
         mission(M.MAV_MISSION_INVALID_PARAM1), "same"),
    Case("MISSION_ITEM_INT param1 1e38", upload(_WP, param1=1e38),
         mission(M.MAV_MISSION_INVALID_PARAM1), "aborts"),
    Case("MISSION_ITEM_INT param3 Inf", upload(_WP, param3=INF),
         mission(M.MAV_MISSION_INVALID_PARAM3), "same"),
    Case("MISSION_ITEM_INT waypoint yaw NaN", upload(_WP, param4=NAN),
         mission(M.MAV_MISSION_ACCEPTED, "Flight plan received"), "same"),
    Case("MISSION_ITEM_INT waypoint yaw Inf", upload(_WP, param4=INF),
         mission(M.MAV_MISSION_INVALID_PARAM4), "same"),
    Case("MISSION_ITEM_INT DO_CHANGE_SPEED speed NaN", upload(_SPEED, param2=NAN),
         mission(M.MAV_MISSION_INVALID_PARAM2), "same"),
    Case("MISSION_ITEM_INT latitude 95", upload(_WP, x=950_000_000),
         mission(M.MAV_MISSION_INVALID_PARAM5_X), "same"),
    Case("MISSION_ITEM_INT longitude 200", upload(_WP, y=2_000_000_000),
         mission(M.MAV_MISSION_INVALID_PARAM6_Y), "same"),
    Case("MISSION_ITEM_INT command 65535", upload(65535), mission(M.MAV_MISSION_UNSUPPORTED),
         "same"),
    Case("MISSION_ITEM_INT frame 200", upload(_WP, frame=200),
         mission(M.MAV_MISSION_UNSUPPORTED_FRAME), "same"),
    Case("MISSION_ITEM_INT DO_JUMP to 0", upload(M.MAV_CMD_DO_JUMP), mission(M.MAV_MISSION_ERROR),
         "same"),
    Case("MISSION_ITEM latitude NaN", upload(_WP, legacy=True, x=NAN),
         mission(M.MAV_MISSION_INVALID_PARAM5_X), "aborts"),
    Case("MISSION_ITEM latitude Inf", upload(_WP, legacy=True, x=INF),
         mission(M.MAV_MISSION_INVALID_PARAM5_X), "same"),
    Case("fence circle radius NaN", upload(_FENCE_CIRCLE, 1, param1=NAN),
         mission(M.MAV_MISSION_INVALID_PARAM1), "aborts"),
    Case("fence circle radius Inf", upload(_FENCE_CIRCLE, 1, param1=INF),
         mission(M.MAV_MISSION_ACCEPTED, "Fence Indexed OK"), "same"),
    Case("fence circle radius -5", upload(_FENCE_CIRCLE, 1, param1=-5),
         mission(M.MAV_MISSION_ERROR, "Non-positive circle radius", "Fence validation failed"),
         "same"),
    Case("fence circle latitude 95", upload(_FENCE_CIRCLE, 1, x=950_000_000),
         mission(M.MAV_MISSION_ERROR, "Bad lat or lon", "Fence validation failed"), "same"),
    Case("rally altitude NaN", upload(_RALLY, 2, z=NAN), mission(M.MAV_MISSION_INVALID_PARAM7),
         "aborts"),
    Case("rally altitude 82999", upload(_RALLY, 2, z=82999),
         mission(M.MAV_MISSION_INVALID_PARAM7), "same"),
    Case("MISSION_COUNT 65535", lambda t: [M.MAVLink_mission_count_message(t, 1, 65535, 0)],
         mission(M.MAV_MISSION_NO_SPACE, "Only 650 items are supported"), "same"),
    Case("MISSION_COUNT fence 71", lambda t: [M.MAVLink_mission_count_message(t, 1, 71, 1)],
         mission(M.MAV_MISSION_NO_SPACE, "Only 70 items are supported"), "same"),
    Case("MISSION_COUNT rally 47", lambda t: [M.MAVLink_mission_count_message(t, 1, 47, 2)],
         mission(M.MAV_MISSION_NO_SPACE, "Only 46 items are supported"), "same"),
    Case("MISSION_COUNT mission type 7", lambda t: [M.MAVLink_mission_count_message(t, 1, 2, 7)],
         mission(M.MAV_MISSION_UNSUPPORTED), "same"),
    # ---- other hostile input ---------------------------------------------------------------
    Case("unknown command 31999", cl(31999, 1), ack(31999, UNSUPPORTED), "same"),
    Case("unknown command 65535", cl(65535, NAN), ack(65535, UNSUPPORTED), "same"),
    Case("COMMAND_LONG DO_REPOSITION", cl(_REPOS, -1, 1, 0, 0, -35.3632, 149.1652, 10),
         ack(_REPOS, UNSUPPORTED), "same"),
    Case("wrong target system", lambda t: cl(_ARM, 1)(42), ack(_ARM, None), "same"),
    Case("SET_MODE custom mode 2**32-1", lambda t: [M.MAVLink_set_mode_message(t, 1, 2**32 - 1)],
         ack(11, None, "No such mode 255"), "same"),
    Case("REQUEST_AUTOPILOT_CAPABILITIES param1 0",
         cl(M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, 0),
         ack(M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, FAILED), "same"),
    Case("DO_CHANGE_SPEED 5 in STABILIZE", cl(_SPEED, 1, 5, -1), ack(_SPEED, FAILED), "same"),
    Case("DO_GRIPPER action 5", cl(_GRIP, 1, 5), ack(_GRIP, FAILED), "same"),
    Case("DO_GRIPPER action NaN", cl(_GRIP, 1, NAN), ack(_GRIP, FAILED), "aborts"),
    Case("garbage bytes", raw(bytes(range(256)) * 2), ack(_ARM, None), "same"),
    Case("truncated frame", raw(_GOOD_FRAME[:20]), ack(_ARM, None), "same"),
    Case("bad CRC", raw(_GOOD_FRAME[:-1] + bytes([_GOOD_FRAME[-1] ^ 0xFF])), ack(_ARM, None),
         "same"),
    # ---- in flight (GUIDED, 15 m) ----------------------------------------------------------
    Case("air: COMMAND_INT DO_REPOSITION speed NaN", ci(_REPOS, [NAN, 0, 0, 0], x=LAT + 3000),
         ack(_REPOS, ACCEPTED), "same", air=True),
    Case("air: COMMAND_INT DO_REPOSITION flags NaN", ci(_REPOS, [-1, NAN, 0, 0], x=LAT + 3000),
         ack(_REPOS, DENIED), "aborts", air=True),
    Case("air: COMMAND_INT DO_REPOSITION altitude NaN", ci(_REPOS, [-1, 0, 0, 0], z=NAN),
         ack(_REPOS, DENIED), "same", air=True),
    Case("air: COMMAND_INT DO_REPOSITION to 0, 0", ci(_REPOS, [-1, 0, 0, 0], x=0, y=0),
         ack(_REPOS, DENIED), "same", air=True),
    Case("air: COMMAND_INT DO_REPOSITION frame 99", ci(_REPOS, [-1, 0, 0, 0], frame=99),
         ack(_REPOS, DENIED, "Unknown mavlink coordinate frame 99"), "same", air=True),
    Case("air: DO_CHANGE_SPEED 5 in GUIDED", cl(_SPEED, 1, 5, -1), ack(_SPEED, ACCEPTED), "same",
         air=True),
    Case("air: DO_CHANGE_SPEED -5", cl(_SPEED, 1, -5, -1), ack(_SPEED, DENIED), "same", air=True),
    Case("air: DO_CHANGE_SPEED 1e38", cl(_SPEED, 1, 1e38, -1), ack(_SPEED, DENIED), "aborts",
         air=True),
    Case("air: NAV_TAKEOFF altitude NaN", cl(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, NAN),
         ack(M.MAV_CMD_NAV_TAKEOFF, FAILED), "same", air=True),
    Case("air: DO_SET_MODE base mode NaN", cl(_MODE, NAN, 4), ack(_MODE, FAILED), "aborts",
         air=True),
    Case("air: SET_POSITION_TARGET altitude NaN", lambda t: [
        M.MAVLink_set_position_target_global_int_message(
            0, t, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0xFF8, LAT + 1000, LON, NAN,
            0, 0, 0, 0, 0, 0, 0, 0)], ack(_REPOS, None), "aborts", air=True),
    Case("air: SET_POSITION_TARGET latitude 2**31-1", lambda t: [
        M.MAVLink_set_position_target_global_int_message(
            0, t, 1, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0xFF8, 2**31 - 1, LON, 15,
            0, 0, 0, 0, 0, 0, 0, 0)], ack(_REPOS, None), "same", air=True),
    Case("air: PARAM_SET NaN", param_set("WPNAV_SPEED", NAN), echo("WPNAV_SPEED", None), "same",
         air=True, param_after=("WPNAV_SPEED", 1000.0)),
)
ISSUE_MESSAGES = [c for c in CASES if c.name in (
    "ARM_DISARM all NaN", "DO_SET_MODE all NaN", "DO_SET_HOME all NaN",
    "SET_MESSAGE_INTERVAL all NaN", "REQUEST_MESSAGE all NaN", "MISSION_START all NaN",
    "PREFLIGHT_REBOOT all NaN", "DO_WINCH all NaN (no winch)", "COMMAND_INT DO_REPOSITION all NaN",
    "PARAM_SET NaN", "MISSION_ITEM_INT z NaN")]
"""The messages issue 11 found killing the simulator process."""


def _overlay() -> dict[str, float]:
    return load_parm_file(DELIVERY_OVERLAY)  # the parameters sitl_fleet gives SITL


def _replies(msgs: Sequence[Any], case: Case) -> tuple[Any, list[str]]:
    """The reply ``case.expect`` is about (None if none) and the texts, from ``msgs``."""
    want = case.expect
    found: Any = None
    for m in msgs:
        kind = m.get_type()
        if want.kind == "ack" and kind == "COMMAND_ACK" and m.command == want.key:
            found = m.result
        elif want.kind == "mission" and kind == "MISSION_ACK":
            found = m.type
        elif want.kind == "param" and kind == "PARAM_VALUE" and m.param_id == want.key:
            found = m.param_value
        if found is not None:
            break
    texts = [m.text for m in msgs if m.get_type() == "STATUSTEXT"]
    return found, texts


def _check(case: Case, found: Any, texts: list[str]) -> None:
    want = case.expect
    if want.result is None:
        assert found is None, f"{case.name}: expected no reply, got {found}"
    elif want.kind == "param":
        assert found == pytest.approx(want.result), case.name
    else:
        assert found == want.result, f"{case.name}: {found} (wanted {want.result}), {texts}"
    for text in want.texts:
        assert text in texts, f"{case.name}: no {text!r} in {texts}"


def _send(bench: Bench, build: Build) -> None:
    for msg in build(1):
        if isinstance(msg, bytes):
            bench.v.receive_bytes(msg)
        else:
            bench.send(msg)


def _flying_bench() -> Bench:
    bench = Bench(params=_overlay())
    bench.ready()
    bench.takeoff(15.0)
    return bench


@pytest.mark.sim
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_message_is_answered_as_ardupilot_and_the_vehicle_carries_on(case: Case) -> None:
    if case.air:
        bench = _flying_bench()
    else:
        bench = Bench(params=_overlay())
        bench.ready()
    since = len(bench.msgs)
    _send(bench, case.build)
    bench.step(0.5)
    _check(case, *_replies(bench.msgs[since:], case))
    if case.param_after is not None:
        name, value = case.param_after
        assert bench.v.params.get(name) == value
    assert bench.v.faults == []
    # Still answers: a heartbeat and a valid command.
    since = len(bench.msgs)
    assert bench.command(_REQUEST, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == ACCEPTED
    bench.step(1.1)
    assert any(m.get_type() == "HEARTBEAT" for m in bench.msgs[since:])
    if case.air:  # still flying: armed, GUIDED, near 15 m
        assert bench.v.armed and bench.v.mode == 4
        assert bench.v.alt_rel_m() == pytest.approx(15.0, abs=1.0)


@pytest.mark.sim
def test_the_issue_messages_in_flight_are_refused_and_the_flight_goes_on() -> None:
    bench = _flying_bench()
    target = offset(CMAC, 200.0, 0.0)
    assert bench.command(_MODE, 1, 4) == ACCEPTED
    bench.send(ci(_REPOS, [-1, 0, 0, 0], x=round(target[0] * 1e7), y=round(target[1] * 1e7),
                  z=20.0)(1)[0])
    bench.step(2.0)
    for case in ISSUE_MESSAGES:  # refused in the air as on the ground
        since = len(bench.msgs)
        _send(bench, case.build)
        bench.step(0.2)
        _check(case, *_replies(bench.msgs[since:], case))
    assert bench.v.faults == []
    assert bench.v.armed and bench.v.mode == 4 and bench.v.params.get("WPNAV_SPEED") == 1000.0
    bench.until(lambda: math.hypot(bench.v.phys.north_m - 200.0, bench.v.phys.east_m) < 2.0,
                60.0, "the GUIDED target")
    assert bench.v.alt_rel_m() == pytest.approx(20.0, abs=0.5)


@pytest.mark.sim
def test_over_tcp_the_issue_messages_leave_the_fleet_running() -> None:
    """The simulator process (one thread for every vehicle) outlives the issue's messages."""
    fleet = SimFleet(homes=[CMAC, (*offset(CMAC, 0.0, 50.0), 584.09)], speedup=60.0,
                     base_port=0).start()
    gcs = SimClient(fleet, 0)
    other = SimClient(fleet, 1)
    try:
        gcs.wait_type("HEARTBEAT", since=0)
        for case in ISSUE_MESSAGES:
            for msg in case.build(1):
                gcs.send(msg)
        fleet.wait_sim(1.0)  # their answers in before the next command's
        assert gcs.command(_REQUEST, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == ACCEPTED
        assert other.command(_REQUEST, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == ACCEPTED
        fleet.wait_sim(2.0)
        assert fleet.error is None
        assert fleet.call(lambda: (fleet.vehicle(0).faults, fleet.vehicle(1).faults)) == ([], [])
    finally:
        gcs.close()
        other.close()
        fleet.stop()


@pytest.mark.sim
def test_a_handler_that_raises_is_contained_logged_and_kept_as_a_fault(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The safety net for bugs the validation misses: the message is dropped and named."""
    bench = _flying_bench()
    real = commands.handle

    def broken(v: Any, msg: Any) -> None:
        if msg.get_type() == "TIMESYNC":
            raise ZeroDivisionError("planted bug")
        real(v, msg)

    monkeypatch.setattr(commands, "handle", broken)
    with caplog.at_level(logging.ERROR, logger="sitl.sim.inbound"):
        bench.send(M.MAVLink_timesync_message(0, 1))
    assert [(f.msg_type, f.error) for f in bench.v.faults] == [
        ("TIMESYNC", "ZeroDivisionError('planted bug')")]
    assert "handling TIMESYNC failed" in caplog.text
    assert bench.command(_REQUEST, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == ACCEPTED
    bench.step(5.0)
    assert bench.v.armed and bench.v.alt_rel_m() == pytest.approx(15.0, abs=1.0)


# ---- what the fuzzing (test_sim_fuzz_mavlink.py) found -----------------------------------------
@pytest.mark.sim
def test_values_ardupilot_accepts_do_not_stop_the_telemetry() -> None:
    """Each of these once made a telemetry message fail to pack, ending the fleet thread."""
    bench = _flying_bench()
    bench.set_param("SIM_WIND_SPD", 601559.0)  # taken as SITL takes it; flown as 100 m/s
    bench.send(M.MAVLink_setup_signing_message(1, 1, [7] * 32, 2**64 - 1))
    bench.step(30.0)
    assert bench.v.faults == [] and bench.v.params.get("SIM_WIND_SPD") == 601559.0
    assert max(abs(m.vx) for m in bench.msgs if m.get_type() == "GLOBAL_POSITION_INT") <= 32767
    echo_ = bench.set_param("MAV_SYSID", 32767)
    assert echo_.param_value == 32767
    assert bench.command(_ARM, 0, 21196) == ACCEPTED
    assert bench.command(_REBOOT, 1) == ACCEPTED
    bench.step(2.0)
    assert bench.v.boots == 2 and bench.v.sysid == 255  # mavlink_system.sysid is 8 bits
    assert [m for m in bench.msgs if m.get_type() == "HEARTBEAT" and m.get_srcSystem() == 255]


@pytest.mark.sim
def test_a_force_disarm_in_flight_falls_to_the_ground() -> None:
    bench = _flying_bench()
    since = len(bench.msgs)
    assert bench.command(_ARM, 0, 21196) == ACCEPTED
    bench.step(5.0)
    assert bench.v.phys.on_ground and not bench.v.armed
    hit = [t for t in bench.texts(since) if t.startswith("SIM Hit ground at ")]
    assert hit and float(hit[0].split()[4]) > 10.0  # 15 m of free fall, drag-limited


@pytest.mark.sim
def test_a_reboot_ends_an_upload_in_progress() -> None:
    """An upload another ground station left half done must not outlive a reboot (its 8 s
    timeout ran on the old boot's clock, refusing every other uploader for minutes)."""
    bench = Bench()
    bench.step(80.0)  # a boot long enough for a left-over timer to lag behind the next one
    other = M.MAVLink(None, srcSystem=200, srcComponent=1)
    msg = M.MAVLink_mission_count_message(1, 1, 3, 0)
    msg.pack(other)
    bench.v.receive(msg)
    assert bench.command(_REBOOT, 1) == ACCEPTED
    bench.step(0.1)
    bench.ready()
    home = item(0, _WP, CMAC.lat, CMAC.lon, 0.0)
    assert bench.upload([home, item(1, M.MAV_CMD_NAV_TAKEOFF, z=10.0)]) == M.MAV_MISSION_ACCEPTED


# ---- the same messages to ArduPilot SITL ------------------------------------------------------
SITL_SPEEDUP = 10.0


class _Sitl(types.SimpleNamespace):
    """What SimClient needs of a fleet, for one SITL instance."""


def _sitl_client(endpoint: str) -> SimClient:
    port = int(endpoint.rsplit(":", 1)[1])
    return SimClient(_Sitl(ports=[port], speedup=SITL_SPEEDUP, sim_time_s=0.0))  # type: ignore[arg-type]


def _sitl_case(gcs: SimClient, case: Case) -> None:
    since = gcs.mark()
    for msg in case.build(1):
        if isinstance(msg, bytes):
            with gcs._cond:
                gcs.sock.sendall(msg)
        else:
            gcs.send(msg)
    # Up to 8 simulated seconds for the answer (SITL gave each within 2), then 2 for texts.
    deadline = time.monotonic() + 8.0 / SITL_SPEEDUP
    while time.monotonic() < deadline:
        with gcs._cond:
            if _replies(gcs.messages[since:], case)[0] is not None:
                break
        time.sleep(0.02)
    time.sleep(2.0 / SITL_SPEEDUP)
    with gcs._cond:
        msgs = gcs.messages[since:]
    _check(case, *_replies(msgs, case))
    if case.param_after is not None:
        name, value = case.param_after
        gcs.send(M.MAVLink_param_request_read_message(1, 1, name.encode(), -1))
        assert gcs.wait_type("PARAM_VALUE", param_id=name).param_value == value


def _restore(gcs: SimClient) -> None:
    """Back to disarmed STABILIZE, default parameters (what a case may have changed)."""
    gcs.command(_ARM, 0, 21196)
    gcs.command(_MODE, 1, 0)
    gcs.set_param("WPNAV_SPEED", 1000.0)
    gcs.set_param("ANGLE_MAX", 3000.0)


@pytest.mark.sitl
def test_hostile_messages_on_ardupilot_sitl(sitl_fleet: SitlFleetFactory) -> None:
    """Every case SITL answers (``sitl == "same"``) gets that answer from SITL too."""
    sitl = sitl_fleet(1, speedup=SITL_SPEEDUP)  # skips here when SITL is absent
    gcs = _sitl_client(sitl.endpoints[0])
    try:
        gcs.request_streams(2)
        for case in [c for c in CASES if c.sitl == "same" and not c.air]:
            _sitl_case(gcs, case)
            sitl.check_alive()
            _restore(gcs)
        assert gcs.command(_MODE, 1, 4) == ACCEPTED
        assert gcs.command(_ARM, 1) == ACCEPTED
        assert gcs.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 15) == ACCEPTED
        time.sleep(2.5)
        for case in [c for c in CASES if c.sitl == "same" and c.air]:
            _sitl_case(gcs, case)
            sitl.check_alive()
            assert gcs.mode() == 4
    finally:
        gcs.close()


@pytest.mark.sitl
def test_ardupilot_sitl_aborts_on_a_nan_in_arm_disarm(sitl_fleet: SitlFleetFactory) -> None:
    """Why ``aborts`` cases have no SITL answer to copy: one NaN ends the SITL process (its
    floating-point trap). If this starts failing, SITL answers now: copy that answer."""
    sitl = sitl_fleet(1, speedup=SITL_SPEEDUP)
    gcs = _sitl_client(sitl.endpoints[0])
    try:
        gcs.send(M.MAVLink_command_long_message(1, 1, _ARM, 0, NAN, 0, 0, 0, 0, 0, 0))
        deadline = time.monotonic() + 10.0
        while sitl.pids and time.monotonic() < deadline:
            try:
                sitl.check_alive()
            except SitlError as exc:  # carries the tail of its log
                assert "Floating point exception" in str(exc)
                return
            time.sleep(0.2)
        pytest.fail("SITL survived ARM_DISARM param1 NaN: take its answer into the simulator")
    finally:
        gcs.close()
