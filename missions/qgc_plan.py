"""QGroundControl ``.plan`` files (JSON): mission, geofence and rally points in one file.

The layout follows QGroundControl's own writer (MissionController, GeoFenceController,
RallyPointController, QGCFencePolygon/QGCFenceCircle)::

    {"fileType": "Plan", "version": 1, "groundStation": ...,
     "mission": {"version": 2, "firmwareType": 3 (ArduPilot), "vehicleType": 2 (quadrotor),
                 "cruiseSpeed", "hoverSpeed", "globalPlanAltitudeMode": 1,
                 "plannedHomePosition": [lat, lon, alt AMSL],
                 "items": [{"type": "SimpleItem", "command", "frame", "params": [7 values],
                            "autoContinue", "doJumpId", "Altitude", "AltitudeMode",
                            "AMSLAltAboveTerrain"}, ...]},
     "geoFence": {"version": 2, "polygons": [{"polygon": [[lat, lon], ...], "inclusion",
                  "version": 1}], "circles": [{"circle": {"center": [lat, lon], "radius"},
                  "inclusion", "version": 1}]},
     "rallyPoints": {"version": 2, "points": [[lat, lon, alt], ...]}}

Home (mission item 0) is the ``plannedHomePosition``; the items list starts at seq 1, and
``doJumpId`` is the seq. Fence polygons are written clockwise (QGroundControl's convention).
NaN parameters are ``null``, as QGroundControl writes them. What a ``.plan`` has no place for
(required parameters, delivery and drop-off seqs, order id, name) goes under the top-level key
``droneDelivery``, which QGroundControl ignores, so it survives a round trip through this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from missions.errors import MissionFormatError
from missions.fence import FenceShape, ShapeKind, fence_shapes, is_clockwise, items_from_shapes
from missions.items import (
    GLOBAL_FRAMES,
    RELATIVE_FRAMES,
    Cmd,
    Frame,
    Mission,
    MissionItem,
    MissionType,
    ParamRequirement,
)
from missions.plan_paths import PROJECT_KEY, plan_locator
from missions.validate import DROPOFF_COMMANDS, RELEASE_COMMANDS, validate_mission
from planner.model import LatLon

__all__ = [
    "ARDUPILOT_FIRMWARE",
    "GROUND_STATION",
    "PROJECT_KEY",
    "QUADROTOR",
    "dump_plan",
    "load_plan",
    "plan_dict",
    "plan_locator",
    "read_plan",
    "write_plan",
]

ARDUPILOT_FIRMWARE = 3
"""MAV_AUTOPILOT_ARDUPILOTMEGA, QGroundControl's ``firmwareType``."""
QUADROTOR = 2
"""MAV_TYPE_QUADROTOR, QGroundControl's ``vehicleType``."""
GROUND_STATION = "drone-delivery"
DEFAULT_CRUISE_SPEED_MS = 15.0
"""QGroundControl needs a cruise speed for its time estimates; used when the mission has none."""
HOVER_SPEED_MS = 5.0
_ALTITUDE_MODE_RELATIVE = 1
_ALTITUDE_MODE_ABSOLUTE = 2
_ALTITUDE_MODE_TERRAIN = 4
_TERRAIN_FRAMES = frozenset({Frame.GLOBAL_TERRAIN_ALT, Frame.GLOBAL_TERRAIN_ALT_INT})


def _num(value: float, field: str) -> float | None:
    if math.isinf(value):
        raise MissionFormatError(f"{value} cannot be written to JSON", field=field)
    return None if math.isnan(value) else value


def _altitude_mode(frame: int) -> int:
    if frame in RELATIVE_FRAMES:
        return _ALTITUDE_MODE_RELATIVE
    if frame in _TERRAIN_FRAMES:
        return _ALTITUDE_MODE_TERRAIN
    return _ALTITUDE_MODE_ABSOLUTE


def _item_dict(item: MissionItem) -> dict[str, Any]:
    params = (item.param1, item.param2, item.param3, item.param4, item.x, item.y, item.z)
    out: dict[str, Any] = {
        "autoContinue": bool(item.autocontinue),
        "command": int(item.command),
        "doJumpId": item.seq,
        "frame": int(item.frame),
        "params": [_num(v, f"items[{item.seq}].params[{i}]") for i, v in enumerate(params)],
        "type": "SimpleItem",
    }
    if item.frame in GLOBAL_FRAMES:
        out["AMSLAltAboveTerrain"] = None
        out["Altitude"] = _num(item.z, f"items[{item.seq}].z")
        out["AltitudeMode"] = _altitude_mode(item.frame)
    return out


