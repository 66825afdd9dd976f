"""QGC WPL 110 ``.waypoints``: golden file, exact round trips, pymavlink cross-check, bad input."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from mission_samples import AIRSPACE, PROFILE, mission_items, plan

from missions.build import build_mission
from missions.errors import MissionFormatError
from missions.items import Cmd, Mission, MissionItem, MissionType
from missions.wpl import HEADER, dump_wpl, format_number, load_wpl, read_wpl, write_wpl
from planner.vehicle import DeliveryMethod

DATA = Path(__file__).resolve().parents[1] / "data" / "missions"
GOLDEN = DATA / "delivery_descend_release.waypoints"


def _mission() -> Mission:
    return build_mission(plan(), PROFILE, AIRSPACE)


def test_golden_file_matches_the_built_mission() -> None:
    text = dump_wpl(_mission().items)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == text


METHOD_PROFILES = {
    DeliveryMethod.WINCH: replace(PROFILE, delivery_method=DeliveryMethod.WINCH),
    DeliveryMethod.PAYLOAD_PLACE: replace(PROFILE, delivery_method=DeliveryMethod.PAYLOAD_PLACE),
    DeliveryMethod.LAND: replace(
        PROFILE, delivery_method=DeliveryMethod.LAND, continue_after_land=True
    ),
}


@pytest.mark.parametrize("method", list(METHOD_PROFILES))
def test_golden_files_of_the_other_delivery_methods(method: DeliveryMethod) -> None:
    text = dump_wpl(build_mission(plan(), METHOD_PROFILES[method]).items)
    golden = DATA / f"delivery_{method.value}.waypoints"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text
    assert dump_wpl(read_wpl(golden)) == text


def test_golden_file_reads_back_to_the_same_items_and_text() -> None:
    items = read_wpl(GOLDEN)
    assert items == _mission().items
    assert dump_wpl(items) == GOLDEN.read_text(encoding="utf-8")


def test_dump_is_tab_separated_with_twelve_columns() -> None:
    lines = dump_wpl(_mission().items).splitlines()
    assert lines[0] == HEADER
    assert all(len(line.split("\t")) == 12 for line in lines[1:])
    assert lines[1].split("\t")[:4] == ["0", "0", "0", "16"]  # home: seq 0, frame GLOBAL


# pymavlink picks MAVLink 1 or 2 (and so whether items carry a mission_type) from the
# environment when mavutil is first imported: run it in a fresh interpreter with MAVLink 2,
# as ArduCopter 4.7 speaks, so no other test's choice leaks in either direction.
_MAVWP_SCRIPT = """
import json, sys
from pymavlink import mavwp
loaders = {"items": mavwp.MAVWPLoader, "fence": mavwp.MissionItemProtocol_Fence,
           "rally": mavwp.MissionItemProtocol_Rally}
out = {}
for part, path in zip(sys.argv[1::2], sys.argv[2::2]):
    loader = loaders[part]()
    loader.load(path)
    out[part] = [loader.wp(i).to_dict() for i in range(loader.count())]
