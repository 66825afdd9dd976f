"""GeoJSON (RFC 7946) for routes and zones: to look at in any map tool, and to read back.

A route collection holds the outbound and inbound legs as LineStrings and the depot and
drop-off as Points, told apart by the property ``role`` (``outbound``, ``inbound``, ``depot``,
``dropoff``). Zones use the properties ``planner.load.airspace_from_geojson`` reads (``id``,
``name``, ``kind``, ``floor_m``, ``ceiling_m``, ``radius_m`` for a circle drawn as a Point,
``role`` ``no_fly_zone`` or ``operating_area``), so ``airspace_feature_collection`` writes a
file the planner loads back. Positions are ``[lon, lat]``, rings are closed and exterior rings
counter-clockwise, as RFC 7946 asks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from missions.errors import MissionFormatError
from missions.fence import is_clockwise
from missions.items import Mission
from missions.validate import MAX_ALTITUDE_M
from planner.model import Airspace, FlightPlan, LatLon, NoFlyZone

__all__ = [
    "ROUTE_ROLES",
    "RouteGeometry",
    "airspace_feature_collection",
    "airspace_features",
    "dump_geojson",
    "load_route",
    "read_route",
    "route_feature_collection",
    "route_of",
    "write_geojson",
]

ROUTE_ROLES = ("outbound", "inbound", "depot", "dropoff")


@dataclass(frozen=True, slots=True)
class RouteGeometry:
    """The path of one delivery: depot first on the way out, depot last on the way back."""

    outbound: tuple[LatLon, ...]
    inbound: tuple[LatLon, ...]
    order_id: str | None = None
    cruise_alt_m: float | None = None

    @property
    def depot(self) -> LatLon:
        return self.outbound[0]

    @property
    def dropoff(self) -> LatLon:
        return self.outbound[-1]


def _dedupe(points: Sequence[LatLon]) -> tuple[LatLon, ...]:
    out: list[LatLon] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    return tuple(out)


def route_of(source: FlightPlan | Mission) -> RouteGeometry:
    """The route of a plan, or the one a mission flies (its positioned navigation items).

    For a mission the way out runs from home to the drop-off item (``dropoff_seq``) and the
    way back from there to the last item; repeated positions (a takeoff at the depot, the
    descent over the drop-off) count once.

    Raises:
        MissionFormatError: a mission without items or without ``dropoff_seq``.
    """
    if isinstance(source, FlightPlan):
        return RouteGeometry(
            source.outbound, source.inbound, source.order.id, source.cruise_alt_agl_m
        )
    if not source.items or source.dropoff_seq is None:
        raise MissionFormatError("needs items and dropoff_seq to split the route", field="mission")
    home = source.items[0]
    points = [(it.seq, LatLon(it.x, it.y), it.z) for it in source.items[1:] if it.has_position]
    out = [LatLon(home.x, home.y)] + [p for seq, p, _ in points if seq <= source.dropoff_seq]
    back = [p for seq, p, _ in points if seq >= source.dropoff_seq]
    cruise = max((z for _, _, z in points), default=None)
    return RouteGeometry(_dedupe(out), _dedupe([out[-1], *back]), source.order_id, cruise)


def _coords(points: Sequence[LatLon]) -> list[list[float]]:
    return [[p.lon, p.lat] for p in points]


def _feature(geometry: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _route_features(route: RouteGeometry) -> list[dict[str, Any]]:
    common: dict[str, Any] = {"order_id": route.order_id}
    if route.cruise_alt_m is not None:
        common["cruise_alt_m"] = route.cruise_alt_m
    return [
        _feature(
            {"type": "LineString", "coordinates": _coords(route.outbound)},
            {"role": "outbound", **common},
        ),
        _feature(
            {"type": "LineString", "coordinates": _coords(route.inbound)},
            {"role": "inbound", **common},
        ),
        _feature(
            {"type": "Point", "coordinates": [route.depot.lon, route.depot.lat]},
            {"role": "depot", **common},
        ),
        _feature(
            {"type": "Point", "coordinates": [route.dropoff.lon, route.dropoff.lat]},
            {"role": "dropoff", **common},
        ),
    ]


def _ring(points: Sequence[LatLon]) -> list[list[float]]:
    pts = list(points)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if is_clockwise(pts):
        pts = pts[::-1]
    return _coords([*pts, pts[0]])


def _zone_feature(zone: NoFlyZone) -> dict[str, Any]:
    props: dict[str, Any] = {"role": "no_fly_zone", "id": zone.id, "name": zone.name}
    if zone.kind:
        props["kind"] = zone.kind
    props["floor_m"] = zone.floor_m
    if math.isfinite(zone.ceiling_m):
        props["ceiling_m"] = zone.ceiling_m
    if zone.is_circle and zone.circle_center is not None:
        props["radius_m"] = zone.circle_radius_m
        centre = zone.circle_center
        return _feature({"type": "Point", "coordinates": [centre.lon, centre.lat]}, props)
    if len(zone.polygons) == 1:
        geometry = {"type": "Polygon", "coordinates": [_ring(zone.polygons[0])]}
    else:
        geometry = {"type": "MultiPolygon", "coordinates": [[_ring(r)] for r in zone.polygons]}
    return _feature(geometry, props)


def airspace_features(airspace: Airspace) -> list[dict[str, Any]]:
    """Features for the operating area (if any) and every zone."""
    features = []
    if airspace.operating_area is not None:
        features.append(
            _feature(
                {"type": "Polygon", "coordinates": [_ring(airspace.operating_area)]},
                {"role": "operating_area", "name": "operating area"},
            )
        )
    features.extend(_zone_feature(zone) for zone in airspace.zones)
    return features


def airspace_feature_collection(airspace: Airspace) -> dict[str, Any]:
    """The airspace as a FeatureCollection that ``planner.load.airspace_from_geojson`` reads."""
    return {
        "type": "FeatureCollection",
        "ceiling_m": airspace.ceiling_agl_m,
        "features": airspace_features(airspace),
    }


def route_feature_collection(
    source: FlightPlan | Mission, *, airspace: Airspace | None = None
) -> dict[str, Any]:
    """A FeatureCollection of the route (and the zones, for display, when ``airspace`` is given).

    Raises:
        MissionFormatError: as ``route_of``.
    """
    features = _route_features(route_of(source))
    if airspace is not None:
        features.extend(airspace_features(airspace))
    return {"type": "FeatureCollection", "features": features}


def dump_geojson(collection: Mapping[str, Any]) -> str:
    """Compact-but-readable GeoJSON text (2-space indent, final newline)."""
    return json.dumps(collection, indent=2, allow_nan=False) + "\n"


def write_geojson(path: str | PathLike[str], collection: Mapping[str, Any]) -> None:
    """Write a FeatureCollection to ``path`` (UTF-8)."""
    Path(path).write_text(dump_geojson(collection), encoding="utf-8", newline="\n")


# ---- reading routes back -------------------------------------------------------------------


def _position(value: Any, where: str, source: str | None) -> LatLon:
    ok = (
        isinstance(value, list)
        and len(value) in (2, 3)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )
    if not ok or not (abs(value[0]) <= 180 and abs(value[1]) <= 90):
        shown = json.dumps(value) if ok else f"{type(value).__name__} {str(value)[:40]}"
        raise MissionFormatError(
            f"must be a position [lon, lat] within +-180, +-90 degrees, got {shown}",
            source=source,
            field=where,
        )
    return LatLon(float(value[1]), float(value[0]))


def _geometry(feature: Mapping[str, Any], kind: str, where: str, source: str | None) -> Any:
    geom = feature.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") != kind:
        got = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
        got = got[:40] if isinstance(got, str) else type(got).__name__
        raise MissionFormatError(f"must be a {kind}, got {got}", source=source, field=where)
    return geom.get("coordinates")


def _line(feature: Mapping[str, Any], where: str, source: str | None) -> tuple[LatLon, ...]:
    coords = _geometry(feature, "LineString", f"{where}.geometry", source)
    if not isinstance(coords, list) or len(coords) < 2:
        raise MissionFormatError(
            "a LineString needs at least 2 positions", source=source, field=f"{where}.geometry"
        )
    return tuple(
        _position(c, f"{where}.geometry.coordinates[{k}]", source) for k, c in enumerate(coords)
    )


def _route_parts(features: list[Any], source: str | None) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise MissionFormatError("must be a GeoJSON Feature", source=source, field=where)
        props = feature.get("properties") or {}
        role = props.get("role") if isinstance(props, dict) else None
        if role not in ("outbound", "inbound"):
            continue  # depot/dropoff points and zones are derived or for display
        if role in parts:
            raise MissionFormatError(f"a second {role} leg", source=source, field=where)
        parts[role] = _line(feature, where, source)
        parts.setdefault("order_id", props.get("order_id"))
        parts.setdefault("cruise_alt_m", props.get("cruise_alt_m"))
    return parts


def load_route(text: str, *, source: str | None = None) -> RouteGeometry:
    """Read a route written by ``route_feature_collection``.

    Raises:
        MissionFormatError: not JSON, not a FeatureCollection, a leg missing or given twice,
            a leg that is not a LineString of positions.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MissionFormatError(f"not JSON: {exc.msg}", source=source, line=exc.lineno) from None
    except RecursionError:  # the decoder recurses once per nested array or object
        raise MissionFormatError(
            "not a route: JSON nested too deeply to read (a route is 5 levels deep)",
            source=source,
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise MissionFormatError(f"not JSON: {exc}", source=source) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise MissionFormatError("must be a GeoJSON FeatureCollection", source=source, field="type")
    features = doc.get("features")
    if not isinstance(features, list):
        raise MissionFormatError("must be an array", source=source, field="features")
    parts = _route_parts(features, source)
    for role in ("outbound", "inbound"):
        if role not in parts:
            raise MissionFormatError(
                f"no LineString with role {role!r}", source=source, field="features"
            )
    order_id = parts.get("order_id")
    return RouteGeometry(
        parts["outbound"],
        parts["inbound"],
        order_id if isinstance(order_id, str) else None,
        _cruise_alt(parts.get("cruise_alt_m"), source),
    )


def _cruise_alt(value: Any, source: str | None) -> float | None:
    """The legs' ``cruise_alt_m``: absent, or an altitude a flight can have."""
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not 0 <= value <= MAX_ALTITUDE_M:
        shown = json.dumps(value) if number else type(value).__name__
        raise MissionFormatError(
            f"must be an altitude within 0..{MAX_ALTITUDE_M:g} m, got {shown}",
            source=source,
            field="properties.cruise_alt_m",
        )
    return float(value)


def read_route(path: str | PathLike[str]) -> RouteGeometry:
    """Read a route GeoJSON file; see ``load_route``.

    Raises:
        MissionFormatError: as ``load_route``, or a file that is not UTF-8 text.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MissionFormatError(f"not UTF-8 text ({exc.reason})", source=str(p)) from None
    return load_route(text, source=str(p))
