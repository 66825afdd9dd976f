"""Separated sorties: planned flights as 4D trajectories, conflicts between them, and the
dispatcher resolving them by a cruise layer or a delayed launch.

Flights are planned by the real planner (empty airspace unless a zone is the point) with the
calibrated ``delivery-quad``. What the dispatcher plans is checked with ``flown_apart``, a
brute-force distance written here from the phases' meaning (not the trajectory code): every
pair of flights sampled every 0.25 s on one clock, in a flat-earth frame of its own.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import SortieDay, sortie_days

from planner.dispatch import Dispatcher, planner_plan_fn
from planner.dispatch_codec import decode, encode
from planner.dispatch_delays import PairCache, blocked_delays, first_clear_delay
from planner.dispatch_model import (
    Assign,
    DepotModel,
    FleetDrone,
    OrderPlaced,
    Sortie,
    SortieProgress,
    Tick,
)
from planner.geo import LocalFrame, destination
from planner.model import Airspace, Depot, FlightPlan, LatLon, NoFlyZone, Order
from planner.plan import Planner
from planner.separation import (
    PlannedFlight,
    SeparationRules,
    flight_conflict,
    meets,
    trajectory,
)
from planner.vehicle import builtin_profile

PROFILE = builtin_profile("delivery-quad")
RULES = SeparationRules()
ORIGIN = LatLon(-35.30, 149.10)
DT_S = 0.25


def at(east_m: float, north_m: float) -> LatLon:
    return (
        destination(destination(ORIGIN, 90.0, east_m), 0.0, north_m)
        if north_m
        else destination(ORIGIN, 90.0, east_m)
    )


# ---------------------------------------------------------------- independent brute force


def _xy(points: tuple[LatLon, ...]) -> np.ndarray:
    lat0 = math.radians(ORIGIN.lat)
    return np.array(
        [
            ((p.lon - ORIGIN.lon) * 111_320.0 * math.cos(lat0), (p.lat - ORIGIN.lat) * 110_574.0)
            for p in points
        ]
    )


def _along(xy: np.ndarray, f: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    d = f * cum[-1]
    return np.column_stack([np.interp(d, cum, xy[:, 0]), np.interp(d, cum, xy[:, 1])])


def samples(plan: FlightPlan, launch_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(global step indices, positions x y z) of a descend-release flight every DT_S, from the
    meaning of its phases: climb, cruise out, descend to the release height, hover, climb,
    cruise back, descend, land."""
    cruise, release = plan.cruise_alt_agl_m, PROFILE.release_alt_agl_m
    first = math.ceil(launch_s / DT_S)
    steps = np.arange(first, math.floor((launch_s + plan.flight_time_s) / DT_S) + 1)
    t = steps * DT_S - launch_s
    pos = np.zeros((len(t), 3))
    out_xy, back_xy = _xy(plan.outbound), _xy(plan.inbound)
    start = 0.0
    for phase in plan.phases:
        end = start + phase.duration_s
        m = (t >= start) & (t <= end)
        f = (t[m] - start) / phase.duration_s if phase.duration_s > 0 else np.ones(m.sum())
        name = phase.name
        if name == "cruise_out" or name == "cruise_back":
            pos[m, :2] = _along(out_xy if name == "cruise_out" else back_xy, f)
            pos[m, 2] = cruise
        else:
            where = out_xy[-1] if start > 0 and "release" in name else out_xy[0]
            pos[m, :2] = where
            z = {
                "takeoff": f * cruise,
                "release_descent": cruise - f * (cruise - release),
                "release_hover": np.full(m.sum(), release),
                "release_climb": release + f * (cruise - release),
                "descent": cruise - f * (cruise - PROFILE.land_final_alt_m),
                "landing": PROFILE.land_final_alt_m * (1 - f),
            }[name]
            pos[m, 2] = z
        start = end
    return steps, pos


def flown_apart(
    sorties: list[Sortie], horizontal_m: float, vertical_m: float
) -> list[tuple[str, str, float, float, float]]:
    """Every (order, order, time, horizontal, vertical) where two drones' planned flights are
    closer than both minima at once (the first such time per pair)."""
    tracks = [(s, *samples(s.plan, s.launch_s)) for s in sorties]
    bad = []
    for i, (a, sa, pa) in enumerate(tracks):
        for b, sb, pb in tracks[i + 1 :]:
            if a.drone_id == b.drone_id:
                continue
            common, ia, ib = np.intersect1d(sa, sb, return_indices=True)
            if not len(common):
                continue
            h = np.hypot(*(pa[ia, :2] - pb[ib, :2]).T)
            v = np.abs(pa[ia, 2] - pb[ib, 2])
            close = np.nonzero((h < horizontal_m) & (v < vertical_m))[0]
            if len(close):
                k = close[0]
                bad.append((a.order_id, b.order_id, common[k] * DT_S, h[k], v[k]))
    return bad