print(json.dumps(out))
"""
_FIELDS = (
    "seq",
    "current",
    "frame",
    "command",
    "autocontinue",
    "param1",
    "param2",
    "param3",
    "param4",
    "x",
    "y",
    "z",
)


def _mavwp_load(files: dict[str, Path]) -> dict[str, list[dict[str, object]]]:
    args = [arg for part, path in files.items() for arg in (part, str(path))]
    done = subprocess.run(
        [sys.executable, "-c", _MAVWP_SCRIPT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MAVLINK20": "1"},
        timeout=60,
        check=True,
    )
    loaded: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    return loaded


def test_pymavlink_mavwp_loads_the_same_items(tmp_path: Path) -> None:
    mission = _mission()
    parts = {"items": mission.items, "fence": mission.fence, "rally": mission.rally}
    files = {}
    for part, items in parts.items():
        assert items, f"the sample mission should have {part}"
        files[part] = tmp_path / f"{part}.waypoints"
        write_wpl(files[part], items)
    loaded = _mavwp_load(files)
    for part, ours in parts.items():
        theirs = loaded[part]
        assert len(theirs) == len(ours), part
        for mine, wp in zip(ours, theirs, strict=True):
            assert wp["mavpackettype"] == "MISSION_ITEM"
            assert {k: wp[k] for k in _FIELDS} == {k: getattr(mine, k) for k in _FIELDS}, part
            assert wp["mission_type"] == mine.mission_type


_SAVE_SCRIPT = """
import sys
from pymavlink import mavwp
loader = mavwp.MAVWPLoader()
loader.load(sys.argv[1])
loader.save(sys.argv[2])
"""


def test_we_read_what_pymavlink_writes(tmp_path: Path) -> None:
    path = tmp_path / "ours.waypoints"
    write_wpl(path, _mission().items)
    theirs = tmp_path / "theirs.waypoints"
    subprocess.run(
        [sys.executable, "-c", _SAVE_SCRIPT, str(path), str(theirs)],
        env={**os.environ, "MAVLINK20": "1"},
        timeout=60,
        check=True,
    )
    assert theirs.read_text() != path.read_text()  # pymavlink writes "%f": 6 decimals
    items = read_wpl(theirs)
    for mine, back in zip(_mission().items, items, strict=True):
        assert back.command == mine.command and back.frame == mine.frame
        assert back.x == pytest.approx(mine.x, abs=1e-6)
        assert back.y == pytest.approx(mine.y, abs=1e-6)
        assert back.z == pytest.approx(mine.z, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(mission_items())
def test_items_text_items_is_exact(items: tuple[MissionItem, ...]) -> None:
    assert load_wpl(dump_wpl(items)) == items


@settings(max_examples=150, deadline=None)
@given(mission_items())
def test_text_items_text_is_exact(items: tuple[MissionItem, ...]) -> None:
    text = dump_wpl(items)
    assert dump_wpl(load_wpl(text)) == text


@settings(max_examples=50, deadline=None)
@given(mission_items(mission_type=MissionType.FENCE))
def test_mission_type_is_the_callers(items: tuple[MissionItem, ...]) -> None:
    assert load_wpl(dump_wpl(items), mission_type=MissionType.FENCE) == items


def test_nan_parameters_survive() -> None:
    item = MissionItem(0, Cmd.NAV_LAND, param4=math.nan, x=-35.0, y=149.0)
    (back,) = load_wpl(dump_wpl([item]))
    assert math.isnan(back.param4)
    assert dump_wpl([back]) == dump_wpl([item])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (40.0, "40.0"),
        (-35.363261, "-35.363261"),
        (1e-7, "0.0000001"),
        (1e16, "10000000000000000.0"),
    ],
)
def test_numbers_are_shortest_and_without_exponent(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


def test_comments_and_blank_lines_are_skipped() -> None:
    text = dump_wpl(_mission().items)
    lines = text.splitlines()
    noisy = "\n".join([lines[0], "# written by MAVProxy", "", *lines[1:], ""])
    assert load_wpl(noisy) == _mission().items


# ---- bad input -----------------------------------------------------------------------------

GOOD_LINE = "0\t0\t0\t16\t0.0\t0.0\t0.0\t0.0\t-35.363261\t149.16523\t584.0\t1"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("", None, None, "empty file"),
        ("   \n\n", None, None, "empty file"),
        ("QGC WPL 100\n" + GOOD_LINE + "\n", 1, None, "header"),
        ("hello\n", 1, None, "header"),
        (HEADER + "\n" + GOOD_LINE + "\t7\n", 2, None, "found 13"),
        (HEADER + "\n0\t0\t0\t16\n", 2, None, "found 4"),
        (HEADER + "\n" + GOOD_LINE.replace("584.0", "high") + "\n", 2, "z", "'high'"),
        (HEADER + "\n" + GOOD_LINE.replace("\t16\t", "\t16.5\t") + "\n", 2, "command", "integer"),
        (HEADER + "\n" + GOOD_LINE.replace("-35.363261", "-135.0") + "\n", 2, "x", "latitude"),
        (HEADER + "\n" + GOOD_LINE[:-1] + "2\n", 2, "autocontinue", "outside 0..1"),
        (HEADER + "\n" + GOOD_LINE + "\n" + GOOD_LINE + "\n", 3, "seq", "expected 1, got 0"),
    ],
)
def test_malformed_text_names_line_and_field(
    text: str, line: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(MissionFormatError) as err:
        load_wpl(text, source="bad.waypoints")
    assert err.value.line == line
    assert err.value.field == field
    assert words in str(err.value)
    assert "bad.waypoints" in str(err.value)


def test_error_on_a_later_line_gives_that_line() -> None:
    lines = dump_wpl(_mission().items).splitlines()
    index = next(i for i, line in enumerate(lines) if "\t211\t" in line)  # DO_GRIPPER
    assert index > 2
    lines[index] = lines[index].replace("\t211\t", "\tgripper\t")
    with pytest.raises(
        MissionFormatError, match=rf"line {index + 1}: command: expected an integer"
    ):
        load_wpl("\n".join(lines))


def test_read_wpl_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.waypoints"
    path.write_bytes(b"QGC WPL 110\n\xff\xfe\n")
    with pytest.raises(MissionFormatError, match=r"broken\.waypoints"):
        read_wpl(path)
