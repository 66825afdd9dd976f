"""Geofence items (MAVLink mission type FENCE) from the airspace, and back.

The operating area becomes one inclusion polygon, each no-fly zone that constrains the
flight one exclusion polygon per part (a MultiPolygon zone gives several) or one exclusion
circle. ArduPilot stores the vertex count of a polygon in every vertex item (``param1``) and
keeps it in one byte, and it refuses polygons of fewer than three vertices with "Invalid vertex
count" (see the fence_rally_transfer recording), so both limits are checked here before upload.
ArduCopter keeps the whole fence in 560 bytes of storage (StorageManager's copter layout on
boards with 16 KiB or more, SITL included): at most 70 items (``AC_PolyFence_loader::
max_items``) and ``fence_storage_bytes`` within 560, else it answers NO_SPACE or "Fence exceeds
storage size". It stores a self-intersecting polygon without a word, so ``polygon_problem``
looks for one (``missions.validate`` applies both to every fence before upload).

Items are emitted in a fixed order (inclusion polygons, exclusion polygons, exclusion circles)
with every polygon clockwise, which is QGroundControl's convention: a fence written to a
``.plan`` file and read back gives the same items.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.validation import explain_validity

from missions.errors import MissionBuildError, MissionFormatError
from missions.items import Cmd, Frame, MissionItem, MissionType
from planner.geo import LocalFrame
from planner.model import Airspace, LatLon, NoFlyZone

__all__ = [
    "FENCE_STORAGE_BYTES",
    "MAX_FENCE_ITEMS",
    "MAX_FENCE_RADIUS_M",
    "MAX_POLYGON_VERTICES",
    "MIN_POLYGON_VERTICES",
    "FenceShape",
    "ShapeKind",
    "airspace_from_fence",
    "fence_items",
    "fence_shapes",
    "fence_storage_bytes",
    "is_clockwise",
    "items_from_shapes",
    "polygon_problem",
    "shapes_from_airspace",
]

MIN_POLYGON_VERTICES = 3
"""ArduPilot rejects smaller polygons ("Invalid vertex count")."""
MAX_POLYGON_VERTICES = 255
"""ArduPilot stores a polygon's vertex count in one byte."""
MAX_FENCE_ITEMS = 70
"""ArduCopter's ``AC_PolyFence_loader::max_items()``: 560 bytes of fence storage / 8."""
FENCE_STORAGE_BYTES = 560
"""ArduCopter's fence storage (StorageManager copter layout, boards with >= 16 KiB, SITL)."""
MAX_FENCE_RADIUS_M = 100_000.0
"""A fence circle larger than 100 km guards nothing a delivery flight meets."""

_POLYGON_COMMANDS = {
    Cmd.FENCE_POLYGON_VERTEX_INCLUSION: True,
    Cmd.FENCE_POLYGON_VERTEX_EXCLUSION: False,
}
_CIRCLE_COMMANDS = {Cmd.FENCE_CIRCLE_INCLUSION: True, Cmd.FENCE_CIRCLE_EXCLUSION: False}


class ShapeKind(Enum):
    POLYGON = "polygon"
    CIRCLE = "circle"


@dataclass(frozen=True, slots=True)
class FenceShape:
    """One fence: a polygon (clockwise ``vertices``) or a circle (``center`` and ``radius_m``)."""

    kind: ShapeKind
    inclusion: bool
    vertices: tuple[LatLon, ...] = ()
    center: LatLon | None = None
    radius_m: float = 0.0


def is_clockwise(vertices: Sequence[LatLon]) -> bool:
    """True when the ring turns clockwise seen from above (north up, east right).

    >>> is_clockwise([LatLon(0, 0), LatLon(1, 0), LatLon(1, 1)])
    True
    """
    area2 = 0.0
    for a, b in zip(vertices, [*vertices[1:], vertices[0]], strict=True):
        area2 += a.lon * b.lat - b.lon * a.lat
    return area2 < 0.0