# ------------------------------------------------------------------------------- helpers


def dispatch(
    depots: list[Depot],
    drones: dict[str, int],
    orders: list[Order],
    rules: SeparationRules | None = RULES,
    airspace: Airspace | None = None,
) -> tuple[Dispatcher, dict[str, Sortie]]:
    planner = Planner(airspace or Airspace(), depots)
    fleet = [FleetDrone(f"{d}-{i}", PROFILE, d) for d, n in drones.items() for i in range(n)]
    disp = Dispatcher(
        fleet, [DepotModel(d.id) for d in depots], planner_plan_fn(planner), separation=rules
    )
    assigned: dict[str, Sortie] = {}
    for order in sorted(orders, key=lambda o: o.created_s):
        for d in disp.handle(OrderPlaced(order), max(disp.now_s, order.created_s)):
            if isinstance(d, Assign):
                assigned[d.order_id] = d.sortie
    return disp, assigned


def planned(disp: Dispatcher) -> list[Sortie]:
    """Every flight the dispatcher has planned or fixed, once each."""
    return list({s.order_id: s for s in [*disp.history, *disp.schedule()]}.values())


def placed(sortie: Sortie, frame: LocalFrame) -> PlannedFlight:
    path = trajectory(sortie.plan, PROFILE, frame)
    return PlannedFlight(
        sortie.order_id,
        sortie.drone_id,
        sortie.launch_s,
        path,
        RULES.time_buffer_s + path.model_slack_s,
    )


A = Depot("A", ORIGIN)
CROSS_B = Depot("B", at(2000.0, -2000.0))
"""B's route north crosses A's route east 2 km from each depot."""
CROSSING = [Order("east", "A", at(4000.0, 0.0), 1.0), Order("north", "B", at(2000.0, 2000.0), 1.0)]
HEAD_B = Depot("B", at(6000.0, 0.0))
HEAD_ON = [Order("east", "A", at(5000.0, 0.0), 1.0), Order("west", "B", at(1000.0, 0.0), 1.0)]


# ---------------------------------------------------------------------------- trajectories


def test_a_trajectory_follows_the_phases_of_its_plan() -> None:
    plan = Planner(Airspace(), [A]).plan(Order("o", "A", at(3000.0, 0.0), 1.0), PROFILE).plan
    assert plan is not None
    path = trajectory(plan, PROFILE, LocalFrame(ORIGIN))
    assert path.duration_s == pytest.approx(plan.flight_time_s)
    assert path.kinds[0] == "climb" and path.kinds[-1] == "descent"
    climb = plan.phases[0].duration_s
    assert path.position(0.0) == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
    assert path.position(climb)[2] == pytest.approx(plan.cruise_alt_agl_m)
    x, y, _ = path.position(climb + plan.phases[1].duration_s)  # at the drop-off
    assert math.hypot(x - 3000.0, y) < 1.0
    assert path.position(plan.flight_time_s) == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
    # the same positions as the brute force's own reading of the phases, along the cruise
    steps, pos = samples(plan, 0.0)
    mid = len(steps) // 4
    assert np.allclose(path.position(steps[mid] * DT_S)[:2], pos[mid, :2], atol=2.0)


def test_crossing_sorties_conflict_at_the_crossing() -> None:
    _, alone = dispatch([A, CROSS_B], {"A": 1, "B": 1}, CROSSING, rules=None)
    frame = LocalFrame(ORIGIN)
    east, north = placed(alone["east"], frame), placed(alone["north"], frame)
    found = flight_conflict(north, east, RULES, frame)
    assert found is not None and found.kind == "crossing"
    assert found.where.lat == pytest.approx(ORIGIN.lat, abs=0.001)
    assert found.where.lon == pytest.approx(at(2000.0, 0.0).lon, abs=0.001)
    assert flown_apart(list(alone.values()), RULES.horizontal_m, RULES.vertical_m)


