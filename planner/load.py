"""Reading scenario files: depots, airspace (GeoJSON), fleet, orders (CSV or JSON), scenarios.

These ``load_*`` functions are the only file I/O of the planning core; each has a twin that
takes parsed JSON or text (``*_from_json``, ``orders_from_csv``, ``airspace_from_geojson``),
so tests and tools can skip the file system. Bad input raises ``InvalidInput`` naming the file,
the line or item, and the field: our own JSON files reject unknown keys, while GeoJSON
features may carry extra properties because other tools add them.

The GeoJSON airspace lives in ``planner.load_airspace`` and the shared JSON and field helpers
in ``planner.load_records``; both are re-exported here so ``planner.load`` stays the one
place to import a loader from.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import InvalidInput
from planner.load_airspace import airspace_from_geojson, load_airspace
from planner.load_records import (
    Record,
    check_unique,
    json_list,
    json_record,
    read_text,
)
from planner.load_records import load_json as _load_json
from planner.load_records import parse_json as _parse_json
from planner.model import Depot, Order
from planner.scenario import DEFAULT_PROMISE_S, Drone, Fleet, Scenario
from planner.vehicle import VehicleProfile, builtin_profile, load_profile

__all__ = [
    "MAX_CLOCK_S",
    "MAX_ID_CHARS",
    "MAX_PAYLOAD_KG",
    "PRIORITY_RANGE",
    "SCENARIO_FILE",
    "airspace_from_geojson",
    "check_id",
    "depots_from_json",
    "fleet_from_json",
    "load_airspace",
    "load_depots",
    "load_fleet",
    "load_orders",
    "load_scenario",
    "orders_from_csv",
    "orders_from_json",
    "parse_decimal",
    "parse_json",
    "parse_whole",
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
MAX_ID_CHARS = 64
"""Longest order or depot id: room for any order system's key, short enough for a table."""
PRIORITY_RANGE = (-1000, 1000)
"""Allowed order priorities (inclusive): a sort key, far inside SQLite's 64-bit INTEGER."""
MAX_PAYLOAD_KG = 1000.0
"""Heaviest parcel an order may name; the planner judges it against each vehicle (PAYLOAD)."""
MAX_CLOCK_S = 1e9
"""Latest scenario time (about 31 years from the scenario's epoch): a larger created_s or
due_s is a unit mistake, say Unix time or milliseconds."""

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_WHOLE = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_SHOWN_CHARS = 40
_MAX_JSON_DEPTH_TEXT = "JSON nested too deeply (Python's limit is about 1,000 levels)"

# --- strict values ----------------------------------------------------------------------------


def parse_decimal(text: str) -> float | None:
    """A plain decimal number (``12``, ``-0.5``, ``2e3``), or None for anything else.

    Stricter than ``float()``, which also takes ``1_0`` (ten), ``nan``, ``inf`` and digits of
    other scripts.

    >>> parse_decimal("2.5"), parse_decimal("1_0"), parse_decimal("nan"), parse_decimal("1e999")
    (2.5, None, None, None)
    """
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else None


def parse_whole(text: str) -> int | None:
    """A plain whole number of at most 30 digits (``-3``, ``+12``), or None for anything else
    (``int()`` also takes ``1_0``, spaces inside and digits of other scripts).

    >>> parse_whole("-3"), parse_whole("1_0"), parse_whole("1.0")
    (-3, None, None)
    """
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else None


def _shown(value: str) -> str:
    """A value for an error message: escaped (``repr``) and cut to a readable length."""
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return f"{value[:_SHOWN_CHARS]!r}... ({len(value)} characters)"


