"""Where things are in a QGroundControl ``.plan``: the JSON path of a mission item's field, so
that ``missions.validate`` names ``mission.items[2].params[1]`` rather than "mission item 3".

The reader lays a ``.plan`` out as: home from ``mission.plannedHomePosition``, item ``k`` from
``mission.items[k - 1]`` with ``params`` = param1..4, x, y, z; the fence from
``geoFence.polygons`` in file order, then ``geoFence.circles``; rally points from
``rallyPoints.points``; and what QGroundControl has no place for under ``droneDelivery``.
"""

from __future__ import annotations

from collections.abc import Sequence

from missions.items import Cmd, Mission, MissionItem
from missions.validate import Locate

__all__ = ["PROJECT_KEY", "plan_locator"]

PROJECT_KEY = "droneDelivery"
"""The top-level key of what QGroundControl has no place for (it ignores the key)."""
_POLYGON_COMMANDS = (Cmd.FENCE_POLYGON_VERTEX_INCLUSION, Cmd.FENCE_POLYGON_VERTEX_EXCLUSION)

_HOME_FIELDS = {"x": 0, "y": 1, "z": 2}
_ITEM_FIELDS = {"param1": 0, "param2": 1, "param3": 2, "param4": 3, "x": 4, "y": 5, "z": 6}
_ITEM_KEYS = {
    "command": "command",
    "frame": "frame",
    "autocontinue": "autoContinue",
    "seq": "doJumpId",
}


def plan_locator(mission: Mission) -> Locate:
    """Names items of a mission read from a ``.plan`` by their JSON path, so that
    ``validate_mission`` says ``mission.items[2].params[1]`` rather than ``mission item 3``.

    >>> plan_locator(Mission("m", ()))("mission", 3, "param2")
    ('mission.items[2].params[1]', None)
    """

    def locate(part: str, index: int, field: str) -> tuple[str, int | None]:
        if not part:
            return _project_path(field), None
        if part == "mission" and index == 0:
            return "mission.plannedHomePosition" + _position_suffix(field), None
        if part == "rally":
            return f"rallyPoints.points[{index}]" + _position_suffix(field), None
        if part == "fence":
            return _fence_path(mission.fence, index, field), None
        where = f"mission.items[{index - 1}]"
        if field in _ITEM_FIELDS:
            return f"{where}.params[{_ITEM_FIELDS[field]}]", None
        return where + (f".{_ITEM_KEYS.get(field, field)}" if field else ""), None

    return locate


def _position_suffix(field: str) -> str:
    return f"[{_HOME_FIELDS[field]}]" if field in _HOME_FIELDS else ""


_PROJECT_FIELDS = {
    "items": "mission.items",
    "mission": "mission.items",
    "fence": "geoFence",
    "rally": "rallyPoints.points",
    "cruise_speed_ms": f"{PROJECT_KEY}.cruiseSpeedMs (else mission.cruiseSpeed)",
    "delivery_seq": f"{PROJECT_KEY}.deliverySeq",
    "dropoff_seq": f"{PROJECT_KEY}.dropoffSeq",
    "order_id": f"{PROJECT_KEY}.orderId",
    "name": f"{PROJECT_KEY}.name",
}


def _project_path(field: str) -> str:
    """A field of the mission as a whole, as its key in the ``.plan``."""
    if field in _PROJECT_FIELDS:
        return _PROJECT_FIELDS[field]
    if field.startswith("required_params"):
        return f"{PROJECT_KEY}.requiredParams" + field.removeprefix("required_params")
    if field.startswith("meta"):
        return f"{PROJECT_KEY}.{field}"
    return field


def _fence_path(fence: Sequence[MissionItem], index: int, field: str) -> str:
    """Fence items are the polygons in file order, then the circles (``_read_fence``)."""
    polygons = circles = i = 0
    while i < len(fence):
        item = fence[i]
        is_polygon = item.command in _POLYGON_COMMANDS
        count = int(item.param1) if is_polygon and 1 <= item.param1 <= len(fence) else 1
        if is_polygon and i <= index < i + count:
            where = f"geoFence.polygons[{polygons}]"
            if field == "param1":
                return f"{where}.polygon"
            return f"{where}.polygon[{index - i}]" + _position_suffix(field)
        if not is_polygon and i == index:
            where = f"geoFence.circles[{circles}]"
            if field == "param1":
                return f"{where}.circle.radius"
            return f"{where}.circle.center" + _position_suffix(field) if field else where
        polygons, circles = polygons + is_polygon, circles + (not is_polygon)
        i += count
    return f"geoFence item {index}" + (f".{field}" if field else "")
