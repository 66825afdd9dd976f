"""The dispatch benchmark's day, online simulation and offline baseline behave: a small day
with the real planner over Canberra, end to end (the benchmark itself only prints)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace

import pytest

from bench.bench_dispatch import (
    DEPOTS,
    GROUND,
    ROOT,
    _solve_depot,
    make_day,
    make_fleet,
    run_online,
)
from planner.dispatch import Dispatcher, planner_plan_fn
from planner.dispatch_options import dropoff_offset_s
from planner.load import load_scenario
from planner.plan import Planner


@pytest.fixture(scope="module")
def world():
    scenario = load_scenario(ROOT / "missions" / "scenarios" / "canberra")
    return scenario, Planner(scenario.airspace, scenario.depots)


def _online(world, orders, seed: int):
    scenario, planner = world
    drones = make_fleet(scenario.profiles["delivery-quad"], 2)
    models = [replace(GROUND["online-tight"], depot_id=d) for d in DEPOTS]
    disp = Dispatcher(drones, models, planner_plan_fn(planner), seed=seed,
                      start_s=orders[0].created_s)
    return disp, run_online(orders, disp)


def test_a_small_day_is_delivered_on_time_and_the_same_way_twice(world) -> None:
    scenario, _ = world
    orders = make_day(scenario, 60, seed=11)
    assert len({o.id for o in orders}) == 60
    assert all(o.depot_id in DEPOTS for o in orders)
    disp, result = _online(world, orders, seed=3)
    by_id = {o.id: o for o in orders}
    assert result.delivered and result.on_time == len(result.delivered)
    assert all(0.0 < t <= disp.promise_s for t in result.delivered.values())
    flown = defaultdict(list)
    for s in disp.history:
        assert s.launch_s >= by_id[s.order_id].created_s
        flown[s.drone_id].append((s.turnaround_start_s, s.land_s))
    for intervals in flown.values():
        for a, b in itertools.pairwise(sorted(intervals)):
            assert b[0] >= a[1] - 1e-6
    _, again = _online(world, orders, seed=3)
    assert again.delivered == result.delivered


def test_the_offline_baseline_respects_windows_and_chains_sorties(world) -> None:
    scenario, planner = world
    profile = scenario.profiles["delivery-quad"]
    orders = [o for o in make_day(scenario, 80, seed=5) if o.depot_id == DEPOTS[0]]
    plans = {o.id: planner.plan(o, profile) for o in orders}
    feasible = [o for o in orders if plans[o.id].feasible]
    chosen = _solve_depot(feasible, plans, 2, 1800.0, 60.0, limit_s=2.0)
    assert chosen
    per_drone = defaultdict(list)
    for order, launch_s, drone in chosen:
        plan = plans[order.id].plan
        assert plan is not None
        assert launch_s >= order.created_s - 1.0
        assert launch_s + dropoff_offset_s(plan) <= order.created_s + 1800.0 + 1.0
        per_drone[drone].append((launch_s, launch_s + plan.flight_time_s + 60.0))
    for intervals in per_drone.values():
        for a, b in itertools.pairwise(sorted(intervals)):
            assert b[0] >= a[1] - 1.0