def _fence_dict(fence: tuple[MissionItem, ...]) -> dict[str, Any]:
    polygons: list[dict[str, Any]] = []
    circles: list[dict[str, Any]] = []
    for shape in fence_shapes(fence):
        if shape.kind is ShapeKind.CIRCLE:
            assert shape.center is not None
            circles.append(
                {
                    "circle": {
                        "center": [shape.center.lat, shape.center.lon],
                        "radius": shape.radius_m,
                    },
                    "inclusion": shape.inclusion,
                    "version": 1,
                }
            )
            continue
        ring = shape.vertices if is_clockwise(shape.vertices) else shape.vertices[::-1]
        polygons.append(
            {"inclusion": shape.inclusion, "polygon": [[p.lat, p.lon] for p in ring], "version": 1}
        )
    return {"circles": circles, "polygons": polygons, "version": 2}


def _project_dict(mission: Mission) -> dict[str, Any]:
    return {
        "cruiseSpeedMs": mission.cruise_speed_ms,
        "deliverySeq": mission.delivery_seq,
        "dropoffSeq": mission.dropoff_seq,
        "meta": dict(mission.meta),
        "name": mission.name,
        "orderId": mission.order_id,
        "requiredParams": [
            {"check": r.check, "name": r.name, "value": r.value, "why": r.why}
            for r in mission.required_params
        ],
        "version": 1,
    }


def plan_dict(mission: Mission) -> dict[str, Any]:
    """The ``.plan`` JSON object of ``mission`` (see the module docstring).

    Raises:
        MissionFormatError: a mission without a home item, or fence items that do not form
            shapes.
    """
    if not mission.items:
        raise MissionFormatError("a mission needs at least its home item (seq 0)", field="items")
    home = mission.items[0]
    return {
        "fileType": "Plan",
        "geoFence": _fence_dict(mission.fence),
        "groundStation": GROUND_STATION,
        "mission": {
            "cruiseSpeed": mission.cruise_speed_ms or DEFAULT_CRUISE_SPEED_MS,
            "firmwareType": ARDUPILOT_FIRMWARE,
            "globalPlanAltitudeMode": _ALTITUDE_MODE_RELATIVE,
            "hoverSpeed": HOVER_SPEED_MS,
            "items": [_item_dict(item) for item in mission.items[1:]],
            "plannedHomePosition": [home.x, home.y, home.z],
            "vehicleType": QUADROTOR,
            "version": 2,
        },
        PROJECT_KEY: _project_dict(mission),
        "rallyPoints": {"points": [[r.x, r.y, r.z] for r in mission.rally], "version": 2},
        "version": 1,
    }