def check_id(value: str, what: str = "id") -> str | None:
    """The problem with an id, or None when it is usable: printable text, not blank, at most
    ``MAX_ID_CHARS`` characters once stripped of spaces. Ids are printed in tables and logs
    and name files, so no control characters (NUL, ESC, newline, tab), no format characters
    (bidi overrides, zero-width) and no line separators.

    >>> check_id("ORD-1") is None, check_id("   ")
    (True, 'must not be blank')
    >>> print(check_id("a" + chr(27)))
    has a control character U+001B at position 2 in 'a\\x1b'; ids are printable text
    """
    if not value.strip():
        return "must not be blank"
    for position, char in enumerate(value, 1):
        if not char.isprintable():
            kind = "a control" if ord(char) < 32 or 127 <= ord(char) < 160 else "an unprintable"
            return (
                f"has {kind} character U+{ord(char):04X} at position {position} in "
                f"{_shown(value)}; {what}s are printable text"
            )
    length = len(value.strip())
    if length > MAX_ID_CHARS:
        return f"is {length} characters long, the limit is {MAX_ID_CHARS}: {_shown(value)}"
    return None


def _id(rec: Record, key: str) -> str:
    """An id field, checked as given (a tab or a separator is refused even at the ends, where
    stripping would hide it) and returned stripped."""
    raw = rec.values.get(key)
    if isinstance(raw, str) and raw.strip():
        problem = check_id(raw, "id")
        if problem is not None:
            rec.fail(key, problem)
    elif not rec.text and isinstance(raw, str) and raw:
        rec.fail(key, "must not be blank")
    return rec.string(key)


def _number(rec: Record, key: str, *, required: bool = True) -> float | None:
    """``Record.number`` with CSV text held to a plain decimal (no ``1_0``, ``nan``, ``inf``)
    and JSON integers too large for a float refused by name."""
    raw = rec.values.get(key)
    if not rec.text and isinstance(raw, str):  # "" would read as "not given"
        rec.fail(key, f"must be a number, got a string {_shown(raw)}")
    if rec.text and isinstance(raw, str) and raw.strip() and parse_decimal(raw) is None:
        text = raw.strip()
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity") or _DECIMAL.fullmatch(text):
            rec.fail(key, f"must be finite, got {_shown(text)}")
        rec.fail(key, f"must be a number, got {_shown(text)} (a plain decimal: 1.5, -2, 3e2)")
    try:
        return rec.number(key, required=required)
    except OverflowError:
        rec.fail(key, "is too large for a number")


def _priority(rec: Record) -> int:
    raw = rec.values.get("priority")
    if not rec.text and isinstance(raw, str):  # "" would read as "not given"
        rec.fail("priority", f"must be a whole number, got a string {_shown(raw)}")
    if rec.text and isinstance(raw, str) and raw.strip() and parse_whole(raw) is None:
        rec.fail("priority", f"must be a whole number, got {_shown(raw.strip())}")
    value = rec.integer("priority", required=False) or 0
    low, high = PRIORITY_RANGE
    if not low <= value <= high:
        rec.fail("priority", f"must be {low}..{high}, got {value}")
    return value


def _too_deep(source: str) -> InvalidInput:
    return InvalidInput("file", _MAX_JSON_DEPTH_TEXT, source)


def parse_json(text: str, source: str) -> Any:
    """Parse JSON strictly (``planner.load_records.parse_json``), and JSON nested too deeply
    for Python is bad input naming the source, not a ``RecursionError``.

    >>> parse_json('{"a": 1}', "example.json")
    {'a': 1}
    """
    try:
        return _parse_json(text, source)
    except RecursionError:
        raise _too_deep(source) from None


def load_json(path: Path) -> Any:
    """Read and strictly parse a JSON file (see ``parse_json``)."""
    try:
        return _load_json(path)
    except RecursionError:
        raise _too_deep(str(path)) from None


# --- depots ---------------------------------------------------------------------------------


def depots_from_json(obj: Any, source: str = "<depots>") -> tuple[Depot, ...]:
    """Depots from parsed JSON: a list of ``{id, name, lat, lon, ground_alt_amsl_m}``.

    ``name`` is optional; the ground altitude is required because it becomes the mission's
    home altitude (AMSL) and a silent 0 would be wrong everywhere but at sea level.

    Raises:
        InvalidInput: JSON nested too deeply, not a list, unknown or missing fields, wrong
            types, bad ids, coordinates out of range, an implausible ground altitude,
            duplicate ids.
    """
    try:
        return _depots(obj, source)
    except RecursionError:
        raise _too_deep(source) from None


