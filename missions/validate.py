"""What may be sent to a vehicle: the one check every mission passes before it is uploaded.

The readers (``read_plan``, ``read_wpl``) and ``fly`` call ``validate_mission`` or
``validate_items``; the text parsers (``load_plan``, ``load_wpl``) stay exact round trips of
their format and leave this judgement to their callers. A mission that passes can be packed
into MAVLink (MISSION_COUNT, MISSION_ITEM_INT, PARAM_SET) without an overflow, and ArduCopter
stores and flies it as written: no value it would refuse, truncate or wrap. Bad input raises
``MissionFormatError`` naming the file, the item (line, or JSON path) and field, the value and
the limit.

Where the limits come from:

* MAVLink: MISSION_COUNT.count and seq are uint16, frame/current/autocontinue uint8,
  param1..4 and z float32, x/y int32 (degrees * 1e7), PARAM_SET.param_id 16 characters.
* ArduCopter's ``AP_Mission::sanity_check_params``: no parameter may be infinite, and only
  param4 (yaw) of NAV_WAYPOINT, NAV_LAND and NAV_TAKEOFF may be NaN ("use the current yaw").
  AP_Mission keeps hold and loiter times in 16 bits and NAV_PAYLOAD_PLACE's descent in
  centimetres in 16 bits; larger values wrap.
* Fence and rally storage (StorageManager's copter layout on boards with 16 KiB or more,
  SITL included): 560 bytes of fence, which ``AC_PolyFence_loader`` fills with a 4-byte
  header, 2 + 8 per vertex for each polygon, 13 per circle and a 1-byte end marker, and whose
  ``max_items()`` (560 / 8 = 70) caps MISSION_COUNT for a fence; 690 bytes of rally points of
  15 bytes each (46). Beyond them the vehicle answers NO_SPACE or "Fence exceeds storage size".
* ArduPilot accepts a fence polygon of 3..255 vertices (the count is one byte) and does not
  check that it is simple: a self-intersecting exclusion zone is stored and then guards the
  wrong area, so polygons are checked here (shapely).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from missions.errors import MissionFormatError
from missions.fence import (
    FENCE_STORAGE_BYTES,
    MAX_FENCE_ITEMS,
    MAX_FENCE_RADIUS_M,
    MAX_POLYGON_VERTICES,
    MIN_POLYGON_VERTICES,
    ShapeKind,
    fence_shapes,
    fence_storage_bytes,
    polygon_problem,
)
from missions.items import (
    GLOBAL_FRAMES,
    Cmd,
    Frame,
    Mission,
    MissionItem,
    MissionType,
    ParamRequirement,
    mavlink,
)

__all__ = [
    "DROPOFF_COMMANDS",
    "FLOAT32_MAX",
    "MAX_ALTITUDE_M",
    "MAX_MISSION_ITEMS",
    "MAX_RALLY_POINTS",
    "MAX_SPEED_MS",
    "RELEASE_COMMANDS",
    "Locate",
    "validate_items",
    "validate_mission",
]

FLOAT32_MAX = 3.4028234663852886e38
"""Largest finite float32: param1..4 and z of MISSION_ITEM_INT, PARAM_SET.param_value."""
INT32_MAX = 2**31 - 1
"""MISSION_ITEM_INT x/y are int32 (degrees * 1e7 for positions)."""
MAX_MISSION_ITEMS = 65535
"""MISSION_COUNT.count is uint16 (ArduCopter's own storage holds fewer and says NO_SPACE)."""
MAX_RALLY_POINTS = 46
"""ArduCopter's rally storage: 690 bytes / 15-byte RallyLocation."""
MAX_SPEED_MS = 60.0
"""DO_CHANGE_SPEED and cruise speeds: above any multirotor delivery drone (216 km/h); the same
bound as the calibration fit's cruise speed."""
MAX_ALTITUDE_M = 10_000.0
"""Altitude of a position (m, AMSL or above home): above where any multirotor flies, and
within the int16 metres ArduPilot keeps rally altitudes in."""

RELEASE_COMMANDS = (Cmd.DO_GRIPPER, Cmd.DO_WINCH, Cmd.NAV_PAYLOAD_PLACE)
"""Items that release the parcel: what ``delivery_seq`` must name."""
DROPOFF_COMMANDS = (Cmd.NAV_WAYPOINT, Cmd.NAV_LAND, Cmd.NAV_PAYLOAD_PLACE)
"""Items that reach the drop-off: what ``dropoff_seq`` must name."""

_NAN_YAW_COMMANDS = frozenset({Cmd.NAV_WAYPOINT, Cmd.NAV_LAND, Cmd.NAV_TAKEOFF})
"""AP_Mission::sanity_check_params lets param4 of these be NaN; no other NaN, no infinity."""
_LOCATION_FRAMES = frozenset({Frame.MISSION, *GLOBAL_FRAMES})
"""Frames AP_Mission accepts for a command stored with a location."""
_LOCATION_COMMANDS = frozenset(
    {
        mavlink.MAV_CMD_NAV_WAYPOINT,
        mavlink.MAV_CMD_NAV_LOITER_UNLIM,
        mavlink.MAV_CMD_NAV_LOITER_TURNS,
        mavlink.MAV_CMD_NAV_LOITER_TIME,
        mavlink.MAV_CMD_NAV_LAND,
        mavlink.MAV_CMD_NAV_TAKEOFF,
        mavlink.MAV_CMD_NAV_LOITER_TO_ALT,
        mavlink.MAV_CMD_NAV_SPLINE_WAYPOINT,
        mavlink.MAV_CMD_NAV_PAYLOAD_PLACE,
    }
)
"""Mission commands whose x/y/z ArduPilot stores as a location (lat/lon checked, z < limit)."""
_FENCE_POLYGONS = frozenset(
    {Cmd.FENCE_POLYGON_VERTEX_INCLUSION, Cmd.FENCE_POLYGON_VERTEX_EXCLUSION}
)
_FENCE_CIRCLES = frozenset({Cmd.FENCE_CIRCLE_INCLUSION, Cmd.FENCE_CIRCLE_EXCLUSION})
_FENCE_COMMANDS = _FENCE_POLYGONS | _FENCE_CIRCLES


@dataclass(frozen=True, slots=True)
class _Range:
    low: float
    high: float
    what: str
    integer: bool = False
    low_open: bool = False
    """True when ``low`` itself is not allowed (a speed of 0)."""

    def problem(self, value: float) -> str | None:
        low_ok = value > self.low if self.low_open else value >= self.low
        whole = not self.integer or value.is_integer()
        if low_ok and value <= self.high and whole:
            return None
        bounds = f"{self.low:g} {'<' if self.low_open else '<='} value <= {self.high:g}"
        if not whole:
            return f"{self.what} {value:g} is not a whole number (allowed: {bounds})"
        return f"{self.what} {value:g} is outside {bounds}"


_PARAM_RANGES: dict[int, dict[int, _Range]] = {
    Cmd.NAV_WAYPOINT: {1: _Range(0, 65535, "hold time (s, 16 bits in AP_Mission)")},
    Cmd.NAV_LOITER_TIME: {1: _Range(0, 65535, "loiter time (s, 16 bits in AP_Mission)")},
    Cmd.NAV_PAYLOAD_PLACE: {
        1: _Range(0, 655.35, "maximum descent (m, kept in cm in 16 bits by AP_Mission)")
    },
    Cmd.DO_JUMP: {
        1: _Range(1, MAX_MISSION_ITEMS, "jump target seq", integer=True),
        2: _Range(-1, 32767, "repeat count (-1 forever)", integer=True),
    },
    Cmd.DO_CHANGE_SPEED: {
        1: _Range(0, 3, "speed type (SPEED_TYPE)", integer=True),
        2: _Range(0, MAX_SPEED_MS, "speed (m/s)", low_open=True),
        3: _Range(-2, 100, "throttle (%, -1 unchanged, -2 default)"),
    },
    Cmd.DO_GRIPPER: {
        1: _Range(0, 255, "gripper instance", integer=True),
        2: _Range(0, 1, "gripper action (0 release, 1 grab)", integer=True),
    },
    Cmd.DO_WINCH: {
        1: _Range(0, 255, "winch instance", integer=True),
        2: _Range(0, 2, "winch action (0 relax, 1 length, 2 rate)", integer=True),
    },
    Cmd.FENCE_POLYGON_VERTEX_INCLUSION: {
        1: _Range(MIN_POLYGON_VERTICES, MAX_POLYGON_VERTICES, "vertex count", integer=True)
    },
    Cmd.FENCE_POLYGON_VERTEX_EXCLUSION: {
        1: _Range(MIN_POLYGON_VERTICES, MAX_POLYGON_VERTICES, "vertex count", integer=True)
    },
    Cmd.FENCE_CIRCLE_INCLUSION: {1: _Range(0, MAX_FENCE_RADIUS_M, "radius (m)", low_open=True)},
    Cmd.FENCE_CIRCLE_EXCLUSION: {1: _Range(0, MAX_FENCE_RADIUS_M, "radius (m)", low_open=True)},
}
"""Per command, the parameters ArduCopter stores in a narrower type or reads as an enum."""

_META_NUMBERS = re.compile(r"planned(_[a-z]+)?_(s|wh)|out_m|back_m|payload_kg|cruise_alt_m")
"""``Mission.meta`` keys the flight reads as numbers (``missions.build.planned_meta``)."""
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]{1,16}")
_CHECKS = ("eq", "ge", "gt", "le", "bits")

