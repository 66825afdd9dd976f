"""Routing benchmark: 1,000 orders from one depot over 200 random no-fly zones.

A seeded airspace around a Canberra depot: 200 zones (star-shaped polygons and circles, some
with altitude bands, none over the depot) within ~15 km, inside a ~17 km operating area.
1,000 drop-offs lie within 15 km of the depot. ``planner.route.Router`` plans every order on
one core; then extremitypathfinder (an independent visibility-graph implementation, the test
oracle) is fed the same free space and answers the same queries, for time and length.

Run: ``python -m bench route`` (``--help`` for options). Prints figures, asserts nothing.
Times are CPU seconds of this process (what one core spent), with wall clock beside them.
Without numba installed, extremitypathfinder runs its pure-Python fallback: expect ~1.5 min
to prepare and ~0.2 s per query, ~5 min for the whole run (``--oracle-orders 50`` for less).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.polygon import orient

from planner.geo import LocalFrame, destination
from planner.model import Airspace, LatLon, NoFlyZone
from planner.route import Route, RouteFailure, Router

__all__ = ["BenchSetup", "main", "make_airspace", "make_dropoffs"]

DEPOT = LatLon(-35.2809, 149.1300)
"""Canberra city centre."""
CRUISE_ALT_M = 60.0
MARGIN_M = 30.0


@dataclass(frozen=True)
class BenchSetup:
    """What one run plans: the airspace and the drop-offs, all from one depot."""

    airspace: Airspace
    dropoffs: tuple[LatLon, ...]


def _star(
    rng: random.Random, centre: LatLon, n: int, r_min: float, r_max: float
) -> tuple[LatLon, ...]:
    frame = LocalFrame(centre)
    step = 2 * math.pi / n
    phase = rng.uniform(0, step)
    points = []
    for k in range(n):
        angle = phase + step * (k + rng.uniform(-0.3, 0.3))
        radius = rng.uniform(r_min, r_max)
        points.append(frame.to_latlon(radius * math.cos(angle), radius * math.sin(angle)))
    return tuple(points)


def _zone(rng: random.Random, k: int, radius_m: float) -> NoFlyZone:
    at = destination(DEPOT, rng.uniform(0, 360), rng.uniform(1500, radius_m))
    floor, ceiling = 0.0, math.inf
    if rng.random() < 0.15:
        floor, ceiling = rng.choice([(0.0, 40.0), (100.0, math.inf), (150.0, 300.0)])
    if rng.random() < 0.4:
        return NoFlyZone(
            f"c{k}",
            f"circle {k}",
            circle_center=at,
            circle_radius_m=rng.uniform(50, 400),
            floor_m=floor,
            ceiling_m=ceiling,
        )
    ring = _star(rng, at, rng.randint(3, 9), 80.0, 500.0)
    return NoFlyZone(f"p{k}", f"polygon {k}", (ring,), floor_m=floor, ceiling_m=ceiling)


def make_airspace(seed: int, zones: int = 200, radius_m: float = 15_000.0) -> Airspace:
    """``zones`` random zones within ``radius_m`` of the depot, inside an operating area."""
    rng = random.Random(seed)
    area = _star(rng, DEPOT, 12, radius_m + 1500.0, radius_m + 3000.0)
    return Airspace(zones=tuple(_zone(rng, k, radius_m) for k in range(zones)), operating_area=area)


def make_dropoffs(seed: int, orders: int = 1000, radius_m: float = 15_000.0) -> tuple[LatLon, ...]:
    """``orders`` drop-offs spread evenly over the disc of ``radius_m`` around the depot."""
    rng = random.Random(seed + 1)
    return tuple(
        destination(DEPOT, rng.uniform(0, 360), radius_m * math.sqrt(rng.random()))
        for _ in range(orders)
    )


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since ``t``: CPU is what one core spent, whatever the load."""
    now = _clock()
    return now[0] - t[0], now[1] - t[1]


def _time_router(
    setup: BenchSetup,
) -> tuple[Router, list[Route | RouteFailure], dict[str, float]]:
    f: dict[str, float] = {}
    t = _clock()
    router = Router(setup.airspace, margin_m=MARGIN_M)
    f["prepare_wall_s"], f["prepare_cpu_s"] = _since(t)
    t = _clock()
    graph = router.graph_for(CRUISE_ALT_M)
    f["graph_wall_s"], f["graph_cpu_s"] = _since(t)
    f.update(vertices=len(graph.vertices), edges=graph.edge_count)
    results: list[Route | RouteFailure] = []
    wall: list[float] = []
    cpu: list[float] = []
    for goal in setup.dropoffs:
        t = _clock()
        results.append(router.route(DEPOT, goal, CRUISE_ALT_M))
        w, c = _since(t)
        wall.append(w)
        cpu.append(c)
    f.update(
        total_wall_s=sum(wall),
        total_cpu_s=sum(cpu),
        first_ms=cpu[0] * 1e3,
        p50_ms=statistics.median(cpu) * 1e3,
        p95_ms=statistics.quantiles(cpu, n=20)[-1] * 1e3,
        max_ms=max(cpu) * 1e3,
    )
    return router, results, f


