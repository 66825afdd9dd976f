"""Generating a scenario: a city-sized delivery day from a handful of numbers and a seed.

``generate_day`` turns a ``DaySpec`` (N depots, M drones, K orders, a demand curve, a mix of
vehicle profiles) and an ``Airspace`` into a ``Scenario``; the same spec and airspace give the
same scenario. Depots are spread over the free part of the operating area (k-means centres of
random points, snapped to free points) and drop-offs are drawn uniformly over it, served by the
nearest depot, at a distance the depot's profiles can fly with the payload (most orders are
feasible; a route bent round zones can still be too long). Every depot and drop-off lies
outside every zone, whatever its altitude band, by the safety margin, and inside the operating
area by the margin. Without an operating area one is derived: the depots go round the zones,
and the area is their hull widened by the profiles' reach.

The only file I/O is ``dump_scenario``, which writes a folder ``planner.load.load_scenario``
reads back.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPoint, box
from shapely.geometry.base import BaseGeometry

from planner.airspace import MAX_MARGIN_M, PreparedAirspace
from planner.energy import max_range_m
from planner.errors import InvalidInput
from planner.generate_demand import DEMAND_CURVES, arrival_times_s, demand_weights
from planner.load import MAX_SYSID
from planner.model import Airspace, Depot, LatLon, Order
from planner.scenario import DEFAULT_PROMISE_S, Drone, Scenario
from planner.vehicle import VehicleProfile

__all__ = [
    "DEMAND_CURVES",
    "DaySpec",
    "ProfileShare",
    "airspace_with_area",
    "check_spec",
    "demand_weights",
    "depots_json",
    "dump_scenario",
    "fleet_json",
    "generate_day",
    "orders_csv",
    "scenario_json",
]

SLACK_M = 5.0
"""Extra room kept from zones and the area's edge beyond the margin: the planner projects the
airspace in a frame of its own and the files round positions to 1e-6 degrees (0.1 m)."""
REACH_FRACTION = 0.85
"""Drop-offs are drawn within this share of the straight out-and-back range, leaving room for
routes bent round zones."""
DERIVED_PAD_M = 5_000.0
"""Without an operating area, depots go within this distance of the zones' bounding box."""
MIN_SAMPLE_RATIO = 1e-4
"""Below this share of free space in the sampling box, the region is refused as too small."""
TRIES_PER_ORDER = 200
"""Drop-offs tried per order before one out of reach is kept (a far-flung depot)."""
SCHEDULED_SHARE = 0.1
"""Share of orders with their own due time, an hour after ordering (scheduled deliveries)."""
PRIORITY_SHARE = 0.1
"""Share of orders with priority 1."""
PAYLOAD_MEDIAN_KG = 0.9
PAYLOAD_SIGMA = 0.6
"""Parcel mass is log-normal (median, sigma of its log), truncated to 0.1 kg..the depot's
largest lift: most parcels are light, a few near the limit."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ProfileShare:
    """One vehicle type of the fleet mix and its share (a weight, not necessarily a fraction)."""

    profile: VehicleProfile
    weight: float


@dataclass(frozen=True, slots=True)
class DaySpec:
    """What to generate. Field names match the ``scenario generate`` options they come from."""

    depots: int
    drones: int
    orders: int
    profiles: tuple[ProfileShare, ...]
    seed: int = 0
    start_s: float = 11 * 3600.0
    """First moment orders may be placed, scenario clock seconds (11:00)."""
    demand: tuple[float, ...] = field(default_factory=lambda: demand_weights("lunch", 11.0, 4))
    """Weight of each hour of the day from ``start_s``; its length is the day's hours."""
    ground_alt_amsl_m: float = 0.0
    """Ground altitude of every depot above mean sea level (no terrain model here)."""
    margin_m: float = 30.0
    """Room kept from every zone and inside the operating area's edge, metres."""
    promise_s: float = DEFAULT_PROMISE_S
    name: str = "generated"
    description: str = ""


