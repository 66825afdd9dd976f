"""Issue 11, mission files: every hostile reproduction is refused by name before anything flies.

Each case edits the golden ``.plan`` or ``.waypoints`` the way the issue's reproduction did and
checks the reader (``read_plan``, ``read_wpl``, ``fly``'s ``load_mission``) refuses it with a
``MissionFormatError`` naming the file, the item (JSON path or line) and the field. The ``fly``
cases run the command as a user would, ``--backend builtin``, and check for one error line,
exit status 2, no simulator started and no upload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mission_samples import AIRSPACE, PROFILE, plan

import groundcontrol.cli.fly as fly_cli
from groundcontrol.cli.fly import load_mission, mission_from_items
from groundcontrol.cli.main import main
from groundcontrol.mavlink import transfer
from missions.build import build_mission
from missions.errors import MissionBuildError, MissionFormatError
from missions.fence import FENCE_STORAGE_BYTES, MAX_FENCE_ITEMS, fence_storage_bytes
from missions.geojson import dump_geojson, read_route, route_feature_collection
from missions.items import Cmd, Frame, MissionItem, MissionType, ParamRequirement
from missions.qgc_plan import read_plan
from missions.validate import MAX_RALLY_POINTS, validate_items, validate_mission
from missions.wpl import dump_wpl, read_wpl

DATA = Path(__file__).resolve().parents[1] / "data" / "missions"
GOLDEN_PLAN = DATA / "delivery_descend_release.plan"
GOLDEN_WPL = DATA / "delivery_descend_release.waypoints"

Doc = dict[str, Any]


def _doc() -> Doc:
    return json.loads(GOLDEN_PLAN.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: Doc | str, name: str = "hostile.plan") -> Path:
    path = tmp_path / name
    text = doc if isinstance(doc, str) else json.dumps(doc, allow_nan=True)
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, *words: str) -> str:
    """``read_plan``/``load_mission`` refuse ``path`` naming it and ``words``; the message."""
    with pytest.raises(MissionFormatError) as info:
        load_mission(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def _item(doc: Doc, command: int) -> dict[str, Any]:
    return next(it for it in doc["mission"]["items"] if it["command"] == command)


# ---- the golden files and what the planner builds pass -----------------------------------


def test_the_golden_files_pass_the_validation() -> None:
    assert validate_mission(read_plan(GOLDEN_PLAN)) == read_plan(GOLDEN_PLAN)
    for path in sorted(DATA.glob("*.waypoints")):
        validate_mission(load_mission(path))


def test_a_built_mission_is_validated_and_its_fence_fits_arducopter() -> None:
    mission = build_mission(plan(), PROFILE, AIRSPACE)
    assert fence_storage_bytes(mission.fence) <= FENCE_STORAGE_BYTES
    assert len(mission.fence) <= MAX_FENCE_ITEMS


# ---- numbers: NaN, infinity, beyond float32/int32 -----------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "words"),
    [
        (1, None, ("mission.items[1].params[1]", "NaN")),  # null is NaN in a .plan
        (1, 1e39, ("params[1]", "float32")),
        (1, -5.0, ("params[1]", "DO_CHANGE_SPEED", "speed", "60")),
        (1, 0.0, ("params[1]", "speed")),
        (1, 61.0, ("params[1]", "60")),
        (0, 7.0, ("params[0]", "speed type")),
    ],
)
def test_change_speed_must_be_a_finite_positive_speed(
    tmp_path: Path, param: int, value: float | None, words: tuple[str, ...]
) -> None:
    doc = _doc()
    _item(doc, Cmd.DO_CHANGE_SPEED)["params"][param] = value
    _refused(_write(tmp_path, doc), *words)


def test_infinity_in_a_plan_is_refused_by_its_path(tmp_path: Path) -> None:
    doc = _doc()
    _item(doc, Cmd.DO_GRIPPER)["params"][0] = math.inf  # written as the token Infinity
    _refused(_write(tmp_path, doc), "params[0]", "finite")


@pytest.mark.parametrize(
    ("cell", "token", "column"),
    [(4, "nan", "param1"), (5, "inf", "param2"), (6, "-inf", "param3"), (10, "nan", "z"),
     (4, "1e39", "param1"), (8, "nan", "x"), (9, "inf", "y"), (8, "300", "x")],
)  # fmt: skip
def test_waypoints_numbers_are_refused_with_line_and_column(
    tmp_path: Path, cell: int, token: str, column: str
) -> None:
    lines = GOLDEN_WPL.read_text().splitlines()
    cells = lines[3].split("\t")  # seq 2: DO_CHANGE_SPEED, frame MISSION
    cells[cell] = token
    lines[3] = "\t".join(cells)
    path = _write(tmp_path, "\n".join(lines) + "\n", "hostile.waypoints")
    message = _refused(path, "line 4", column)
    # Seen: "cannot convert float NaN to integer", with no file, line or field.
    assert "convert" not in message


def test_nan_yaw_is_what_arducopter_accepts(tmp_path: Path) -> None:
    doc = _doc()
    for it in doc["mission"]["items"]:
        if it["command"] in (Cmd.NAV_WAYPOINT, Cmd.NAV_LAND, Cmd.NAV_TAKEOFF):
            it["params"][3] = None  # QGroundControl writes NaN yaw as null
    mission = load_mission(_write(tmp_path, doc))
    assert any(math.isnan(it.param4) for it in mission.items)
    doc["mission"]["items"][-1]["params"][2] = None  # but not param3
    _refused(_write(tmp_path, doc), "params[2]", "NaN")


def test_underscored_and_foreign_digits_are_not_numbers(tmp_path: Path) -> None:
    for token in ("1_0", "١٢", "0x10"):
        text = GOLDEN_WPL.read_text().replace("\t5.0\t", f"\t{token}\t", 1)
        _refused(_write(tmp_path, text, "digits.waypoints"), "line", "param1", "number")


def test_positions_and_altitudes_have_limits(tmp_path: Path) -> None:
    doc = _doc()
    _item(doc, Cmd.NAV_WAYPOINT)["params"][6] = 20_000.0
    _refused(_write(tmp_path, doc), "params[6]", "altitude", "10000")
    doc = _doc()
    doc["rallyPoints"]["points"][0][2] = -1e6
    _refused(_write(tmp_path, doc), "rallyPoints.points[0][2]", "altitude")


def test_arducopter_16_bit_times_do_not_wrap(tmp_path: Path) -> None:
    doc = _doc()
    _item(doc, Cmd.NAV_LOITER_TIME)["params"][0] = 70_000.0  # AP_Mission keeps 16 bits
    _refused(_write(tmp_path, doc), "params[0]", "loiter time", "65535")


# ---- metadata: delivery, drop-off, jumps, parameters, texts -------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"deliverySeq": 99}, ("deliverySeq", "99")),
        ({"deliverySeq": -1}, ("deliverySeq",)),
        ({"dropoffSeq": 99}, ("dropoffSeq", "99")),
        ({"name": "evil\x1b[2Jname"}, ("name", "control")),
        ({"orderId": "a\nb"}, ("orderId", "control")),
        ({"meta": {"planned_s": "nan"}}, ("meta.planned_s",)),
        ({"meta": {"return_seq": "99"}}, ("meta.return_seq",)),
    ],
)
def test_metadata_that_contradicts_the_items_is_refused(
    tmp_path: Path, change: dict[str, Any], words: tuple[str, ...]
) -> None:
    doc = _doc()
    doc["droneDelivery"].update(change)
    _refused(_write(tmp_path, doc), *words)


@pytest.mark.parametrize(
    ("requirement", "words"),
    [
        ({"name": "GRIP_ENABLE", "value": "-Infinity", "check": "ge"}, ("value", "finite")),
        ({"name": "GRIP_ENABLE", "value": -1e308, "check": "ge"}, ("value", "float32")),
        ({"name": "A_NAME_LONGER_THAN_16", "value": 1}, ("name", "16")),
        ({"name": "", "value": 1}, ("name",)),
        ({"name": "FS_OPTIONS", "value": 2.5, "check": "bits"}, ("bits", "mask")),
    ],
)
def test_required_parameters_must_check_something(
    tmp_path: Path, requirement: dict[str, Any], words: tuple[str, ...]
) -> None:
    doc = _doc()
    doc["droneDelivery"]["requiredParams"][0] = requirement
    text = json.dumps(doc).replace('"-Infinity"', "-Infinity")  # the JSON token, as Python writes
    _refused(_write(tmp_path, text), "requiredParams[0]", *words)


def test_a_jump_past_the_end_is_refused() -> None:
    mission = read_plan(GOLDEN_PLAN)
    jump = MissionItem(3, Cmd.DO_JUMP, Frame.MISSION, param1=99.0, param2=1.0)
    items = (*mission.items[:3], jump, *(replace(i, seq=i.seq + 1) for i in mission.items[3:]))
    bad = replace(mission, items=items, delivery_seq=None, dropoff_seq=None)
    with pytest.raises(MissionFormatError, match=r"mission item 3\.param1: DO_JUMP to seq 99"):
        validate_mission(bad, source="jump.plan")


# ---- fences: shape, size, storage -----------------------------------------------------------


def test_a_self_intersecting_exclusion_fence_is_refused(tmp_path: Path) -> None:
    doc = _doc()
    ring = doc["geoFence"]["polygons"][1]["polygon"]
    ring[0], ring[1] = ring[1], ring[0]  # a bow tie
    _refused(_write(tmp_path, doc), "geoFence.polygons[1].polygon[0]", "not simple",
             "self-intersection")  # fmt: skip


def test_a_70000_vertex_fence_is_refused_before_any_upload(tmp_path: Path) -> None:
    # Seen: OverflowError/struct.error in fly (MISSION_COUNT is uint16, param1 the count).
    doc = _doc()
    doc["geoFence"]["polygons"][0]["polygon"] = [
        [-35.36 + 1e-5 * (i % 2), 149.16 + 1e-6 * i] for i in range(70_000)
    ]
    _refused(_write(tmp_path, doc), "geoFence", "70 (ArduCopter's fence storage")


def test_a_polygon_beyond_one_byte_of_vertices_is_refused() -> None:
    ring = [(-35.3 + 0.01 * math.sin(a), 149.1 + 0.01 * math.cos(a))
            for a in (2 * math.pi * k / 256 for k in range(256))]  # fmt: skip
    items = tuple(
        MissionItem(k, Cmd.FENCE_POLYGON_VERTEX_EXCLUSION, Frame.GLOBAL, param1=256.0, x=lat,
                    y=lon, mission_type=MissionType.FENCE)
        for k, (lat, lon) in enumerate(ring)
    )  # fmt: skip
    with pytest.raises(MissionFormatError, match="fence: 256 items, more than 70"):
        validate_items(items, MissionType.FENCE, source="big.waypoints")
    with pytest.raises(
        MissionFormatError,
        match=r"fence item 0\.param1: .*vertex count 256 is outside 3 <= value <= 255",
    ):
        validate_items(items[:60], MissionType.FENCE, source="big.waypoints")


def test_a_fence_beyond_arducopter_storage_is_refused() -> None:
    # 23 triangles: 69 items (within 70) but 5 + 23 * 26 = 603 bytes (over 560).
    items = []
    for t in range(23):
        lat, lon = -35.3 + 0.01 * t, 149.1
        for k, (dlat, dlon) in enumerate(((0, 0), (0.001, 0), (0, 0.001))):
            items.append(MissionItem(3 * t + k, Cmd.FENCE_POLYGON_VERTEX_EXCLUSION, Frame.GLOBAL,
                                     param1=3.0, x=lat + dlat, y=lon + dlon,
                                     mission_type=MissionType.FENCE))  # fmt: skip
    assert fence_storage_bytes(items) == 603
    with pytest.raises(MissionFormatError, match=r"603 bytes of fence storage, more than .* 560"):
        validate_items(items, MissionType.FENCE, source="many.plan")


@pytest.mark.parametrize("radius", [0.0, -1.0, 1e308, 100_001.0])
def test_a_fence_circle_needs_a_radius_within_100_km(tmp_path: Path, radius: float) -> None:
    doc = _doc()
    doc["geoFence"]["circles"][0]["circle"]["radius"] = radius
    _refused(_write(tmp_path, doc), "geoFence.circles[0]", "radius")


def test_a_fence_waypoints_file_with_a_bow_tie_is_refused(tmp_path: Path) -> None:
    fence = list(read_plan(GOLDEN_PLAN).fence)
    a, b = fence[2], fence[3]  # the first polygon is a square: swap two corners
    fence[2], fence[3] = replace(a, x=b.x, y=b.y), replace(b, x=a.x, y=a.y)
    path = _write(tmp_path, dump_wpl(fence), "f.waypoints")
    with pytest.raises(MissionFormatError, match=r"f\.waypoints, line 2: fence item 0: .*simple"):
        read_wpl(path, mission_type=MissionType.FENCE)


def test_more_rally_points_than_arducopter_stores_are_refused(tmp_path: Path) -> None:
    doc = _doc()
    doc["rallyPoints"]["points"] = doc["rallyPoints"]["points"] * (MAX_RALLY_POINTS + 1)
    _refused(_write(tmp_path, doc), "rallyPoints.points", "46")


# ---- structure: empty files, nesting --------------------------------------------------------


def test_a_header_only_waypoints_file_is_a_named_error(tmp_path: Path) -> None:
    # Seen: IndexError in fly (vehicle_at took items[0]).
    _refused(_write(tmp_path, "QGC WPL 110\n", "empty.waypoints"), "items", "home")


def test_waypoints_without_a_home_are_refused() -> None:
    items = read_wpl(GOLDEN_WPL)
    items = (replace(items[0], frame=Frame.MISSION), *items[1:])
    with pytest.raises(MissionFormatError, match="home must be in a global frame"):
        validate_mission(mission_from_items("m", items), source="m.waypoints")


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_deeper_than_python_recurses_is_a_format_error(
    tmp_path: Path, depth: int
) -> None:
    # Seen: RecursionError in every JSON reader.
    deep = "[" * depth + "]" * depth
    _refused(_write(tmp_path, deep), "nested too deeply")
    route = _write(tmp_path, '{"type": "FeatureCollection", "features": ' + deep + "}", "r.json")
    with pytest.raises(MissionFormatError, match="nested too deeply") as info:
        read_route(route)
    assert str(route) in str(info.value)


def test_a_huge_integer_is_named_not_overflowed(tmp_path: Path) -> None:
    doc = _doc()
    _item(doc, Cmd.DO_GRIPPER)["params"][0] = 10**400
    _refused(_write(tmp_path, doc), "params[0]", "401 digits")
    _refused(_write(tmp_path, json.dumps(doc).replace("1" + "0" * 400, "1" * 5000)), "JSON")


def test_route_geojson_altitudes_are_checked(tmp_path: Path) -> None:
    collection = route_feature_collection(read_plan(GOLDEN_PLAN))
    for feature in collection["features"]:
        feature["properties"]["cruise_alt_m"] = 1e308
    path = _write(tmp_path, dump_geojson(collection).replace("1e+308", "1e308"), "r.geojson")
    with pytest.raises(MissionFormatError, match=r"r\.geojson: properties\.cruise_alt_m"):
        read_route(path)


def test_the_built_mission_refuses_a_fence_arducopter_cannot_store() -> None:
    zones = tuple(replace(AIRSPACE.zones[1], id=f"p{i}") for i in range(30))  # 30 x 4 vertices
    with pytest.raises(MissionBuildError, match="fence"):
        build_mission(plan(), PROFILE, replace(AIRSPACE, zones=zones))


# ---- fly: one line, exit 2, no vehicle started, nothing uploaded ---------------------------


@pytest.fixture
def no_upload(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records any vehicle start or upload (there must be none)."""
    calls: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called for a hostile file")

        return called

    monkeypatch.setattr(fly_cli, "vehicle_at", refuse("vehicle_at"))
    monkeypatch.setattr(transfer, "upload", refuse("upload"))
    return calls