Locate = Callable[[str, int, str], tuple[str, int | None]]
"""How an error names ``field`` ("param2", "x", "" for the whole item) of item ``index`` of
``part`` ("mission", "fence", "rally"): the name, and the line for line-oriented formats.
Part "" (index -1) asks for the name of a field of the mission as a whole (``delivery_seq``,
``required_params[2].value``, ``fence``)."""


def _default_locate(part: str, index: int, field: str) -> tuple[str, int | None]:
    if not part:
        return field, None
    return f"{part} item {index}" + (f".{field}" if field else ""), None


def _command_name(command: int) -> str:
    try:
        return Cmd(command).name
    except ValueError:
        return f"command {command}"


class _Checker:
    """Raises ``MissionFormatError`` with the source, the item's place and the field."""

    def __init__(self, source: str | None, locate: Locate | None) -> None:
        self.source = source
        self.locate = locate or _default_locate

    def fail(self, field: str, problem: str, line: int | None = None) -> MissionFormatError:
        """An error about ``field`` of the mission as a whole (``delivery_seq``, ``fence``)."""
        if line is None:
            field = self.locate("", -1, field)[0]
        return MissionFormatError(problem, source=self.source, line=line, field=field)

    def item_fail(self, part: str, index: int, field: str, problem: str) -> MissionFormatError:
        """An error about ``field`` of item ``index`` of ``part``, named by ``locate``."""
        where, line = self.locate(part, index, field)
        return MissionFormatError(problem, source=self.source, line=line, field=where)


