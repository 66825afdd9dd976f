"""Contingency sweep: failsafes injected along routes that bend round each kind of zone.

Every feasible Canberra order whose route passes within 150 m of a zone is a candidate, and
orders made to bend round each zone (a drop-off 400 m past its far side from the two nearest
depots: Canberra's own orders never bend round the hospital's circle). Per zone kind
(airport, hospital, prison, stadium, government) up to ``--orders`` of them are drawn
(seeded). Each is flown on the built-in simulator in lock step
(``sitl.sim.lockstep``) once without a contingency and once per contingency kind and
injection point (``--points`` seeded times along the planned flight). The judge is the true
track: ``planner.clearance`` against every zone within its altitude band.

Prints cases run, incursions (must be 0), the smallest clearance per contingency kind and how
each kind ended (home, or landed where it was). Real ArduCopter SITL flies a handful of the
same cases in the ``sitl`` test tier (tests/sitl/test_contingency_sitl.py).

    python -m bench safety [--orders 2] [--points 6] [--seed 7] [--jobs 2]
"""

from __future__ import annotations

import argparse
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from groundcontrol.cli.plan import plan_scenario
from missions.build import build_mission
from missions.items import Mission
from planner.airspace import PreparedAirspace
from planner.clearance import smallest_clearance, track_clearances
from planner.load import load_scenario
from planner.model import LatLon, Order
from planner.scenario import Scenario
from sitl.airframe import load_airframe
from sitl.sim.lockstep import CONTINGENCIES, fly_lockstep

__all__ = ["Case", "CaseResult", "main", "plan_cases", "run_case", "scenario_missions"]

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "missions" / "scenarios" / "canberra"
PARAMS = ROOT / "sitl" / "params"
MARGIN_M = 30.0


@dataclass(frozen=True)
class Case:
    """One flight of the sweep: an order, a contingency (None: none) and when it hits."""

    order_id: str
    zone_kind: str
    contingency: str | None
    at_fraction: float
    """Of the planned flight time, from the mission start."""


@dataclass(frozen=True)
class CaseResult:
    case: Case
    smallest_m: float | None
    """Smallest signed clearance of the flown track from any zone (None: never near one)."""
    zone_id: str | None
    ended: str
    """"home" (disarmed within 5 m of the depot) or "landed here" (elsewhere)."""
    modes: tuple[str, ...]


def scenario_missions(scenario: Scenario, margin_m: float = MARGIN_M) -> dict[str, Mission]:
    """Every feasible order's mission, planned as ``drone-delivery plan`` plans it."""
    out: dict[str, Mission] = {}
    for planned in plan_scenario(scenario, margin_m=margin_m):
        if planned.result.plan is not None:
            out[planned.result.order.id] = build_mission(
                planned.result.plan, planned.profile, scenario.airspace, depots=scenario.depots
            )
    return out


def behind_zone_orders(scenario: Scenario, beyond_m: float = 400.0) -> tuple[Order, ...]:
    """For every zone that reaches the ground, an order from each of the two nearest depots
    to a drop-off ``beyond_m`` past the zone's far side: a route that must bend round it.
    Canberra's own orders only bend round four of its zones (never the hospital's circle)."""
    prepared = PreparedAirspace(scenario.airspace, 0.0)
    frame = prepared.frame
    out: list[Order] = []
    for zone in prepared.zones:
        if zone.zone.floor_m > 0.0:
            continue
        c = zone.raw.centroid
        reach = max(math.dist((c.x, c.y), xy) for xy in zone.raw.exterior.coords)
        depots = sorted(scenario.depots, key=lambda d: math.dist(
            frame.to_xy(d.position), (c.x, c.y)))
        for depot in depots[:2]:
            dx, dy = frame.to_xy(depot.position)
            d = math.dist((dx, dy), (c.x, c.y))
            ux, uy = (c.x - dx) / d, (c.y - dy) / d
            drop = frame.to_latlon(c.x + ux * (reach + beyond_m), c.y + uy * (reach + beyond_m))
            out.append(Order(f"BEHIND-{zone.zone.id}-{depot.id}", depot.id, drop, 1.0))
    return tuple(out)


def _route(mission: Mission) -> list[LatLon]:
    return [LatLon(it.x, it.y) for it in mission.items[1:] if it.has_position]


def plan_cases(
    scenario: Scenario,
    missions: dict[str, Mission],
    *,
    orders_per_kind: int,
    points: int,
    seed: int,
    near_m: float = 150.0,
    kinds: Sequence[str] | None = None,
) -> list[Case]:
    """The sweep's cases, seeded: per zone kind, orders that pass near such a zone."""
    prepared = PreparedAirspace(scenario.airspace, 0.0)
    rng = random.Random(seed)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for order_id, mission in sorted(missions.items()):
        route = _route(mission)
        cruise = max(it.z for it in mission.items[1:] if it.has_position)
        for c in track_clearances(prepared, route, [cruise] * len(route)):
            if c.clearance_m < near_m:
                by_kind[c.kind].append(order_id)
    cases: list[Case] = []
    for kind in sorted(by_kind):
        if kinds is not None and kind not in kinds:
            continue
        chosen = rng.sample(by_kind[kind], min(orders_per_kind, len(by_kind[kind])))
        for order_id in chosen:
            cases.append(Case(order_id, kind, None, 0.0))
            for contingency in CONTINGENCIES:
                for _ in range(points):
                    cases.append(Case(order_id, kind, contingency, rng.uniform(0.03, 0.97)))
    return cases


