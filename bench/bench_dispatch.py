"""Dispatch benchmark: a seeded day of orders over Canberra, online dispatcher vs offline VRP.

A day: 20 drones at 2 depots (Canberra's Mitchell and Hume hubs, its real airspace), 1,000
orders from 07:00 to 22:00 following a daily curve (a morning trickle, a lunch peak, a larger
dinner peak), drop-offs spread over the city, parcels mostly light with a few too heavy.

Online: ``planner.dispatch.Dispatcher`` in simulated time; flights take the plan's flight
time, drones report landing when the plan says, and every order gets its answer when it
arrives. Offline: OR-Tools routing with every order known in advance, one order per
sortie, sorties chained per drone (a VRP with time windows: a sortie may launch once the
order exists and must drop off by its due time; an order left out counts as missed). The
offline model is a relaxation: a fresh battery for every sortie after the parcel-loading
time, no pad limits, so it bounds what any online policy could reach.

The hub day is flown a second time with the fleet's flights separated (``separated``: no two
planned flights closer than 50 m / 15 m, launches over a depot's shared pad taken in turn),
as the fleet controller dispatches; the others plan every drone as if it flew alone.

``--scenario DIR`` dispatches a scenario folder's own day instead: its depots, fleet (every
drone with its profile) and orders, e.g. one from ``drone-delivery scenario generate``; the
ground models apply to each of its depots.

Run: ``python -m bench dispatch`` (or ``python bench/bench_dispatch.py --help``). Prints
figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import (
    Assign,
    DepotModel,
    DroneLanded,
    Event,
    FleetDrone,
    OrderPlaced,
    Reject,
    Sortie,
    Tick,
)
from planner.dispatch_options import dropoff_offset_s
from planner.load import load_scenario
from planner.model import LatLon, Order, PlanResult
from planner.plan import Planner
from planner.scenario import Scenario
from planner.separation import SeparationRules
from planner.vehicle import VehicleProfile

__all__ = ["Day", "DayResult", "hub_day", "main", "make_day", "run_offline", "run_online",
           "scenario_day"]

ROOT = Path(__file__).resolve().parents[1]
DEPOTS = ("mitchell", "hume")
DAY_START_S = 7 * 3600.0
DAY_END_S = 22 * 3600.0
SPAN_S = DAY_END_S + 3600.0 - DAY_START_S
"""The working day for utilisation: first order to an hour after the last."""
CURVE = ((0.25, None, None), (0.33, 12.75 * 3600, 50 * 60), (0.42, 18.75 * 3600, 65 * 60))
"""Mixture of the arrival-time density: (weight, peak, spread): uniform, lunch, dinner."""
GROUND = {
    "online": DepotModel("-", pads=10, spare_batteries=20, swap_time_s=120.0,
                         load_time_s=60.0, charge_rate_w=1000.0, park_charging=True),
    "online-tight": DepotModel("-", pads=4, spare_batteries=8, swap_time_s=120.0,
                               load_time_s=60.0, charge_rate_w=400.0),
}
"""Ground resources per depot: a hub with a charging pad per drone (drones charge while
parked) and a rack of fast-charged spares, and a tight one (fewer pads, spares and slower
chargers) to show how the ground bounds the day. The offline baseline ignores batteries and
pads altogether."""


@dataclass
class DayResult:
    """What one way of dispatching made of the day."""

    name: str
    orders: int
    delivered: dict[str, float] = field(default_factory=dict)
    """Order id -> delivery time (drop-off minus order time), seconds."""
    on_time: int = 0
    flight_s: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    decide_ms: list[float] = field(default_factory=list)
    """Wall time of each order's decision (includes waiting for a CPU on a busy machine)."""
    decide_cpu_ms: list[float] = field(default_factory=list)
    """CPU time of each order's decision."""
    all_events_ms: list[float] = field(default_factory=list)
    solve_s: float = 0.0


# ---------------------------------------------------------------------------------- the day


