"""Mission files a ground station reads: a QGroundControl ``.plan`` or a QGC WPL 110
``.waypoints``, checked by ``missions.validate`` before anything is sent to a vehicle.

Shared by ``fly``, ``upload`` and the console's vehicle screen.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from groundcontrol.flight.flight import DELIVERY_TEXTS
from missions.items import Cmd, Mission, MissionItem
from missions.validate import validate_mission

__all__ = ["MISSION_SUFFIXES", "load_mission", "mission_from_items"]

MISSION_SUFFIXES = (".plan", ".waypoints", ".txt")
"""What ``load_mission`` reads (``.txt``: MAVProxy's name for a ``.waypoints`` file)."""
_NAV_COMMANDS = {Cmd.NAV_WAYPOINT, Cmd.NAV_LAND, Cmd.NAV_LOITER_TIME, Cmd.NAV_TAKEOFF,
                 Cmd.NAV_PAYLOAD_PLACE}


def mission_from_items(name: str, items: tuple[MissionItem, ...]) -> Mission:
    """A ``Mission`` from bare items: the first payload action is the delivery, the nav item
    before it the drop-off (``.waypoints`` files do not say)."""
    delivery = next((i.seq for i in items if i.command in DELIVERY_TEXTS), None)
    dropoff = None
    if delivery is not None:
        dropoff = next((i.seq for i in reversed(items[:delivery + 1])
                        if i.command in _NAV_COMMANDS), delivery)
    return Mission(name, items, delivery_seq=delivery, dropoff_seq=dropoff)


def load_mission(path: Path) -> Mission:
    """Read a ``.plan`` (with its fence, rally and parameter needs) or a ``.waypoints`` file,
    and check that everything in it can be sent to a vehicle (``missions.validate``).

    Raises:
        ValueError: unknown extension, a malformed file, or a mission the validation refuses
            (a header-only file, a NaN or out-of-range value, a self-intersecting fence ...);
            the message names the file, the line or JSON path, the field and the limit.
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if suffix == ".plan":
        from missions.qgc_plan import plan_locator, read_plan

        mission = read_plan(path)
        if mission.delivery_seq is None:
            derived = mission_from_items(mission.name, mission.items)
            mission = replace(mission, delivery_seq=derived.delivery_seq,
                              dropoff_seq=derived.dropoff_seq)
        return validate_mission(mission, source=str(path), locate=plan_locator(mission))
    if suffix in (".waypoints", ".txt"):
        from missions.wpl import read_wpl

        mission = mission_from_items(path.stem, tuple(read_wpl(path)))
        return validate_mission(mission, source=str(path))
    raise ValueError(f"{path}: expected a .plan or .waypoints file")
