"""planner.load: every loader's good path, and bad input rejected with an error that names the
file, the line / item / feature, and the field."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from load_samples import error, feature, feature_collection, square, write

from planner.load import (
    depots_from_json,
    fleet_from_json,
    load_airspace,
    load_depots,
    load_fleet,
    load_orders,
    load_scenario,
    orders_from_csv,
    orders_from_json,
    parse_json,
)
from planner.model import Airspace, Depot, LatLon, Order
from planner.scenario import Drone, Scenario
from planner.vehicle import builtin_profile

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
BUILTIN_PROFILE_FILE = Path(__file__).resolve().parents[2] / "planner" / "profiles"

HEADER = "id,depot,lat,lon,payload_kg,created_s,due_s,priority,note\n"



# --- depots ---------------------------------------------------------------------------------


def test_load_depots_reads_every_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "depots.json",
        json.dumps(
            [
                {"id": "a", "name": "Alpha", "lat": -35.2, "lon": 149.1, "ground_alt_amsl_m": 598},
                {"id": "b", "lat": -35.4, "lon": 149.2, "ground_alt_amsl_m": 604.5},
            ]
        ),
    )
    assert load_depots(path) == (
        Depot("a", LatLon(-35.2, 149.1), 598.0, "Alpha"),
        Depot("b", LatLon(-35.4, 149.2), 604.5, ""),
    )


@pytest.mark.parametrize(
    ("depots", "field", "problem"),
    [
        ({"id": "a"}, "depots", "must be a JSON list"),
        ([], "depots", "empty"),
        (["a"], "depots[0]", "must be an object"),
        (
            [{"id": "a", "lat": 1, "lon": 2, "ground_alt_amsl_m": 0, "alt": 3}],
            "depots[0].alt",
            "unknown field",
        ),
        ([{"id": "a", "lat": 1, "lon": 2}], "depots[0].ground_alt_amsl_m", "missing"),
        (
            [{"id": "a", "lat": "1", "lon": 2, "ground_alt_amsl_m": 0}],
            "depots[0].lat",
            "must be a number, got a string",
        ),
        (
            [{"id": "a", "lat": True, "lon": 2, "ground_alt_amsl_m": 0}],
            "depots[0].lat",
            "must be a number",
        ),
        (
            [{"id": 7, "lat": 1, "lon": 2, "ground_alt_amsl_m": 0}],
            "depots[0].id",
            "must be a string",
        ),
        (
            [{"id": "a", "lat": -91, "lon": 2, "ground_alt_amsl_m": 0}],
            "depots[0].lat",
            "outside -90..90",
        ),
        (
            [{"id": "a", "lat": 1, "lon": 180.5, "ground_alt_amsl_m": 0}],
            "depots[0].lon",
            "outside -180..180",
        ),
        (
            [{"id": "a", "lat": 1, "lon": 2, "ground_alt_amsl_m": 12000}],
            "depots[0].ground_alt_amsl_m",
            "not a ground altitude",
        ),
        (
            [
                {"id": "a", "lat": 1, "lon": 2, "ground_alt_amsl_m": 0},
                {"id": "a", "lat": 3, "lon": 4, "ground_alt_amsl_m": 0},
            ],
            "depots[1].id",
            "duplicate depot id 'a' (first at depots[0].id)",
        ),
    ],
)
def test_bad_depots_name_the_item_and_field(depots: Any, field: str, problem: str) -> None:
    exc = error(depots_from_json, depots, "depots.json")
    assert exc.field == field
    assert problem in exc.problem
    assert str(exc).startswith("depots.json: ")


# --- orders ---------------------------------------------------------------------------------


def test_orders_csv_good_path_with_optional_cells_blank_lines_and_bom(tmp_path: Path) -> None:
    text = (
        "\ufeff" + HEADER + "A1,mitchell,-35.2,149.1,1.5,0,,,Franklin\n"
        "\n"
        'A2, hume ,-35.38,149.17,0.25,60,3600,2,"Hume, with a comma"\n'
    )
    path = write(tmp_path / "orders.csv", text)
    assert load_orders(path) == (
        Order("A1", "mitchell", LatLon(-35.2, 149.1), 1.5, created_s=0.0, due_s=None, priority=0),
        Order("A2", "hume", LatLon(-35.38, 149.17), 0.25, created_s=60.0, due_s=3600.0, priority=2),
    )


def test_orders_csv_needs_only_the_required_columns_in_any_order() -> None:
    orders = orders_from_csv("created_s,payload_kg,lon,lat,depot,id\n5,2,149.1,-35.2,d,X\n")
    assert orders == (Order("X", "d", LatLon(-35.2, 149.1), 2.0, created_s=5.0),)


def test_orders_json_list_and_object_forms_agree(tmp_path: Path) -> None:
    item = {
        "id": "J1",
        "depot": "hume",
        "lat": -35.38,
        "lon": 149.17,
        "payload_kg": 2,
        "created_s": 10,
        "due_s": None,
        "priority": 1,
        "note": "n",
    }
    as_list = load_orders(write(tmp_path / "a.json", json.dumps([item])))
    as_object = load_orders(write(tmp_path / "b.json", json.dumps({"orders": [item]})))
    expected = (Order("J1", "hume", LatLon(-35.38, 149.17), 2.0, 10.0, None, 1),)
    assert as_list == as_object == expected


def test_load_orders_rejects_other_extensions(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.txt", HEADER + "A1,d,-35.2,149.1,1,0,,,\n")
    exc = error(load_orders, path)
    assert exc.source == str(path) and ".txt" in exc.problem


ROW = {
    "id": "A1",
    "depot": "d",
    "lat": "-35.2",
    "lon": "149.1",
    "payload_kg": "1.0",
    "created_s": "100",
    "due_s": "",
    "priority": "",
}


def _csv(**changes: str) -> str:
    row = {**ROW, **changes}
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"lat": "abc"}, "lat", "must be a number, got 'abc'"),
        ({"lat": "90.5"}, "lat", "outside -90..90"),
        ({"lon": "-181"}, "lon", "outside -180..180"),
        ({"payload_kg": "0"}, "payload_kg", "must be > 0 kg"),
        ({"payload_kg": "-1.5"}, "payload_kg", "must be > 0 kg"),
        ({"payload_kg": "nan"}, "payload_kg", "must be finite"),
        ({"payload_kg": "inf"}, "payload_kg", "must be finite"),
        ({"payload_kg": ""}, "payload_kg", "missing required field"),
        ({"id": " "}, "id", "missing required field"),
        ({"created_s": "-5"}, "created_s", "must be >= 0"),
        ({"due_s": "100"}, "due_s", "not after created_s"),
        ({"due_s": "50"}, "due_s", "not after created_s"),
        ({"priority": "1.5"}, "priority", "whole number"),
        ({"priority": "high"}, "priority", "whole number"),
    ],
)
def test_bad_csv_values_name_file_line_and_column(
    changes: dict[str, str], field: str, problem: str
) -> None:
    exc = error(orders_from_csv, _csv(**changes), "orders.csv")
    assert exc.field == field
    assert problem in exc.problem
    assert exc.source == "orders.csv line 2"
    assert str(exc).startswith(f"orders.csv line 2: {field}: ")


@pytest.mark.parametrize(
    ("text", "source", "field", "problem"),
    [
        ("", "orders.csv", "file", "is empty"),
        (HEADER, "orders.csv", "orders", "no orders"),
        (HEADER + "\n\n", "orders.csv", "orders", "no orders"),
        (
            "id,depot,lat,lon,payload_kg,created_s,weight_kg\n",
            "orders.csv line 1",
            "weight_kg",
            "unknown column",
        ),
        (
            "id,depot,lat,lon,created_s\n",
            "orders.csv line 1",
            "payload_kg",
            "missing required column",
        ),
        (
            "id,depot,lat,lon,payload_kg,created_s,id\n",
            "orders.csv line 1",
            "id",
            "duplicate column",
        ),
        (
            "id,depot,lat,lon,payload_kg,created_s,\n",
            "orders.csv line 1",
            "column 7",
            "has no name (a trailing comma?)",
        ),
        (_csv() + "A2,d,-35.2\n", "orders.csv line 3", "row", "has 3 cells, the header has 8"),
        (
            _csv() + "A1,d,-35.3,149.2,2,0,,\n",
            "orders.csv line 3",
            "id",
            "duplicate order id 'A1' (first at line 2)",
        ),
    ],
)
def test_bad_csv_structure(text: str, source: str, field: str, problem: str) -> None:
    exc = error(orders_from_csv, text, "orders.csv")
    assert (exc.source, exc.field) == (source, field)
    assert problem in exc.problem


GOOD_ORDER = {"id": "A1", "depot": "d", "lat": -35.2, "lon": 149.1, "payload_kg": 1, "created_s": 0}


@pytest.mark.parametrize(
    ("obj", "field", "problem"),
    [
        ("orders", "orders", "must be a JSON list, got a string"),
        ([], "orders", "empty"),
        ({"orders": [GOOD_ORDER], "more": 1}, "more", "unknown field"),
        ({"order": [GOOD_ORDER]}, "order", "unknown field"),
        ([{**GOOD_ORDER, "weight": 2}], "orders[0].weight", "unknown field"),
        ([{**GOOD_ORDER, "payload_kg": "1"}], "orders[0].payload_kg", "got a string '1'"),
        ([{**GOOD_ORDER, "payload_kg": False}], "orders[0].payload_kg", "must be a number"),
        ([{**GOOD_ORDER, "lat": None}], "orders[0].lat", "missing required field"),
        ([{**GOOD_ORDER, "lon": 200}], "orders[0].lon", "outside -180..180"),
        ([{**GOOD_ORDER, "priority": 1.0}], "orders[0].priority", "whole number"),
        ([{**GOOD_ORDER, "depot": ["d"]}], "orders[0].depot", "must be a string, got a list"),
        (
            [GOOD_ORDER, GOOD_ORDER],
            "orders[1].id",
            "duplicate order id 'A1' (first at orders[0].id)",
        ),
    ],
)
def test_bad_json_orders_name_the_item_and_field(obj: Any, field: str, problem: str) -> None:
    exc = error(orders_from_json, obj, "orders.json")
    assert (exc.source, exc.field) == ("orders.json", field)
    assert problem in exc.problem


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ('[{"a": 1,\n "b": }]', "line 2 column 7", "Expecting value"),
        ('{"a": 1, "a": 2}', "json", "duplicate key 'a'"),
        ('{"a": NaN}', "json", "NaN is not a number in JSON"),
        ("  \n", "file", "is empty"),
    ],
)
def test_parse_json_is_strict_and_names_the_position(text: str, field: str, problem: str) -> None:
    exc = error(parse_json, text, "x.json")
    assert (exc.source, exc.field) == ("x.json", field)
    assert problem in exc.problem


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-90, 90, allow_nan=False),
            st.floats(-180, 180, allow_nan=False),
            st.floats(0.001, 50, allow_nan=False),
            st.floats(0, 1e6, allow_nan=False),
            st.one_of(st.none(), st.floats(1, 1e4, allow_nan=False)),
            st.integers(-5, 5),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_orders_written_as_csv_and_json_read_back_equal(rows: list[tuple[Any, ...]]) -> None:
    orders = tuple(
        Order(f"O{i}", "d,1", LatLon(lat, lon), kg, t, None if due is None else t + due, prio)
        for i, (lat, lon, kg, t, due, prio) in enumerate(rows)
    )
    lines = [HEADER.strip()]
    for o in orders:
        due = "" if o.due_s is None else repr(o.due_s)
        lines.append(
            f'{o.id},"{o.depot_id}",{o.dropoff.lat!r},{o.dropoff.lon!r},{o.payload_kg!r},'
            f"{o.created_s!r},{due},{o.priority},"
        )
    assert orders_from_csv("\n".join(lines) + "\n") == orders
    as_json = [
        {
            "id": o.id,
            "depot": o.depot_id,
            "lat": o.dropoff.lat,
            "lon": o.dropoff.lon,
            "payload_kg": o.payload_kg,
            "created_s": o.created_s,
            "due_s": o.due_s,
            "priority": o.priority,
        }
        for o in orders
    ]
    assert orders_from_json(json.loads(json.dumps(as_json))) == orders


# --- fleet ----------------------------------------------------------------------------------


def test_fleet_with_builtin_and_file_profiles(tmp_path: Path) -> None:
    custom = json.loads((BUILTIN_PROFILE_FILE / "delivery-quad.json").read_text())
    custom.update(name="heavy-quad", max_payload_kg=4.0)
    (tmp_path / "profiles").mkdir()
    write(tmp_path / "profiles" / "heavy.json", json.dumps(custom))
    fleet_json = {
        "drones": [
            {"id": "q1", "name": "Quad 1", "profile": "delivery-quad", "depot": "a", "sysid": 1},
            {"id": "h1", "profile": "profiles/heavy.json", "depot": "b", "sysid": 7},
            {"id": "q2", "profile": "delivery-quad", "depot": "b", "sysid": 2},
        ]
    }
    fleet = load_fleet(write(tmp_path / "fleet.json", json.dumps(fleet_json)))
    assert fleet.drones == (
        Drone("q1", "delivery-quad", "a", 1, "Quad 1"),
        Drone("h1", "heavy-quad", "b", 7, ""),
        Drone("q2", "delivery-quad", "b", 2, ""),
    )
    assert set(fleet.profiles) == {"delivery-quad", "heavy-quad"}
    assert fleet.profiles["heavy-quad"].max_payload_kg == 4.0
    assert fleet.profiles["delivery-quad"] == builtin_profile("delivery-quad")
    with pytest.raises(TypeError):
        fleet.profiles["x"] = builtin_profile("delivery-quad")  # type: ignore[index]
    assert pickle.loads(pickle.dumps(fleet)) == copy.deepcopy(fleet) == fleet


DRONE = {"id": "q1", "profile": "delivery-quad", "depot": "a", "sysid": 1}


@pytest.mark.parametrize(
    ("obj", "field", "problem"),
    [
        ([DRONE], "top level", "must be an object, got a list"),
        ({"drones": [DRONE], "profiles": {}}, "profiles", "unknown field"),
        ({"drones": []}, "drones", "empty"),
        ({"drones": [{**DRONE, "colour": "red"}]}, "drones[0].colour", "unknown field"),
        (
            {"drones": [{**DRONE, "profile": "jet-pack"}]},
            "drones[0].profile",
            "unknown profile 'jet-pack' (known: ",
        ),
        ({"drones": [{**DRONE, "profile": "missing.json"}]}, "drones[0].profile", "cannot read"),
        ({"drones": [{**DRONE, "sysid": 0}]}, "drones[0].sysid", "must be 1..254"),
        ({"drones": [{**DRONE, "sysid": 255}]}, "drones[0].sysid", "255 is the ground station"),
        ({"drones": [{**DRONE, "sysid": "1"}]}, "drones[0].sysid", "whole number"),
        ({"drones": [{**DRONE, "sysid": True}]}, "drones[0].sysid", "whole number"),
        (
            {"drones": [{k: v for k, v in DRONE.items() if k != "depot"}]},
            "drones[0].depot",
            "missing required field",
        ),
        ({"drones": [DRONE, {**DRONE, "sysid": 2}]}, "drones[1].id", "duplicate id 'q1'"),
        (
            {"drones": [DRONE, {**DRONE, "id": "q2"}]},
            "drones[1].sysid",
            "duplicate sysid 1 (first at drones[0].sysid)",
        ),
    ],
)
def test_bad_fleets(obj: Any, field: str, problem: str, tmp_path: Path) -> None:
    exc = error(fleet_from_json, obj, "fleet.json", tmp_path)
    assert (exc.source, exc.field) == ("fleet.json", field)
    assert problem in exc.problem


def test_two_different_profiles_with_one_name_are_rejected(tmp_path: Path) -> None:
    custom = json.loads((BUILTIN_PROFILE_FILE / "delivery-quad.json").read_text())
    custom["max_payload_kg"] = 9.0  # same name as the built-in, different vehicle
    write(tmp_path / "mine.json", json.dumps(custom))
    obj = {"drones": [DRONE, {**DRONE, "id": "q2", "sysid": 2, "profile": "mine.json"}]}
    exc = error(fleet_from_json, obj, "fleet.json", tmp_path)
    assert exc.field == "drones[1].profile" and "different profile named" in exc.problem


# --- files under tests/data/bad -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("orders_unknown_column.csv", ["line 1: weight: unknown column"]),
        ("orders_negative_payload.csv", ["line 3: payload_kg: must be > 0 kg, got -0.5"]),
        ("orders_lat_out_of_range.csv", ["line 4: lat: -95.2 is outside"]),
        ("orders_wrong_type.csv", ["line 3: payload_kg: must be a number, got 'one'"]),
        ("orders_short_row.csv", ["line 3: row: has 5 cells, the header has 6"]),
        ("orders_duplicate_id.csv", ["line 4: id: duplicate order id 'A1' (first at line 2)"]),
        ("orders_due_before_created.csv", ["line 2: due_s: 300 s is not after created_s 600 s"]),
        ("orders_empty.csv", [": file: is empty"]),
        ("orders_header_only.csv", [": orders: no orders"]),
        ("orders_wrong_type.json", [": orders[1].payload_kg: must be a number, got a string"]),
        ("orders_unknown_field.json", [": orders[0].colour: unknown field"]),
        ("depots_unknown_field.json", [": depots[0].elevation: unknown field"]),
        ("depots_syntax_error.json", [": line 2 column 53: Expecting ',' delimiter"]),
        ("fleet_duplicate_sysid.json", [": drones[1].sysid: duplicate sysid 1"]),
        ("fleet_unknown_profile.json", [": drones[0].profile: unknown profile 'jet-pack'"]),
        (
            "airspace_self_intersecting.geojson",
            [": features[0] (Bow tie).geometry.coordinates: invalid polygon: self-intersection"],
        ),
        ("airspace_hole.geojson", [": features[0] (Donut).geometry.coordinates: has 1 hole"]),
        ("airspace_open_ring.geojson", [": features[0] (Open).geometry.coordinates[0]: ring is"]),
        (
            "airspace_linestring.geojson",
            [": features[1] (Power line).geometry.type: unsupported geometry 'LineString'"],
        ),
        (
            "airspace_coordinate_out_of_range.geojson",
            [": features[0] (Helipad).geometry.coordinates lon: 249.1 is outside"],
        ),
        ("airspace_empty_collection.geojson", [": features: no features"]),
    ],
)
def test_bad_files_give_one_clear_line(name: str, fragments: list[str]) -> None:
    loader = {
        "orders": load_orders,
        "depots": load_depots,
        "fleet": load_fleet,
        "airspace": load_airspace,
    }[name.split("_")[0]]
    path = BAD / name
    exc = error(loader, path)
    message = str(exc)
    assert message.startswith(str(path))
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_and_non_utf8_file_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    exc = error(load_depots, missing)
    assert (exc.source, exc.field) == (str(missing), "file") and "cannot read" in exc.problem
    latin1 = tmp_path / "orders.csv"
    latin1.write_bytes(HEADER.encode() + "A1,Zürich,1,2,1,0,,,\n".encode("latin-1"))
    exc = error(load_orders, latin1)
    assert (exc.source, exc.field) == (str(latin1), "file") and "UTF-8" in exc.problem


# --- scenarios ------------------------------------------------------------------------------


def _scenario_dir(tmp_path: Path, *, drone_depot: str = "a", **top: Any) -> Path:
    write(
        tmp_path / "depots.json",
        json.dumps([{"id": "a", "lat": -35.2, "lon": 149.1, "ground_alt_amsl_m": 600}]),
    )
    write(
        tmp_path / "airspace.geojson",
        json.dumps(
            feature_collection(
                feature(
                    {"type": "Polygon", "coordinates": [square(149.0, -35.5, 0.4)]},
                    role="operating_area",
                ),
                feature({"type": "Point", "coordinates": [149.15, -35.25]}, radius_m=300, id="h"),
            )
        ),
    )
    write(tmp_path / "fleet.json", json.dumps({"drones": [{**DRONE, "depot": drone_depot}]}))
    write(
        tmp_path / "orders.csv", HEADER + "A1,a,-35.3,149.2,1,0,,,\nA2,ghost,-35.3,149.2,1,60,,,\n"
    )
    write(tmp_path / "scenario.json", json.dumps(top))
    return tmp_path


def test_load_scenario_with_default_file_names(tmp_path: Path) -> None:
    (tmp_path / "town").mkdir()
    folder = _scenario_dir(tmp_path / "town", promise_s=900, description="d")
    scenario = load_scenario(folder)
    assert isinstance(scenario, Scenario)
    assert (scenario.name, scenario.description, scenario.promise_s) == ("town", "d", 900.0)
    assert [d.id for d in scenario.depots] == ["a"]
    assert [z.id for z in scenario.airspace.zones] == ["h"]
    assert [o.id for o in scenario.orders] == ["A1", "A2"]  # an unknown depot is no load error
    assert scenario.depot_by_id("ghost") is None
    assert scenario.profile_for(scenario.fleet[0]) == builtin_profile("delivery-quad")
    assert scenario.due_s(scenario.orders[1]) == 960.0
    assert load_scenario(folder / "scenario.json") == scenario


def test_load_scenario_uses_named_files_and_overrides(tmp_path: Path) -> None:
    folder = _scenario_dir(tmp_path, name="x", files={"orders": "today.json"})
    write(folder / "today.json", json.dumps([GOOD_ORDER | {"depot": "a"}]))
    assert [o.id for o in load_scenario(folder).orders] == ["A1"]
    other = write(tmp_path / "other.csv", HEADER + "Z9,a,-35.3,149.2,1,0,,,\n")
    scenario = load_scenario(folder, orders=other)
    assert [o.id for o in scenario.orders] == ["Z9"] and scenario.name == "x"


@pytest.mark.parametrize(
    ("top", "field", "problem"),
    [
        ({"nme": "typo"}, "nme", "unknown field"),
        ({"promise_s": 0}, "promise_s", "must be > 0"),
        ({"promise_s": "30 min"}, "promise_s", "must be a number"),
        ({"files": {"zones": "z.geojson"}}, "files.zones", "unknown field"),
    ],
)
def test_bad_scenario_files(tmp_path: Path, top: dict[str, Any], field: str, problem: str) -> None:
    folder = _scenario_dir(tmp_path, **top)
    exc = error(load_scenario, folder)
    assert exc.source == str(folder / "scenario.json")
    assert exc.field == field and problem in exc.problem


def test_drone_at_unknown_depot_is_a_load_error(tmp_path: Path) -> None:
    folder = _scenario_dir(tmp_path, drone_depot="elsewhere")
    exc = error(load_scenario, folder)
    assert (exc.source, exc.field) == (str(folder / "fleet.json"), "drones[0].depot")
    assert "unknown depot 'elsewhere' (depots: a)" in exc.problem


def test_missing_referenced_file_names_it(tmp_path: Path) -> None:
    folder = _scenario_dir(tmp_path, files={"airspace": "gone.geojson"})
    exc = error(load_scenario, folder)
    assert exc.source == str(folder / "gone.geojson") and exc.field == "file"


def test_scenario_profile_for_unknown_profile_names_the_drone() -> None:
    scenario = Scenario("s", (), Airspace(), (Drone("q9", "ghost-quad", "a", 9),), ())
    exc = error(scenario.profile_for, scenario.fleet[0])
    assert exc.field == "fleet[q9].profile" and "unknown profile 'ghost-quad'" in exc.problem