def _fly(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["fly", str(path), "--backend", "builtin", "--speedup", "50", *extra])
    captured = capsys.readouterr()
    assert code == 2, captured
    line = captured.err.strip()
    assert line.count("\n") == 0 and line.startswith("drone-delivery fly: error: "), line
    assert "started a builtin vehicle" not in captured.out
    return line


def _set_speed(value: float) -> Callable[[Doc], None]:
    return lambda doc: _item(doc, Cmd.DO_CHANGE_SPEED)["params"].__setitem__(1, value)


def _late_delivery(doc: Doc) -> None:
    doc["droneDelivery"]["deliverySeq"] = 99


def _long_fence(doc: Doc) -> None:
    ring = doc["geoFence"]["polygons"][0]["polygon"]
    ring[:] = ring * 20  # 80 vertices in one polygon: more than ArduCopter stores


def _bow_tie(doc: Doc) -> None:
    ring = doc["geoFence"]["polygons"][1]["polygon"]
    ring[0], ring[1] = ring[1], ring[0]


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_set_speed(1e39), "float32"),
        (_set_speed(-3.0), "speed"),
        (_set_speed(math.inf), "finite"),
        (_late_delivery, "deliverySeq"),
        (_long_fence, "geoFence"),
        (_bow_tie, "not simple"),
    ],
)
def test_fly_refuses_a_hostile_plan_in_one_line_before_any_vehicle(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_upload: list[str],
    make: Callable[[Doc], None],
    words: str,
) -> None:
    doc = _doc()
    make(doc)
    line = _fly(_write(tmp_path, doc), capsys)
    assert words in line and "hostile.plan" in line
    assert no_upload == []


