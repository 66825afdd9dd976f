"""Reading scenario files: depots, airspace (GeoJSON), fleet, orders (CSV or JSON), scenarios.

These ``load_*`` functions are the only file I/O of the planning core; each has a twin that
takes parsed JSON or text (``*_from_json``, ``orders_from_csv``, ``airspace_from_geojson``),
so tests and tools can skip the file system. Bad input raises ``InvalidInput`` naming the file,
the line or item, and the field: our own JSON files reject unknown keys, while GeoJSON
features may carry extra properties because other tools add them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from planner.errors import InvalidInput
from planner.model import Airspace, Depot, LatLon, NoFlyZone, Order
from planner.scenario import DEFAULT_PROMISE_S, Drone, Fleet, Scenario
from planner.vehicle import VehicleProfile, builtin_profile, load_profile

__all__ = [
    "SCENARIO_FILE",
    "airspace_from_geojson",
    "depots_from_json",
    "fleet_from_json",
    "load_airspace",
    "load_depots",
    "load_fleet",
    "load_orders",
    "load_scenario",
    "orders_from_csv",
    "orders_from_json",
    "parse_json",
]

SCENARIO_FILE = "scenario.json"
DEFAULT_FILES: Mapping[str, str] = {
    "depots": "depots.json",
    "airspace": "airspace.geojson",
    "fleet": "fleet.json",
    "orders": "orders.csv",
}
DEPOT_FIELDS = ("id", "name", "lat", "lon", "ground_alt_amsl_m")
DRONE_FIELDS = ("id", "name", "profile", "depot", "sysid")
ORDER_REQUIRED = ("id", "depot", "lat", "lon", "payload_kg", "created_s")
ORDER_OPTIONAL = ("due_s", "priority", "note")
"""``note`` is free text for people (why an example order exists); the planner ignores it."""
MAX_SYSID = 254  # MAVLink system ids are 1..255; 255 is by convention the ground station


# --- reading files -------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The file's text; a missing, unreadable or empty file is bad input naming the file."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets save a BOM
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", f"is not UTF-8 text (byte {exc.start})", source) from exc
    except OSError as exc:
        raise InvalidInput("file", f"cannot read: {exc.strerror or exc}", source) from exc
    if not text.strip():
        raise InvalidInput("file", "is empty", source)
    return text


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number in JSON")


def parse_json(text: str, source: str) -> Any:
    """Parse JSON strictly: no duplicate keys, no NaN or Infinity.

    Raises:
        InvalidInput: naming the line and column of the syntax error.

    >>> parse_json('{"a": 1}', "example.json")
    {'a': 1}
    """
    if not text.strip():
        raise InvalidInput("file", "is empty", source)
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"line {exc.lineno} column {exc.colno}", exc.msg, source) from exc
    except ValueError as exc:  # from the hooks above
        raise InvalidInput("json", str(exc), source) from exc


def _load_json(path: Path) -> Any:
    return parse_json(_read_text(path), str(path))


# --- one record's fields, from JSON values or CSV text --------------------------------------


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


class _Record:
    """Typed access to one record's fields; errors name the source and ``prefix.field``.

    JSON records hold typed values (a number must be a JSON number); CSV records hold text
    that is converted. An absent key, a JSON null and an empty CSV cell all mean "not given".
    """

    def __init__(self, values: Mapping[str, Any], source: str, prefix: str, *, text: bool) -> None:
        self.values = values
        self.source = source
        self.prefix = prefix
        self.text = text

    def fail(self, key: str, problem: str) -> NoReturn:
        raise InvalidInput(f"{self.prefix}{key}", problem, self.source)

    def _raw(self, key: str, required: bool) -> Any:
        value = self.values.get(key)
        if isinstance(value, str) and self.text:
            value = value.strip()
        if value is None or value == "":
            if required:
                self.fail(key, "missing required field")
            return None
        return value

    def string(self, key: str, *, required: bool = True) -> str:
        value = self._raw(key, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {_kind(value)} {value!r}")
        return value.strip()

    def number(self, key: str, *, required: bool = True) -> float | None:
        value = self._raw(key, required)
        if value is None:
            return None
        if self.text:
            try:
                value = float(value)
            except ValueError:
                self.fail(key, f"must be a number, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"must be a number, got {_kind(value)} {value!r}")
        if not math.isfinite(value):
            self.fail(key, f"must be finite, got {value!r}")
        return float(value)

    def integer(self, key: str, *, required: bool = True) -> int | None:
        value = self._raw(key, required)
        if value is None:
            return None
        if self.text:
            try:
                return int(value)
            except ValueError:
                self.fail(key, f"must be a whole number, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, got {_kind(value)} {value!r}")
        return value

    def position(self) -> LatLon:
        lat, lon = self.number("lat"), self.number("lon")
        assert lat is not None and lon is not None  # required
        if abs(lat) > 90.0:
            self.fail("lat", f"{lat:g} is outside -90..90 degrees")
        if abs(lon) > 180.0:
            self.fail("lon", f"{lon:g} is outside -180..180 degrees")
        return LatLon(lat, lon)


def _json_record(item: Any, source: str, where: str, allowed: Iterable[str]) -> _Record:
    """A JSON object as a record, rejecting keys we do not know (our own formats only)."""
    if not isinstance(item, dict):
        raise InvalidInput(where or "top level", f"must be an object, got {_kind(item)}", source)
    allowed = tuple(allowed)
    prefix = f"{where}." if where else ""
    for key in item:
        if key not in allowed:
            raise InvalidInput(
                f"{prefix}{key}", f"unknown field (allowed: {', '.join(allowed)})", source
            )
    return _Record(item, source, prefix, text=False)


def _json_list(obj: Any, source: str, what: str) -> list[Any]:
    if not isinstance(obj, list):
        raise InvalidInput(what, f"must be a JSON list, got {_kind(obj)}", source)
    if not obj:
        raise InvalidInput(what, f"no {what}: the list is empty", source)
    return obj


def _check_unique(keys: Iterable[tuple[Any, str, str]], what: str, source: str) -> None:
    """Reject a repeated key; ``keys`` are (key, field, where) with ``where`` the file or line."""
    seen: dict[Any, str] = {}
    for key, field, where in keys:
        if key in seen:
            first = seen[key]
            raise InvalidInput(field, f"duplicate {what} {key!r} (first at {first})", where)
        seen[key] = field if where == source else where.removeprefix(source).strip()


# --- depots ---------------------------------------------------------------------------------


def depots_from_json(obj: Any, source: str = "<depots>") -> tuple[Depot, ...]:
    """Depots from parsed JSON: a list of ``{id, name, lat, lon, ground_alt_amsl_m}``.

    ``name`` is optional; the ground altitude is required because it becomes the mission's
    home altitude (AMSL) and a silent 0 would be wrong everywhere but at sea level.

    Raises:
        InvalidInput: not a list, unknown or missing fields, wrong types, coordinates out of
            range, an implausible ground altitude, duplicate ids.
    """
    depots = []
    for i, item in enumerate(_json_list(obj, source, "depots")):
        rec = _json_record(item, source, f"depots[{i}]", DEPOT_FIELDS)
        alt = rec.number("ground_alt_amsl_m")
        assert alt is not None
        if not -500.0 <= alt <= 9000.0:
            rec.fail("ground_alt_amsl_m", f"{alt:g} m is not a ground altitude on Earth")
        depots.append(
            Depot(rec.string("id"), rec.position(), alt, rec.string("name", required=False))
        )
    ids = ((d.id, f"depots[{i}].id", source) for i, d in enumerate(depots))
    _check_unique(ids, "depot id", source)
    return tuple(depots)


def load_depots(path: str | Path) -> tuple[Depot, ...]:
    """Read depots from a JSON file (see ``depots_from_json``)."""
    path = Path(path)
    return depots_from_json(_load_json(path), str(path))


# --- orders ---------------------------------------------------------------------------------


def _order(rec: _Record) -> Order:
    """One order from a record; checks values that make no sense for any planner."""
    payload = rec.number("payload_kg")
    created = rec.number("created_s")
    due = rec.number("due_s", required=False)
    assert payload is not None and created is not None
    if payload <= 0.0:
        rec.fail("payload_kg", f"must be > 0 kg, got {payload:g}")
    if created < 0.0:
        rec.fail("created_s", f"must be >= 0 s (scenario clock), got {created:g}")
    if due is not None and due <= created:
        rec.fail("due_s", f"{due:g} s is not after created_s {created:g} s")
    rec.string("note", required=False)  # type-checked, then ignored
    return Order(
        id=rec.string("id"),
        depot_id=rec.string("depot"),
        dropoff=rec.position(),
        payload_kg=payload,
        created_s=created,
        due_s=due,
        priority=rec.integer("priority", required=False) or 0,
    )


def _unique_orders(orders: list[tuple[Order, str, str]], source: str) -> tuple[Order, ...]:
    """The orders, checked for repeated ids; each comes with its id's field and location."""
    if not orders:
        raise InvalidInput("orders", "no orders in the file", source)
    _check_unique(((o.id, field, where) for o, field, where in orders), "order id", source)
    return tuple(o for o, _, _ in orders)


