"""``drone-delivery plan``: every order of a scenario to a mission file, or a reason why not."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from groundcontrol.scenarios import resolve_scenario
from missions.build import build_mission
from missions.errors import MissionBuildError
from missions.geojson import airspace_feature_collection, route_feature_collection, write_geojson
from missions.qgc_plan import write_plan
from missions.wpl import write_wpl
from planner.airspace import MAX_MARGIN_M
from planner.load import load_scenario
from planner.model import PlanResult
from planner.plan import Planner
from planner.scenario import Scenario
from planner.vehicle import DEFAULT_PROFILE, VehicleProfile, builtin_profile, load_profile

__all__ = ["PlannedOrder", "order_json", "plan_json", "plan_scenario", "print_table", "register",
           "safe_name"]


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One order's outcome and the files written for it (none when infeasible)."""

    result: PlanResult
    profile: VehicleProfile
    files: tuple[Path, ...] = ()
    error: str = ""
    """A feasible plan whose mission could not be built (should not happen; shown, not hidden)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="plan a scenario's orders into missions",
                       description="Plan every order of a scenario: write a .plan, .waypoints "
                                   "and .geojson per feasible order, and print a table.")
    add_scenario_arguments(p)
    p.add_argument("--out", type=Path, help="output folder (default: out/<scenario>)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (every order: feasible, figures, reasons with "
                        "rule, measured, limit and unit, files) instead of the table")
    p.set_defaults(func=run)


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    """Scenario, file overrides, profile and margin: shared by plan, demo and console."""
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario folder or example name (default: canberra)")
    p.add_argument("--orders", type=Path,
                   help="orders file (.csv or .json) instead of the scenario's")
    p.add_argument("--airspace", type=Path, help="airspace GeoJSON instead of the scenario's")
    p.add_argument("--fleet", type=Path, help="fleet JSON instead of the scenario's")
    p.add_argument("--depots", type=Path, help="depots JSON instead of the scenario's")
    p.add_argument("--profile", help="vehicle profile name or JSON file for every order "
                                     "(default: the profile of the order's depot's first drone)")
    p.add_argument("--margin", type=float, default=30.0,
                   help="safety margin from no-fly zones, metres (default 30)")


def load_from_args(args: argparse.Namespace) -> Scenario:
    if not 0 <= args.margin <= MAX_MARGIN_M:  # NaN too (it passed '< 0'); 1e308 failed in GEOS
        raise ValueError(f"--margin must be >= 0 m and <= {MAX_MARGIN_M:g} m, got {args.margin:g}")
    return load_scenario(resolve_scenario(args.scenario), depots=args.depots,
                         airspace=args.airspace, fleet=args.fleet, orders=args.orders)


def profile_override(text: str | None) -> VehicleProfile | None:
    if text is None:
        return None
    return load_profile(text) if text.endswith(".json") else builtin_profile(text)


def profiles_for_depot(scenario: Scenario, depot_id: str) -> list[VehicleProfile]:
    """The distinct profiles of the drones based at a depot (fleet order), else the default."""
    names = dict.fromkeys(d.profile for d in scenario.drones_at(depot_id))
    if not names:
        return [builtin_profile(DEFAULT_PROFILE)]
    return [scenario.profiles[name] for name in names]


def plan_scenario(scenario: Scenario, *, margin_m: float = 30.0,
                  profile: VehicleProfile | None = None,
                  out_dir: Path | None = None) -> list[PlannedOrder]:
    """Plan every order; with ``out_dir``, write each feasible order's mission files there.

    Without ``profile``, an order is planned for each vehicle type based at its depot in fleet
    order and the first that can fly it wins; when none can, the first type's reasons stand.
    """
    planner = Planner(scenario.airspace, scenario.depots, margin_m=margin_m)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_geojson(out_dir / "airspace.geojson", airspace_feature_collection(scenario.airspace))
    outcomes = []
    for order in scenario.orders:
        candidates = [profile] if profile else profiles_for_depot(scenario, order.depot_id)
        tried = [(planner.plan(order, c), c) for c in candidates]
        result, chosen = next(((r, c) for r, c in tried if r.feasible), tried[0])
        outcomes.append(_write(result, chosen, scenario, out_dir))
    return outcomes


def _write(result: PlanResult, profile: VehicleProfile, scenario: Scenario,
           out_dir: Path | None) -> PlannedOrder:
    if result.plan is None or out_dir is None:
        return PlannedOrder(result, profile)
    try:
        mission = build_mission(result.plan, profile, scenario.airspace, depots=scenario.depots)
    except MissionBuildError as exc:
        return PlannedOrder(result, profile, error=f"mission: {exc}")
    name = safe_name(result.order.id)
    # Appended, not Path.with_suffix: that replaces whatever follows a dot in the id, so
    # ORD.1 and ORD.2 both became ORD.plan and overwrote each other.
    paths = tuple(out_dir / f"{name}{ext}" for ext in (".plan", ".waypoints", ".geojson"))
    write_plan(paths[0], mission)
    write_wpl(paths[1], mission.items)
    write_geojson(paths[2], route_feature_collection(result.plan))
    return PlannedOrder(result, profile, paths)


def safe_name(order_id: str) -> str:
    """A file name for an order's files, different for every id.

    Characters a file name should not hold become ``_``, and so does a leading dot (no hidden
    files, no ``.`` or ``..``); an id changed that way gets a short hash of itself, so ``a/b``
    and ``a_b`` keep files of their own.

    >>> safe_name("CBR-003"), safe_name("ORD.1")
    ('CBR-003', 'ORD.1')
    >>> safe_name("a/b") != safe_name("a_b") and safe_name(".") != safe_name("..")
    True
    """
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in order_id)
    if name.startswith("."):
        name = "_" + name[1:]
    if name == order_id and name:
        return name
    digest = hashlib.sha1(order_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name[:80]}-{digest}" if name else f"order-{digest}"


def _row(p: PlannedOrder) -> list[str]:
    plan = p.result.plan
    reasons = "; ".join(str(r) for r in p.result.reasons) or p.error
    if plan is None:
        return [p.result.order.id, "no", "", "", "", "", reasons]
    return [p.result.order.id, "yes" if not p.error else "no",
            f"{plan.distance_m / 1000:.2f}", f"{plan.flight_time_s / 60:.1f}",
            f"{plan.energy_wh:.0f}", f"{plan.reserve_left_wh:.0f}", reasons]


HEADER = ["order", "feasible", "dist km", "time min", "energy Wh", "reserve left Wh", "reasons"]


def print_table(outcomes: Sequence[PlannedOrder], out: TextIO | None = None) -> None:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    rows = [HEADER, *(_row(p) for p in outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    for row in rows:
        cells = [c.rjust(w) if 1 < i < 6 else c.ljust(w) for i, (c, w) in
                 enumerate(zip(row, widths, strict=False))]
        print("  ".join(cells) + "  " + row[-1], file=out)
    ok = sum(1 for p in outcomes if p.result.feasible and not p.error)
    print(f"\n{ok} of {len(outcomes)} orders feasible", file=out)


def order_json(p: PlannedOrder) -> dict[str, object]:
    """One order's outcome as JSON data (the ``orders`` of ``plan --json``)."""
    plan = p.result.plan
    return {
        "order": p.result.order.id, "feasible": p.result.feasible and not p.error,
        "profile": p.profile.name,
        "distance_m": plan and round(plan.distance_m, 1),
        "flight_time_s": plan and round(plan.flight_time_s, 1),
        "energy_wh": plan and round(plan.energy_wh, 2),
        "reserve_left_wh": plan and round(plan.reserve_left_wh, 2),
        "reasons": [{"rule": r.rule.value, "measured": r.measured, "limit": r.limit,
                     "unit": r.unit, "detail": r.detail} for r in p.result.reasons],
        "error": p.error or None, "files": [str(f) for f in p.files]}


def plan_json(scenario: str, out_dir: Path,
              outcomes: Sequence[PlannedOrder]) -> dict[str, object]:
    """``plan --json``'s one object: the scenario, the folder, counts and every order."""
    feasible = sum(1 for p in outcomes if p.result.feasible and not p.error)
    return {"scenario": scenario, "out": str(out_dir), "orders_total": len(outcomes),
            "feasible": feasible, "orders": [order_json(p) for p in outcomes],
            "files": [str(out_dir / "airspace.geojson"),
                      *(str(f) for p in outcomes for f in p.files)]}


def run(args: argparse.Namespace) -> int:
    scenario = load_from_args(args)
    out_dir = args.out or Path("out") / scenario.name
    outcomes = plan_scenario(scenario, margin_m=args.margin,
                             profile=profile_override(args.profile), out_dir=out_dir)
    if args.json:
        print(json.dumps(plan_json(scenario.name, out_dir, outcomes)))
    else:
        print_table(outcomes)
        print(f"missions written to {out_dir}/ (.plan, .waypoints, .geojson per feasible order)")
    return 0
