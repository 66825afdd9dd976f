"""A small straight-line planner for the dispatcher's unit tests, and checks that it behaves.

The dispatcher only sees the planner through ``PlanFn``; these tests need plans whose numbers
are easy to reason about (flight time and energy proportional to distance). Tests that need
the real planner use ``planner.plan.Planner`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.dispatch_model import DepotModel
from planner.model import (
    Depot,
    FlightPlan,
    Infeasibility,
    LatLon,
    Order,
    PhaseEnergy,
    PlanResult,
    Rule,
)
from planner.vehicle import VehicleProfile

DEPOT_A = Depot("A", LatLon(-35.30, 149.10))
DEPOT_B = Depot("B", LatLon(-35.20, 149.00))
DEPOTS = {"A": DEPOT_A, "B": DEPOT_B}
SPEED_MS = 20.0
CLIMB_S = 30.0
LAND_S = 30.0
HOVER_S = 10.0
BASE_W = 400.0
PAYLOAD_W_PER_KG = 60.0

PROFILE = VehicleProfile(
    name="test-quad", empty_mass_kg=8.0, battery_wh=500.0, usable_fraction=0.9,
    reserve_fraction=0.2, max_payload_kg=2.5, cruise_speed_ms=SPEED_MS, climb_speed_ms=5.0,
    descent_speed_ms=3.0, cruise_alt_agl_m=60.0, ceiling_agl_m=120.0,
)
BIG = VehicleProfile(
    name="test-heavy", empty_mass_kg=12.0, battery_wh=900.0, usable_fraction=0.9,
    reserve_fraction=0.2, max_payload_kg=5.0, cruise_speed_ms=SPEED_MS, climb_speed_ms=5.0,
    descent_speed_ms=3.0, cruise_alt_agl_m=60.0, ceiling_agl_m=120.0,
)


@dataclass(frozen=True)
class FakeDrone:
    id: str
    profile: VehicleProfile
    depot_id: str
    sysid: int = 1


def offset(depot: Depot, east_m: float, north_m: float) -> LatLon:
    """A point ``east_m``/``north_m`` from the depot (flat-earth, fine at these distances)."""
    lat = depot.position.lat + north_m / 111_320.0
    lon = depot.position.lon + east_m / (111_320.0 * math.cos(math.radians(depot.position.lat)))
    return LatLon(lat, lon)


def order(oid: str, depot: str = "A", east_m: float = 3000.0, payload_kg: float = 1.0,
          created_s: float = 0.0, **kw: object) -> Order:
    return Order(oid, depot, offset(DEPOTS[depot], east_m, 0.0), payload_kg, created_s, **kw)


def distance_m(a: LatLon, b: LatLon) -> float:
    dy = (b.lat - a.lat) * 111_320.0
    dx = (b.lon - a.lon) * 111_320.0 * math.cos(math.radians((a.lat + b.lat) / 2))
    return math.hypot(dx, dy)


def fake_plan(o: Order, profile: VehicleProfile, battery_wh: float | None) -> PlanResult:
    """Straight out and back; usable energy is what is in the battery above the unusable part."""
    depot = DEPOTS.get(o.depot_id)
    if depot is None:
        return PlanResult(o, None, (Infeasibility(Rule.UNKNOWN_DEPOT, o.depot_id, "known"),))
    reasons = []
    if o.payload_kg > profile.max_payload_kg:
        reasons.append(Infeasibility(Rule.PAYLOAD, o.payload_kg, profile.max_payload_kg, "kg"))
    d = distance_m(depot.position, o.dropoff)
    leg_s = d / SPEED_MS
    loaded_w = BASE_W + PAYLOAD_W_PER_KG * o.payload_kg
    phases = (
        PhaseEnergy("takeoff_climb", CLIMB_S, loaded_w * CLIMB_S / 3600),
        PhaseEnergy("cruise_out", leg_s, loaded_w * leg_s / 3600, d),
        PhaseEnergy("release_hover", HOVER_S, loaded_w * HOVER_S / 3600),
        PhaseEnergy("cruise_back", leg_s, BASE_W * leg_s / 3600, d),
        PhaseEnergy("descent_land", LAND_S, BASE_W * LAND_S / 3600),
    )
    energy = sum(p.energy_wh for p in phases)
    stored = profile.battery_wh if battery_wh is None else battery_wh
    usable = stored - profile.battery_wh * (1 - profile.usable_fraction)
    left = usable - energy - profile.reserve_wh
    if left < 0:
        reasons.append(Infeasibility(Rule.ENERGY, energy, usable - profile.reserve_wh, "Wh"))
    if reasons:
        return PlanResult(o, None, tuple(reasons))
    plan = FlightPlan(o, depot, profile.name, (depot.position, o.dropoff),
                      (o.dropoff, depot.position), profile.cruise_alt_agl_m, 2 * d,
                      sum(p.duration_s for p in phases), energy, left, phases)
    return PlanResult(o, plan)


def depot_models(pads: int = 4, spares: int = 4, swap_s: float = 120.0, load_s: float = 60.0,
                 rate_w: float = 500.0) -> dict[str, DepotModel]:
    return {k: DepotModel(k, pads, spares, swap_s, load_s, rate_w) for k in DEPOTS}


def test_fake_energy_grows_with_distance_and_payload() -> None:
    near = fake_plan(order("n", east_m=1000), PROFILE, None).plan
    far = fake_plan(order("f", east_m=4000), PROFILE, None).plan
    heavy = fake_plan(order("h", east_m=1000, payload_kg=2.0), PROFILE, None).plan
    assert near is not None and far is not None and heavy is not None
    assert near.energy_wh < far.energy_wh
    assert near.energy_wh < heavy.energy_wh


def test_fake_refuses_a_low_battery_that_a_full_one_allows() -> None:
    o = order("o", east_m=5000)
    full = fake_plan(o, PROFILE, None)
    assert full.feasible and full.plan is not None
    low = fake_plan(o, PROFILE, PROFILE.battery_wh - full.plan.reserve_left_wh - 1.0)
    assert [r.rule for r in low.reasons] == [Rule.ENERGY]