def _open_ring(ring: Sequence[LatLon]) -> tuple[LatLon, ...]:
    pts = tuple(ring)
    return pts[:-1] if len(pts) > 1 and pts[0] == pts[-1] else pts


def _polygon_shape(ring: Sequence[LatLon], inclusion: bool, where: str) -> FenceShape:
    pts = _open_ring(ring)
    if not MIN_POLYGON_VERTICES <= len(pts) <= MAX_POLYGON_VERTICES:
        raise MissionBuildError(
            where,
            f"a fence polygon needs {MIN_POLYGON_VERTICES}..{MAX_POLYGON_VERTICES} vertices, "
            f"got {len(pts)} (ArduPilot answers 'Invalid vertex count' and keeps the old fence)",
        )
    if not is_clockwise(pts):
        pts = pts[::-1]
    return FenceShape(ShapeKind.POLYGON, inclusion, vertices=pts)


def _zone_shapes(zone: NoFlyZone, where: str) -> list[FenceShape]:
    if zone.is_circle:
        radius = zone.circle_radius_m
        if radius is None or not math.isfinite(radius) or radius <= 0:
            raise MissionBuildError(f"{where}.circle_radius_m", f"must be > 0, got {radius!r}")
        return [FenceShape(ShapeKind.CIRCLE, False, center=zone.circle_center, radius_m=radius)]
    if not zone.polygons:
        raise MissionBuildError(where, "a zone needs polygons or a circle")
    return [
        _polygon_shape(ring, False, f"{where}.polygons[{k}]")
        for k, ring in enumerate(zone.polygons)
    ]


class _RouteProximity:
    """Distance from a route to zones, in a metric frame centred on the route."""

    def __init__(self, route: Sequence[LatLon]) -> None:
        self.frame = LocalFrame.for_points(route)
        path = [self.frame.to_xy(p) for p in route]
        self.line = LineString(path) if len(path) > 1 else MultiPoint(path)

    def near(self, zone: NoFlyZone, near_m: float) -> bool:
        if zone.is_circle and zone.circle_center is not None:
            centre = Point(self.frame.to_xy(zone.circle_center))
            return bool(self.line.distance(centre) - (zone.circle_radius_m or 0.0) <= near_m)
        for ring in zone.polygons:
            pts = _open_ring(ring)
            if len(pts) < MIN_POLYGON_VERTICES:
                return True  # keep it, so _polygon_shape reports it rather than hides it
            if self.line.distance(Polygon([self.frame.to_xy(p) for p in pts])) <= near_m:
                return True
        return False


def shapes_from_airspace(
    airspace: Airspace,
    *,
    low_agl_m: float = 0.0,
    high_agl_m: float = math.inf,
    route: Sequence[LatLon] = (),
    near_m: float | None = None,
) -> tuple[FenceShape, ...]:
    """The fence shapes for a flight between ``low_agl_m`` and ``high_agl_m``.

    Args:
        airspace: zones and optional operating area.
        low_agl_m: lowest altitude of the flight (0: it takes off and lands).
        high_agl_m: highest altitude of the flight (its cruise altitude).
        route: the flight's path; with ``near_m``, zones farther than ``near_m`` metres from
            it are left out (the vehicle's fence storage is small).
        near_m: distance limit for ``route``; None keeps every constraining zone.

    Raises:
        MissionBuildError: a polygon with fewer than 3 or more than 255 vertices, a circle
            without a positive radius.
    """
    inclusions: list[FenceShape] = []
    if airspace.operating_area is not None:
        inclusions.append(_polygon_shape(airspace.operating_area, True, "airspace.operating_area"))
    polygons: list[FenceShape] = []
    circles: list[FenceShape] = []
    proximity = _RouteProximity(route) if near_m is not None and route else None
    for i, zone in enumerate(airspace.zones):
        if not zone.constrains(low_agl_m, high_agl_m):
            continue
        if proximity is not None and near_m is not None and not proximity.near(zone, near_m):
            continue
        for shape in _zone_shapes(zone, f"airspace.zones[{i}] (id {zone.id})"):
            (circles if shape.kind is ShapeKind.CIRCLE else polygons).append(shape)
    return (*inclusions, *polygons, *circles)