@dataclass(frozen=True)
class Day:
    """What is dispatched: the orders, the drones, their depots and the working span."""

    label: str
    orders: list[Order]
    drones: list[FleetDrone]
    depots: tuple[str, ...]
    span_s: float
    """First order to an hour after the last, for utilisation."""
    start_s: float

    def profiles_at(self, depot: str) -> list[VehicleProfile]:
        """The distinct profiles based at a depot, in fleet order (``plan`` tries them so)."""
        return list({d.profile.name: d.profile for d in self.drones if d.depot_id == depot}
                    .values())

    def per_depot(self) -> dict[str, int]:
        return dict(Counter(d.depot_id for d in self.drones))


def hub_day(scenario: Scenario, n_orders: int, seed: int, per_depot: int) -> Day:
    """The built-in day: ``make_day`` orders, ``per_depot`` delivery-quads at two hubs."""
    profile = scenario.profiles["delivery-quad"]
    label = (f"{n_orders} orders {DAY_START_S / 3600:.0f}:00-{DAY_END_S / 3600:.0f}:00, "
             f"{2 * per_depot} x {profile.name} at {', '.join(DEPOTS)}")
    return Day(label, make_day(scenario, n_orders, seed), make_fleet(profile, per_depot),
               DEPOTS, SPAN_S, DAY_START_S)


def scenario_day(scenario: Scenario) -> Day:
    """A scenario's own day: its orders, fleet and depots."""
    orders = sorted(scenario.orders, key=lambda o: (o.created_s, o.id))
    first, last = orders[0].created_s, orders[-1].created_s
    drones = list(fleet_of(scenario))
    mix = Counter(d.profile.name for d in drones)
    label = (f"scenario {scenario.name}: {len(orders)} orders {_hhmm(first)}-{_hhmm(last)}, "
             f"{len(drones)} drones ({', '.join(f'{n} {p}' for p, n in mix.items())}) at "
             f"{len(scenario.depots)} depots")
    return Day(label, orders, drones, tuple(d.id for d in scenario.depots),
               last + 3600.0 - first, first)


def _hhmm(t_s: float) -> str:
    return f"{int(t_s) // 3600:02d}:{int(t_s) % 3600 // 60:02d}"



def make_day(scenario: Scenario, n_orders: int, seed: int) -> list[Order]:
    """Orders inside the operating area by the daily curve, each from its nearer depot."""
    from shapely.geometry import Point, Polygon

    rng = random.Random(seed)
    depots = [d for d in scenario.depots if d.id in DEPOTS]
    ring = scenario.airspace.operating_area or (
        LatLon(-35.5, 149.0), LatLon(-35.5, 149.27), LatLon(-35.15, 149.27), LatLon(-35.15, 149.0))
    area = Polygon([(p.lon, p.lat) for p in ring])
    west, south, east, north = area.bounds
    orders: list[Order] = []
    while len(orders) < n_orders:
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        if not area.contains(Point(lon, lat)):
            continue  # people order from inside the service area; zones still get some
        point = LatLon(lat, lon)
        created = _arrival_s(rng)
        depot = min(depots, key=lambda d: _km(d.position, point))
        payload = round(min(4.0, max(0.1, rng.lognormvariate(math.log(0.9), 0.6))), 2)
        orders.append(Order(f"D{len(orders):04d}", depot.id, point, payload, round(created, 1)))
    orders.sort(key=lambda o: (o.created_s, o.id))
    return orders


def _arrival_s(rng: random.Random) -> float:
    pick = rng.random()
    for weight, peak, spread in CURVE:
        if pick < weight:
            if peak is None or spread is None:
                return rng.uniform(DAY_START_S, DAY_END_S)
            return min(DAY_END_S, max(DAY_START_S, rng.gauss(peak, spread)))
        pick -= weight
    return rng.uniform(DAY_START_S, DAY_END_S)


def _km(a: LatLon, b: LatLon) -> float:
    dy = (a.lat - b.lat) * 111.32
    dx = (a.lon - b.lon) * 111.32 * math.cos(math.radians(a.lat))
    return math.hypot(dx, dy)