def _depots(obj: Any, source: str) -> tuple[Depot, ...]:
    """The body of ``depots_from_json``."""
    depots = []
    for i, item in enumerate(json_list(obj, source, "depots")):
        rec = json_record(item, source, f"depots[{i}]", DEPOT_FIELDS)
        alt = rec.number("ground_alt_amsl_m")
        assert alt is not None
        if not -500.0 <= alt <= 9000.0:
            rec.fail("ground_alt_amsl_m", f"{alt:g} m is not a ground altitude on Earth")
        depots.append(
            Depot(_id(rec, "id"), rec.position(), alt, rec.string("name", required=False))
        )
    ids = ((d.id, f"depots[{i}].id", source) for i, d in enumerate(depots))
    check_unique(ids, "depot id", source)
    return tuple(depots)


def load_depots(path: str | Path) -> tuple[Depot, ...]:
    """Read depots from a JSON file (see ``depots_from_json``)."""
    path = Path(path)
    return depots_from_json(load_json(path), str(path))


# --- orders ---------------------------------------------------------------------------------


def _order(rec: Record) -> Order:
    """One order from a record; checks values that make no sense for any planner."""
    order_id, depot_id = _id(rec, "id"), _id(rec, "depot")
    payload = _number(rec, "payload_kg")
    created = _number(rec, "created_s")
    due = _number(rec, "due_s", required=False)
    lat, lon = _number(rec, "lat"), _number(rec, "lon")  # strict text before position()
    assert payload is not None and created is not None and lat is not None and lon is not None
    if payload <= 0.0:
        rec.fail("payload_kg", f"must be > 0 kg, got {payload:g}")
    if payload > MAX_PAYLOAD_KG:
        rec.fail("payload_kg", f"must be <= {MAX_PAYLOAD_KG:g} kg, got {payload:g}")
    if created < 0.0:
        rec.fail("created_s", f"must be >= 0 s (scenario clock), got {created:g}")
    if created > MAX_CLOCK_S:
        rec.fail("created_s", f"must be <= {MAX_CLOCK_S:g} s (scenario clock), got {created:g}")
    if due is not None and due <= created:
        rec.fail("due_s", f"{due:g} s is not after created_s {created:g} s")
    if due is not None and due > MAX_CLOCK_S:
        rec.fail("due_s", f"must be <= {MAX_CLOCK_S:g} s (scenario clock), got {due:g}")
    rec.string("note", required=False)  # type-checked, then ignored
    return Order(
        id=order_id,
        depot_id=depot_id,
        dropoff=rec.position(),
        payload_kg=payload,
        created_s=created,
        due_s=due,
        priority=_priority(rec),
    )


def _unique_orders(orders: list[tuple[Order, str, str]], source: str) -> tuple[Order, ...]:
    """The orders, checked for repeated ids; each comes with its id's field and location."""
    if not orders:
        raise InvalidInput("orders", "no orders in the file", source)
    check_unique(((o.id, field, where) for o, field, where in orders), "order id", source)
    return tuple(o for o, _, _ in orders)


def orders_from_json(obj: Any, source: str = "<orders>") -> tuple[Order, ...]:
    """Orders from parsed JSON: a list of order objects, or ``{"orders": [...]}``.

    Keys: id, depot, lat, lon, payload_kg, created_s, and optionally due_s (null or absent:
    the scenario's promise applies), priority and note.

    Ids (``id``, ``depot``) are printable, not blank, at most ``MAX_ID_CHARS`` characters;
    payload_kg is in (0, ``MAX_PAYLOAD_KG``], created_s and due_s in 0..``MAX_CLOCK_S``,
    priority in ``PRIORITY_RANGE``.

    Raises:
        InvalidInput: JSON nested too deeply, unknown or missing fields, wrong types, bad
            ids, lat/lon out of range, payload, times or priority out of range, due not after
            created, duplicate ids, no orders.
    """
    try:
        return _orders_json(obj, source)
    except RecursionError:
        raise _too_deep(source) from None


