"""Rally points (MAVLink mission type RALLY) at the depots, and back.

On RTL ArduCopter flies to the closest rally point (or home, when home is closer and the
rally point is beyond RALLY_LIMIT_KM) and lands there, so a drone in trouble lands at the
nearest depot rather than flying back across the city to the one it left from. Rally
altitudes are relative to home (frame GLOBAL_RELATIVE_ALT_INT, as the fence_rally_transfer
recording shows), so a depot on higher ground gets a correspondingly higher value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from missions.errors import MissionBuildError, MissionFormatError
from missions.items import Cmd, Frame, MissionItem, MissionType
from planner.model import Depot, LatLon

__all__ = ["RallyPoint", "rally_items", "rally_points"]


@dataclass(frozen=True, slots=True)
class RallyPoint:
    """A place to return to: position and altitude above home, metres."""

    position: LatLon
    alt_m: float


def rally_items(
    depots: Sequence[Depot], *, alt_agl_m: float, home_alt_amsl_m: float | None = None
) -> tuple[MissionItem, ...]:
    """One rally point per depot, ``alt_agl_m`` above the depot's ground.

    Args:
        depots: where the drones may land.
        alt_agl_m: height above each depot's ground to arrive at (the cruise altitude).
        home_alt_amsl_m: ground altitude of the mission's home; None treats every depot as
            level with home.

    Raises:
        MissionBuildError: a non-finite or negative altitude.
    """
    if not math.isfinite(alt_agl_m) or alt_agl_m < 0:
        raise MissionBuildError("alt_agl_m", f"must be a finite number >= 0, got {alt_agl_m!r}")
    items = []
    for seq, depot in enumerate(depots):
        offset = 0.0 if home_alt_amsl_m is None else depot.ground_alt_amsl_m - home_alt_amsl_m
        items.append(
            MissionItem(
                seq=seq,
                command=Cmd.RALLY_POINT,
                frame=Frame.GLOBAL_RELATIVE_ALT_INT,
                x=depot.position.lat,
                y=depot.position.lon,
                z=alt_agl_m + offset,
                mission_type=MissionType.RALLY,
            )
        )
    return tuple(items)


def rally_points(items: Sequence[MissionItem]) -> tuple[RallyPoint, ...]:
    """The rally points of rally items, for import and display.

    Raises:
        MissionFormatError: an item that is not NAV_RALLY_POINT.
    """
    points = []
    for i, item in enumerate(items):
        if item.command != Cmd.RALLY_POINT:
            raise MissionFormatError(
                f"command {item.command} is not a rally point ({int(Cmd.RALLY_POINT)})",
                field=f"rally[{i}]",
            )
        points.append(RallyPoint(LatLon(item.x, item.y), item.z))
    return tuple(points)