def _number_problem(value: float, *, nan_ok: bool = False) -> str | None:
    if math.isnan(value):
        return None if nan_ok else "NaN is not a value ArduPilot accepts here"
    if not math.isfinite(value):
        return f"{value} is not finite"
    if abs(value) > FLOAT32_MAX:
        return f"{value:g} does not fit MAVLink's float32 (limit {FLOAT32_MAX:.4g})"
    return None


_X_LIMIT = INT32_MAX / 1e7


def _check_numbers(c: _Checker, part: str, index: int, item: MissionItem) -> None:
    """Every float field finite and float32; NaN only where ArduPilot allows it."""
    params = (item.param1, item.param2, item.param3, item.param4, item.z)
    if all(-FLOAT32_MAX <= v <= FLOAT32_MAX for v in params) and (
        -_X_LIMIT < item.x < _X_LIMIT and -_X_LIMIT < item.y < _X_LIMIT
    ):
        return  # the usual case, decided without the checks that name the problem
    for k in range(1, 5):
        value = getattr(item, f"param{k}")
        nan_ok = k == 4 and item.command in _NAN_YAW_COMMANDS and part == "mission"
        problem = _number_problem(value, nan_ok=nan_ok)
        if problem is not None:
            if math.isnan(value):
                problem += (
                    " (only param4, the yaw, of NAV_WAYPOINT, NAV_LAND and NAV_TAKEOFF may be NaN)"
                )
            raise c.item_fail(part, index, f"param{k}", problem)
    problem = _number_problem(item.z)
    if problem is not None:
        raise c.item_fail(part, index, "z", problem)
    for name in ("x", "y"):
        value = getattr(item, name)
        scaled = value * 1e7
        if not math.isfinite(value):
            raise c.item_fail(part, index, name, f"{value} is not finite")
        if not math.isfinite(scaled) or abs(round(scaled)) > INT32_MAX:
            raise c.item_fail(
                part,
                index,
                name,
                f"{value:g} does not fit MISSION_ITEM_INT's int32 of 1e-7 units "
                f"(limit +-{_X_LIMIT:.7f})",
            )