def _orders_json(obj: Any, source: str) -> tuple[Order, ...]:
    """The body of ``orders_from_json``."""
    if isinstance(obj, dict):
        rec = json_record(obj, source, "", ("orders",))
        obj = rec.values.get("orders")
    orders = []
    for i, item in enumerate(json_list(obj, source, "orders")):
        where = f"orders[{i}]"
        rec = json_record(item, source, where, ORDER_REQUIRED + ORDER_OPTIONAL)
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
            name = (
                column if column.isprintable() and len(column) <= _SHOWN_CHARS else _shown(column)
            )
            raise InvalidInput(name, f"unknown column (allowed: {', '.join(allowed)})", where)
    check_unique(((c, c, where) for c in header), "column", where)
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
        first = reader.line_num + 1  # a quoted cell may span lines: name the record's first
        for row in reader:
            where, first = f"{source} line {first}", reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidInput(
                    "row", f"has {len(row)} cells, the header has {len(header)}", where
                )
            rec = Record(dict(zip(header, row, strict=True)), where, "", text=True)
            orders.append((_order(rec), "id", where))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}", f"bad CSV: {exc}", source) from exc
    return _unique_orders(orders, source)


def load_orders(path: str | Path) -> tuple[Order, ...]:
    """Read orders from ``.csv`` or ``.json`` (chosen by the file's extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return orders_from_csv(read_text(path), str(path))
    if suffix == ".json":
        return orders_from_json(load_json(path), str(path))
    raise InvalidInput(
        "file", f"orders must be .csv or .json, got {suffix or 'no extension'!r}", str(path)
    )


# --- fleet ----------------------------------------------------------------------------------


def _resolve_profile(ref: str, base_dir: Path | None, rec: Record) -> VehicleProfile:
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
        InvalidInput: JSON nested too deeply, unknown or missing fields, wrong types, bad
            ids, an unknown or invalid profile, two different profiles with one name, sysid
            outside 1..254, duplicate ids or sysids.
    """
    try:
        return _fleet(obj, source, base_dir)
    except RecursionError:
        raise _too_deep(source) from None


def _fleet(obj: Any, source: str, base_dir: Path | None) -> Fleet:
    """The body of ``fleet_from_json``."""
    top = json_record(obj, source, "", ("drones",))
    drones: list[Drone] = []
    profiles: dict[str, VehicleProfile] = {}
    for i, item in enumerate(json_list(top.values.get("drones"), source, "drones")):
        rec = json_record(item, source, f"drones[{i}]", DRONE_FIELDS)
        profile = _resolve_profile(rec.string("profile"), base_dir, rec)
        if profiles.setdefault(profile.name, profile) != profile:
            rec.fail("profile", f"a different profile named {profile.name!r} is already in use")
        sysid = rec.integer("sysid")
        assert sysid is not None
        if not 1 <= sysid <= MAX_SYSID:
            rec.fail("sysid", f"must be 1..{MAX_SYSID} (255 is the ground station), got {sysid}")
        drone_id = _id(rec, "id")
        name = rec.string("name", required=False)
        drones.append(Drone(drone_id, profile.name, _id(rec, "depot"), sysid, name))
    check_unique(((d.id, f"drones[{i}].id", source) for i, d in enumerate(drones)), "id", source)
    sysids = ((d.sysid, f"drones[{i}].sysid", source) for i, d in enumerate(drones))
    check_unique(sysids, "sysid", source)
    return Fleet(tuple(drones), profiles)


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet JSON file; profile paths in it are relative to the file's folder."""
    path = Path(path)
    return fleet_from_json(load_json(path), str(path), path.parent)


# --- scenarios ------------------------------------------------------------------------------


def _scenario_paths(
    folder: Path, files: Mapping[str, Any], overrides: Mapping[str, str | Path | None], source: str
) -> dict[str, Path]:
    rec = json_record(files, source, "files", DEFAULT_FILES)
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
    top = json_record(load_json(file), source, "", ("name", "description", "promise_s", "files"))
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
