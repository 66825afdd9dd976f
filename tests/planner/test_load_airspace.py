"""planner.load_airspace: GeoJSON no-fly zones, bands, the operating area and the ceiling,
and bad features rejected with an error naming the feature and the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from load_samples import error, feature, feature_collection, square, write

from planner.load import airspace_from_geojson, load_airspace
from planner.model import LatLon

# --- airspace -------------------------------------------------------------------------------


def test_airspace_reads_every_zone_shape_band_area_and_ceiling(tmp_path: Path) -> None:
    area = square(149.0, -35.5, 0.4)
    collection = feature_collection(
        feature({"type": "Polygon", "coordinates": [area]}, role="operating_area", name="A"),
        feature(
            {"type": "Polygon", "coordinates": [square()]},
            id="p",
            name="Poly",
            kind="prison",
            source="OSM",
        ),
        feature(
            {
                "type": "MultiPolygon",
                "coordinates": [[square(149.2)], [square(149.3, -35.4, 0.01)]],
            },
            id="m",
        ),
        feature(
            {"type": "Point", "coordinates": [149.1005, -35.3453, 600.0]},
            id="c",
            radius_m=800,
            kind="hospital",
        ),
        {
            **feature(
                {"type": "Polygon", "coordinates": [square(149.15)]},
                floor_m=0,
                ceiling_m=150,
                name="Stadium",
            ),
            "id": 42,
        },
        feature({"type": "Polygon", "coordinates": [square(149.25)]}, floor_m=150.5),
        ceiling_m=110,
        name="test airspace",
    )
    airspace = load_airspace(write(tmp_path / "a.geojson", json.dumps(collection)))
    assert airspace.ceiling_agl_m == 110.0
    assert airspace.operating_area == tuple(LatLon(lat, lon) for lon, lat in area[:-1])
    poly, multi, circle, band, high = airspace.zones
    assert (poly.id, poly.name, poly.kind, poly.floor_m, poly.ceiling_m) == (
        "p",
        "Poly",
        "prison",
        0.0,
        math.inf,
    )
    assert poly.polygons == (tuple(LatLon(lat, lon) for lon, lat in square()[:-1]),)
    assert multi.id == "m" and [len(p) for p in multi.polygons] == [4, 4]
    assert circle.is_circle and circle.polygons == ()
    assert (circle.circle_center, circle.circle_radius_m) == (LatLon(-35.3453, 149.1005), 800.0)
    assert (band.id, band.floor_m, band.ceiling_m) == ("42", 0.0, 150.0)  # the Feature's id
    assert (high.id, high.floor_m) == ("zone-5", 150.5)  # no id given: its feature index
    assert band.constrains(0.0, 100.0) and not high.constrains(0.0, 120.0)


def test_airspace_ceiling_defaults_and_may_come_from_the_operating_area() -> None:
    zone = feature({"type": "Polygon", "coordinates": [square()]})
    assert airspace_from_geojson(feature_collection(zone)).ceiling_agl_m == 120.0
    assert airspace_from_geojson(feature_collection(zone)).operating_area is None
    area = feature(
        {"type": "Polygon", "coordinates": [square(149.0, -35.5, 0.4)]},
        role="operating_area",
        ceiling_m=90,
    )
    assert airspace_from_geojson(feature_collection(zone, area)).ceiling_agl_m == 90.0
    exc = error(airspace_from_geojson, feature_collection(zone, area, ceiling_m=100), "a.geojson")
    assert exc.field == "features[1].properties.ceiling_m" and "contradicts" in exc.problem


BOWTIE = [[149.10, -35.30], [149.12, -35.28], [149.12, -35.30], [149.10, -35.28], [149.10, -35.30]]


@pytest.mark.parametrize(
    ("geometry", "props", "field", "problem"),
    [
        (
            {"type": "LineString", "coordinates": [[149.1, -35.3], [149.2, -35.3]]},
            {},
            "features[0] (Z).geometry.type",
            "unsupported geometry 'LineString'",
        ),
        (
            {"type": "GeometryCollection", "geometries": []},
            {},
            "features[0] (Z).geometry.type",
            "unsupported geometry",
        ),
        (None, {}, "features[0] (Z).geometry", "must be a geometry, got null"),
        (
            {"type": "Polygon", "coordinates": [BOWTIE]},
            {},
            "features[0] (Z).geometry.coordinates",
            "self-intersection at lon 149.11, lat -35.29",
        ),
        (
            {"type": "Polygon", "coordinates": [square(), square(149.105, -35.295, 0.005)]},
            {},
            "features[0] (Z).geometry.coordinates",
            "holes are not supported (MAVLink",
        ),
        (
            {"type": "Polygon", "coordinates": [square()[:-1]]},
            {},
            "features[0] (Z).geometry.coordinates[0]",
            "ring is not closed",
        ),
        (
            {"type": "Polygon", "coordinates": [[[149.1, -35.3], [149.2, -35.3], [149.1, -35.3]]]},
            {},
            "features[0] (Z).geometry.coordinates[0]",
            "at least 4 positions (first = last), got 3",
        ),
        (
            {"type": "Polygon", "coordinates": []},
            {},
            "features[0] (Z).geometry.coordinates",
            "needs an exterior ring",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[149.1, -35.3], [149.2, "x"], [149.2, -35.2], [149.1, -35.3]]],
            },
            {},
            "features[0] (Z).geometry.coordinates[0][1] lat",
            "must be a number, got 'x'",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[149.1, -35.3], [149.2, -95.0], [149.2, -35.2], [149.1, -35.3]]],
            },
            {},
            "features[0] (Z).geometry.coordinates[0][1] lat",
            "outside -90..90",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[149.1, -35.3], [149.2], [149.2, -35.2], [149.1, -35.3]]],
            },
            {},
            "features[0] (Z).geometry.coordinates[0][1]",
            "must be a position",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [[square()], [[BOWTIE[0], *BOWTIE[1:]]]]},
            {},
            "features[0] (Z).geometry.coordinates[1]",
            "self-intersection",
        ),
        (
            {"type": "MultiPolygon", "coordinates": []},
            {},
            "features[0] (Z).geometry.coordinates",
            "at least one polygon",
        ),
        (
            {"type": "Point", "coordinates": [149.1, -35.3]},
            {},
            "features[0] (Z).properties.radius_m",
            "needs radius_m > 0",
        ),
        (
            {"type": "Point", "coordinates": [149.1, -35.3]},
            {"radius_m": 0},
            "features[0] (Z).properties.radius_m",
            "needs radius_m > 0",
        ),
        (
            {"type": "Point", "coordinates": [149.1, -35.3]},
            {"radius_m": "500"},
            "features[0] (Z).properties.radius_m",
            "must be a number",
        ),
        (
            {"type": "Point", "coordinates": [190.0, -35.3]},
            {"radius_m": 5},
            "features[0] (Z).geometry.coordinates lon",
            "outside -180..180",
        ),
        (
            {"type": "Polygon", "coordinates": [square()]},
            {"radius_m": 5},
            "features[0] (Z).properties.radius_m",
            "only a Point zone has a radius",
        ),
        (
            {"type": "Polygon", "coordinates": [square()]},
            {"floor_m": 100, "ceiling_m": 100},
            "features[0] (Z).properties.ceiling_m",
            "not above floor_m",
        ),
        (
            {"type": "Polygon", "coordinates": [square()]},
            {"floor_m": -1},
            "features[0] (Z).properties.floor_m",
            "must be >= 0",
        ),
        (
            {"type": "Polygon", "coordinates": [square()]},
            {"role": "exclusion"},
            "features[0] (Z).properties.role",
            "unknown role 'exclusion'",
        ),
        (
            {"type": "Polygon", "coordinates": [square()]},
            {"id": [1]},
            "features[0] (Z).properties.id",
            "must be a string or a whole number",
        ),
        (
            {"type": "Polygon", "coordinates": [square()]},
            {"kind": 3},
            "features[0] (Z).properties.kind",
            "must be a string",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [[square()]]},
            {"role": "operating_area"},
            "features[0] (Z).geometry",
            "operating area must be a Polygon, got MultiPolygon",
        ),
    ],
)
def test_bad_zone_names_feature_and_field(
    geometry: Any, props: dict[str, Any], field: str, problem: str
) -> None:
    exc = error(
        airspace_from_geojson, feature_collection(feature(geometry, name="Z", **props)), "a.gj"
    )
    assert exc.source == "a.gj"
    assert exc.field == field
    assert problem in exc.problem


@pytest.mark.parametrize(
    ("obj", "field", "problem"),
    [
        ([], "type", "must be a GeoJSON FeatureCollection"),
        ({"type": "Feature", "geometry": None}, "type", "FeatureCollection"),
        (feature_collection(), "features", "no features"),
        ({"type": "FeatureCollection"}, "features", "no features"),
        (
            feature_collection({"type": "Polygon", "coordinates": [square()]}),
            "features[0]",
            "must be a GeoJSON Feature",
        ),
        (
            feature_collection({"type": "Feature", "properties": [], "geometry": None}),
            "features[0].properties",
            "must be an object",
        ),
        (
            feature_collection(
                feature({"type": "Polygon", "coordinates": [square()]}), ceiling_m=0
            ),
            "ceiling_m",
            "must be > 0",
        ),
        (
            feature_collection(
                feature({"type": "Polygon", "coordinates": [square()]}), ceiling_m="120"
            ),
            "ceiling_m",
            "must be a number",
        ),
        (
            feature_collection(
                feature({"type": "Polygon", "coordinates": [square()]}, id="z"),
                feature({"type": "Polygon", "coordinates": [square(149.2)]}, id="z"),
            ),
            "features[1].properties.id",
            "duplicate zone id 'z'",
        ),
        (
            feature_collection(
                feature({"type": "Polygon", "coordinates": [square()]}, role="operating_area"),
                feature({"type": "Polygon", "coordinates": [square()]}, role="operating_area"),
            ),
            "features[1]",
            "a second operating area",
        ),
    ],
)
def test_bad_feature_collections(obj: Any, field: str, problem: str) -> None:
    exc = error(airspace_from_geojson, obj, "a.gj")
    assert (exc.source, exc.field) == ("a.gj", field)
    assert problem in exc.problem