def check_spec(spec: DaySpec) -> None:
    """Refuse a spec that cannot make a scenario; the field is the option's name.

    Raises:
        InvalidInput: negative or zero counts, fewer drones than depots, more drones than
            MAVLink system ids, no profiles or weights, a bad demand curve or margin.
    """
    for name, value, least in (("depots", spec.depots, 1), ("drones", spec.drones, 1),
                               ("orders", spec.orders, 1)):
        if value < least:
            raise InvalidInput(name, f"must be >= {least}, got {value}")
    if spec.drones < spec.depots:
        raise InvalidInput("drones", f"{spec.drones} drones cannot staff {spec.depots} depots "
                                     "(at least one each)")
    if spec.drones > MAX_SYSID:
        raise InvalidInput("drones", f"at most {MAX_SYSID} (each needs its own MAVLink sysid "
                                     f"1..{MAX_SYSID}; 255 is the ground station), got "
                                     f"{spec.drones}")
    if not spec.profiles or any(not s.weight >= 0 for s in spec.profiles) or not sum(
            s.weight for s in spec.profiles) > 0:
        raise InvalidInput("profiles", "give at least one profile with a weight > 0, and no "
                                       "negative weights")
    if not spec.demand or any(not (math.isfinite(w) and w >= 0) for w in spec.demand) or not sum(
            spec.demand) > 0:
        raise InvalidInput("demand", "hourly weights must be finite, >= 0 and not all 0")
    if not 0 <= spec.margin_m <= MAX_MARGIN_M:
        raise InvalidInput("margin", f"must be within 0..{MAX_MARGIN_M:g} m, got {spec.margin_m}")
    if not -500.0 <= spec.ground_alt_amsl_m <= 9000.0:
        raise InvalidInput("ground-alt", f"{spec.ground_alt_amsl_m:g} m is not a ground altitude")


# --- places ----------------------------------------------------------------------------------


def _zones_union(prepared: PreparedAirspace) -> BaseGeometry | None:
    """Every zone inflated by the margin, whatever its band (a depot must not sit under one)."""
    if not prepared.zones:
        return None
    return shapely.unary_union([z.inflated for z in prepared.zones]).buffer(SLACK_M)


def _free_region(prepared: PreparedAirspace, outer: BaseGeometry) -> BaseGeometry:
    """``outer`` less the zones, shrunk by the slack: where depots and drop-offs may be."""
    region = outer.buffer(-SLACK_M)
    zones = _zones_union(prepared)
    region = region if zones is None else region.difference(zones)
    if region.is_empty:
        raise InvalidInput("zones", "no free room: the zones cover the whole operating area")
    shapely.prepare(region)
    return region


def _sample(region: BaseGeometry, count: int, rng: np.random.Generator) -> FloatArray:
    """``count`` points drawn uniformly in ``region`` (rejection in its bounding box)."""
    west, south, east, north = region.bounds
    ratio = max(region.area / max((east - west) * (north - south), 1e-9), MIN_SAMPLE_RATIO)
    found: list[FloatArray] = []
    have, rounds = 0, 0
    while have < count:
        rounds += 1
        if rounds > 50:
            raise InvalidInput("zones", "too little free room to place depots and drop-offs")
        batch = int(min(2_000_000, (count - have) / ratio * 1.3 + 64))
        xs, ys = rng.uniform(west, east, batch), rng.uniform(south, north, batch)
        keep = shapely.contains_xy(region, xs, ys)
        found.append(np.column_stack([xs[keep], ys[keep]]))
        have += int(keep.sum())
    return np.concatenate(found)[:count]