def _check_position(c: _Checker, part: str, index: int, item: MissionItem) -> None:
    for name, what, limit in (("x", "latitude", 90.0), ("y", "longitude", 180.0)):
        value = getattr(item, name)
        if not abs(value) <= limit:
            raise c.item_fail(
                part, index, name, f"{value:g} is not a {what} (limit +-{limit:g} degrees)"
            )
    if not abs(item.z) <= MAX_ALTITUDE_M:
        raise c.item_fail(
            part, index, "z", f"altitude {item.z:g} m is beyond +-{MAX_ALTITUDE_M:g} m"
        )


def _check_fields(c: _Checker, part: str, index: int, item: MissionItem, mtype: int) -> None:
    if item.seq != index:
        raise c.item_fail(part, index, "seq", f"is {item.seq}, must be {index} (in order)")
    if int(item.mission_type) != mtype:
        raise c.item_fail(
            part, index, "mission_type", f"is {int(item.mission_type)}, must be {mtype}"
        )
    bytes_ = (item.frame, item.current, item.autocontinue)
    if 1 <= item.command <= 65535 and min(bytes_) >= 0 and max(bytes_) <= 255:
        return
    for name, low, high in (
        ("command", 1, 65535),
        ("frame", 0, 255),
        ("current", 0, 255),
        ("autocontinue", 0, 255),
    ):
        value = getattr(item, name)
        if not low <= value <= high:
            raise c.item_fail(part, index, name, f"{value} is outside {low}..{high}")


def _check_item(c: _Checker, part: str, index: int, item: MissionItem, mtype: int) -> None:
    _check_fields(c, part, index, item, mtype)
    _check_numbers(c, part, index, item)
    for k, rule in _PARAM_RANGES.get(item.command, {}).items():
        problem = rule.problem(getattr(item, f"param{k}"))
        if problem is not None:
            name = _command_name(item.command)
            raise c.item_fail(part, index, f"param{k}", f"{name}: {problem}")
    positioned = part != "mission" or item.command in _LOCATION_COMMANDS
    if positioned and item.frame not in (_LOCATION_FRAMES if part == "mission" else GLOBAL_FRAMES):
        raise c.item_fail(
            part,
            index,
            "frame",
            f"{_command_name(item.command)} in frame {item.frame}: ArduPilot answers "
            "UNSUPPORTED_FRAME (use a global frame)",
        )
    if positioned or item.frame in GLOBAL_FRAMES:
        _check_position(c, part, index, item)
    if part == "fence" and item.command not in _FENCE_COMMANDS:
        name = _command_name(item.command)
        raise c.item_fail(part, index, "command", f"{name} is not a fence item")
    if part == "rally" and item.command != Cmd.RALLY_POINT:
        name = _command_name(item.command)
        raise c.item_fail(part, index, "command", f"{name} is not NAV_RALLY_POINT")


_PARTS = {MissionType.MISSION: "mission", MissionType.FENCE: "fence", MissionType.RALLY: "rally"}
_COUNT_LIMITS = {
    MissionType.MISSION: (MAX_MISSION_ITEMS, "MISSION_COUNT carries a uint16"),
    MissionType.FENCE: (MAX_FENCE_ITEMS, "ArduCopter's fence storage holds 70 items"),
    MissionType.RALLY: (MAX_RALLY_POINTS, "ArduCopter's rally storage holds 46 points"),
}