def make_fleet(profile: VehicleProfile, per_depot: int) -> list[FleetDrone]:
    return [FleetDrone(f"{d[:3]}-{i + 1:02d}", profile, d) for d in DEPOTS
            for i in range(per_depot)]


# ------------------------------------------------------------------------------- online


def run_online(orders: Sequence[Order], disp: Dispatcher, name: str = "online") -> DayResult:
    """Simulate the day event by event; flights last exactly their planned time."""
    result = DayResult(name, len(orders))
    queue: list[tuple[float, int, int, Event]] = []
    seq = 0
    for o in orders:
        queue.append((o.created_s, 1, seq, OrderPlaced(o)))
        seq += 1
    heapq.heapify(queue)
    fixed: set[str] = set()
    ticks: set[float] = set()
    sorties: list[Sortie] = []
    while queue:
        now, _, _, event = heapq.heappop(queue)
        started, cpu = time.perf_counter(), time.process_time()
        decisions = disp.handle(event, now)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        result.all_events_ms.append(elapsed_ms)
        if isinstance(event, OrderPlaced):
            result.decide_ms.append(elapsed_ms)
            result.decide_cpu_ms.append((time.process_time() - cpu) * 1000.0)
        for d in decisions:
            if isinstance(d, Reject):
                result.rejected[d.reasons[0].rule.value] += 1
            elif isinstance(d, Assign) and d.sortie.launch_s not in ticks:
                ticks.add(d.sortie.launch_s)
                heapq.heappush(queue, (d.sortie.launch_s, 2, seq := seq + 1, Tick()))
        for s in disp.in_flight():
            if s.order_id not in fixed:
                fixed.add(s.order_id)
                sorties.append(s)
                landed = DroneLanded(s.drone_id, s.landing_wh, order_id=s.order_id)
                heapq.heappush(queue, (s.land_s, 0, seq := seq + 1, landed))
    due = {o.id: o.created_s + disp.promise_s for o in orders}
    created = {o.id: o.created_s for o in orders}
    for s in sorties:
        result.delivered[s.order_id] = s.dropoff_s - created[s.order_id]
        result.on_time += s.dropoff_s <= due[s.order_id] + 1e-6
        result.flight_s += s.land_s - s.launch_s
    return result


# ------------------------------------------------------------------------------ offline


def run_offline(orders: Sequence[Order], plans: dict[str, PlanResult],
                drones_per_depot: int | Mapping[str, int], promise_s: float,
                turnaround_s: float, limit_s: float,
                depots: Sequence[str] = DEPOTS) -> DayResult:
    """Every order known in advance: one VRP with time windows per depot (OR-Tools)."""
    result = DayResult("offline", len(orders))
    for depot in depots:
        mine = [o for o in orders if o.depot_id == depot and plans[o.id].feasible]
        vehicles = (drones_per_depot if isinstance(drones_per_depot, int)
                    else drones_per_depot.get(depot, 0))
        if not mine or not vehicles:
            continue
        started = time.perf_counter()
        chosen = _solve_depot(mine, plans, vehicles, promise_s, turnaround_s,
                              limit_s / len(depots))
        result.solve_s += time.perf_counter() - started
        for order, launch_s, _drone in chosen:
            plan = plans[order.id].plan
            assert plan is not None
            result.delivered[order.id] = launch_s + dropoff_offset_s(plan) - order.created_s
            result.on_time += 1
            result.flight_s += plan.flight_time_s
    for o in orders:
        if not plans[o.id].feasible:
            result.rejected[plans[o.id].reasons[0].rule.value] += 1
    result.rejected["deadline"] = sum(p.feasible for p in plans.values()) - len(result.delivered)
    return result