def orders_from_json(obj: Any, source: str = "<orders>") -> tuple[Order, ...]:
    """Orders from parsed JSON: a list of order objects, or ``{"orders": [...]}``.

    Keys: id, depot, lat, lon, payload_kg, created_s, and optionally due_s (null or absent:
    the scenario's promise applies), priority and note.

    Raises:
        InvalidInput: unknown or missing fields, wrong types, lat/lon out of range, payload
            not > 0, due not after created, duplicate ids, no orders.
    """
    if isinstance(obj, dict):
        rec = _json_record(obj, source, "", ("orders",))
        obj = rec.values.get("orders")
    orders = []
    for i, item in enumerate(_json_list(obj, source, "orders")):
        where = f"orders[{i}]"
        rec = _json_record(item, source, where, ORDER_REQUIRED + ORDER_OPTIONAL)
        orders.append((_order(rec), f"{where}.id", source))
    return _unique_orders(orders, source)


def _csv_header(row: list[str] | None, source: str) -> list[str]:
    if row is None:
        raise InvalidInput("file", "is empty", source)
    where, allowed = f"{source} line 1", ORDER_REQUIRED + ORDER_OPTIONAL
    header = [cell.strip() for cell in row]
    for number, column in enumerate(header, 1):
        if not column:
            raise InvalidInput(f"column {number}", "has no name (a trailing comma?)", where)
        if column not in allowed:
            raise InvalidInput(column, f"unknown column (allowed: {', '.join(allowed)})", where)
    _check_unique(((c, c, where) for c in header), "column", where)
    for column in ORDER_REQUIRED:
        if column not in header:
            raise InvalidInput(column, "missing required column", where)
    return header