def items_from_shapes(shapes: Iterable[FenceShape]) -> tuple[MissionItem, ...]:
    """Fence mission items for ``shapes``, numbered from 0 in the order given."""
    items: list[MissionItem] = []
    for shape in shapes:
        if shape.kind is ShapeKind.CIRCLE:
            assert shape.center is not None
            cmd = Cmd.FENCE_CIRCLE_INCLUSION if shape.inclusion else Cmd.FENCE_CIRCLE_EXCLUSION
            items.append(_fence_item(len(items), cmd, shape.radius_m, shape.center))
            continue
        cmd = (
            Cmd.FENCE_POLYGON_VERTEX_INCLUSION
            if shape.inclusion
            else Cmd.FENCE_POLYGON_VERTEX_EXCLUSION
        )
        for vertex in shape.vertices:
            items.append(_fence_item(len(items), cmd, float(len(shape.vertices)), vertex))
    return tuple(items)


def _fence_item(seq: int, cmd: Cmd, param1: float, where: LatLon) -> MissionItem:
    # Frame GLOBAL, altitude 0: what QGroundControl sends and ArduPilot echoes back.
    return MissionItem(
        seq=seq,
        command=cmd,
        frame=Frame.GLOBAL,
        param1=param1,
        x=where.lat,
        y=where.lon,
        mission_type=MissionType.FENCE,
    )


def fence_items(
    airspace: Airspace,
    *,
    low_agl_m: float = 0.0,
    high_agl_m: float = math.inf,
    route: Sequence[LatLon] = (),
    near_m: float | None = None,
) -> tuple[MissionItem, ...]:
    """Fence mission items for the airspace; arguments as ``shapes_from_airspace``.

    Raises:
        MissionBuildError: as ``shapes_from_airspace``.
    """
    return items_from_shapes(
        shapes_from_airspace(
            airspace, low_agl_m=low_agl_m, high_agl_m=high_agl_m, route=route, near_m=near_m
        )
    )


def _circle_at(items: Sequence[MissionItem], i: int) -> FenceShape:
    item = items[i]
    if not (math.isfinite(item.param1) and item.param1 > 0):
        raise MissionFormatError(
            f"circle radius must be > 0, got {item.param1}", field=f"fence[{i}]"
        )
    inclusion = _CIRCLE_COMMANDS[Cmd(item.command)]
    return FenceShape(
        ShapeKind.CIRCLE, inclusion, center=LatLon(item.x, item.y), radius_m=item.param1
    )


def _polygon_at(items: Sequence[MissionItem], i: int) -> FenceShape:
    item = items[i]
    count = int(item.param1) if math.isfinite(item.param1) else 0
    if count != item.param1 or count < MIN_POLYGON_VERTICES:
        raise MissionFormatError(f"invalid vertex count {item.param1}", field=f"fence[{i}]")
    group = items[i : i + count]
    if len(group) < count or any(
        g.command != item.command or g.param1 != item.param1 for g in group
    ):
        raise MissionFormatError(
            f"polygon of {count} vertices is cut short or mixed with other items",
            field=f"fence[{i}]",
        )
    inclusion = _POLYGON_COMMANDS[Cmd(item.command)]
    vertices = tuple(LatLon(g.x, g.y) for g in group)
    return FenceShape(ShapeKind.POLYGON, inclusion, vertices=vertices)


