"""The Canberra example scenario: it loads, and its data is what the README says it is.

The checks are geometric and independent of the planner: which zones a drop-off is inside, which
zones a straight line crosses, how far a drop-off is against the profiles' published range.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from planner.energy import max_range_m
from planner.geo import LocalFrame, geodesic_m
from planner.load import load_scenario
from planner.model import LatLon, NoFlyZone, Order
from planner.scenario import Scenario
from planner.vehicle import builtin_profile_names

CANBERRA = Path(__file__).resolve().parents[2] / "missions" / "scenarios" / "canberra"
FRAME = LocalFrame(LatLon(-35.3, 149.13))
DEPOT_CLEARANCE_M = 500.0
"""Depots keep well clear of every zone, so no safety margin puts one inside."""


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(CANBERRA)


def _shape(zone: NoFlyZone) -> BaseGeometry:
    if zone.circle_center is not None and zone.circle_radius_m is not None:
        return Point(FRAME.to_xy(zone.circle_center)).buffer(zone.circle_radius_m, 64)
    (ring,) = zone.polygons
    return Polygon([FRAME.to_xy(p) for p in ring])


def _xy(p: LatLon) -> Point:
    return Point(FRAME.to_xy(p))


def _constraining(scenario: Scenario) -> dict[str, BaseGeometry]:
    """Zones that constrain a flight from the ground up to the airspace ceiling."""
    ceiling = scenario.airspace.ceiling_agl_m
    return {z.id: _shape(z) for z in scenario.airspace.zones if z.constrains(0.0, ceiling)}


def _area(scenario: Scenario) -> Polygon:
    assert scenario.airspace.operating_area is not None
    return Polygon([FRAME.to_xy(p) for p in scenario.airspace.operating_area])


def test_it_loads_with_fifty_plus_orders_over_hours(scenario: Scenario) -> None:
    assert scenario.name == "canberra" and scenario.description
    assert scenario.promise_s == 1800.0
    assert len(scenario.orders) >= 50
    created = [o.created_s for o in scenario.orders]
    assert max(created) - min(created) >= 3 * 3600
    assert created == sorted(created)
    payloads = [o.payload_kg for o in scenario.orders]
    usual = [kg for kg in payloads if 0.2 <= kg <= 2.3]
    assert len(usual) >= 0.9 * len(payloads) and len(set(payloads)) >= 15
    assert sum(o.due_s is None for o in scenario.orders) >= 0.75 * len(scenario.orders)


@pytest.mark.parametrize(
    ("kind", "lat", "lon"),
    [
        ("airport", -35.3069, 149.1950),  # Canberra Airport reference point
        ("hospital", -35.3453, 149.1005),  # Canberra Hospital, Garran
        ("prison", -35.3937, 149.1654),  # Alexander Maconochie Centre, Hume
        ("stadium", -35.2505, 149.1027),  # GIO Stadium, Bruce
        ("government", -35.3081, 149.1245),  # Parliament House
    ],
)
def test_real_zones_sit_where_the_places_are(
    scenario: Scenario, kind: str, lat: float, lon: float
) -> None:
    (zone,) = [z for z in scenario.airspace.zones if z.kind == kind]
    shape = _shape(zone)
    assert shape.contains(_xy(LatLon(lat, lon)))
    assert shape.centroid.distance(_xy(LatLon(lat, lon))) < 300.0
    assert zone.constrains(0.0, scenario.airspace.ceiling_agl_m)
    if zone.polygons:
        assert 4 <= len(zone.polygons[0]) <= 24


def test_zone_shapes_and_bands(scenario: Scenario) -> None:
    zones = {z.kind: z for z in scenario.airspace.zones}
    assert _shape(zones["airport"]).area > 3.1 * 5500.0**2  # at least the 5.5 km CASA circle
    assert zones["hospital"].is_circle
    stadium = zones["stadium"]
    assert stadium.floor_m == 0.0 and 120.0 < stadium.ceiling_m < float("inf")
    approach = zones["approach"]  # a band above the drone ceiling: constrains nothing here
    assert approach.floor_m > scenario.airspace.ceiling_agl_m
    assert not approach.constrains(0.0, scenario.airspace.ceiling_agl_m)
    assert scenario.airspace.ceiling_agl_m == 120.0


def test_depots_are_inside_the_area_and_clear_of_every_zone(scenario: Scenario) -> None:
    area = _area(scenario)
    shapes = [_shape(z) for z in scenario.airspace.zones]
    assert 2 <= len(scenario.depots) <= 3
    for depot in scenario.depots:
        p = _xy(depot.position)
        assert area.contains(p) and area.exterior.distance(p) > DEPOT_CLEARANCE_M, depot.id
        assert min(s.distance(p) for s in shapes) > DEPOT_CLEARANCE_M, depot.id
        assert 560.0 <= depot.ground_alt_amsl_m <= 620.0, depot.id


def test_fleet_sysids_profiles_and_bases(scenario: Scenario) -> None:
    sysids = [d.sysid for d in scenario.fleet]
    assert 6 <= len(sysids) <= 10
    assert sorted(sysids) == list(range(1, len(sysids) + 1))
    assert len({d.id for d in scenario.fleet}) == len(sysids)
    depot_ids = {d.id for d in scenario.depots}
    assert {d.depot_id for d in scenario.fleet} == depot_ids  # every depot has drones
    assert set(scenario.profiles) <= set(builtin_profile_names())
    assert Counter(d.profile for d in scenario.fleet).most_common(1)[0][0] == "delivery-quad"
    for drone in scenario.fleet:
        assert scenario.profile_for(drone).name == drone.profile


def _profiles_at(scenario: Scenario, order: Order) -> list[str]:
    return sorted({d.profile for d in scenario.drones_at(order.depot_id)})


def _kinds(scenario: Scenario) -> dict[str, list[str]]:
    """Sort every order into what makes it infeasible (or routed), judged geometrically."""
    area, zones = _area(scenario), _constraining(scenario)
    kinds: dict[str, list[str]] = {}
    for o in scenario.orders:
        depot = scenario.depot_by_id(o.depot_id)
        drop = _xy(o.dropoff)
        found = []
        if depot is None:
            found.append("unknown_depot")
        if all(o.payload_kg > p.max_payload_kg for p in scenario.profiles.values()):
            found.append("payload")
        found += [f"inside:{zid}" for zid, s in zones.items() if s.contains(drop)]
        if not area.contains(drop):
            found.append("outside_area")
        if depot is not None and not found:
            dist = geodesic_m(depot.position, o.dropoff)
            profiles = [scenario.profiles[n] for n in _profiles_at(scenario, o)]
            if all(dist > max_range_m(p, o.payload_kg) for p in profiles):
                found.append("energy")
            line = LineString([_xy(depot.position), drop])
            found += [f"around:{zid}" for zid, s in zones.items() if s.intersects(line)]
            fastest = max(p.cruise_speed_ms for p in profiles)
            if o.due_s is not None and o.due_s - o.created_s < dist / fastest:
                found.append("deadline")
        for kind in found or ["plain"]:
            kinds.setdefault(kind, []).append(o.id)
    return kinds


def test_there_are_infeasible_orders_of_each_kind(scenario: Scenario) -> None:
    kinds = _kinds(scenario)
    for kind in ("unknown_depot", "payload", "outside_area", "energy", "deadline"):
        assert kinds.get(kind), f"no order infeasible by {kind}"
    for zone in ("yscb", "amc", "canberra-hospital-hls", "parliament-house", "gio-stadium"):
        assert kinds.get(f"inside:{zone}"), f"no drop-off inside {zone}"
    assert len(kinds["plain"]) >= 40  # most orders are ordinary, flyable deliveries


def test_some_orders_must_route_around_the_airport_and_parliament(scenario: Scenario) -> None:
    kinds = _kinds(scenario)
    for zone in ("yscb", "parliament-house", "amc", "gio-stadium"):
        assert kinds.get(f"around:{zone}"), f"no straight line crosses {zone}"


def test_the_energy_infeasible_orders_are_inside_the_area_and_far(scenario: Scenario) -> None:
    area = _area(scenario)
    for order_id in _kinds(scenario)["energy"]:
        (order,) = [o for o in scenario.orders if o.id == order_id]
        depot = scenario.depot_by_id(order.depot_id)
        assert depot is not None and area.contains(_xy(order.dropoff))
        assert geodesic_m(depot.position, order.dropoff) > 16_000.0


def test_orders_file_notes_agree_with_the_geometry(scenario: Scenario) -> None:
    """The note column tells people why an order exists; keep it honest."""
    with (CANBERRA / "orders.csv").open(encoding="utf-8") as fh:
        notes = {row["id"]: row["note"] for row in csv.DictReader(fh)}
    by_order: dict[str, set[str]] = {}
    for kind, ids in _kinds(scenario).items():
        for oid in ids:
            by_order.setdefault(oid, set()).add(kind)
    for oid, note in notes.items():
        if "inside " in note:
            assert f"inside:{note.rsplit('inside ', 1)[1]}" in by_order[oid], oid
        if "routes around" in note:
            assert f"around:{note.rsplit('routes around ', 1)[1]}" in by_order[oid], oid
        if "no such depot" in note:
            assert "unknown_depot" in by_order[oid], oid
        if "outside the operating area" in note:
            assert "outside_area" in by_order[oid], oid
        if "too far for the battery" in note:
            assert "energy" in by_order[oid], oid
        if not note.count(";"):  # just the place: an ordinary delivery
            assert by_order[oid] == {"plain"}, oid
        if "payload above" in note:
            assert "payload" in by_order[oid], oid