def orders_from_csv(text: str, source: str = "<orders.csv>") -> tuple[Order, ...]:
    """Orders from CSV text with a header line (columns as in ``orders_from_json``).

    Blank lines are skipped; an empty ``due_s`` or ``priority`` cell means "not given".

    Raises:
        InvalidInput: naming the line and column: unknown or missing columns, a row with the
            wrong number of cells, bad values, duplicate ids, no orders.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = _csv_header(next(reader, None), source)
        orders = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            where = f"{source} line {reader.line_num}"
            if len(row) != len(header):
                raise InvalidInput(
                    "row", f"has {len(row)} cells, the header has {len(header)}", where
                )
            rec = _Record(dict(zip(header, row, strict=True)), where, "", text=True)
            orders.append((_order(rec), "id", where))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}", f"bad CSV: {exc}", source) from exc
    return _unique_orders(orders, source)


def load_orders(path: str | Path) -> tuple[Order, ...]:
    """Read orders from ``.csv`` or ``.json`` (chosen by the file's extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return orders_from_csv(_read_text(path), str(path))
    if suffix == ".json":
        return orders_from_json(_load_json(path), str(path))
    raise InvalidInput(
        "file", f"orders must be .csv or .json, got {suffix or 'no extension'!r}", str(path)
    )


# --- fleet ----------------------------------------------------------------------------------


def _resolve_profile(ref: str, base_dir: Path | None, rec: _Record) -> VehicleProfile:
    """A built-in profile by name, or a JSON profile file relative to the fleet file."""
    try:
        if ref.lower().endswith(".json"):
            path = Path(ref)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            return load_profile(path)
        return builtin_profile(ref)
    except InvalidInput as exc:  # a built-in name has no source: its problem says it all
        rec.fail("profile", str(exc) if exc.source else exc.problem)


def fleet_from_json(obj: Any, source: str = "<fleet>", base_dir: Path | None = None) -> Fleet:
    """A fleet from parsed JSON: ``{"drones": [{id, name, profile, depot, sysid}, ...]}``.

    ``profile`` is a built-in profile name (``delivery-quad``) or the path of a profile JSON
    file relative to ``base_dir`` (the fleet file's folder); each drone's ``profile`` in the
    result is the loaded profile's name, a key of ``Fleet.profiles``.

    Raises:
        InvalidInput: unknown or missing fields, wrong types, an unknown or invalid profile,
            two different profiles with one name, sysid outside 1..254, duplicate ids or sysids.
    """
    top = _json_record(obj, source, "", ("drones",))
    drones: list[Drone] = []
    profiles: dict[str, VehicleProfile] = {}
    for i, item in enumerate(_json_list(top.values.get("drones"), source, "drones")):
        rec = _json_record(item, source, f"drones[{i}]", DRONE_FIELDS)
        profile = _resolve_profile(rec.string("profile"), base_dir, rec)
        if profiles.setdefault(profile.name, profile) != profile:
            rec.fail("profile", f"a different profile named {profile.name!r} is already in use")
        sysid = rec.integer("sysid")
        assert sysid is not None
        if not 1 <= sysid <= MAX_SYSID:
            rec.fail("sysid", f"must be 1..{MAX_SYSID} (255 is the ground station), got {sysid}")
        drone_id = rec.string("id")
        name = rec.string("name", required=False)
        drones.append(Drone(drone_id, profile.name, rec.string("depot"), sysid, name))
    _check_unique(((d.id, f"drones[{i}].id", source) for i, d in enumerate(drones)), "id", source)
    sysids = ((d.sysid, f"drones[{i}].sysid", source) for i, d in enumerate(drones))
    _check_unique(sysids, "sysid", source)
    return Fleet(tuple(drones), profiles)


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet JSON file; profile paths in it are relative to the file's folder."""
    path = Path(path)
    return fleet_from_json(_load_json(path), str(path), path.parent)


# --- airspace -------------------------------------------------------------------------------


ZONE_ROLES = ("no_fly_zone", "operating_area")
NO_HOLES = "holes are not supported (MAVLink exclusion fences have none): split the zone"


def _lonlat(pos: Any, where: str, source: str) -> LatLon:
    """A GeoJSON position ``[lon, lat]`` or ``[lon, lat, alt]`` (the altitude is ignored)."""
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        raise InvalidInput(where, f"must be a position [lon, lat], got {pos!r}", source)
    for axis, value, limit in (("lon", pos[0], 180.0), ("lat", pos[1], 90.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"{where} {axis}", f"must be a number, got {value!r}", source)
        if not abs(value) <= limit:  # also catches NaN
            raise InvalidInput(
                f"{where} {axis}", f"{value!r} is outside -{limit:g}..{limit:g} degrees", source
            )
    return LatLon(float(pos[1]), float(pos[0]))


def _ring(coords: Any, where: str, source: str) -> tuple[LatLon, ...]:
    """A closed linear ring, returned open (first point not repeated)."""
    if not isinstance(coords, list) or len(coords) < 4:
        got = f"{len(coords)} positions" if isinstance(coords, list) else _kind(coords)
        raise InvalidInput(
            where, f"a ring needs at least 4 positions (first = last), got {got}", source
        )
    points = [_lonlat(p, f"{where}[{j}]", source) for j, p in enumerate(coords)]
    if points[0] != points[-1]:
        first, last = coords[0][:2], coords[-1][:2]
        raise InvalidInput(where, f"ring is not closed: first {first} != last {last}", source)
    return tuple(points[:-1])


def _validity(shape: Polygon) -> str:
    """Shapely's reason, with its ``Reason[x y]`` location spelled out as lon/lat."""
    text = explain_validity(shape)
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


def _zone_geometry(geom: Any, rec: _Record, where: str) -> dict[str, Any]:
    """NoFlyZone geometry fields from a Polygon, a MultiPolygon, or a Point with radius_m."""
    source = rec.source
    if not isinstance(geom, dict):
        raise InvalidInput(f"{where}.geometry", f"must be a geometry, got {_kind(geom)}", source)
    kind, coords, at = geom.get("type"), geom.get("coordinates"), f"{where}.geometry.coordinates"
    radius = rec.number("radius_m", required=False)
    if kind == "Point":
        if radius is None or radius <= 0.0:
            rec.fail("radius_m", f"a Point zone is a circle and needs radius_m > 0, got {radius}")
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
        f"unsupported geometry {kind!r} (use Polygon, MultiPolygon, or Point with radius_m)",
        source,
    )


def _zone_id(feature: Mapping[str, Any], rec: _Record, index: int) -> str:
    """The zone's id: property ``id``, else the Feature's ``id``, else ``zone-<index>``."""
    for value in (rec.values.get("id"), feature.get("id")):
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if value is not None:
            rec.fail("id", f"must be a string or a whole number, got {_kind(value)}")
    return f"zone-{index}"


def _zone(feature: Mapping[str, Any], rec: _Record, index: int, where: str) -> NoFlyZone:
    floor = rec.number("floor_m", required=False) or 0.0
    ceiling = rec.number("ceiling_m", required=False)
    if floor < 0.0:
        rec.fail("floor_m", f"must be >= 0 m AGL, got {floor:g}")
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


def _operating_area(feature: Mapping[str, Any], rec: _Record, where: str) -> tuple[LatLon, ...]:
    geom = feature.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") != "Polygon":
        got = geom.get("type") if isinstance(geom, dict) else _kind(geom)
        raise InvalidInput(
            f"{where}.geometry", f"the operating area must be a Polygon, got {got}", rec.source
        )
    return _polygon(geom.get("coordinates"), f"{where}.geometry.coordinates", rec.source)


def _area_ceiling(rec: _Record, collection_ceiling: float | None) -> float | None:
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


def _feature_record(feature: Any, index: int, source: str) -> tuple[_Record, str]:
    """The feature's properties as a record, and how errors name the feature."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput(f"features[{index}]", "must be a GeoJSON Feature", source)
    props = feature.get("properties")
    props = {} if props is None else props
    if not isinstance(props, dict):
        raise InvalidInput(f"features[{index}].properties", "must be an object", source)
    name = props.get("name")
    where = f"features[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")
    return _Record(props, source, f"{where}.properties.", text=False), where


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
            radius not > 0, floor not below ceiling, two operating areas, duplicate zone ids.
    """
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        raise InvalidInput("type", "must be a GeoJSON FeatureCollection", source)
    features = obj.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput(
            "features", "no features: give no-fly zones or the operating area", source
        )
    ceiling = _Record(obj, source, "", text=False).number("ceiling_m", required=False)
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
    if ceiling is not None and ceiling <= 0.0:
        raise InvalidInput("ceiling_m", f"must be > 0 m AGL, got {ceiling:g}", source)
    _check_unique(((z.id, where, source) for z, where in zones), "zone id", source)
    if ceiling is None:
        return Airspace(tuple(z for z, _ in zones), area)
    return Airspace(tuple(z for z, _ in zones), area, ceiling)


def load_airspace(path: str | Path) -> Airspace:
    """Read no-fly zones, the operating area and the ceiling from a GeoJSON file.

    See ``airspace_from_geojson`` for the format.
    """
    path = Path(path)
    return airspace_from_geojson(_load_json(path), str(path))


# --- scenarios ------------------------------------------------------------------------------


def _scenario_paths(
    folder: Path, files: Mapping[str, Any], overrides: Mapping[str, str | Path | None], source: str
) -> dict[str, Path]:
    rec = _json_record(files, source, "files", DEFAULT_FILES)
    paths = {}
    for key, default in DEFAULT_FILES.items():
        given = overrides.get(key)
        named = rec.string(key, required=False) or default
        paths[key] = Path(given) if given is not None else folder / named
    return paths


def _check_bases(fleet: Fleet, depots: tuple[Depot, ...], fleet_path: Path) -> None:
    """Every drone is based at a depot that exists (unlike orders, which the planner judges)."""
    known = {d.id for d in depots}
    for i, drone in enumerate(fleet.drones):
        if drone.depot_id not in known:
            raise InvalidInput(
                f"drones[{i}].depot",
                f"unknown depot {drone.depot_id!r} (depots: {', '.join(sorted(known))})",
                str(fleet_path),
            )


def load_scenario(
    path: str | Path,
    *,
    depots: str | Path | None = None,
    airspace: str | Path | None = None,
    fleet: str | Path | None = None,
    orders: str | Path | None = None,
) -> Scenario:
    """Read a scenario folder (or its ``scenario.json``) and the files it names.

    ``scenario.json`` holds ``name``, ``description``, ``promise_s`` and ``files`` (keys
    depots, airspace, fleet, orders; paths relative to the folder; defaults depots.json,
    airspace.geojson, fleet.json, orders.csv). Keyword arguments replace single files, as the
    CLI's ``--orders/--airspace/--fleet`` do.

    Orders naming an unknown depot load fine (the planner reports them as UNKNOWN_DEPOT); a
    drone based at an unknown depot does not.

    Raises:
        InvalidInput: any file is missing or bad, or the fleet names an unknown depot.
    """
    path = Path(path)
    file = path / SCENARIO_FILE if path.is_dir() else path
    folder = file.parent
    source = str(file)
    top = _json_record(_load_json(file), source, "", ("name", "description", "promise_s", "files"))
    promise_s = top.number("promise_s", required=False)
    if promise_s is not None and promise_s <= 0.0:
        top.fail("promise_s", f"must be > 0 s, got {promise_s:g}")
    overrides = {"depots": depots, "airspace": airspace, "fleet": fleet, "orders": orders}
    paths = _scenario_paths(folder, top.values.get("files") or {}, overrides, source)
    loaded_depots = load_depots(paths["depots"])
    loaded_fleet = load_fleet(paths["fleet"])
    _check_bases(loaded_fleet, loaded_depots, paths["fleet"])
    return Scenario(
        name=top.string("name", required=False) or folder.name,
        depots=loaded_depots,
        airspace=load_airspace(paths["airspace"]),
        fleet=loaded_fleet.drones,
        orders=load_orders(paths["orders"]),
        profiles=loaded_fleet.profiles,
        promise_s=promise_s if promise_s is not None else DEFAULT_PROMISE_S,
        description=top.string("description", required=False),
    )