def fence_shapes(items: Sequence[MissionItem]) -> tuple[FenceShape, ...]:
    """Group fence items back into shapes (the vertex order is kept as it is).

    Raises:
        MissionFormatError: a command that is not a fence item, a polygon whose vertices
            disagree on the count or stop early, a circle without a positive radius.
    """
    shapes: list[FenceShape] = []
    i = 0
    while i < len(items):
        command = items[i].command
        if command in _CIRCLE_COMMANDS:
            shapes.append(_circle_at(items, i))
        elif command in _POLYGON_COMMANDS:
            shapes.append(_polygon_at(items, i))
        else:
            raise MissionFormatError(f"command {command} is not a fence item", field=f"fence[{i}]")
        i += max(len(shapes[-1].vertices), 1)
    return tuple(shapes)


def polygon_problem(vertices: Sequence[LatLon]) -> str | None:
    """Why ArduPilot would guard the wrong area with this polygon, or None: it must be simple
    (not self-intersecting; ArduPilot does not check) and have an area.

    >>> polygon_problem([LatLon(0, 0), LatLon(1, 1), LatLon(1, 0), LatLon(0, 1)])
    'not simple: self-intersection at lat 0.5000000, lon 0.5000000'
    """
    lons = [p.lon for p in vertices]
    if max(lons) - min(lons) > 180.0:  # across the antimeridian: unwrap before judging
        lons = [lon + 360.0 if lon < 0 else lon for lon in lons]
    shape = Polygon([(lon, p.lat) for p, lon in zip(vertices, lons, strict=True)])
    if not shape.is_valid:
        reason = str(explain_validity(shape))
        at = re.fullmatch(r"(.*)\[(\S+) (\S+)\]", reason)
        if at is not None:
            reason = f"{at[1].lower()} at lat {float(at[3]):.7f}, lon {float(at[2]):.7f}"
        return f"not simple: {reason}"
    if shape.area <= 0.0:
        return "has no area"
    return None


def fence_storage_bytes(items: Sequence[MissionItem]) -> int:
    """Bytes ArduCopter's ``AC_PolyFence_loader`` needs for a (well-formed) fence upload:
    4 header, 2 + 8 per vertex per polygon, 13 per circle, 1 end marker.

    >>> from missions.items import Cmd, MissionItem, MissionType
    >>> fence = [MissionItem(i, Cmd.FENCE_POLYGON_VERTEX_EXCLUSION, param1=3,
    ...          mission_type=MissionType.FENCE) for i in range(3)]
    >>> fence_storage_bytes(fence)
    31
    """
    total, i = 5, 0
    while i < len(items):
        item = items[i]
        if item.command in _POLYGON_COMMANDS and item.param1 >= 1:
            count = int(item.param1)
            total += 2 + 8 * count
            i += count
        else:
            total += 13
            i += 1
    return total


def airspace_from_fence(items: Sequence[MissionItem], *, ceiling_agl_m: float = 120.0) -> Airspace:
    """The airspace a fence describes: exclusion shapes as zones, the inclusion polygon as area.

    Zones get ids ``fence-1``, ``fence-2`` ... and the full altitude band (a fence has none).

    Raises:
        MissionFormatError: as ``fence_shapes``; also more than one inclusion shape or an
            inclusion circle, which an ``Airspace`` cannot hold.
    """
    zones: list[NoFlyZone] = []
    area: tuple[LatLon, ...] | None = None
    for shape in fence_shapes(items):
        if shape.inclusion:
            if shape.kind is ShapeKind.CIRCLE or area is not None:
                raise MissionFormatError(
                    "only one inclusion polygon (the operating area) can be imported",
                    field="fence",
                )
            area = shape.vertices
            continue
        zone_id = f"fence-{len(zones) + 1}"
        if shape.kind is ShapeKind.CIRCLE:
            zones.append(
                NoFlyZone(zone_id, circle_center=shape.center, circle_radius_m=shape.radius_m)
            )
        else:
            zones.append(NoFlyZone(zone_id, polygons=(shape.vertices,)))
    return Airspace(zones=tuple(zones), operating_area=area, ceiling_agl_m=ceiling_agl_m)