def _spread(candidates: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    """``k`` of the candidates spread over them: k-means centres, each snapped to the nearest
    candidate not yet taken (a centre may fall inside a zone; a candidate never does)."""
    centres = candidates[rng.choice(len(candidates), size=k, replace=False)].copy()
    for _ in range(25):
        nearest = _nearest(candidates, centres)
        for j in range(k):
            members = candidates[nearest == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    taken: set[int] = set()
    chosen = []
    for centre in centres:
        order = np.argsort(np.hypot(*(candidates - centre).T), kind="stable")
        pick = next(int(i) for i in order if int(i) not in taken)
        taken.add(pick)
        chosen.append(candidates[pick])
    return np.array(chosen)


def _nearest(points: FloatArray, centres: FloatArray) -> npt.NDArray[np.intp]:
    """Index of the nearest centre for each point."""
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1)


def _longest_reach_m(spec: DaySpec) -> float:
    """The mix's longest drop-off distance with a 1 kg parcel, kept to ``REACH_FRACTION``."""
    return REACH_FRACTION * max(
        max_range_m(s.profile, min(1.0, s.profile.max_payload_kg), tolerance_m=10.0)
        for s in spec.profiles)


def _derived_area(prepared: PreparedAirspace, depots_xy: FloatArray, reach_m: float
                  ) -> tuple[LatLon, ...]:
    """An operating area round the depots: their hull widened by the reach, simplified."""
    hull = MultiPoint([tuple(p) for p in depots_xy]).convex_hull
    area = hull.buffer(reach_m, quad_segs=4).simplify(50.0)
    xs, ys = np.asarray(area.exterior.coords).T
    lats, lons = prepared.frame.to_latlon_array(xs[:-1], ys[:-1])
    return tuple(LatLon(round(float(a), 6), round(float(o), 6)) for a, o in zip(lats, lons,
                                                                               strict=True))


def _place_depots(spec: DaySpec, airspace: Airspace, rng: np.random.Generator
                  ) -> tuple[Airspace, tuple[Depot, ...]]:
    """The depots, and the airspace with its operating area (derived when it had none)."""
    prepared = PreparedAirspace(airspace, spec.margin_m)
    if prepared.area is not None:
        outer: BaseGeometry = prepared.area
    else:
        zones = _zones_union(prepared)
        if zones is None:
            raise InvalidInput("zones", "no zones and no operating area: nowhere to put depots")
        outer = box(*zones.bounds).buffer(DERIVED_PAD_M, join_style="mitre")
    region = _free_region(prepared, outer)
    spots = _spread(_sample(region, max(2000, 60 * spec.depots), rng), spec.depots, rng)
    spots = spots[np.lexsort((spots[:, 0], -spots[:, 1]))]  # ids from north to south
    if airspace.operating_area is None:
        area = _derived_area(prepared, spots, _longest_reach_m(spec))
        airspace = replace(airspace, operating_area=area)
    lats, lons = prepared.frame.to_latlon_array(spots[:, 0], spots[:, 1])
    width = len(str(spec.depots))
    depots = tuple(
        Depot(f"d{i + 1:0{width}d}", LatLon(round(float(lat), 6), round(float(lon), 6)),
              spec.ground_alt_amsl_m, f"Depot {i + 1}")
        for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)))
    return airspace, depots


# --- fleet -----------------------------------------------------------------------------------


def _profile_sequence(spec: DaySpec) -> list[VehicleProfile]:
    """``spec.drones`` profiles in the mix's proportions, interleaved (smooth weighted round
    robin: with 3:1, three of the first and then one of the second, over and over)."""
    total = sum(s.weight for s in spec.profiles)
    credit = [0.0] * len(spec.profiles)
    picked = []
    for _ in range(spec.drones):
        credit = [c + s.weight for c, s in zip(credit, spec.profiles, strict=True)]
        best = max(range(len(credit)), key=lambda i: (credit[i], -i))
        credit[best] -= total
        picked.append(spec.profiles[best].profile)
    return picked


def _fleet(spec: DaySpec, depots: Sequence[Depot]) -> tuple[Drone, ...]:
    """M drones shared out over the depots (the first depots get one more when M % N), their
    profiles handed round depot by depot so every depot's first drone comes first in the mix;
    listed depot by depot with sysids 1..M in that order (the simulator wants them so)."""
    per_depot = [spec.drones // len(depots) + (i < spec.drones % len(depots))
                 for i in range(len(depots))]
    sequence = iter(_profile_sequence(spec))
    slots: dict[int, list[VehicleProfile]] = {i: [] for i in range(len(depots))}
    for rank in range(max(per_depot)):
        for i, count in enumerate(per_depot):
            if rank < count:
                slots[i].append(next(sequence))
    drones: list[Drone] = []
    for i, depot in enumerate(depots):
        for j, profile in enumerate(slots[i], 1):
            drones.append(Drone(f"{depot.id}-{j:02d}", profile.name, depot.id, len(drones) + 1,
                                f"{depot.name} {profile.name} {j}"))
    return tuple(drones)


