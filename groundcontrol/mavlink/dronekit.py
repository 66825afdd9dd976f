"""DroneKit interop: a ``Mission`` as ``dronekit.Command`` objects (dronekit2 keeps the name).

DroneKit's ``vehicle.commands`` holds the mission *without* home (it re-adds the vehicle's home
as seq 0 on upload), so seq 0 of the mission is left out. ``Command`` travels as the float
MISSION_ITEM (float32 degrees: tens of centimetres of rounding); pass ``integer=True`` for
dronekit2's ``CommandInt`` (MISSION_ITEM_INT, 1e-7 degree) when that matters.
"""

from __future__ import annotations

from typing import Any

from missions.items import Mission, MissionItem

__all__ = ["mission_from_commands", "to_dronekit_commands"]


def to_dronekit_commands(mission: Mission, integer: bool = False,
                         include_home: bool = False) -> list[Any]:
    """The mission's items after home, as ``dronekit.Command`` (or ``CommandInt``) objects.

    ``include_home`` puts seq 0 (home) first too: needed when ``commands.download()`` was
    skipped, since DroneKit's download never completes against an ArduCopter with no mission
    (it answers MISSION_COUNT 0 and DroneKit still asks for item 0).

    Raises:
        ImportError: dronekit (dronekit2) is not installed.
    """
    import dronekit

    out = []
    for item in mission.items[0 if include_home else 1:]:
        if integer:
            out.append(dronekit.CommandInt(
                0, 0, 0, int(item.frame), int(item.command), 0, item.autocontinue,
                item.param1, item.param2, item.param3, item.param4, item.x_int, item.y_int,
                item.z))
        else:
            out.append(dronekit.Command(
                0, 0, 0, int(item.frame), int(item.command), 0, item.autocontinue,
                item.param1, item.param2, item.param3, item.param4, item.x, item.y, item.z))
    return out


def mission_from_commands(name: str, home: MissionItem, commands: list[Any]) -> Mission:
    """A ``Mission`` from DroneKit commands (``home`` becomes seq 0)."""
    items = [MissionItem(0, home.command, home.frame, x=home.x, y=home.y, z=home.z)]
    for seq, cmd in enumerate(commands, start=1):
        scale = 1e7 if type(cmd).__name__ == "CommandInt" else 1.0
        items.append(MissionItem(seq, cmd.command, cmd.frame, cmd.param1, cmd.param2,
                                 cmd.param3, cmd.param4, cmd.x / scale, cmd.y / scale, cmd.z,
                                 autocontinue=cmd.autocontinue))
    return Mission(name, tuple(items))
