"""QGroundControl ``.plan``: golden file, QGC's schema, exact round trips, bad input."""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from mission_samples import AIRSPACE, PROFILE, missions, plan

from missions.build import build_mission
from missions.errors import MissionFormatError
from missions.fence import is_clockwise
from missions.items import Cmd, Frame, Mission, MissionItem
from missions.qgc_plan import PROJECT_KEY, dump_plan, load_plan, plan_dict, read_plan, write_plan
from planner.model import LatLon

DATA = Path(__file__).resolve().parents[1] / "data" / "missions"
GOLDEN = DATA / "delivery_descend_release.plan"


def _mission() -> Mission:
    return build_mission(plan(), PROFILE, AIRSPACE)


def test_golden_file_matches_the_built_mission() -> None:
    text = dump_plan(_mission())
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == text


def test_golden_file_reads_back_to_the_same_mission() -> None:
    back = read_plan(GOLDEN)
    mission = _mission()
    assert back == mission
    assert back.meta == mission.meta
    assert dump_plan(back) == GOLDEN.read_text(encoding="utf-8")


def test_top_level_layout_is_qgroundcontrols() -> None:
    doc = json.loads(dump_plan(_mission()))
    assert doc["fileType"] == "Plan" and doc["version"] == 1
    assert isinstance(doc["groundStation"], str)
    m = doc["mission"]
    assert (m["version"], m["firmwareType"], m["vehicleType"]) == (2, 3, 2)
    assert m["cruiseSpeed"] == PROFILE.cruise_speed_ms and m["hoverSpeed"] > 0
    assert m["plannedHomePosition"] == [-35.363261, 149.16523, 584.0]
    assert doc["geoFence"]["version"] == 2 and doc["rallyPoints"]["version"] == 2


def test_items_start_after_home_and_carry_qgc_fields() -> None:
    mission = _mission()
    items = json.loads(dump_plan(mission))["mission"]["items"]
    assert len(items) == len(mission.items) - 1
    for raw, item in zip(items, mission.items[1:], strict=True):
        assert raw["type"] == "SimpleItem"
        assert raw["doJumpId"] == item.seq
        assert raw["command"] == item.command and raw["frame"] == item.frame
        assert raw["params"] == [
            item.param1,
            item.param2,
            item.param3,
            item.param4,
            item.x,
            item.y,
            item.z,
        ]
        assert raw["autoContinue"] is True
        if item.frame == Frame.GLOBAL_RELATIVE_ALT_INT:
            assert raw["AltitudeMode"] == 1 and raw["Altitude"] == item.z
            assert raw["AMSLAltAboveTerrain"] is None
        else:  # DO items have no altitude of their own
            assert "Altitude" not in raw


def test_fence_polygons_are_clockwise_and_circles_have_centre_and_radius() -> None:
    fence = json.loads(dump_plan(_mission()))["geoFence"]
    polygons = fence["polygons"]
    # area; prison; airport (two parts); far zone (no route filter asked); stadium is too high
    assert [p["inclusion"] for p in polygons] == [True, False, False, False, False]
    for p in polygons:
        assert p["version"] == 1
        assert is_clockwise([LatLon(lat, lon) for lat, lon in p["polygon"]])
    (circle,) = fence["circles"]
    assert circle == {
        "circle": {"center": [-35.359, 149.16], "radius": 150.0},
        "inclusion": False,
        "version": 1,
    }


def test_counter_clockwise_fence_items_are_written_clockwise() -> None:
    mission = _mission()
    first_polygon = mission.fence[:4]
    ccw = tuple(
        replace(item, seq=i) for i, item in enumerate((*first_polygon[::-1], *mission.fence[4:]))
    )
    doc = json.loads(dump_plan(replace(mission, fence=ccw)))
    assert doc["geoFence"]["polygons"][0]["polygon"] == [[i.x, i.y] for i in first_polygon]


def test_rally_points_are_lat_lon_alt() -> None:
    mission = build_mission(plan(), PROFILE, AIRSPACE)
    points = json.loads(dump_plan(mission))["rallyPoints"]["points"]
    assert points == [[r.x, r.y, r.z] for r in mission.rally]