# --- orders ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    """A depot as orders see it: where it is and how far its drones carry each payload."""

    depot: Depot
    xy: tuple[float, float]
    profiles: tuple[VehicleProfile, ...]
    max_lift_kg: float


def _reach_m(base: _Base, payload_kg: float, cache: dict[tuple[str, int], float]) -> float:
    """Longest straight out-and-back drop-off distance of any of the depot's profiles that
    lifts the payload (0 when none does), on a 0.1 kg grid."""
    step = math.ceil(payload_kg * 10.0 - 1e-9)
    best = 0.0
    for p in base.profiles:
        if p.max_payload_kg + 1e-9 >= payload_kg:
            key = (p.name, step)
            if key not in cache:
                cache[key] = max_range_m(p, min(step / 10.0, p.max_payload_kg), tolerance_m=10.0)
            best = max(best, cache[key])
    return best


def _payload_kg(rng: np.random.Generator, max_kg: float) -> float:
    """A parcel mass from the log-normal, redrawn above ``max_kg`` (a few times, then cut)."""
    for _ in range(20):
        kg = float(rng.lognormal(math.log(PAYLOAD_MEDIAN_KG), PAYLOAD_SIGMA))
        if kg <= max_kg:
            break
    return round(min(max(kg, 0.1), max_kg), 2)


def _bases(spec: DaySpec, prepared: PreparedAirspace, depots: Sequence[Depot],
           fleet: Sequence[Drone]) -> list[_Base]:
    by_name = {s.profile.name: s.profile for s in spec.profiles}
    bases = []
    for depot in depots:
        names = dict.fromkeys(d.profile for d in fleet if d.depot_id == depot.id)
        profiles = tuple(by_name[n] for n in names)
        bases.append(_Base(depot, prepared.frame.to_xy(depot.position), profiles,
                           max(p.max_payload_kg for p in profiles)))
    return bases


def _dropoffs(spec: DaySpec, airspace: Airspace, bases: Sequence[_Base],
              rng: np.random.Generator) -> list[tuple[_Base, FloatArray, float]]:
    """For each order: its depot, drop-off (metres) and payload, drawn until within reach."""
    prepared = PreparedAirspace(airspace, spec.margin_m)
    assert prepared.area is not None
    region = _free_region(prepared, prepared.area)
    xy = np.array([b.xy for b in bases])
    cache: dict[tuple[str, int], float] = {}
    pool, used = _sample(region, 4 * spec.orders + 256, rng), 0
    picked = []
    for _ in range(spec.orders):
        for _attempt in range(TRIES_PER_ORDER):
            if used == len(pool):
                pool, used = _sample(region, 4 * spec.orders + 256, rng), 0
            point, used = pool[used], used + 1
            base = bases[int(_nearest(point[None, :], xy)[0])]
            payload = _payload_kg(rng, base.max_lift_kg)
            distance = math.dist(point, base.xy)
            if distance <= REACH_FRACTION * _reach_m(base, payload, cache):
                break
        picked.append((base, point, payload))
    return picked


def _orders(spec: DaySpec, airspace: Airspace, depots: Sequence[Depot],
            fleet: Sequence[Drone], rng: np.random.Generator) -> tuple[Order, ...]:
    """K orders: arrival times by the demand curve, drop-offs within their depot's reach."""
    prepared = PreparedAirspace(airspace, spec.margin_m)
    bases = _bases(spec, prepared, depots, fleet)
    times = arrival_times_s(spec.demand, spec.start_s, spec.orders, rng)
    places = _dropoffs(spec, airspace, bases, rng)
    xs = np.array([p[1][0] for p in places])
    ys = np.array([p[1][1] for p in places])
    lats, lons = prepared.frame.to_latlon_array(xs, ys)
    width = max(4, len(str(spec.orders)))
    orders = []
    for i, (created, (base, _, payload)) in enumerate(zip(times, places, strict=True)):
        scheduled = rng.random() < SCHEDULED_SHARE
        priority = int(rng.random() < PRIORITY_SHARE)
        orders.append(Order(
            f"G{i + 1:0{width}d}", base.depot.id,
            LatLon(round(float(lats[i]), 6), round(float(lons[i]), 6)), payload, created,
            created + 3600.0 if scheduled else None, priority))
    return tuple(orders)


