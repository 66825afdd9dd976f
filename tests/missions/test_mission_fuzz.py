"""Fuzzing the files ``fly`` and ``plan`` read: every input loads into something that can be
sent and flown, or is refused with one named line. Never another exception, never an
invalid value let through.

Inputs are mutations of the real example files (the golden files in ``tests/data/missions``,
the fence and route derived from the golden ``.plan``, the Canberra scenario's airspace):
numbers made NaN, infinite, huge, negative or zero, keys and items deleted or duplicated,
types changed, text truncated, values nested thousands deep. Each is read the way the
command line reads it (``fly``'s ``load_mission``, ``read_wpl``, ``read_route``,
``load_airspace``). What loads is checked here, independently of ``missions.validate``:
every item packs into pymavlink's MISSION_ITEM_INT and holds only values ArduCopter accepts.
Hypothesis adds items and ``.waypoints`` lines drawn from the whole float range.

Seeded (``random.Random`` per format, Hypothesis derandomized). The normal tier runs
``NORMAL`` (500) inputs per file format, the ``slow`` tier ``SLOW`` (10,000): ``.plan``,
``.waypoints`` (half missions, half fences) and GeoJSON (half routes, half airspaces).
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from shapely.geometry import Polygon

from groundcontrol.cli.fly import load_mission
from groundcontrol.scenarios import resolve_scenario
from missions.errors import MissionFormatError
from missions.fence import ShapeKind, fence_shapes
from missions.geojson import RouteGeometry, dump_geojson, read_route, route_feature_collection
from missions.items import GLOBAL_FRAMES, Mission, MissionItem, MissionType
from missions.qgc_plan import read_plan
from missions.validate import validate_items
from missions.wpl import HEADER, dump_wpl, read_wpl
from planner.airspace import PreparedAirspace
from planner.load_airspace import load_airspace
from planner.model import Airspace

NORMAL = 500
SLOW = 10_000
SEED = 11

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "missions"
GOLDEN_PLAN = GOLDEN / "delivery_descend_release.plan"

# ---- what may be sent: an independent statement of the limits --------------------------

_MAV = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
_NAN_YAW = {16, 21, 22}  # NAV_WAYPOINT, NAV_LAND, NAV_TAKEOFF: AP_Mission lets param4 be NaN
_LOCATION = {16, 17, 18, 19, 21, 22, 31, 82, 94}
_FENCE_POLYGONS = {5001, 5002}
_FENCE_CIRCLES = {5003, 5004}
_LIMITS = {MissionType.MISSION: 65535, MissionType.FENCE: 70, MissionType.RALLY: 46}


def _assert_item_sendable(item: MissionItem, mtype: MissionType) -> None:
    msg = mavlink.MAVLink_mission_item_int_message(
        1,
        1,
        item.seq,
        int(item.frame),
        int(item.command),
        item.current,
        item.autocontinue,
        item.param1,
        item.param2,
        item.param3,
        item.param4,
        item.x_int,
        item.y_int,
        item.z,
        int(mtype),
    )
    msg.pack(_MAV)  # struct.error / OverflowError here is a value MAVLink cannot carry
    assert item.mission_type == mtype
    assert 1 <= item.command <= 65535
    for k, value in enumerate((item.param1, item.param2, item.param3, item.param4), start=1):
        nan_ok = k == 4 and item.command in _NAN_YAW and mtype == MissionType.MISSION
        assert math.isfinite(value) or (nan_ok and math.isnan(value)), (item, k)
    assert math.isfinite(item.z), item
    positioned = mtype != MissionType.MISSION or item.command in _LOCATION
    if positioned or item.frame in GLOBAL_FRAMES:
        assert abs(item.x) <= 90 and abs(item.y) <= 180 and abs(item.z) <= 10_000, item
    if item.command == 178:  # DO_CHANGE_SPEED: a speed ArduCopter can fly
        assert 0 < item.param2 <= 60, item
    if item.command in _FENCE_CIRCLES:
        assert 0 < item.param1 <= 100_000, item
    if mtype == MissionType.RALLY:
        assert item.command == 5100, item


def _assert_polygon_simple(vertices: list[tuple[float, float]]) -> None:
    lons = [lon for _, lon in vertices]
    if max(lons) - min(lons) > 180:
        lons = [lon + 360 if lon < 0 else lon for lon in lons]
    shape = Polygon(list(zip(lons, [lat for lat, _ in vertices], strict=True)))
    assert shape.is_valid and shape.area > 0, vertices


def assert_items_sendable(items: tuple[MissionItem, ...], mtype: MissionType) -> None:
    """``items`` can be uploaded as ``mtype`` and ArduCopter stores them as written."""
    assert len(items) <= _LIMITS[mtype]
    for seq, item in enumerate(items):
        assert item.seq == seq
        _assert_item_sendable(item, mtype)
    if mtype != MissionType.FENCE:
        return
    storage = 5
    for shape in fence_shapes(items):
        if shape.kind is ShapeKind.POLYGON:
            assert 3 <= len(shape.vertices) <= 255
            _assert_polygon_simple([(p.lat, p.lon) for p in shape.vertices])
            storage += 2 + 8 * len(shape.vertices)
        else:
            storage += 13
    assert storage <= 560


def assert_mission_sendable(mission: Mission) -> None:
    """Everything ``fly`` uploads and relies on is within what MAVLink and ArduCopter take."""
    assert len(mission.items) >= 2
    assert mission.items[0].frame in GLOBAL_FRAMES
    for items, mtype in (
        (mission.items, MissionType.MISSION),
        (mission.fence, MissionType.FENCE),
        (mission.rally, MissionType.RALLY),
    ):
        assert_items_sendable(items, mtype)
    last = len(mission.items) - 1
    if mission.delivery_seq is not None:
        assert 1 <= mission.delivery_seq <= last
        assert mission.items[mission.delivery_seq].command in (211, 42600, 94)
    if mission.dropoff_seq is not None:
        assert 1 <= mission.dropoff_seq <= last
        assert mission.delivery_seq is None or mission.dropoff_seq <= mission.delivery_seq
    assert mission.cruise_speed_ms is None or 0 < mission.cruise_speed_ms <= 60
    for req in mission.required_params:
        assert re.fullmatch(r"[A-Za-z0-9_]{1,16}", req.name), req
        assert math.isfinite(req.value) and abs(req.value) < 3.5e38, req
        assert req.check in ("eq", "ge", "gt", "le", "bits"), req
    for text in (mission.name, mission.order_id or "", *mission.meta, *mission.meta.values()):
        assert not re.search(r"[\x00-\x1f\x7f-\x9f]", text), text


def assert_route_sendable(route: RouteGeometry) -> None:
    assert len(route.outbound) >= 2 and len(route.inbound) >= 2
    for p in (*route.outbound, *route.inbound):  # LatLon checks itself; stated again here
        assert abs(p.lat) <= 90 and abs(p.lon) <= 180
    alt = route.cruise_alt_m
    assert alt is None or (math.isfinite(alt) and 0 <= alt <= 10_000)


def assert_airspace_plannable(airspace: Airspace) -> None:
    assert 0 < airspace.ceiling_agl_m <= 10_000
    for zone in airspace.zones:
        assert 0 <= zone.floor_m < zone.ceiling_m
        assert zone.ceiling_m == math.inf or zone.ceiling_m <= 10_000
        if zone.is_circle:
            assert zone.circle_radius_m is not None and 0 < zone.circle_radius_m <= 100_000
    try:
        PreparedAirspace(airspace)  # what plan builds first: GEOS must not fail on it
    except ValueError as exc:  # InvalidInput naming the zone is a refusal, not a crash
        assert "\n" not in str(exc)


# ---- mutations ---------------------------------------------------------------------------

# fmt: off
_HOSTILE_NUMBERS: tuple[Any, ...] = (
    math.nan, math.inf, -math.inf, 1e308, -1e308, 3.5e38, 1e39, 2**31, -(2**31) - 1, 2**63,
    10**30, 10**400, 0, -0.0, -1, 1e-300, -1e-300, 255, 256, 65535, 65536, 70_000, 0.5,
)
_HOSTILE_VALUES: tuple[Any, ...] = (None, True, False, "", "x", "1_0", [], {}, [1, 2], {"a": 1})
_WPL_TOKENS = (
    "nan", "-nan", "inf", "-inf", "1e39", "1e308", "-1e308", "3.4028236e38", "4294967296",
    "2147483648", "-1", "0", "65536", "256", "1_0", "", "x", "١", "0x10", "1e-300", "91",
    "-181", "0.5", "5000", "5001", "5003", "5100", "178", "211",
)
# fmt: on


def _pick_container(doc: Any, rng: random.Random) -> Any:
    """A list or dict of ``doc``, by a random walk down from the top (cheap at any size)."""
    node = doc
    while True:
        children = node.values() if isinstance(node, dict) else node
        inner = [c for c in children if isinstance(c, (list, dict)) and c]
        if not inner or rng.random() < 0.25:
            return node
        node = rng.choice(inner)


def _hostile(value: Any, rng: random.Random) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and rng.random() < 0.3:
        return rng.choice((-value, value * rng.choice((10, 1e7, 1e-7, 1e30)), value + 1))
    pool = _HOSTILE_NUMBERS if rng.random() < 0.7 else _HOSTILE_VALUES
    return copy.deepcopy(rng.choice(pool))  # a fresh [] or {}: later mutations may change it


def _mutate_node(doc: Any, rng: random.Random) -> None:
    node = _pick_container(doc, rng)
    if not isinstance(node, (list, dict)) or not node:
        return
    key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
    action = rng.random()
    if action < 0.6:
        node[key] = _hostile(node[key], rng)
    elif action < 0.75:
        del node[key]
    elif isinstance(node, list) and action < 0.9:
        node[key:key] = [node[key]] * rng.choice((1, 1, 2, 60, 300))  # duplicated items
    elif isinstance(node, dict):
        node[rng.choice(("extra", str(key).upper()))] = node[key]  # an unknown or a twin key
    else:
        node.reverse()


def _deep(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def mutate_json(seed_text: str, rng: random.Random) -> str:
    """One hostile variant of a JSON document."""
    doc = json.loads(seed_text)
    for _ in range(rng.choice((1, 1, 2, 3))):
        _mutate_node(doc, rng)
    text = json.dumps(doc, allow_nan=True)  # NaN and Infinity tokens, which json.loads reads
    roll = rng.random()
    if roll < 0.05:
        return text[: rng.randrange(len(text) + 1)]
    if roll < 0.08:  # a value nested thousands deep (RecursionError in every reader before)
        at = rng.choice([m.start() for m in re.finditer(r":\s*", text)] or [0])
        return text[: at + 1] + _deep(rng.choice((100, 1_000, 5_000))) + "," + text[at + 1 :]
    if roll < 0.1:
        return text.replace('": ', '": ' + rng.choice(('"', "[", "{", "-")), 1)
    return text


def mutate_wpl(seed_text: str, rng: random.Random) -> str:
    """One hostile variant of a ``.waypoints`` file."""
    lines = seed_text.splitlines()
    for _ in range(rng.choice((1, 1, 2, 3))):
        roll = rng.random()
        row = rng.randrange(len(lines)) if lines else 0
        if not lines:
            lines = [HEADER]
        elif roll < 0.6:
            cells = lines[row].split("\t")
            cells[rng.randrange(len(cells))] = rng.choice(_WPL_TOKENS)
            lines[row] = "\t".join(cells)
        elif roll < 0.7:
            del lines[row]
        elif roll < 0.8:
            lines[row:row] = [lines[row]] * rng.choice((1, 2, 100))
        elif roll < 0.85:
            lines = lines[:1]  # header only
        elif roll < 0.9:
            cells = lines[row].split("\t")
            del cells[rng.randrange(len(cells))]
            lines[row] = "\t".join(cells)
        elif roll < 0.95:
            lines.insert(row, rng.choice(("", "# comment", "\ufeff" + HEADER, "\x00", "\t\t")))
        else:
            lines[row] = lines[row][: rng.randrange(len(lines[row]) + 1)]
    return "\n".join(lines) + rng.choice(("\n", "", "\r\n"))


# ---- the formats ---------------------------------------------------------------------------


def _route_text() -> str:
    return dump_geojson(route_feature_collection(read_plan(GOLDEN_PLAN)))


def _fence_text() -> str:
    return dump_wpl(read_plan(GOLDEN_PLAN).fence)


def _airspace_text() -> str:
    return (resolve_scenario("canberra") / "airspace.geojson").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Format:
    """One kind of file: its seeds, how to mutate it, how the program reads it, and what
    anything it reads must satisfy."""

    suffix: str
    seeds: Callable[[], list[str]]
    mutate: Callable[[str, random.Random], str]
    read: Callable[[Path], Any]
    check: Callable[[Any], None]
    share: float
    """Part of the per-format count: .waypoints is split between missions and fences,
    GeoJSON between routes and airspaces."""


FORMATS = {
    "plan": Format(
        ".plan", lambda: [GOLDEN_PLAN.read_text()], mutate_json, load_mission,
        assert_mission_sendable, 1.0,
    ),
    "waypoints": Format(
        ".waypoints", lambda: [p.read_text() for p in sorted(GOLDEN.glob("*.waypoints"))],
        mutate_wpl, load_mission, assert_mission_sendable, 0.5,
    ),
    "fence-waypoints": Format(
        ".waypoints", lambda: [_fence_text()], mutate_wpl,
        lambda p: read_wpl(p, mission_type=MissionType.FENCE),
        lambda items: assert_items_sendable(items, MissionType.FENCE), 0.5,
    ),
    "route-geojson": Format(
        ".geojson", lambda: [_route_text()], mutate_json, read_route, assert_route_sendable, 0.5
    ),
    "airspace-geojson": Format(
        ".geojson", lambda: [_airspace_text()], mutate_json, load_airspace,
        assert_airspace_plannable, 0.5,
    ),
}  # fmt: skip


def _inputs(name: str, count: int) -> Iterator[str]:
    form = FORMATS[name]
    texts = form.seeds()
    rng = random.Random(f"{SEED}-{name}")
    for _ in range(count):
        yield form.mutate(rng.choice(texts), rng)


def fuzz(name: str, count: int, folder: Path) -> dict[str, int]:
    """Read ``count`` mutants of format ``name``; returns how many loaded and were refused.

    Fails on any exception other than ValueError, a ValueError that does not name the file in
    one line, or a loaded value outside what may be sent.
    """
    form = FORMATS[name]
    suffix, read, check = form.suffix, form.read, form.check
    outcome = {"loaded": 0, "refused": 0}
    for i, text in enumerate(_inputs(name, count)):
        path = folder / f"input{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        keep = folder / f"{name}-{i}{suffix}"
        try:
            result = read(path)
        except ValueError as exc:
            message = str(exc)
            if str(path) not in message or "\n" in message:
                keep.write_text(text, encoding="utf-8", errors="surrogatepass")
                pytest.fail(f"input {i} ({keep}): vague error {message[:300]!r}")
            outcome["refused"] += 1
            continue
        except Exception as exc:  # what the fuzzer is looking for
            keep.write_text(text, encoding="utf-8", errors="surrogatepass")
            pytest.fail(f"input {i} ({keep}): {type(exc).__name__}: {str(exc)[:300]}")
        try:
            check(result)
        except AssertionError as exc:
            keep.write_text(text, encoding="utf-8", errors="surrogatepass")
            pytest.fail(f"input {i} ({keep}): accepted an invalid value: {str(exc)[:300]}")
        outcome["loaded"] += 1
    return outcome


@pytest.mark.parametrize("name", list(FORMATS))
def test_mutated_example_files_load_or_are_refused_by_name(name: str, tmp_path: Path) -> None:
    count = int(NORMAL * FORMATS[name].share)
    outcome = fuzz(name, count, tmp_path)
    # Both outcomes must be exercised, or the mutations stopped meaning anything.
    assert outcome["loaded"] > count // 20 and outcome["refused"] > count // 4, outcome


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FORMATS))
def test_ten_thousand_mutants_per_format(name: str, tmp_path: Path) -> None:
    count = int(SLOW * FORMATS[name].share)
    outcome = fuzz(name, count, tmp_path)
    assert outcome["loaded"] > count // 20 and outcome["refused"] > count // 4, outcome


# ---- Hypothesis: items and lines from the whole range of values -------------------------

_ANY_FLOAT = (
    st.floats(-90.0, 90.0)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, 1.0, -1.0, 90.0, 180.0, 3.4e38, 3.5e38, 214.7483647, 214.7483648])
)
_COMMANDS = st.sampled_from([16, 19, 21, 22, 94, 177, 178, 211, 42600, 5001, 5002, 5003, 5100])


@st.composite
def _items(draw: st.DrawFn, mtype: MissionType) -> tuple[MissionItem, ...]:
    count = draw(st.integers(0, 8))
    return tuple(
        MissionItem(
            seq=seq,
            command=draw(_COMMANDS | st.integers(0, 70_000)),
            frame=draw(st.sampled_from([0, 2, 3, 6]) | st.integers(0, 300)),
            param1=draw(_ANY_FLOAT),
            param2=draw(_ANY_FLOAT),
            param3=draw(_ANY_FLOAT),
            param4=draw(_ANY_FLOAT),
            x=draw(_ANY_FLOAT),
            y=draw(_ANY_FLOAT),
            z=draw(_ANY_FLOAT),
            current=draw(st.integers(0, 1)),
            autocontinue=draw(st.integers(0, 300)),
            mission_type=mtype,
        )
        for seq in range(count)
    )


_HYPOTHESIS = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@_HYPOTHESIS
@given(st.sampled_from(list(MissionType)).flatmap(lambda t: st.tuples(st.just(t), _items(t))))
def test_any_items_are_validated_or_refused(
    case: tuple[MissionType, tuple[MissionItem, ...]],
) -> None:
    mtype, items = case
    try:
        validate_items(items, mtype, source="drawn.waypoints")
    except MissionFormatError as exc:
        assert "drawn.waypoints" in str(exc) and "\n" not in str(exc)
        return
    assert_items_sendable(items, mtype)


_CELL = (
    st.sampled_from(_WPL_TOKENS)
    | st.floats().map(repr)
    | st.integers(-(2**40), 2**40).map(str)
    | st.text("0123456789.-e", max_size=8)
)


@_HYPOTHESIS
@given(rows=st.lists(st.lists(_CELL, min_size=11, max_size=13), min_size=0, max_size=6))
def test_any_waypoints_lines_load_or_are_refused(
    rows: list[list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    lines = [HEADER, *("\t".join([str(i), *cells]) for i, cells in enumerate(rows))]
    path = tmp_path_factory.getbasetemp() / "drawn.waypoints"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        mission = load_mission(path)
    except ValueError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert_mission_sendable(mission)