def test_project_data_survives_under_its_own_key() -> None:
    doc = json.loads(dump_plan(_mission()))
    extra = doc[PROJECT_KEY]
    mission = _mission()
    assert extra["orderId"] == "o-1001"
    assert (extra["deliverySeq"], extra["dropoffSeq"]) == (
        mission.delivery_seq,
        mission.dropoff_seq,
    )
    assert [r["name"] for r in extra["requiredParams"]] == [r.name for r in mission.required_params]


def test_a_plan_without_project_key_still_loads() -> None:
    doc = json.loads(dump_plan(_mission()))
    del doc[PROJECT_KEY]
    back = load_plan(json.dumps(doc), source="other.plan")
    assert back.items == _mission().items
    assert back.fence == _mission().fence
    assert back.required_params == () and back.delivery_seq is None
    assert back.cruise_speed_ms == PROFILE.cruise_speed_ms
    assert back.name == "other"


def test_nan_parameters_are_null_and_come_back_nan() -> None:
    mission = _mission()
    land = replace(mission.items[-1], param4=math.nan)
    text = dump_plan(replace(mission, items=(*mission.items[:-1], land)))
    assert json.loads(text)["mission"]["items"][-1]["params"][3] is None
    assert math.isnan(load_plan(text).items[-1].param4)


def test_infinite_numbers_are_refused_by_name() -> None:
    mission = _mission()
    bad = replace(mission.items[2], param2=math.inf)
    with pytest.raises(MissionFormatError, match=r"items\[2\]\.params\[1\]"):
        dump_plan(replace(mission, items=(*mission.items[:2], bad, *mission.items[3:])))


def test_write_and_read(tmp_path: Path) -> None:
    path = tmp_path / "m.plan"
    write_plan(path, _mission())
    assert read_plan(path) == _mission()


@settings(max_examples=120, deadline=None)
@given(missions())
def test_mission_text_mission_is_exact(mission: Mission) -> None:
    back = load_plan(dump_plan(mission))
    assert back == mission
    assert back.meta == mission.meta


@settings(max_examples=60, deadline=None)
@given(missions())
def test_text_mission_text_is_exact(mission: Mission) -> None:
    text = dump_plan(mission)
    assert dump_plan(load_plan(text)) == text


# ---- bad input -----------------------------------------------------------------------------


def _doc() -> dict[str, Any]:
    return plan_dict(_mission())


