"""Reading the airspace from GeoJSON: no-fly zones, the operating area and the ceiling.

``load_airspace`` reads a file, ``airspace_from_geojson`` parsed JSON. Unlike our own JSON
files, GeoJSON features may carry extra properties because other tools add them. Bad input
raises ``InvalidInput`` naming the feature (index and name) and the field.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from planner.airspace import MAX_ZONE_RADIUS_M
from planner.errors import InvalidInput
from planner.load_records import Record, check_unique, kind_of, parse_json, read_text
from planner.model import Airspace, LatLon, NoFlyZone

__all__ = [
    "MAX_ALT_AGL_M",
    "MAX_DEPTH",
    "NO_HOLES",
    "ZONE_ROLES",
    "airspace_from_geojson",
    "load_airspace",
]

ZONE_ROLES = ("no_fly_zone", "operating_area")
MAX_ALT_AGL_M = 10_000.0
"""Highest zone band edge or airspace ceiling, m AGL: above any airspace a drone meets (omit a
zone's ``ceiling_m`` for a band without top)."""
MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a GeoJSON airspace needs (a MultiPolygon's position
is 8 levels down); deeper documents are refused before anything recurses into them."""
NO_HOLES = "holes are not supported (MAVLink exclusion fences have none): split the zone"


def _lonlat(pos: Any, where: str, source: str) -> LatLon:
    """A GeoJSON position ``[lon, lat]`` or ``[lon, lat, alt]`` (the altitude is ignored)."""
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        raise InvalidInput(where, f"must be a position [lon, lat], got {_brief(pos)}", source)
    for axis, value, limit in (("lon", pos[0], 180.0), ("lat", pos[1], 90.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"{where} {axis}", f"must be a number, got {_brief(value)}", source)
        if not abs(value) <= limit:  # also catches NaN
            raise InvalidInput(
                f"{where} {axis}", f"{value!r} is outside -{limit:g}..{limit:g} degrees", source
            )
    return LatLon(float(pos[1]), float(pos[0]))


def _brief(value: Any) -> str:
    """A JSON value as a message shows it: containers by kind and size, text cut short."""
    if isinstance(value, (list, dict)):
        return f"{kind_of(value)} of {len(value)}"
    return repr(value[:40] if isinstance(value, str) else value)


def _ring(coords: Any, where: str, source: str) -> tuple[LatLon, ...]:
    """A closed linear ring, returned open (first point not repeated)."""
    if not isinstance(coords, list) or len(coords) < 4:
        got = f"{len(coords)} positions" if isinstance(coords, list) else kind_of(coords)
        raise InvalidInput(
            where, f"a ring needs at least 4 positions (first = last), got {got}", source
        )
    points = [_lonlat(p, f"{where}[{j}]", source) for j, p in enumerate(coords)]
    if points[0] != points[-1]:
        first, last = [points[0].lon, points[0].lat], [points[-1].lon, points[-1].lat]
        raise InvalidInput(where, f"ring is not closed: first {first} != last {last}", source)
    return tuple(points[:-1])


def _validity(shape: Polygon) -> str:
    """Shapely's reason, with its ``Reason[x y]`` location spelled out as lon/lat."""
    text = str(explain_validity(shape))
    match = re.fullmatch(r"(.*)\[(\S+) (\S+)\]", text)
    if match is None:
        return text
    return f"{match[1].lower()} at lon {match[2]}, lat {match[3]}"


def _polygon(coords: Any, where: str, source: str) -> tuple[LatLon, ...]:
    """A GeoJSON Polygon's coordinates: one exterior ring, no holes, not self-intersecting."""
    if not isinstance(coords, list) or not coords:
        raise InvalidInput(where, "a Polygon needs an exterior ring", source)
    if len(coords) > 1:
        raise InvalidInput(where, f"has {len(coords) - 1} hole(s): {NO_HOLES}", source)
    ring = _ring(coords[0], f"{where}[0]", source)
    shape = Polygon([(p.lon, p.lat) for p in ring])
    if not shape.is_valid:
        raise InvalidInput(where, f"invalid polygon: {_validity(shape)}", source)
    return ring


def _zone_geometry(geom: Any, rec: Record, where: str) -> dict[str, Any]:
    """NoFlyZone geometry fields from a Polygon, a MultiPolygon, or a Point with radius_m."""
    source = rec.source
    if not isinstance(geom, dict):
        raise InvalidInput(f"{where}.geometry", f"must be a geometry, got {kind_of(geom)}", source)
    kind, coords, at = geom.get("type"), geom.get("coordinates"), f"{where}.geometry.coordinates"
    radius = rec.number("radius_m", required=False)
    if kind == "Point":
        if radius is None or not 0.0 < radius <= MAX_ZONE_RADIUS_M:
            rec.fail(
                "radius_m",
                f"a Point zone is a circle and needs radius_m > 0 and <= {MAX_ZONE_RADIUS_M:g} m, "
                f"got {radius}",
            )
        return {"circle_center": _lonlat(coords, at, source), "circle_radius_m": radius}
    if radius is not None:
        rec.fail("radius_m", f"only a Point zone has a radius, this is a {kind}")
    if kind == "Polygon":
        return {"polygons": (_polygon(coords, at, source),)}
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise InvalidInput(at, "a MultiPolygon needs at least one polygon", source)
        return {"polygons": tuple(_polygon(c, f"{at}[{k}]", source) for k, c in enumerate(coords))}
    raise InvalidInput(
        f"{where}.geometry.type",
        f"unsupported geometry {_brief(kind)} (use Polygon, MultiPolygon, or Point with radius_m)",
        source,
    )


def _zone_id(feature: Mapping[str, Any], rec: Record, index: int) -> str:
    """The zone's id: property ``id``, else the Feature's ``id``, else ``zone-<index>``."""
    for value in (rec.values.get("id"), feature.get("id")):
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is not None:
            rec.fail("id", f"must be a string or a whole number, got {kind_of(value)}")
    return f"zone-{index}"


def _zone(feature: Mapping[str, Any], rec: Record, index: int, where: str) -> NoFlyZone:
    floor = rec.number("floor_m", required=False) or 0.0
    ceiling = rec.number("ceiling_m", required=False)
    if not 0.0 <= floor <= MAX_ALT_AGL_M:
        rec.fail("floor_m", f"must be >= 0 m AGL and <= {MAX_ALT_AGL_M:g} m, got {floor:g}")
    if ceiling is not None and ceiling > MAX_ALT_AGL_M:
        rec.fail(
            "ceiling_m",
            f"{ceiling:g} m is above {MAX_ALT_AGL_M:g} m AGL (leave it out for a band without top)",
        )
    if ceiling is not None and ceiling <= floor:
        rec.fail("ceiling_m", f"{ceiling:g} m is not above floor_m {floor:g} m")
    return NoFlyZone(
        id=_zone_id(feature, rec, index),
        name=rec.string("name", required=False),
        floor_m=floor,
        ceiling_m=math.inf if ceiling is None else ceiling,
        kind=rec.string("kind", required=False),
        **_zone_geometry(feature.get("geometry"), rec, where),
    )


def _operating_area(feature: Mapping[str, Any], rec: Record, where: str) -> tuple[LatLon, ...]:
    geom = feature.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") != "Polygon":
        got = geom.get("type") if isinstance(geom, dict) else kind_of(geom)
        raise InvalidInput(
            f"{where}.geometry", f"the operating area must be a Polygon, got {got}", rec.source
        )
    return _polygon(geom.get("coordinates"), f"{where}.geometry.coordinates", rec.source)


def _area_ceiling(rec: Record, collection_ceiling: float | None) -> float | None:
    """The ceiling, from the operating area's ``ceiling_m`` or else the collection's."""
    area_ceiling = rec.number("ceiling_m", required=False)
    if area_ceiling is None:
        return collection_ceiling
    if collection_ceiling is not None and area_ceiling != collection_ceiling:
        rec.fail(
            "ceiling_m",
            f"{area_ceiling:g} m contradicts the collection's {collection_ceiling:g} m",
        )
    return area_ceiling


def _feature_record(feature: Any, index: int, source: str) -> tuple[Record, str]:
    """The feature's properties as a record, and how errors name the feature."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput(f"features[{index}]", "must be a GeoJSON Feature", source)
    props = feature.get("properties")
    props = {} if props is None else props
    if not isinstance(props, dict):
        raise InvalidInput(f"features[{index}].properties", "must be an object", source)
    name = props.get("name")
    where = f"features[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")
    return Record(props, source, f"{where}.properties.", text=False), where


def airspace_from_geojson(obj: Any, source: str = "<airspace>") -> Airspace:
    """The airspace from a parsed GeoJSON FeatureCollection.

    Each Feature is a no-fly zone (Polygon, MultiPolygon, or a circle as a Point with property
    ``radius_m``; optional properties ``id``, ``name``, ``kind``, and the AGL band ``floor_m``
    / ``ceiling_m``), or, with property ``"role": "operating_area"``, the one Polygon every
    flight must stay inside. The altitude ceiling is the collection's ``ceiling_m`` member (or
    the operating area's ``ceiling_m`` property); default 120 m AGL. Other properties and
    members are allowed: other tools add them.

    Raises:
        InvalidInput: naming the feature (index and name) and the field: not a
            FeatureCollection, no features, unsupported geometry, positions not numbers or
            out of range, rings too short or not closed, self-intersecting polygons, holes,
            radius not within 0..100 km, altitudes beyond 10 km, floor not below ceiling, two
            operating areas, duplicate zone ids, nesting deeper than ``MAX_DEPTH``.
    """
    _check_plain(obj, source)
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        raise InvalidInput("type", "must be a GeoJSON FeatureCollection", source)
    features = obj.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput(
            "features", "no features: give no-fly zones or the operating area", source
        )
    ceiling = Record(obj, source, "", text=False).number("ceiling_m", required=False)
    zones: list[tuple[NoFlyZone, str]] = []
    area: tuple[LatLon, ...] | None = None
    for i, feature in enumerate(features):
        rec, where = _feature_record(feature, i, source)
        role = rec.string("role", required=False) or ZONE_ROLES[0]
        if role not in ZONE_ROLES:
            rec.fail("role", f"unknown role {role!r} (known: {', '.join(ZONE_ROLES)})")
        if role == "no_fly_zone":
            zones.append((_zone(feature, rec, i, where), f"{where}.properties.id"))
            continue
        if area is not None:
            raise InvalidInput(where, "a second operating area (only one is allowed)", source)
        area = _operating_area(feature, rec, where)
        ceiling = _area_ceiling(rec, ceiling)
    if ceiling is not None and not 0.0 < ceiling <= MAX_ALT_AGL_M:
        raise InvalidInput(
            "ceiling_m",
            f"must be > 0 m AGL and <= {MAX_ALT_AGL_M:g} m, got {ceiling:g}",
            source,
        )
    check_unique(((z.id, where, source) for z, where in zones), "zone id", source)
    if ceiling is None:
        return Airspace(tuple(z for z, _ in zones), area)
    return Airspace(tuple(z for z, _ in zones), area, ceiling)


def _check_plain(obj: Any, source: str) -> None:
    """Refuse what the field checks cannot handle: nesting deeper than ``MAX_DEPTH`` (every
    reader recursed into it and died of RecursionError) and integers no float holds (their
    conversion raised OverflowError). Walked without recursion."""
    stack: list[tuple[Any, int]] = [(obj, 0)] if isinstance(obj, (list, dict)) else []
    while stack:
        node, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise InvalidInput(
                "file", f"nested more than {MAX_DEPTH} levels deep: not a GeoJSON airspace", source
            )
        for value in node.values() if isinstance(node, dict) else node:
            kind = type(value)
            if (kind is list or kind is dict) and value:
                stack.append((value, depth + 1))
            elif kind is int and not -(2**1023) <= value <= 2**1023:
                digits = len(str(abs(value)))
                raise InvalidInput("file", f"an integer of {digits} digits is not a number", source)


class _Constant:
    """Stands for a NaN or Infinity token while ``_constant_path`` looks for it."""


def _constant_path(text: str) -> str:
    """The JSON path of the first NaN/Infinity in ``text`` (which parsed otherwise), so the
    error names the field rather than only the file."""
    try:
        doc = json.loads(text, parse_constant=lambda _: _Constant())
    except (ValueError, RecursionError):  # a syntax error further on: name the token's kind only
        return "json"
    queue = deque([(doc, "")])
    while queue:
        node, where = queue.popleft()
        if isinstance(node, _Constant):
            return where or "top level"
        if isinstance(node, dict):
            queue.extend((v, f"{where}.{k}".lstrip(".")) for k, v in node.items())
        elif isinstance(node, list):
            queue.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
    return "json"


def load_airspace(path: str | Path) -> Airspace:
    """Read no-fly zones, the operating area and the ceiling from a GeoJSON file.

    See ``airspace_from_geojson`` for the format.

    Raises:
        InvalidInput: as ``airspace_from_geojson``; also a file that is not JSON, is nested
            too deeply to read, or holds an integer too large for a number.
    """
    path = Path(path)
    source = str(path)
    text = read_text(path)
    try:
        obj = parse_json(text, source)
    except RecursionError:  # the decoder recurses once per nested array or object
        raise InvalidInput(
            "file",
            f"JSON nested too deeply to read (a GeoJSON airspace needs {MAX_DEPTH})",
            source,
        ) from None
    except InvalidInput as exc:
        if exc.field == "json" and "is not a number" in exc.problem:  # NaN, Infinity
            raise InvalidInput(_constant_path(text), exc.problem, source) from None
        raise
    except ValueError as exc:
        raise InvalidInput("file", f"invalid JSON: {exc}", source) from None  # 4300+ digits
    return airspace_from_geojson(obj, source)