def test_fly_refuses_a_header_only_waypoints_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_upload: list[str]
) -> None:
    line = _fly(_write(tmp_path, "QGC WPL 110\n", "empty.waypoints"), capsys)
    assert "empty.waypoints" in line and "home" in line and no_upload == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("--speedup", "nan"), ("--speedup", "inf"), ("--speedup", "0"), ("--timeout", "nan"),
     ("--timeout", "inf"), ("--sysid", "300"), ("--min-battery", "101")],
)  # fmt: skip
def test_fly_refuses_numbers_no_flight_can_use(
    capsys: pytest.CaptureFixture[str], no_upload: list[str], option: str, value: str
) -> None:
    line = _fly(GOLDEN_PLAN, capsys, option, value)
    assert option in line and no_upload == []


class _Channel:
    """A vehicle channel that records what is sent (nothing must be)."""

    sysid, compid = 1, 1

    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, msg: object) -> None:
        self.sent.append(msg)

    def inbox(self, types: object) -> object:
        raise AssertionError("the upload opened its inbox: it got past its checks")


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (MissionItem(0, Cmd.NAV_WAYPOINT, param1=1e39), "float too large"),
        (MissionItem(0, Cmd.NAV_WAYPOINT, Frame.MISSION, x=300.0), "format requires"),
        (MissionItem(0, Cmd.NAV_WAYPOINT, Frame.MISSION, x=math.nan), "NaN"),
        (MissionItem(0, 70_000), "format requires"),
    ],
)
def test_upload_refuses_an_item_mission_item_int_cannot_carry_before_sending(
    item: MissionItem, words: str
) -> None:
    # The validation stops these first; the upload is the last line behind it.
    channel = _Channel()
    with pytest.raises(ValueError, match=words):
        transfer.upload(channel, [item])  # type: ignore[arg-type]
    assert channel.sent == []