_STATE: dict[str, object] = {}


def _context() -> tuple[Scenario, dict[str, Mission], PreparedAirspace]:
    if "scenario" not in _STATE:
        scenario = load_scenario(SCENARIO)
        scenario = replace(scenario, orders=(*scenario.orders, *behind_zone_orders(scenario)))
        _STATE["scenario"] = scenario
        _STATE["missions"] = scenario_missions(scenario)
        _STATE["prepared"] = PreparedAirspace(scenario.airspace, MARGIN_M)
    return _STATE["scenario"], _STATE["missions"], _STATE["prepared"]  # type: ignore[return-value]


def run_case(case: Case) -> CaseResult:
    """Fly one case on the built-in simulator and judge its true track."""
    _, missions, prepared = _context()
    mission = missions[case.order_id]
    frame = load_airframe(mission.meta["profile"])
    planned = float(mission.meta["planned_s"])
    flight = fly_lockstep(
        mission,
        param_files=[
            PARAMS / "copter.parm",
            frame.parm_path,
            PARAMS / "delivery.parm",
            SCENARIO / "vehicle.parm",
        ],
        airframe=frame,
        contingency=case.contingency,
        inject_at_s=case.at_fraction * planned,
    )
    points = [LatLon(p.lat, p.lon) for p in flight.track]
    worst = smallest_clearance(track_clearances(prepared, points, [p.alt_m for p in flight.track]))
    home = (flight.landed_home_m or 0.0) < 5.0
    return CaseResult(
        case,
        None if worst is None else worst.clearance_m,
        None if worst is None else worst.zone_id,
        "home" if home else "landed here",
        tuple(flight.modes),
    )


def _args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench safety",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--orders", type=int, default=2, help="orders per zone kind (default 2)")
    p.add_argument(
        "--points",
        type=int,
        default=6,
        help="injection points per order and contingency (default 6)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    p.add_argument("--sitl", action="store_true",
                   help="also fly CBR-040 on ArduPilot SITL ($ARDUPILOT_SITL) with each "
                        "contingency at the drop-off and on the way back (12 flights)")
    return p.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> None:
    args = _args(argv)
    scenario, missions, _ = _context()
    cases = plan_cases(
        scenario, missions, orders_per_kind=args.orders, points=args.points, seed=args.seed
    )
    print(
        f"{len(cases)} cases on the built-in simulator (seed {args.seed}), "
        f"{len({c.order_id for c in cases})} orders, margin {MARGIN_M:g} m",
        flush=True,
    )
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_case, cases, chunksize=4))
    _report(results)
    if args.sitl:
        _sitl_cases(missions["CBR-040"])


def _sitl_cases(mission: Mission) -> None:
    import os
    import tempfile

    from bench.sweep_sitl import fly_sitl_case

    _, _, prepared = _context()
    print("ArduPilot SITL, CBR-040 (bends round the stadium zone):")
    print(f"{'contingency':<17}{'at':<10}{'mode at the end':<17}{'smallest m':>11}  zone")
    for kind in CONTINGENCIES:
        for where, seq in (("drop-off", mission.dropoff_seq or 0),
                           ("return", int(mission.meta["return_seq"]))):
            with tempfile.TemporaryDirectory() as tmp:
                case = fly_sitl_case(mission, kind, seq, Path(tmp),
                                     params=[SCENARIO / "vehicle.parm"],
                                     binary=os.environ.get("ARDUPILOT_SITL"))
            worst = smallest_clearance(track_clearances(prepared, case.points, case.alts_m))
            mode = {3: "AUTO", 9: "LAND", 21: "SMART_RTL", 6: "RTL"}.get(case.modes[-1], "?")
            print(f"{kind:<17}{where:<10}{mode:<17}"
                  f"{worst.clearance_m if worst else float('nan'):>11.1f}  "
                  f"{worst.zone_id if worst else '-'}", flush=True)


def _report(results: Sequence[CaseResult]) -> None:
    rows: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        rows[r.case.contingency or "none"].append(r)
    print(
        f"{'contingency':<17}{'cases':>6}{'incursions':>11}{'smallest m':>11}  "
        f"{'zone':<22}{'home':>5}{'landed':>7}"
    )
    total_in = 0
    for kind in ("none", *CONTINGENCIES):
        got = rows.get(kind, [])
        if not got:
            continue
        near = [r for r in got if r.smallest_m is not None]
        worst = min(near, key=lambda r: r.smallest_m or 0.0, default=None)
        incursions = sum(1 for r in near if (r.smallest_m or 0.0) < 0.0)
        total_in += incursions
        home = sum(1 for r in got if r.ended == "home")
        smallest = f"{worst.smallest_m:.1f}" if worst and worst.smallest_m is not None else "-"
        print(
            f"{kind:<17}{len(got):>6}{incursions:>11}{smallest:>11}  "
            f"{(worst.zone_id if worst else '-') or '-':<22}{home:>5}{len(got) - home:>7}"
        )
    print(
        f"total: {len(results)} cases, {total_in} incursions "
        f"(margin {MARGIN_M:g} m; smallest clearance over all: "
        f"{min((r.smallest_m for r in results if r.smallest_m is not None), default=0):.1f} m)"
    )