def validate_items(
    items: Sequence[MissionItem],
    mission_type: MissionType = MissionType.MISSION,
    *,
    source: str | None = None,
    locate: Locate | None = None,
) -> None:
    """Check one upload's items: count, numbering, every field packable and accepted.

    Fence items are also grouped into shapes: polygons of 3..255 vertices that are simple
    (not self-intersecting) with an area, circles of a positive radius, all within ArduCopter's
    fence storage.

    Args:
        items: seq 0..n-1 of one mission type.
        mission_type: which upload they are.
        source: file name for the message.
        locate: how to name an item (line numbers, JSON paths); default ``"fence item 3"``.

    Raises:
        MissionFormatError: the first problem, naming the item, the field, value and limit.
    """
    c = _Checker(source, locate)
    mtype = MissionType(mission_type)
    part = _PARTS[mtype]
    limit, why = _COUNT_LIMITS[mtype]
    if len(items) > limit:
        raise c.fail(part, f"{len(items)} items, more than {limit} ({why})")
    for index, item in enumerate(items):
        _check_item(c, part, index, item, mtype)
    if mtype is MissionType.FENCE:
        _check_fence_shapes(c, items)


def _check_fence_shapes(c: _Checker, items: Sequence[MissionItem]) -> None:
    try:
        shapes = fence_shapes(items)
    except MissionFormatError as exc:
        at = re.fullmatch(r"fence\[(\d+)\]", exc.field or "")
        if at is None:
            raise c.fail("fence", exc.problem) from None
        raise c.item_fail("fence", int(at[1]), "", exc.problem) from None
    index = 0
    for shape in shapes:
        if shape.kind is ShapeKind.POLYGON:
            problem = polygon_problem(shape.vertices)
            if problem is not None:
                raise c.item_fail(
                    "fence",
                    index,
                    "",
                    f"the polygon of {len(shape.vertices)} vertices that starts here is {problem}",
                )
        index += max(len(shape.vertices), 1)
    used = fence_storage_bytes(items)
    if used > FENCE_STORAGE_BYTES:
        raise c.fail(
            "fence",
            f"needs {used} bytes of fence storage, more than ArduCopter's "
            f"{FENCE_STORAGE_BYTES} (it answers 'Fence exceeds storage size'): fewer vertices",
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Unicode category Cc: C0 and C1 controls and DEL (newline, escape, NUL ...)."""


def _has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _check_text(c: _Checker, field: str, text: str | None) -> None:
    if text is not None and _has_control_characters(text):
        raise c.fail(field, f"{text[:40]!r} holds control characters (newline, escape, NUL)")


def _check_requirement(c: _Checker, index: int, req: ParamRequirement) -> None:
    where = f"required_params[{index}]"
    if not isinstance(req.name, str) or not _PARAM_NAME.fullmatch(req.name):
        raise c.fail(
            f"{where}.name",
            f"{str(req.name)[:40]!r} is not a parameter name (1..16 letters, "
            "digits or _: MAVLink's param_id holds 16 characters)",
        )
    if req.check not in _CHECKS:
        raise c.fail(f"{where}.check", f"unknown check {req.check!r} (one of {_CHECKS})")
    problem = _number_problem(req.value)
    if problem is not None:
        # A bound of -Infinity is always satisfied and +Infinity never: neither checks anything.
        raise c.fail(f"{where}.value", f"{req.name} {req.check} {problem}")
    if req.check == "bits" and not (req.value.is_integer() and 0 <= req.value < 2**24):
        raise c.fail(
            f"{where}.value",
            f"{req.name} bits {req.value:g} is not a bit mask 0..2^24-1 "
            "(a float32 parameter holds whole numbers exactly up to 2^24)",
        )
    _check_text(c, f"{where}.why", req.why)


def _check_delivery(c: _Checker, mission: Mission) -> None:
    items, last = mission.items, len(mission.items) - 1
    delivery, dropoff = mission.delivery_seq, mission.dropoff_seq
    if delivery is not None:
        if not 1 <= delivery <= last:
            raise c.fail("delivery_seq", f"{delivery} is not an item of the mission (1..{last})")
        command = items[delivery].command
        if command not in RELEASE_COMMANDS:
            names = ", ".join(cmd.name for cmd in RELEASE_COMMANDS)
            raise c.fail(
                "delivery_seq",
                f"item {delivery} is {_command_name(command)}, not a release ({names})",
            )
    if dropoff is not None:
        if not 1 <= dropoff <= last:
            raise c.fail("dropoff_seq", f"{dropoff} is not an item of the mission (1..{last})")
        if items[dropoff].command not in DROPOFF_COMMANDS:
            raise c.fail(
                "dropoff_seq",
                f"item {dropoff} is "
                f"{_command_name(items[dropoff].command)}, not a waypoint, land or "
                "payload place",
            )
        if delivery is not None and dropoff > delivery:
            raise c.fail("dropoff_seq", f"{dropoff} comes after the delivery item {delivery}")


def _check_jumps(c: _Checker, items: Sequence[MissionItem]) -> None:
    for index, item in enumerate(items):
        if item.command == Cmd.DO_JUMP and not item.param1 < len(items):
            raise c.item_fail(
                "mission",
                index,
                "param1",
                f"DO_JUMP to seq {item.param1:g}, past the last item {len(items) - 1}",
            )


def _check_meta(c: _Checker, meta: Mapping[str, str], count: int) -> None:
    for key, value in meta.items():
        _check_text(c, "meta", key)
        _check_text(c, f"meta.{key}", value)
        is_seq = value.isascii() and value.isdigit() and 1 <= int(value) < count
        if key == "return_seq" and not is_seq:
            raise c.fail(
                "meta.return_seq", f"{value[:40]!r} is not an item of the mission (1..{count - 1})"
            )
        if _META_NUMBERS.fullmatch(key):
            try:
                number = float(value)
            except ValueError:
                raise c.fail(f"meta.{key}", f"{value[:40]!r} is not a number") from None
            if not (math.isfinite(number) and 0 <= number <= FLOAT32_MAX):
                raise c.fail(f"meta.{key}", f"{value[:40]!r} is not a finite number >= 0")


def _check_mission_level(c: _Checker, mission: Mission) -> None:
    if len(mission.items) < 2:
        raise c.fail(
            "items",
            f"{len(mission.items)} items: a mission needs its home (seq 0) "
            "and at least one command to fly",
        )
    home = mission.items[0]
    if home.frame not in GLOBAL_FRAMES:
        raise c.item_fail(
            "mission", 0, "frame", f"home must be in a global frame, got {home.frame}"
        )
    _check_position(c, "mission", 0, home)
    speed = mission.cruise_speed_ms
    if speed is not None and not 0 < speed <= MAX_SPEED_MS:
        raise c.fail(
            "cruise_speed_ms", f"{speed:g} m/s is not within 0 < speed <= {MAX_SPEED_MS:g} m/s"
        )
    _check_delivery(c, mission)
    _check_jumps(c, mission.items)
    for index, req in enumerate(mission.required_params):
        _check_requirement(c, index, req)
    _check_text(c, "name", mission.name)
    _check_text(c, "order_id", mission.order_id)
    _check_meta(c, mission.meta, len(mission.items))


def validate_mission(
    mission: Mission, *, source: str | None = None, locate: Locate | None = None
) -> Mission:
    """Check everything ``fly`` would send for ``mission``; returns it unchanged.

    Besides ``validate_items`` for the mission, fence and rally: a home item and at least one
    command, delivery and drop-off seqs that name a release and a waypoint of the mission, jump
    targets inside it, a cruise speed within 0..60 m/s, required parameters with a valid name
    and a finite bound (``ge -Infinity`` is always satisfied), metadata numbers finite, and no
    control characters in names and texts that are printed.

    Raises:
        MissionFormatError: the first problem, naming the file, the item and field, the value
            and the limit.
    """
    c = _Checker(source, locate)
    for items, mtype in _parts(mission):
        validate_items(items, mtype, source=source, locate=locate)
    _check_mission_level(c, mission)
    return mission


def _parts(mission: Mission) -> Iterable[tuple[Sequence[MissionItem], MissionType]]:
    yield mission.items, MissionType.MISSION
    yield mission.fence, MissionType.FENCE
    yield mission.rally, MissionType.RALLY