def test_upload_refuses_more_items_than_mission_count_carries() -> None:
    channel = _Channel()
    items = [
        MissionItem(i, Cmd.NAV_WAYPOINT, mission_type=MissionType.FENCE) for i in range(70_000)
    ]
    with pytest.raises(ValueError, match="MISSION_COUNT carries at most 65535"):
        transfer.upload(channel, items, MissionType.FENCE)  # type: ignore[arg-type]
    assert channel.sent == []


@pytest.mark.sim
def test_an_unvalidated_mission_still_uploads_nothing_it_cannot_pack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mission that reached fly without the validation (another caller, a future reader):
    # the built-in simulator starts, and the upload refuses before MISSION_COUNT goes out.
    good = read_plan(GOLDEN_PLAN)
    speed = next(i for i in good.items if i.command == Cmd.DO_CHANGE_SPEED)
    bad = replace(speed, param2=1e39)
    mission = replace(good, fence=(), rally=(), required_params=(),
                      items=tuple(bad if i is speed else i for i in good.items))  # fmt: skip
    monkeypatch.setattr(fly_cli, "load_mission", lambda path: mission)
    counts: list[int] = []
    monkeypatch.setattr(transfer._Upload, "send_count", lambda self: counts.append(self.mtype))
    code = main(["fly", str(GOLDEN_PLAN), "--backend", "builtin", "--speedup", "50"])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "started a builtin vehicle" in captured.out
    line = captured.err.strip()
    assert line.count("\n") == 0 and "does not fit MISSION_ITEM_INT" in line, line
    assert counts == []  # no MISSION_COUNT: the vehicle's mission was not touched


def test_requirement_values_from_build_are_finite() -> None:
    mission = build_mission(plan(), PROFILE, AIRSPACE)
    assert all(math.isfinite(r.value) for r in mission.required_params)
    with pytest.raises(MissionFormatError, match="GRIP_ENABLE ge"):
        validate_mission(replace(mission, required_params=(
            ParamRequirement("GRIP_ENABLE", -math.inf, "ge"),)))  # fmt: skip


def test_items_of_another_mission_type_are_refused() -> None:
    mission = read_plan(GOLDEN_PLAN)
    wrong = replace(mission, items=(mission.items[0], *(
        replace(i, mission_type=MissionType.FENCE) for i in mission.items[1:])))  # fmt: skip
    with pytest.raises(MissionFormatError, match=r"mission item 1\.mission_type: is 1, must be 0"):
        validate_mission(wrong)