def test_head_on_sorties_conflict_and_a_layer_resolves_them() -> None:
    disp, got = dispatch([A, HEAD_B], {"A": 1, "B": 1}, HEAD_ON)
    wait = got["west"].separation
    assert wait is not None and wait.kind == "head-on"
    assert wait.other_order_id == "east" and wait.held_s == 0.0
    assert got["west"].plan.cruise_alt_agl_m == 75.0
    assert not flown_apart(planned(disp), RULES.horizontal_m, RULES.vertical_m)


@pytest.mark.parametrize(
    ("depot_b", "orders"), [(CROSS_B, CROSSING), (HEAD_B, HEAD_ON)], ids=["crossing", "head-on"]
)
def test_without_layers_the_second_launch_waits_until_clear(
    depot_b: Depot, orders: list[Order]
) -> None:
    rules = replace(RULES, layers=0)
    disp, got = dispatch([A, depot_b], {"A": 1, "B": 1}, orders, rules=rules)
    second = got[orders[1].id]
    wait = second.separation
    assert wait is not None and wait.held_s > 0 and wait.held_s % rules.delay_step_s == 0
    assert second.plan.cruise_alt_agl_m == PROFILE.cruise_alt_agl_m
    assert second.launch_s == pytest.approx(got[orders[0].id].launch_s + wait.held_s)
    frame = LocalFrame(ORIGIN)
    first = placed(got[orders[0].id], frame)
    assert not meets(placed(second, frame), first, rules)
    # the smallest step that clears: one step sooner it would still meet
    sooner = replace(second, launch_s=second.launch_s - rules.delay_step_s)
    assert meets(placed(sooner, frame), first, rules)
    assert not flown_apart(planned(disp), rules.horizontal_m, rules.vertical_m)


def test_drones_of_one_depot_take_turns_over_the_pad() -> None:
    orders = [
        Order(f"o{i}", "A", at(3000.0 * math.cos(i), 3000.0 * math.sin(i)), 1.0) for i in range(3)
    ]
    disp, got = dispatch([A], {"A": 3}, orders)
    launches = sorted(s.launch_s for s in got.values())
    assert launches[1] - launches[0] >= 30.0 and launches[2] - launches[1] >= 30.0
    waits = [s.separation for s in got.values() if s.separation is not None]
    assert waits and all(w.kind == "over the depot" for w in waits)
    assert not flown_apart(planned(disp), RULES.horizontal_m, RULES.vertical_m)


def test_a_layer_is_replanned_for_the_zones_at_its_altitude() -> None:
    """A zone from 80 m up lies across the head-on routes: at 100 m both go around it (the
    router counts every zone below the cruise altitude), on the 75 m layer the planner is
    asked again and flies straight under it."""
    box = tuple(
        at(e, n) for e, n in ((2700.0, -300.0), (3300.0, -300.0), (3300.0, 500.0), (2700.0, 500.0))
    )
    airspace = Airspace(zones=(NoFlyZone("z", polygons=(box,), floor_m=80.0, ceiling_m=200.0),))
    around = Planner(airspace, [A, HEAD_B]).plan(HEAD_ON[1], PROFILE).plan
    assert around is not None and len(around.outbound) > 2
    disp, got = dispatch([A, HEAD_B], {"A": 1, "B": 1}, HEAD_ON, airspace=airspace)
    west = got["west"]
    assert west.separation is not None and west.separation.kind == "head-on"
    assert west.plan.cruise_alt_agl_m == 75.0
    assert len(west.plan.outbound) == 2
    assert west.plan.distance_m < around.distance_m - 10.0
    assert not flown_apart(planned(disp), RULES.horizontal_m, RULES.vertical_m)


def test_the_wait_is_kept_in_the_store_codec() -> None:
    _, got = dispatch([A, HEAD_B], {"A": 1, "B": 1}, HEAD_ON)
    assert decode(encode(got["west"])) == got["west"]


# ----------------------------------------------------------------------- delay intervals


def test_blocked_delays_agree_with_the_direct_check() -> None:
    """The exact delay intervals against the direct check at every second of delay: inside
    an interval (away from its ends) the flights meet, outside they do not."""
    _, got = dispatch([A, HEAD_B], {"A": 1, "B": 1}, HEAD_ON, rules=None)
    frame = LocalFrame(ORIGIN)
    east, west = placed(got["east"], frame), placed(got["west"], frame)
    spans = blocked_delays(west, [east], RULES, 900.0)
    assert spans and spans[0][0] <= 0.0
    for d in np.arange(0.0, 900.0, 1.0):
        moved = PlannedFlight(west.key, west.owner, west.launch_s + d, west.path, west.buffer_s)
        inside = any(lo + 0.05 < d < hi - 0.05 for lo, hi in spans)
        outside = all(d < lo - 0.05 or d > hi + 0.05 for lo, hi in spans)
        if inside:
            assert meets(moved, east, RULES), d
        if outside:
            assert not meets(moved, east, RULES), d
    assert first_clear_delay(spans, 5.0) > 0