def _solve_depot(orders: list[Order], plans: dict[str, PlanResult], vehicles: int,
                 promise_s: float, turnaround_s: float, limit_s: float
                 ) -> list[tuple[Order, float, int]]:
    """Nodes are sorties (0 is the start); a visit's time is the launch time.

    Returns:
        (order, launch time, drone number) of every sortie in the solution.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    busy = [0] + [round(plans[o.id].plan.flight_time_s + turnaround_s) for o in orders]  # type: ignore[union-attr]
    manager = pywrapcp.RoutingIndexManager(len(orders) + 1, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = routing.RegisterTransitCallback(
        lambda i, _j: busy[manager.IndexToNode(i)])
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    horizon = int(max([DAY_END_S, *(o.created_s for o in orders)]) + 4 * 3600)
    routing.AddDimension(transit, horizon, horizon, False, "time")
    dim = routing.GetDimensionOrDie("time")
    for node, order in enumerate(orders, start=1):
        plan = plans[order.id].plan
        assert plan is not None
        latest = order.created_s + promise_s - dropoff_offset_s(plan)
        index = manager.NodeToIndex(node)
        dim.CumulVar(index).SetRange(math.ceil(order.created_s), max(
            math.ceil(order.created_s), math.floor(latest)))
        routing.AddDisjunction([index], 1_000_000)
    params = pywrapcp.DefaultRoutingSearchParameters()
    strategies = routing_enums_pb2.FirstSolutionStrategy
    params.first_solution_strategy = strategies.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(int(limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return []
    chosen = []
    for v in range(vehicles):
        index = routing.Start(v)
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node:
                launch_s = float(solution.Min(dim.CumulVar(index)))
                chosen.append((orders[node - 1], launch_s, v))
            index = solution.Value(routing.NextVar(index))
    return chosen


# -------------------------------------------------------------------------------- report


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def report(results: Sequence[DayResult], feasible: int, drones: int,
           span_s: float = SPAN_S) -> None:
    rows = [
        ("orders", lambda r: f"{r.orders}"),
        ("planner-feasible orders", lambda r: f"{feasible}"),
        ("delivered", lambda r: f"{len(r.delivered)}"),
        ("on-time rate (all orders)", lambda r: f"{100.0 * r.on_time / r.orders:.1f} %"),
        ("on-time rate (feasible orders)",
         lambda r: f"{100.0 * r.on_time / max(1, feasible):.1f} %"),
        ("mean delivery time", lambda r: f"{statistics.fmean(r.delivered.values()) / 60:.1f} min"
         if r.delivered else "-"),
        ("p95 delivery time", lambda r: f"{_pct(list(r.delivered.values()), 0.95) / 60:.1f} min"),
        ("deliveries per drone per day", lambda r: f"{len(r.delivered) / drones:.1f}"),
        (f"drone utilisation (airborne, {span_s / 3600:.0f} h)",
         lambda r: f"{100 * r.flight_s / (drones * span_s):.1f} %"),
        ("decision time mean (per order)", lambda r: f"{statistics.fmean(r.decide_ms):.2f} ms"
         if r.decide_ms else "-"),
        ("decision time p95 (per order)", lambda r: f"{_pct(r.decide_ms, 0.95):.2f} ms"
         if r.decide_ms else "-"),
        ("decision time max (per order)", lambda r: f"{max(r.decide_ms):.2f} ms"
         if r.decide_ms else "-"),
        ("decision CPU time p95 (per order)", lambda r: f"{_pct(r.decide_cpu_ms, 0.95):.2f} ms"
         if r.decide_cpu_ms else "-"),
        ("decision CPU time max (per order)", lambda r: f"{max(r.decide_cpu_ms):.2f} ms"
         if r.decide_cpu_ms else "-"),
        ("any event p95 (landings, ticks)", lambda r: f"{_pct(r.all_events_ms, 0.95):.2f} ms"
         if r.all_events_ms else "-"),
        ("solve time", lambda r: f"{r.solve_s:.1f} s" if r.solve_s else "-"),
    ]
    print(f"{'':34}" + "".join(f"{r.name:>16}" for r in results))
    for label, cell in rows:
        print(f"{label:34}" + "".join(f"{cell(r):>16}" for r in results))
    reasons = sorted(set().union(*(r.rejected for r in results)))
    print("not delivered, by first reason (offline: deadline = left out of the routes):")
    for reason in reasons:
        print(f"  {reason:32}" + "".join(f"{r.rejected.get(reason, 0):>16}" for r in results))
    offline = next((r for r in results if r.name == "offline"), None)
    for r in results:
        if offline is not None and r is not offline and offline.on_time:
            print(f"{r.name} on-time / offline on-time: {100 * r.on_time / offline.on_time:.1f} %"
                  " (target >= 90 %)")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench dispatch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--drones-per-depot", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--scenario", type=Path, metavar="DIR",
                        help="dispatch this scenario folder's depots, fleet and orders "
                             "(--orders and --drones-per-depot then do not apply)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="offline solver, s")
    parser.add_argument("--no-offline", action="store_true")
    parser.add_argument("--no-separation", action="store_true",
                        help="skip the day with separated flights (planner.separation)")
    # ``python -m bench dispatch ...`` may hand over its own argv: ignore what is not ours
    args, _ = parser.parse_known_args(argv)
    return args


def plan_all(day: Day, planner: Planner) -> dict[str, PlanResult]:
    """Each order planned as ``drone-delivery plan`` does: its depot's profiles in fleet
    order, the first that can fly it (or the first's reasons)."""
    plans = {}
    for o in day.orders:
        tried = [planner.plan(o, p) for p in day.profiles_at(o.depot_id)]
        plans[o.id] = next((r for r in tried if r.feasible), tried[0])
    return plans


def _describe_run(name: str, model: DepotModel, separation: SeparationRules | None) -> str:
    return (f"{name}: pads {model.pads}, spares {model.spare_batteries}, swap "
            f"{model.swap_time_s:g} s, load {model.load_time_s:g} s, charger "
            f"{model.charge_rate_w:g} W per depot"
            + (", drones charge while parked" if model.park_charging else "")
            + ("" if separation is None else
               f"; flights separated ({separation.horizontal_m:g} m / "
               f"{separation.vertical_m:g} m, {separation.time_buffer_s:g} s buffer, "
               f"{separation.layers} layers)"))


def depot_models(model: DepotModel, day: Day) -> list[DepotModel]:
    """The ground model at every depot; a depot whose drones charge parked gets a pad for
    each of its drones (a scenario may base more drones at a depot than the model has pads)."""
    counts = day.per_depot()
    return [replace(model, depot_id=d, pads=max(model.pads, counts.get(d, 0))
                    if model.park_charging else model.pads) for d in day.depots]


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(argv)
    folder = args.scenario or ROOT / "missions" / "scenarios" / "canberra"
    scenario = load_scenario(folder)
    planner = Planner(scenario.airspace, scenario.depots)
    day = (scenario_day(scenario) if args.scenario else
           hub_day(scenario, args.orders, args.seed, args.drones_per_depot))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times include "
          "waiting for a CPU)")
    print(f"day: {day.label}; promise {scenario.promise_s / 60:.0f} min; seed {args.seed}")
    results = []
    runs: list[tuple[str, DepotModel, SeparationRules | None]] = [
        (name, model, None) for name, model in GROUND.items()]
    if not args.no_separation:
        runs.append(("separated", GROUND["online"], SeparationRules()))
    for name, model, separation in runs:
        print(_describe_run(name, model, separation))
        models = depot_models(model, day)
        disp = Dispatcher(day.drones, models, planner_plan_fn(planner),
                          promise_s=scenario.promise_s, seed=args.seed, start_s=day.start_s,
                          separation=separation)
        started = time.perf_counter()
        results.append(run_online(day.orders, disp, name))
        print(f"  simulated the day in {time.perf_counter() - started:.1f} s wall")
    started = time.perf_counter()  # a fresh planner: the dispatcher's has its routes cached
    plans = plan_all(day, Planner(scenario.airspace, scenario.depots))
    feasible = sum(p.feasible for p in plans.values())
    print(f"planned every order once (fresh planner): {feasible} of {len(plans)} feasible in "
          f"{time.perf_counter() - started:.2f} s wall")
    if not args.no_offline:
        results.append(run_offline(day.orders, plans, day.per_depot(), scenario.promise_s,
                                   GROUND["online"].load_time_s, args.time_limit, day.depots))
    report(results, feasible, len(day.drones), day.span_s)


if __name__ == "__main__":
    main()
