"""GeoJSON routes and zones: layout, round trips, and the planner reading our zones back."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from mission_samples import AIRSPACE, DEPOT, DROPOFF, PROFILE, TURN_BACK, TURN_OUT, plan, profile

from missions.build import build_mission
from missions.errors import MissionFormatError
from missions.fence import is_clockwise
from missions.geojson import (
    RouteGeometry,
    airspace_feature_collection,
    dump_geojson,
    load_route,
    read_route,
    route_feature_collection,
    route_of,
    write_geojson,
)
from missions.items import Mission
from planner.load import airspace_from_geojson
from planner.model import LatLon
from planner.vehicle import DeliveryMethod


def _by_role(collection: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    roles: dict[str, list[dict[str, Any]]] = {}
    for feature in collection["features"]:
        roles.setdefault(feature["properties"]["role"], []).append(feature)
    return roles


def test_plan_route_features() -> None:
    fc = route_feature_collection(plan(60.0))
    assert fc["type"] == "FeatureCollection"
    roles = _by_role(fc)
    (out,), (back,) = roles["outbound"], roles["inbound"]
    assert out["geometry"] == {
        "type": "LineString",
        "coordinates": [[p.lon, p.lat] for p in (DEPOT.position, TURN_OUT, DROPOFF)],
    }
    assert back["geometry"]["coordinates"][0] == [DROPOFF.lon, DROPOFF.lat]
    assert roles["dropoff"][0]["geometry"] == {
        "type": "Point",
        "coordinates": [DROPOFF.lon, DROPOFF.lat],
    }
    assert roles["depot"][0]["geometry"]["coordinates"] == [DEPOT.position.lon, DEPOT.position.lat]
    assert out["properties"]["order_id"] == "o-1001"
    assert out["properties"]["cruise_alt_m"] == 60.0


def test_plan_route_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "route.geojson"
    write_geojson(path, route_feature_collection(plan(60.0), airspace=AIRSPACE))
    route = read_route(path)
    assert route == RouteGeometry(plan().outbound, plan().inbound, "o-1001", 60.0)
    assert (route.depot, route.dropoff) == (DEPOT.position, DROPOFF)


@pytest.mark.parametrize("method", list(DeliveryMethod))
def test_a_built_mission_flies_the_planned_route(method: DeliveryMethod) -> None:
    p = profile(delivery_method=method, continue_after_land=True)
    mission = build_mission(plan(60.0), p)
    route = route_of(mission)
    assert route.outbound == (DEPOT.position, TURN_OUT, DROPOFF)
    assert route.inbound == (DROPOFF, TURN_BACK, DEPOT.position)
    assert route.cruise_alt_m == 60.0 and route.order_id == "o-1001"
    assert load_route(dump_geojson(route_feature_collection(mission))) == route


def test_a_mission_without_dropoff_seq_has_no_route() -> None:
    mission = build_mission(plan(), PROFILE)
    with pytest.raises(MissionFormatError, match="dropoff_seq"):
        route_of(Mission(mission.name, mission.items))


def test_zones_are_written_the_way_the_planner_reads_them() -> None:
    fc = json.loads(dump_geojson(airspace_feature_collection(AIRSPACE)))
    back = airspace_from_geojson(fc, "roundtrip.geojson")
    assert back.ceiling_agl_m == AIRSPACE.ceiling_agl_m
    assert back.operating_area is not None
    assert set(back.operating_area) == set(AIRSPACE.operating_area or ())
    assert len(back.zones) == len(AIRSPACE.zones)
    for mine, theirs in zip(AIRSPACE.zones, back.zones, strict=True):
        assert (theirs.id, theirs.name, theirs.kind) == (mine.id, mine.name, mine.kind)
        assert (theirs.floor_m, theirs.ceiling_m) == (mine.floor_m, mine.ceiling_m)
        assert (theirs.circle_center, theirs.circle_radius_m) == (
            mine.circle_center,
            mine.circle_radius_m,
        )
        assert [set(r) for r in theirs.polygons] == [set(r) for r in mine.polygons]


def test_rings_are_closed_and_counter_clockwise() -> None:
    fc = airspace_feature_collection(AIRSPACE)
    for feature in fc["features"]:
        geometry = feature["geometry"]
        polygons = {"Polygon": [geometry["coordinates"]], "MultiPolygon": geometry["coordinates"]}
        for polygon in polygons.get(geometry["type"], []):
            (ring,) = polygon
            assert ring[0] == ring[-1]
            assert not is_clockwise([LatLon(lat, lon) for lon, lat in ring[:-1]])


def test_circle_zone_is_a_point_with_radius_and_open_band_has_no_ceiling() -> None:
    features = {
        f["properties"].get("id"): f for f in airspace_feature_collection(AIRSPACE)["features"]
    }
    helipad = features["helipad"]
    assert helipad["geometry"] == {"type": "Point", "coordinates": [149.16, -35.359]}
    assert helipad["properties"]["radius_m"] == 150.0
    assert "ceiling_m" not in helipad["properties"]  # unbounded: JSON has no infinity
    assert features["stadium"]["properties"]["ceiling_m"] == 300.0
    assert features["airport"]["geometry"]["type"] == "MultiPolygon"
    assert features[None]["properties"]["role"] == "operating_area"
    assert math.isinf(
        airspace_from_geojson(airspace_feature_collection(AIRSPACE)).zones[0].ceiling_m
    )


def _route_text() -> str:
    return dump_geojson(route_feature_collection(plan()))


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("{", None, "not JSON"),
        ('{"type": "Feature"}', "type", "FeatureCollection"),
        ('{"type": "FeatureCollection", "features": {}}', "features", "array"),
        ('{"type": "FeatureCollection", "features": []}', "features", "outbound"),
        ('{"type": "FeatureCollection", "features": [3]}', "features[0]", "Feature"),
    ],
)
def test_bad_route_files(text: str, field: str | None, words: str) -> None:
    with pytest.raises(MissionFormatError, match=words) as err:
        load_route(text)
    assert err.value.field == field


def test_bad_leg_geometry_names_the_feature() -> None:
    doc = json.loads(_route_text())
    doc["features"][1]["geometry"] = {"type": "Point", "coordinates": [149.0, -35.0]}
    with pytest.raises(MissionFormatError, match="LineString") as err:
        load_route(json.dumps(doc))
    assert err.value.field == "features[1].geometry"
    doc = json.loads(_route_text())
    doc["features"][0]["geometry"]["coordinates"][1] = [149.0, -95.0]
    with pytest.raises(MissionFormatError, match="position") as err:
        load_route(json.dumps(doc))
    assert err.value.field == "features[0].geometry.coordinates[1]"
    doc = json.loads(_route_text())
    doc["features"].append(doc["features"][0])
    with pytest.raises(MissionFormatError, match="second outbound"):
        load_route(json.dumps(doc))
