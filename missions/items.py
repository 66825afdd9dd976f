"""MAVLink mission items and the mission bundle (mission, fence, rally, parameter needs).

Command, frame and mission-type numbers come from pymavlink's ardupilotmega dialect (the
generated enums, not the link). Positions are stored in degrees rounded to 1e-7, as they
travel in MISSION_ITEM_INT, so an item survives a round trip through the vehicle unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = [
    "GLOBAL_FRAMES",
    "NAV_COMMANDS_WITH_POSITION",
    "RELATIVE_FRAMES",
    "Cmd",
    "Frame",
    "Mission",
    "MissionItem",
    "MissionType",
    "ParamRequirement",
    "mavlink",
]


class MissionType(IntEnum):
    MISSION = mavlink.MAV_MISSION_TYPE_MISSION
    FENCE = mavlink.MAV_MISSION_TYPE_FENCE
    RALLY = mavlink.MAV_MISSION_TYPE_RALLY


class Frame(IntEnum):
    GLOBAL = mavlink.MAV_FRAME_GLOBAL
    MISSION = mavlink.MAV_FRAME_MISSION
    GLOBAL_RELATIVE_ALT = mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT
    GLOBAL_INT = mavlink.MAV_FRAME_GLOBAL_INT
    GLOBAL_RELATIVE_ALT_INT = mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
    GLOBAL_TERRAIN_ALT = mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT
    GLOBAL_TERRAIN_ALT_INT = mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT


GLOBAL_FRAMES = frozenset(
    {
        Frame.GLOBAL,
        Frame.GLOBAL_RELATIVE_ALT,
        Frame.GLOBAL_INT,
        Frame.GLOBAL_RELATIVE_ALT_INT,
        Frame.GLOBAL_TERRAIN_ALT,
        Frame.GLOBAL_TERRAIN_ALT_INT,
    }
)
"""Frames whose x/y are latitude/longitude."""
RELATIVE_FRAMES = frozenset({Frame.GLOBAL_RELATIVE_ALT, Frame.GLOBAL_RELATIVE_ALT_INT})
"""Frames whose z is metres above home."""


class Cmd(IntEnum):
    """The MAV_CMD numbers this project emits or understands."""

    NAV_WAYPOINT = mavlink.MAV_CMD_NAV_WAYPOINT
    NAV_LOITER_TIME = mavlink.MAV_CMD_NAV_LOITER_TIME
    NAV_RETURN_TO_LAUNCH = mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH
    NAV_LAND = mavlink.MAV_CMD_NAV_LAND
    NAV_TAKEOFF = mavlink.MAV_CMD_NAV_TAKEOFF
    NAV_DELAY = mavlink.MAV_CMD_NAV_DELAY
    NAV_PAYLOAD_PLACE = mavlink.MAV_CMD_NAV_PAYLOAD_PLACE
    DO_JUMP = mavlink.MAV_CMD_DO_JUMP
    DO_CHANGE_SPEED = mavlink.MAV_CMD_DO_CHANGE_SPEED
    DO_SET_HOME = mavlink.MAV_CMD_DO_SET_HOME
    DO_GRIPPER = mavlink.MAV_CMD_DO_GRIPPER
    DO_WINCH = mavlink.MAV_CMD_DO_WINCH
    FENCE_POLYGON_VERTEX_INCLUSION = mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
    FENCE_POLYGON_VERTEX_EXCLUSION = mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
    FENCE_CIRCLE_INCLUSION = mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
    FENCE_CIRCLE_EXCLUSION = mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION
    RALLY_POINT = mavlink.MAV_CMD_NAV_RALLY_POINT


NAV_COMMANDS_WITH_POSITION = frozenset(
    {
        Cmd.NAV_WAYPOINT,
        Cmd.NAV_LOITER_TIME,
        Cmd.NAV_LAND,
        Cmd.NAV_TAKEOFF,
        Cmd.NAV_PAYLOAD_PLACE,
    }
)
"""Navigation commands whose x/y/z is a place the vehicle flies to (0, 0 means "here")."""


def _round7(deg: float) -> float:
    # A value MISSION_ITEM_INT cannot carry (NaN, infinite, beyond int32 * 1e-7) is kept as it
    # is, so the reader or missions.validate can name it with its file and field; rounding it
    # raised "cannot convert float NaN to integer" with neither.
    scaled = deg * 1e7
    return round(scaled) / 1e7 if math.isfinite(scaled) else deg


@dataclass(frozen=True, slots=True)
class MissionItem:
    """One MAVLink mission item (MISSION_ITEM_INT semantics, positions in degrees).

    ``x``/``y`` are latitude/longitude in degrees for global frames (rounded to 1e-7 on
    construction); ``z`` is altitude in metres in the frame's reference.
    """

    seq: int
    command: int
    frame: int = Frame.GLOBAL_RELATIVE_ALT_INT
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    current: int = 0
    autocontinue: int = 1
    mission_type: MissionType = MissionType.MISSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _round7(float(self.x)))
        object.__setattr__(self, "y", _round7(float(self.y)))

    @property
    def has_position(self) -> bool:
        """True for a navigation item with a real latitude/longitude (not the 0, 0 "here")."""
        return (
            self.command in NAV_COMMANDS_WITH_POSITION
            and self.frame in GLOBAL_FRAMES
            and (self.x != 0.0 or self.y != 0.0)
        )

    @property
    def x_int(self) -> int:
        """Latitude as sent in MISSION_ITEM_INT (degrees * 1e7)."""
        return round(self.x * 1e7)

    @property
    def y_int(self) -> int:
        """Longitude as sent in MISSION_ITEM_INT (degrees * 1e7)."""
        return round(self.y * 1e7)


@dataclass(frozen=True, slots=True)
class ParamRequirement:
    """A vehicle parameter the mission relies on, checked by the ground station before flight."""

    name: str
    value: float
    check: str = "eq"
    """How to compare the vehicle's value v with value: "eq", "ge" (v >= value), "le",
    "bits" (every bit of value set in v), or "gt" (v > value)."""
    why: str = ""

    def satisfied_by(self, actual: float) -> bool:
        if self.check == "eq":
            return abs(actual - self.value) < 1e-6
        if self.check == "ge":
            return actual >= self.value - 1e-6
        if self.check == "gt":
            return actual > self.value
        if self.check == "le":
            return actual <= self.value + 1e-6
        if self.check == "bits":
            return (int(actual) & int(self.value)) == int(self.value)
        raise ValueError(f"unknown parameter check {self.check!r}")

    def value_to_set(self, current: float) -> float:
        """The value that satisfies this requirement, starting from ``current``.

        >>> ParamRequirement("FS_OPTIONS", 2, "bits").value_to_set(16)
        18.0
        """
        if self.check == "bits":
            return float(int(current) | int(self.value))
        if self.check == "gt":
            return self.value + 1
        return self.value


@dataclass(frozen=True, slots=True)
class Mission:
    """Everything uploaded to a vehicle for one flight.

    ``items[0]`` is home (the depot, absolute altitude), ``items[1]`` the takeoff.
    """

    name: str
    items: tuple[MissionItem, ...]
    fence: tuple[MissionItem, ...] = ()
    rally: tuple[MissionItem, ...] = ()
    required_params: tuple[ParamRequirement, ...] = ()
    delivery_seq: int | None = None
    """Seq of the item that releases the payload (DO_GRIPPER, DO_WINCH, NAV_PAYLOAD_PLACE)."""
    dropoff_seq: int | None = None
    """Seq of the navigation item over (or at) the drop-off point."""
    order_id: str | None = None
    cruise_speed_ms: float | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