def _without(path: tuple[str | int, ...]) -> dict[str, Any]:
    doc = copy.deepcopy(_doc())
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return doc


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_doc())
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        (_without(("mission",)), "mission", "missing key"),
        (_without(("fileType",)), "fileType", "missing key"),
        (_without(("mission", "items")), "mission.items", "missing key"),
        (_without(("mission", "plannedHomePosition")), "mission.plannedHomePosition", "missing"),
        (_without(("mission", "items", 3, "params")), "mission.items[3].params", "missing key"),
        (_without(("mission", "items", 0, "command")), "mission.items[0].command", "missing"),
        (_with(("fileType",), "Mission"), "fileType", 'expected "Plan"'),
        (_with(("version",), 2), "version", "only version 1"),
        (_with(("mission", "version"), 1), "mission.version", "only version 2"),
        (_with(("mission", "firmwareType"), 12), "mission.firmwareType", "ArduPilot"),
        (_with(("mission", "items"), {}), "mission.items", "JSON array"),
        (_with(("mission", "items", 2, "params"), "0,0,0"), "mission.items[2].params", "array"),
        (_with(("mission", "items", 2, "params", 1), "22"), "mission.items[2].params[1]", "number"),
        (_with(("mission", "items", 2, "params", 1), True), "mission.items[2].params[1]", "number"),
        (_with(("mission", "items", 2, "command"), 178.5), "mission.items[2].command", "integer"),
        (
            _with(("mission", "items", 2, "autoContinue"), 1),
            "mission.items[2].autoContinue",
            "true",
        ),
        (
            _with(("mission", "items", 2, "type"), "ComplexItem"),
            "mission.items[2].type",
            "SimpleItem",
        ),
        (_with(("mission", "items", 2, "doJumpId"), 7), "mission.items[2].doJumpId", "expected 3"),
        (_with(("mission", "items", 2, "params"), [0] * 6), "mission.items[2].params", "7 values"),
        (_with(("mission", "items", 3, "params", 4), 135.0), "mission.items[3].params", "latitude"),
        (_with(("mission", "plannedHomePosition"), [1, 2]), "mission.plannedHomePosition", "3"),
        (_with(("geoFence", "version"), 1), "geoFence.version", "only version 2"),
        (
            _with(("geoFence", "polygons", 0, "polygon"), [[0, 0], [1, 1]]),
            "geoFence.polygons[0].polygon",
            "3 vertices",
        ),
        (
            _with(("geoFence", "polygons", 1, "inclusion"), "no"),
            "geoFence.polygons[1].inclusion",
            "true",
        ),
        (
            _with(("geoFence", "circles", 0, "circle", "radius"), 0),
            "geoFence.circles[0].circle.radius",
            "> 0",
        ),
        (
            _without(("geoFence", "circles", 0, "circle", "center")),
            "geoFence.circles[0].circle.center",
            "missing",
        ),
        (_with(("rallyPoints", "points", 0), [1.0, 2.0]), "rallyPoints.points[0]", "3 numbers"),
        (_with((PROJECT_KEY, "deliverySeq"), "six"), f"{PROJECT_KEY}.deliverySeq", "number"),
        (
            _with((PROJECT_KEY, "requiredParams", 0, "check"), "about"),
            f"{PROJECT_KEY}.requiredParams[0].check",
            "unknown",
        ),
    ],
)
def test_malformed_plan_names_the_field(doc: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(MissionFormatError) as err:
        load_plan(json.dumps(doc), source="bad.plan")
    assert err.value.field == field
    assert words in str(err.value)
    assert str(err.value).startswith("bad.plan")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty file"),
        ("  \n", "empty file"),
        ('{"fileType": "Plan",', "not JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_unreadable_text(text: str, words: str) -> None:
    with pytest.raises(MissionFormatError, match=words):
        load_plan(text)


def test_json_error_gives_the_line() -> None:
    lines = dump_plan(_mission()).splitlines()
    lines[5] = lines[5] + ",,"
    with pytest.raises(MissionFormatError) as err:
        load_plan("\n".join(lines))
    assert err.value.line == 6


def test_a_mission_without_home_cannot_be_written() -> None:
    with pytest.raises(MissionFormatError, match="home"):
        dump_plan(Mission("empty", ()))


def test_home_is_rebuilt_as_the_builder_makes_it() -> None:
    home = load_plan(dump_plan(_mission())).items[0]
    assert home == MissionItem(
        0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=-35.363261, y=149.16523, z=584.0
    )


def test_delivery_metadata_that_contradicts_the_items_is_refused_by_name() -> None:
    # Seen: a DO_GRIPPER turned into DO_CHANGE_SPEED with deliverySeq pointing at it flew and
    # reported "delivered" with nothing released; -1 and 99 were accepted too.
    doc = json.loads(dump_plan(_mission()))
    items = doc["mission"]["items"]
    delivery = doc["droneDelivery"]["deliverySeq"]
    for seq, message in ((-1, "not an item"), (99, "not an item")):
        bad = json.loads(json.dumps(doc))
        bad["droneDelivery"]["deliverySeq"] = seq
        with pytest.raises(MissionFormatError, match=rf"deliverySeq: .*{message}"):
            load_plan(json.dumps(bad))
    swapped = json.loads(json.dumps(doc))
    swapped["mission"]["items"][delivery - 1]["command"] = int(Cmd.DO_CHANGE_SPEED)
    with pytest.raises(MissionFormatError, match=r"deliverySeq: item \d+ is DO_CHANGE_SPEED"):
        load_plan(json.dumps(swapped))
    assert len(items) > delivery  # the unmodified file reads
    assert load_plan(json.dumps(doc)).delivery_seq == delivery