def _oracle(router: Router, queries: list[tuple[LatLon, Route]]) -> dict[str, float]:
    from extremitypathfinder import PolygonEnvironment

    depot = Point(router.frame.to_xy(DEPOT))
    free = router.prepared.free_space(router.active_indices(CRUISE_ALT_M))
    parts = [p for p in getattr(free, "geoms", [free]) if isinstance(p, Polygon)]
    part = orient(next(p for p in parts if p.covers(depot)), sign=1.0)
    env = PolygonEnvironment()
    t = _clock()
    env.store(
        list(part.exterior.coords)[:-1],
        [list(r.coords)[:-1] for r in part.interiors],
        validate=False,
    )
    prepare_wall_s, prepare_cpu_s = _since(t)
    worst, times, missing, invalid = 0.0, [], 0, 0
    allowed = part.buffer(0.01)
    shapely.prepare(allowed)

    def inside(path: list[tuple[float, float]]) -> bool:
        return all(allowed.covers(LineString(path[k : k + 2])) for k in range(len(path) - 1))

    for goal, route in queries:
        t = _clock()
        path, length = env.find_shortest_path(
            (depot.x, depot.y), router.frame.to_xy(goal), verify=False
        )
        times.append(_since(t)[1])
        if length is None:
            missing += 1
            continue
        # extremitypathfinder is fooled by collinear vertices (seams of overlapping zones)
        # and can slide through a zone: such answers are counted, not compared.
        if not inside(path):
            invalid += 1
            continue
        worst = max(worst, abs(route.length_m - length) / max(length, 1e-9))
    return {
        "prepare_wall_s": prepare_wall_s,
        "prepare_cpu_s": prepare_cpu_s,
        "query_ms": statistics.fmean(times) * 1e3 if times else 0.0,
        "max_rel_diff": worst,
        "missing": missing,
        "invalid": invalid,
        "queries": len(times),
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench route", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--zones", type=int, default=200)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument(
        "--oracle-orders",
        type=int,
        default=None,
        help="how many of the routed orders extremitypathfinder also answers (default: all)",
    )
    parser.add_argument("--no-oracle", action="store_true", help="skip extremitypathfinder")
    # ``python -m bench route ...`` may hand over options meant for other benchmarks.
    args, _ = parser.parse_known_args(argv)
    return args


def _print_router(
    args: argparse.Namespace, results: list[Route | RouteFailure], f: dict[str, float]
) -> None:
    n = len(results)
    print(
        f"airspace: {args.zones} zones (seed {args.seed}), margin {MARGIN_M:g} m, cruise "
        f"{CRUISE_ALT_M:g} m; graph {f['vertices']:.0f} vertices, {f['edges']:.0f} edges"
    )
    print("times are CPU seconds of this process (one core); wall clock in brackets")
    print(
        f"graph build: {f['build_cpu_s']:.3f} s [{f['prepare_wall_s'] + f['graph_wall_s']:.3f}] "
        f"= airspace {f['prepare_cpu_s']:.3f} s + visibility graph {f['graph_cpu_s']:.3f} s"
    )
    print(
        f"orders: {n} in {f['total_cpu_s']:.3f} s [{f['total_wall_s']:.3f}] = "
        f"{n / f['total_cpu_s']:.0f} orders/s [{n / f['total_wall_s']:.0f}]; "
        f"{f['mean_ms']:.3f} ms/order [{f['total_wall_s'] / n * 1e3:.3f}] "
        f"(p50 {f['p50_ms']:.3f}, p95 {f['p95_ms']:.3f}, max {f['max_ms']:.3f}; the first, "
        f"which grows the depot's shortest-path tree, {f['first_ms']:.1f})"
    )
    outcomes = Counter(
        "route" if isinstance(r, Route) else "+".join(sorted({x.rule.value for x in r.reasons}))
        for r in results
    )
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))


def _print_oracle(o: dict[str, float], f: dict[str, float]) -> None:
    print(
        f"extremitypathfinder prepare: {o['prepare_cpu_s']:.3f} s [{o['prepare_wall_s']:.3f}] "
        f"= {o['prepare_cpu_s'] / f['build_cpu_s']:.0f}x our graph build"
    )
    print(
        f"extremitypathfinder query: {o['query_ms']:.3f} ms/order "
        f"= {o['query_ms'] / f['mean_ms']:.0f}x ours"
    )
    print(
        f"max relative length difference: {o['max_rel_diff']:.2e} over "
        f"{o['queries'] - o['missing'] - o['invalid']:.0f} orders; the oracle found no path for "
        f"{o['missing']:.0f} and a path through a zone for {o['invalid']:.0f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Plan the orders with the router and the oracle; print the figures."""
    args = _parse(argv)
    setup = BenchSetup(make_airspace(args.seed, args.zones), make_dropoffs(args.seed, args.orders))
    router, results, f = _time_router(setup)
    f["build_cpu_s"] = f["prepare_cpu_s"] + f["graph_cpu_s"]
    f["mean_ms"] = f["total_cpu_s"] / len(results) * 1e3
    _print_router(args, results, f)
    if args.no_oracle:
        return
    routed = [(g, r) for g, r in zip(setup.dropoffs, results, strict=True) if isinstance(r, Route)]
    queries = routed if args.oracle_orders is None else routed[: args.oracle_orders]
    print(f"extremitypathfinder: the same free space, {len(queries)} routed orders ...", flush=True)
    _print_oracle(_oracle(router, queries), f)


if __name__ == "__main__":
    main()