def generate_day(spec: DaySpec, airspace: Airspace) -> Scenario:
    """A scenario from the spec over the airspace's zones; deterministic for a given seed.

    Raises:
        InvalidInput: a bad spec (see ``check_spec``), or an airspace with no free room.
    """
    check_spec(spec)
    rng = np.random.default_rng(spec.seed)
    airspace, depots = _place_depots(spec, airspace, rng)
    fleet = _fleet(spec, depots)
    orders = _orders(spec, airspace, depots, fleet, rng)
    profiles = {s.profile.name: s.profile for s in spec.profiles
                if any(d.profile == s.profile.name for d in fleet)}
    return Scenario(spec.name, depots, airspace, fleet, orders, profiles, spec.promise_s,
                    spec.description)


# --- files -----------------------------------------------------------------------------------


def depots_json(depots: Sequence[Depot]) -> list[dict[str, Any]]:
    """``depots.json``'s content."""
    return [{"id": d.id, "name": d.name, "lat": d.position.lat, "lon": d.position.lon,
             "ground_alt_amsl_m": d.ground_alt_amsl_m} for d in depots]


def fleet_json(drones: Sequence[Drone]) -> dict[str, Any]:
    """``fleet.json``'s content (profiles by built-in name)."""
    return {"drones": [{"id": d.id, "name": d.name, "profile": d.profile, "depot": d.depot_id,
                        "sysid": d.sysid} for d in drones]}


def orders_csv(orders: Sequence[Order]) -> str:
    """``orders.csv``'s text: empty ``due_s`` where the promise applies."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "depot", "lat", "lon", "payload_kg", "created_s", "due_s", "priority"])
    for o in orders:
        writer.writerow([o.id, o.depot_id, f"{o.dropoff.lat:.6f}", f"{o.dropoff.lon:.6f}",
                         f"{o.payload_kg:g}", f"{o.created_s:.0f}",
                         "" if o.due_s is None else f"{o.due_s:.0f}", o.priority or ""])
    return out.getvalue()


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    """``scenario.json``'s content, with the default file names spelled out."""
    return {"name": scenario.name, "description": scenario.description,
            "promise_s": scenario.promise_s,
            "files": {"depots": "depots.json", "airspace": "airspace.geojson",
                      "fleet": "fleet.json", "orders": "orders.csv"}}


def airspace_with_area(geojson: Mapping[str, Any], area: Sequence[LatLon],
                       name: str = "Generated operating area") -> dict[str, Any]:
    """A GeoJSON airspace (parsed) with an operating-area Feature added; the input is kept.

    >>> out = airspace_with_area({"type": "FeatureCollection", "features": []},
    ...                          [LatLon(0.0, 0.0), LatLon(0.0, 1.0), LatLon(1.0, 1.0)])
    >>> out["features"][0]["geometry"]["coordinates"][0][-1]
    [0.0, 0.0]
    """
    ring = [[p.lon, p.lat] for p in area]
    ring.append(ring[0])
    feature = {"type": "Feature", "properties": {"role": "operating_area", "name": name},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    return {**geojson, "features": [*geojson.get("features", []), feature]}


def dump_scenario(folder: str | Path, scenario: Scenario, airspace_text: str,
                  extra_files: Mapping[str, str] | None = None) -> list[Path]:
    """Write a scenario folder: scenario.json, depots.json, fleet.json, orders.csv, the
    airspace GeoJSON as given (``airspace_text``) and any extra files (``vehicle.parm``).

    Returns:
        The files written, in that order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "scenario.json": json.dumps(scenario_json(scenario), indent=2) + "\n",
        "depots.json": json.dumps(depots_json(scenario.depots), indent=2) + "\n",
        "fleet.json": json.dumps(fleet_json(scenario.fleet), indent=2) + "\n",
        "orders.csv": orders_csv(scenario.orders),
        "airspace.geojson": airspace_text,
        **(extra_files or {}),
    }
    paths = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
