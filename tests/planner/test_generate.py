"""Generated days (planner.generate): deterministic, the counts asked for, every place outside
every zone and inside the area, valid ids and sysids, and a folder the loader reads back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.airspace import PreparedAirspace
from planner.errors import InvalidInput
from planner.generate import (
    DaySpec,
    ProfileShare,
    airspace_with_area,
    check_spec,
    dump_scenario,
    generate_day,
)
from planner.generate_demand import arrival_times_s, demand_weights
from planner.load import MAX_SYSID, airspace_from_geojson, check_id, load_json, load_scenario
from planner.model import Airspace, LatLon, NoFlyZone
from planner.scenario import Scenario
from planner.vehicle import builtin_profile

CANBERRA = Path(__file__).resolve().parents[2] / "missions" / "scenarios" / "canberra"
MIX = (ProfileShare(builtin_profile("delivery-quad"), 3.0),
       ProfileShare(builtin_profile("winch-quad"), 1.0))


@pytest.fixture(scope="module")
def zones_text() -> str:
    return (CANBERRA / "airspace.geojson").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def canberra_airspace(zones_text: str) -> Airspace:
    return airspace_from_geojson(load_json(CANBERRA / "airspace.geojson"))


def _spec(**changes: object) -> DaySpec:
    base = DaySpec(6, 15, 120, MIX, seed=3, ground_alt_amsl_m=597.0)
    return replace(base, **changes)  # type: ignore[arg-type]


def assert_places_are_clear(day: Scenario, margin_m: float = 30.0) -> None:
    """Depots and drop-offs: outside every zone (any band) by the margin, inside the area."""
    prepared = PreparedAirspace(day.airspace, margin_m)
    every = range(len(prepared.zones))
    places = [(d.id, d.position) for d in day.depots]
    places += [(o.id, o.dropoff) for o in day.orders]
    for name, position in places:
        x, y = prepared.frame.to_xy(position)
        assert not prepared.zones_containing(x, y, every), name
        assert prepared.in_area(x, y), name


def assert_fleet_is_valid(day: Scenario, spec: DaySpec) -> None:
    assert [d.sysid for d in day.fleet] == list(range(1, spec.drones + 1))
    assert {d.depot_id for d in day.fleet} == {d.id for d in day.depots}
    ids = [d.id for d in day.depots] + [d.id for d in day.fleet] + [o.id for o in day.orders]
    assert all(check_id(i) is None for i in ids)
    assert len(set(ids)) == len(ids)
    for order in day.orders:
        lift = max(day.profile_for(d).max_payload_kg for d in day.drones_at(order.depot_id))
        assert 0 < order.payload_kg <= lift


def test_the_counts_asked_for_and_valid_fleet(canberra_airspace: Airspace) -> None:
    spec = _spec()
    day = generate_day(spec, canberra_airspace)
    assert (len(day.depots), len(day.fleet), len(day.orders)) == (6, 15, 120)
    assert_fleet_is_valid(day, spec)
    assert sorted(len(day.drones_at(d.id)) for d in day.depots) == [2, 2, 2, 3, 3, 3]
    assert {d.profile for d in day.fleet} == {"delivery-quad", "winch-quad"}
    created = [o.created_s for o in day.orders]
    assert created == sorted(created)
    assert spec.start_s <= created[0] and created[-1] < spec.start_s + 4 * 3600


def test_depots_and_dropoffs_outside_every_zone_and_inside_the_area(
        canberra_airspace: Airspace) -> None:
    assert_places_are_clear(generate_day(_spec(), canberra_airspace))


def test_same_seed_same_files_other_seed_other_files(
        canberra_airspace: Airspace, zones_text: str, tmp_path: Path) -> None:
    texts = []
    for n, seed in enumerate((5, 5, 6)):
        paths = dump_scenario(tmp_path / str(n), generate_day(_spec(seed=seed), canberra_airspace),
                              zones_text)
        texts.append({p.name: p.read_bytes() for p in paths})
    assert texts[0] == texts[1]
    assert texts[0]["orders.csv"] != texts[2]["orders.csv"]
    assert texts[0]["depots.json"] != texts[2]["depots.json"]


def test_the_folder_loads_back_as_generated(
        canberra_airspace: Airspace, zones_text: str, tmp_path: Path) -> None:
    day = generate_day(_spec(), canberra_airspace)
    dump_scenario(tmp_path, day, zones_text, {"vehicle.parm": "RTL_ALT 10000\n"})
    loaded = load_scenario(tmp_path)
    assert loaded.depots == day.depots
    assert loaded.fleet == day.fleet
    assert loaded.orders == day.orders
    assert loaded.airspace == day.airspace
    assert dict(loaded.profiles) == dict(day.profiles)
    assert (tmp_path / "vehicle.parm").is_file()


def test_without_an_operating_area_one_is_derived_round_the_depots(
        canberra_airspace: Airspace, tmp_path: Path) -> None:
    zones_only = replace(canberra_airspace, operating_area=None)
    day = generate_day(_spec(depots=4, drones=8, orders=60), zones_only)
    assert day.airspace.operating_area is not None
    assert_places_are_clear(day)
    geojson = load_json(CANBERRA / "airspace.geojson")
    geojson["features"] = [f for f in geojson["features"]
                           if f["properties"].get("role") != "operating_area"]
    data = airspace_with_area(geojson, day.airspace.operating_area)
    assert airspace_from_geojson(data).operating_area == day.airspace.operating_area


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"depots": -1}, "depots", ">= 1"),
    ({"orders": 0}, "orders", ">= 1"),
    ({"depots": 5, "drones": 4}, "drones", "cannot staff"),
    ({"depots": 5, "drones": MAX_SYSID + 1}, "drones", "sysid"),
    ({"profiles": ()}, "profiles", "at least one"),
    ({"profiles": (ProfileShare(builtin_profile(), -1.0),)}, "profiles", "negative"),
    ({"demand": (0.0, 0.0)}, "demand", "not all 0"),
    ({"demand": (1.0, float("nan"))}, "demand", "finite"),
    ({"margin_m": -1.0}, "margin", "within"),
])
def test_a_bad_spec_names_its_field(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_spec(_spec(**changes))
    assert info.value.field == field and words in info.value.problem


def test_zones_that_cover_the_area_are_refused() -> None:
    ring = (LatLon(-35.3, 149.1), LatLon(-35.3, 149.11), LatLon(-35.29, 149.11),
            LatLon(-35.29, 149.1))
    covered = Airspace((NoFlyZone("all", circle_center=LatLon(-35.295, 149.105),
                                  circle_radius_m=5000.0),), ring)
    with pytest.raises(InvalidInput, match="no free room"):
        generate_day(_spec(depots=1, drones=1, orders=1), covered)


def test_demand_curves_peak_where_named() -> None:
    lunch = demand_weights("lunch", 8.0, 14)
    evening = demand_weights("evening", 8.0, 14)
    assert max(range(14), key=lunch.__getitem__) == 4  # 12:00-13:00
    assert max(range(14), key=evening.__getitem__) == 10  # 18:00-19:00
    assert set(demand_weights("flat", 0.0, 5)) == {1.0}
    with pytest.raises(InvalidInput, match="unknown curve"):
        demand_weights("brunch", 8.0, 4)
    times = arrival_times_s([1.0, 0.0, 3.0], 3600.0, 400, np.random.default_rng(0))
    assert not any(2 * 3600 <= t < 3 * 3600 for t in times)
    assert sum(t >= 3 * 3600 for t in times) > 2 * sum(t < 2 * 3600 for t in times)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depots=st.integers(1, 4), extra=st.integers(0, 5), orders=st.integers(1, 25),
       seed=st.integers(0, 2**32 - 1), hours=st.integers(1, 5),
       winch=st.sampled_from([0.0, 1.0, 5.0]))
def test_any_small_day_is_valid_and_clear(
        canberra_airspace: Airspace, depots: int, extra: int, orders: int, seed: int,
        hours: int, winch: float) -> None:
    mix = (ProfileShare(builtin_profile("delivery-quad"), 1.0),
           ProfileShare(builtin_profile("winch-quad"), winch))
    spec = _spec(depots=depots, drones=depots + extra, orders=orders, seed=seed, profiles=mix,
                 demand=demand_weights("day", 9.0, hours))
    day = generate_day(spec, canberra_airspace)
    assert (len(day.depots), len(day.fleet), len(day.orders)) == (depots, depots + extra, orders)
    assert_fleet_is_valid(day, spec)
    assert_places_are_clear(day)
    assert generate_day(spec, canberra_airspace) == day