def _clipped(spans: list[tuple[float, float]], window: float) -> list[tuple[float, float]]:
    return [(max(lo, 0.0), min(hi, window)) for lo, hi in spans]


def test_cached_pair_intervals_are_the_direct_ones_at_any_launch_and_window() -> None:
    """The cache keeps a pair's intervals at every launch difference; moved to a launch and
    cut to a window they are what the direct computation gives there."""
    _, got = dispatch([A, HEAD_B], {"A": 1, "B": 1}, HEAD_ON, rules=None)
    frame = LocalFrame(ORIGIN)
    east, west = placed(got["east"], frame), placed(got["west"], frame)
    cache: PairCache = {}
    seen = 0
    for shift in np.arange(-600.0, 600.0, 37.5):
        moved = PlannedFlight(west.key, west.owner, west.launch_s + shift, west.path,
                              west.buffer_s)
        for window in (60.0, 300.0, 900.0):
            # the same delays blocked within the window (an interval may reach past it)
            direct = _clipped(blocked_delays(moved, [east], RULES, window), window)
            cached = _clipped(blocked_delays(moved, [east], RULES, window, cache), window)
            assert len(cached) == len(direct), (shift, window)
            for got_span, want in zip(cached, direct, strict=True):
                assert got_span == pytest.approx(want, abs=1e-6), (shift, window)
            seen += bool(direct)
    assert seen > 10 and len(cache) == 1  # one pair, computed once


# ------------------------------------------------------------------------------ property


def _sortie_day_dispatch(day: SortieDay, rules: SeparationRules | None) -> Dispatcher:
    drones = {d.id: n for d, n in zip(day.depots, day.drones_per_depot, strict=True)}
    disp, _ = dispatch(list(day.depots), drones, list(day.orders), rules=rules)
    disp.handle(Tick(), disp.now_s + 3600.0)  # everything launched: fixed
    return disp


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sortie_days(max_depots=3, max_drones=3, max_orders=10))
def test_no_two_planned_flights_come_closer_than_the_minima(day: SortieDay) -> None:
    disp = _sortie_day_dispatch(day, RULES)
    flights = planned(disp)
    assert not flown_apart(flights, RULES.horizontal_m, RULES.vertical_m)


def test_the_brute_force_sees_what_an_unseparated_dispatcher_plans() -> None:
    """The property's check can fail: the same dispatcher without separation launches two
    drones of one depot together."""
    orders = (Order("o0", "A", at(3000.0, 0.0), 1.0), Order("o1", "A", at(0.0, 3000.0), 1.0))
    day = SortieDay((A,), (2,), orders)
    assert flown_apart(planned(_sortie_day_dispatch(day, None)), 50.0, 15.0)
    assert not flown_apart(planned(_sortie_day_dispatch(day, RULES)), 50.0, 15.0)


def test_a_flight_running_late_is_met_where_it_will_really_be() -> None:
    """A live estimate moves a fixed sortie's landing 2 minutes later: a launch planned just
    after its planned landing would meet its real descent, so it waits for it."""
    orders = [Order("first", "A", at(3000.0, 0.0), 1.0)]
    disp, got = dispatch([A], {"A": 2}, orders)
    first = got["first"]
    disp.handle(Tick(), first.launch_s + 1.0)
    late_land = first.land_s + 120.0
    disp.handle(SortieProgress(first.drone_id, "first", late_land), first.launch_s + 60.0)
    second = Order("second", "A", at(0.0, 3000.0), 1.0, created_s=first.land_s - 40.0)
    decisions = disp.handle(OrderPlaced(second), second.created_s)
    sortie = next(d.sortie for d in decisions if isinstance(d, Assign))
    assert sortie.drone_id != first.drone_id
    wait = sortie.separation
    assert wait is not None and wait.kind == "over the depot" and wait.held_s > 0
    assert sortie.launch_s > late_land  # not climbing through the late drone's descent