def dump_plan(mission: Mission) -> str:
    """The ``.plan`` text of ``mission``: sorted keys, 4-space indent, final newline.

    Raises:
        MissionFormatError: as ``plan_dict``; also infinite numbers, which JSON cannot hold.
    """
    doc = plan_dict(mission)
    try:
        return json.dumps(doc, indent=4, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as exc:  # an infinite value outside the mission items (rally, params)
        raise MissionFormatError(f"cannot be written as JSON: {exc}", field="mission") from None


def write_plan(path: str | PathLike[str], mission: Mission) -> None:
    """Write ``mission`` to a ``.plan`` file (UTF-8)."""
    Path(path).write_text(dump_plan(mission), encoding="utf-8", newline="\n")


# ---- reading -------------------------------------------------------------------------------


def _brief(value: Any) -> str:
    """A JSON value as an error message shows it: scalars as JSON, containers by their size
    (a hostile file's 900-deep array would not even print)."""
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    if isinstance(value, str):
        return json.dumps(value[:40])
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"an integer of {len(str(abs(value)))} digits"
    return json.dumps(value)


class _Reader:
    """Typed access to parsed JSON that names the JSON path of whatever is wrong."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> MissionFormatError:
        return MissionFormatError(problem, source=self.source, field=path)

    def obj(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = self.key(parent, key, path)
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a JSON object, got {type(value).__name__}")
        return value

    def arr(self, parent: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = self.key(parent, key, path)
        if not isinstance(value, list):
            raise self.fail(path, f"must be a JSON array, got {type(value).__name__}")
        return value

    def key(self, parent: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in parent:
            raise self.fail(path, "missing key")
        return parent[key]

    def number(self, value: Any, path: str, *, nullable: bool = False) -> float:
        if value is None and nullable:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"must be a number, got {_brief(value)}")
        if isinstance(value, int) and abs(value) > 2**1023:  # float() would overflow
            raise self.fail(path, f"must be a number a float holds, got {_brief(value)}")
        if not math.isfinite(value):
            # Python's json reads NaN and Infinity; QGroundControl writes null for "no value".
            raise self.fail(path, f"must be a finite number, got {value!r}")
        return float(value)

    def integer(self, value: Any, path: str) -> int:
        number = self.number(value, path)
        if not number.is_integer():
            raise self.fail(path, f"must be an integer, got {_brief(value)}")
        return int(number)

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, got {_brief(value)}")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, got {_brief(value)}")
        return value

    def version(self, parent: Mapping[str, Any], expected: int, path: str) -> None:
        where = f"{path}.version" if path else "version"
        found = self.integer(self.key(parent, "version", where), where)
        if found != expected:
            raise self.fail(where, f"only version {expected} is supported, got {found}")

    def latlon(self, value: Any, path: str, size: int = 2) -> tuple[float, ...]:
        if not isinstance(value, list) or len(value) != size:
            raise self.fail(path, f"must be an array of {size} numbers, got {_brief(value)}")
        nums = tuple(self.number(v, f"{path}[{i}]") for i, v in enumerate(value))
        if abs(nums[0]) > 90 or abs(nums[1]) > 180:
            raise self.fail(path, f"{nums[0]}, {nums[1]} is not a latitude, longitude")
        return nums


def _read_item(r: _Reader, raw: Any, index: int) -> MissionItem:
    path = f"mission.items[{index}]"
    if not isinstance(raw, dict):
        raise r.fail(path, "must be a JSON object")
    kind = r.string(r.key(raw, "type", f"{path}.type"), f"{path}.type")
    if kind != "SimpleItem":
        raise r.fail(f"{path}.type", f"only SimpleItem is supported, got {kind!r}")
    params_raw = r.arr(raw, "params", f"{path}.params")
    if len(params_raw) != 7:
        raise r.fail(f"{path}.params", f"must hold 7 values, got {len(params_raw)}")
    params = [r.number(v, f"{path}.params[{i}]", nullable=True) for i, v in enumerate(params_raw)]
    seq = r.integer(r.key(raw, "doJumpId", f"{path}.doJumpId"), f"{path}.doJumpId")
    if seq != index + 1:
        raise r.fail(f"{path}.doJumpId", f"expected {index + 1} (items in order), got {seq}")
    command = r.integer(r.key(raw, "command", f"{path}.command"), f"{path}.command")
    frame = r.integer(r.key(raw, "frame", f"{path}.frame"), f"{path}.frame")
    if frame in GLOBAL_FRAMES and not (abs(params[4]) <= 90 and abs(params[5]) <= 180):
        raise r.fail(f"{path}.params", "params 5 and 6 must be a latitude and a longitude")
    auto = r.boolean(r.key(raw, "autoContinue", f"{path}.autoContinue"), f"{path}.autoContinue")
    return MissionItem(
        seq=seq,
        command=command,
        frame=frame,
        param1=params[0],
        param2=params[1],
        param3=params[2],
        param4=params[3],
        x=params[4],
        y=params[5],
        z=params[6],
        autocontinue=int(auto),
    )


def _read_mission(r: _Reader, doc: Mapping[str, Any]) -> tuple[tuple[MissionItem, ...], float]:
    mission = r.obj(doc, "mission", "mission")
    r.version(mission, 2, "mission")
    firmware = r.integer(
        r.key(mission, "firmwareType", "mission.firmwareType"), "mission.firmwareType"
    )
    if firmware != ARDUPILOT_FIRMWARE:
        raise r.fail(
            "mission.firmwareType", f"expected {ARDUPILOT_FIRMWARE} (ArduPilot), got {firmware}"
        )
    cruise = r.number(mission.get("cruiseSpeed", DEFAULT_CRUISE_SPEED_MS), "mission.cruiseSpeed")
    lat, lon, alt = r.latlon(
        r.key(mission, "plannedHomePosition", "mission.plannedHomePosition"),
        "mission.plannedHomePosition",
        size=3,
    )
    home = MissionItem(0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=lat, y=lon, z=alt)
    raw_items = r.arr(mission, "items", "mission.items")
    items = [_read_item(r, raw, i) for i, raw in enumerate(raw_items)]
    return (home, *items), cruise


def _read_fence(r: _Reader, doc: Mapping[str, Any]) -> tuple[MissionItem, ...]:
    if "geoFence" not in doc:
        return ()
    fence = r.obj(doc, "geoFence", "geoFence")
    r.version(fence, 2, "geoFence")
    shapes: list[FenceShape] = []
    for i, raw in enumerate(r.arr(fence, "polygons", "geoFence.polygons")):
        path = f"geoFence.polygons[{i}]"
        if not isinstance(raw, dict):
            raise r.fail(path, "must be a JSON object")
        r.version(raw, 1, path)
        inclusion = r.boolean(r.key(raw, "inclusion", f"{path}.inclusion"), f"{path}.inclusion")
        ring = r.arr(raw, "polygon", f"{path}.polygon")
        if len(ring) < 3:
            raise r.fail(f"{path}.polygon", f"needs at least 3 vertices, got {len(ring)}")
        vertices = tuple(LatLon(*r.latlon(v, f"{path}.polygon[{k}]")) for k, v in enumerate(ring))
        shapes.append(FenceShape(ShapeKind.POLYGON, inclusion, vertices=vertices))
    for i, raw in enumerate(r.arr(fence, "circles", "geoFence.circles")):
        shapes.append(_read_circle(r, raw, f"geoFence.circles[{i}]"))
    return items_from_shapes(shapes)


def _read_circle(r: _Reader, raw: Any, path: str) -> FenceShape:
    if not isinstance(raw, dict):
        raise r.fail(path, "must be a JSON object")
    r.version(raw, 1, path)
    inclusion = r.boolean(r.key(raw, "inclusion", f"{path}.inclusion"), f"{path}.inclusion")
    circle = r.obj(raw, "circle", f"{path}.circle")
    center = LatLon(
        *r.latlon(r.key(circle, "center", f"{path}.circle.center"), f"{path}.circle.center")
    )
    radius = r.number(r.key(circle, "radius", f"{path}.circle.radius"), f"{path}.circle.radius")
    if not (math.isfinite(radius) and radius > 0):
        raise r.fail(f"{path}.circle.radius", f"must be > 0, got {radius}")
    return FenceShape(ShapeKind.CIRCLE, inclusion, center=center, radius_m=radius)


def _read_rally(r: _Reader, doc: Mapping[str, Any]) -> tuple[MissionItem, ...]:
    if "rallyPoints" not in doc:
        return ()
    rally = r.obj(doc, "rallyPoints", "rallyPoints")
    r.version(rally, 2, "rallyPoints")
    items = []
    for i, raw in enumerate(r.arr(rally, "points", "rallyPoints.points")):
        lat, lon, alt = r.latlon(raw, f"rallyPoints.points[{i}]", size=3)
        items.append(
            MissionItem(
                i,
                Cmd.RALLY_POINT,
                Frame.GLOBAL_RELATIVE_ALT_INT,
                x=lat,
                y=lon,
                z=alt,
                mission_type=MissionType.RALLY,
            )
        )
    return tuple(items)


def _read_project(r: _Reader, doc: Mapping[str, Any]) -> dict[str, Any]:
    if PROJECT_KEY not in doc:
        return {}
    extra = r.obj(doc, PROJECT_KEY, PROJECT_KEY)
    r.version(extra, 1, PROJECT_KEY)
    out: dict[str, Any] = {}
    for key, name in (("deliverySeq", "delivery_seq"), ("dropoffSeq", "dropoff_seq")):
        value = extra.get(key)
        out[name] = None if value is None else r.integer(value, f"{PROJECT_KEY}.{key}")
    for key, name in (("orderId", "order_id"), ("name", "name")):
        value = extra.get(key)
        out[name] = None if value is None else r.string(value, f"{PROJECT_KEY}.{key}")
    speed = extra.get("cruiseSpeedMs")
    out["cruise_speed_ms"] = (
        None if speed is None else r.number(speed, f"{PROJECT_KEY}.cruiseSpeedMs")
    )
    meta = extra.get("meta", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise r.fail(f"{PROJECT_KEY}.meta", "must be an object of strings")
    out["meta"] = dict(meta)
    needs = extra.get("requiredParams", [])
    if not isinstance(needs, list):
        raise r.fail(f"{PROJECT_KEY}.requiredParams", f"must be a JSON array, got {_brief(needs)}")
    out["required_params"] = tuple(
        _read_requirement(r, raw, f"{PROJECT_KEY}.requiredParams[{i}]")
        for i, raw in enumerate(needs)
    )
    return out


def _read_requirement(r: _Reader, raw: Any, path: str) -> ParamRequirement:
    if not isinstance(raw, dict):
        raise r.fail(path, "must be a JSON object")
    name = r.string(r.key(raw, "name", f"{path}.name"), f"{path}.name")
    value = r.number(r.key(raw, "value", f"{path}.value"), f"{path}.value")
    check = r.string(raw.get("check", "eq"), f"{path}.check")
    if check not in ("eq", "ge", "gt", "le", "bits"):
        raise r.fail(f"{path}.check", f"unknown check {check!r}")
    return ParamRequirement(name, value, check, r.string(raw.get("why", ""), f"{path}.why"))


_RELEASES = RELEASE_COMMANDS
_DROPOFFS = DROPOFF_COMMANDS


def _check_delivery(r: _Reader, items: Sequence[MissionItem], extra: Mapping[str, Any]) -> None:
    """The delivery metadata must name items that release a parcel / reach the drop-off.

    A ``deliverySeq`` pointing at a DO_CHANGE_SPEED made ``fly`` report "delivered" when
    nothing was released: the flight counts the delivery by passing that item.
    """
    delivery, dropoff = extra.get("delivery_seq"), extra.get("dropoff_seq")
    where = f"{PROJECT_KEY}.deliverySeq"
    if delivery is not None:
        if not 1 <= delivery < len(items):
            raise r.fail(where, f"{delivery} is not an item of the mission (1..{len(items) - 1})")
        command = items[delivery].command
        if command not in _RELEASES:
            names = ", ".join(c.name for c in _RELEASES)
            raise r.fail(
                where, f"item {delivery} is {_command_name(command)}, not a release ({names})"
            )
    if dropoff is not None:
        where = f"{PROJECT_KEY}.dropoffSeq"
        if not 1 <= dropoff < len(items):
            raise r.fail(where, f"{dropoff} is not an item of the mission (1..{len(items) - 1})")
        if items[dropoff].command not in _DROPOFFS:
            raise r.fail(
                where,
                f"item {dropoff} is {_command_name(items[dropoff].command)}, "
                "not a waypoint, land or payload place",
            )
        if delivery is not None and dropoff > delivery:
            raise r.fail(where, f"{dropoff} comes after the delivery item {delivery}")


def _command_name(command: int) -> str:
    try:
        return Cmd(command).name
    except ValueError:
        return f"command {command}"


def _name(stored: str | None, source: str | None) -> str:
    if stored is not None:
        return stored
    return Path(source).stem if source else ""


def _decode(text: str, source: str | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MissionFormatError(f"not JSON: {exc.msg}", source=source, line=exc.lineno) from None
    except RecursionError:  # the decoder recurses once per nested array or object
        raise MissionFormatError(
            "not a .plan: JSON nested too deeply to read (a .plan is 6 levels deep)", source=source
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise MissionFormatError(f"not JSON: {exc}", source=source) from None


def load_plan(text: str, *, source: str | None = None) -> Mission:
    """Parse ``.plan`` text into a ``Mission`` (home from ``plannedHomePosition``).

    Raises:
        MissionFormatError: not JSON, not a Plan, a missing key or a value of the wrong type
            (naming its JSON path, e.g. ``mission.items[2].params[4]``), unsupported versions,
            ComplexItems (surveys: not used by this project).
    """
    r = _Reader(source)
    if not text.strip():
        raise r.fail("", "empty file: expected a QGroundControl .plan JSON object")
    doc = _decode(text, source)
    if not isinstance(doc, dict):
        raise r.fail("", "the file must hold a JSON object")
    kind = r.key(doc, "fileType", "fileType")
    if kind != "Plan":
        raise r.fail("fileType", f'expected "Plan", got {_brief(kind)}')
    r.version(doc, 1, "")
    items, cruise = _read_mission(r, doc)
    extra = _read_project(r, doc)
    _check_delivery(r, items, extra)
    return Mission(
        name=_name(extra.get("name"), source),
        items=items,
        fence=_read_fence(r, doc),
        rally=_read_rally(r, doc),
        required_params=extra.get("required_params", ()),
        delivery_seq=extra.get("delivery_seq"),
        dropoff_seq=extra.get("dropoff_seq"),
        order_id=extra.get("order_id"),
        cruise_speed_ms=extra["cruise_speed_ms"] if extra else cruise,
        meta=extra.get("meta", {}),
    )


def read_plan(path: str | PathLike[str]) -> Mission:
    """Read a ``.plan`` file (see ``load_plan``) whose mission can be sent to a vehicle.

    Raises:
        MissionFormatError: as ``load_plan``, or what ``missions.validate.validate_mission``
            refuses (a NaN parameter, a speed out of range, a self-intersecting fence, a
            requirement that checks nothing ...), with the file name and the JSON path.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MissionFormatError(f"not UTF-8 text ({exc.reason})", source=str(p)) from None
    mission = load_plan(text, source=str(p))
    return validate_mission(mission, source=str(p), locate=plan_locator(mission))
