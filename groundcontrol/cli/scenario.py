"""``drone-delivery scenario generate``: a city-sized delivery day as a scenario folder.

The folder has the files of ``missions/scenarios/canberra`` (scenario.json, depots.json,
fleet.json, orders.csv, airspace.geojson and the operator's vehicle.parm), so ``plan``,
``demo``, ``run``, ``sitl`` and ``python -m bench dispatch --scenario`` take it. Generation is
``planner.generate``; this module reads the arguments and the zones, and writes the folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from groundcontrol.cli.plan import plan_scenario
from groundcontrol.scenarios import resolve_scenario
from planner.errors import InvalidInput
from planner.generate import (
    DaySpec,
    ProfileShare,
    airspace_with_area,
    check_spec,
    dump_scenario,
    generate_day,
)
from planner.generate_demand import DEMAND_CURVES, demand_weights
from planner.load import load_airspace, load_depots, load_json
from planner.load_records import read_text
from planner.model import Airspace
from planner.scenario import Scenario
from planner.vehicle import builtin_profile

__all__ = ["parse_demand", "parse_profiles", "parse_start_h", "register"]

DEFAULT_SOURCE = "canberra"
"""The example whose zones, ground altitude and vehicle.parm a generated day uses by default."""
PARAMS_FILE = "vehicle.parm"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scenario", help="generate scenarios (a city-sized day)",
                       description="Scenario folders made from a few numbers.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    g = verbs.add_parser(
        "generate", help="write a generated day: depots, fleet, orders over a demand curve",
        description="Generate a delivery day over real-shaped zones: depots spread over the "
                    "operating area outside every zone, drones shared out over them, orders "
                    "over a demand curve to drop-offs the depot's drones can mostly reach. "
                    "Same arguments and seed, same files.")
    g.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="scenario folder to write (refused when not empty, unless --force)")
    g.add_argument("--force", action="store_true",
                   help="write into a non-empty folder (its scenario files are replaced)")
    g.add_argument("--depots", type=int, default=3, metavar="N", help="depots (default 3)")
    g.add_argument("--drones", type=int, default=9, metavar="M",
                   help="drones, at least one per depot and at most 254, MAVLink sysids 1..M "
                        "(default 9)")
    g.add_argument("--orders", type=int, default=76, metavar="K", help="orders (default 76)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--zones", type=Path, metavar="GEOJSON",
                   help="no-fly zones (and the operating area, if it has one; else one is "
                        "derived round the depots); default: the Canberra example's airspace")
    g.add_argument("--demand", default="lunch", metavar="CURVE|W,W,...",
                   help=f"orders over the day: {', '.join(DEMAND_CURVES)}, or one weight per "
                        "hour (default lunch)")
    g.add_argument("--start", default="11", metavar="HH[:MM]",
                   help="clock time of the day's first hour (default 11)")
    g.add_argument("--hours", type=int, metavar="H",
                   help="length of the day in hours (default 4, as Canberra's afternoon, or "
                        "as many as --demand's weights)")
    g.add_argument("--profiles", default="delivery-quad=3,winch-quad=1",
                   metavar="NAME[=W],...",
                   help="fleet mix of built-in profiles with weights (default "
                        "delivery-quad=3,winch-quad=1); payloads stay within what each "
                        "depot's drones lift")
    g.add_argument("--ground-alt", type=float, metavar="M",
                   help="depots' ground altitude AMSL (default: the Canberra depots' mean; "
                        "required with --zones)")
    g.add_argument("--margin", type=float, default=30.0,
                   help="room kept from every zone and the area's edge, metres (default 30)")
    g.add_argument("--name", help="scenario name (default: the folder's name)")
    g.add_argument("--check", action="store_true",
                   help="plan every order afterwards (as plan does) and print how many are "
                        "feasible")
    g.set_defaults(func=run)


def parse_profiles(text: str) -> tuple[ProfileShare, ...]:
    """``delivery-quad=3,winch-quad=1`` (a missing weight is 1).

    Raises:
        ValueError: an unknown profile, a weight that is not a number >= 0, a repeat.
    """
    shares: dict[str, ProfileShare] = {}
    for part in (p.strip() for p in text.split(",")):
        name, _, weight_text = part.partition("=")
        name = name.strip()
        try:
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            raise ValueError(f"--profiles: weight of {name!r} must be a number, got "
                             f"{weight_text!r}") from None
        if not weight >= 0:
            raise ValueError(f"--profiles: weight of {name!r} must be >= 0, got {weight_text}")
        if name in shares:
            raise ValueError(f"--profiles: {name!r} is given twice")
        try:
            shares[name] = ProfileShare(builtin_profile(name), weight)
        except InvalidInput as exc:
            raise ValueError(f"--profiles: {exc.problem}") from None
    return tuple(shares.values())


def parse_start_h(text: str) -> float:
    """``10`` or ``10:30`` as hours since midnight.

    >>> parse_start_h("10:30")
    10.5

    Raises:
        ValueError: not a time of day.
    """
    hh, _, mm = text.strip().partition(":")
    try:
        hours, minutes = int(hh), int(mm or 0)
    except ValueError:
        raise ValueError(f"--start must be HH or HH:MM, got {text!r}") from None
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(f"--start must be a time of day 00:00..23:59, got {text!r}")
    return hours + minutes / 60.0


def parse_demand(text: str, start_h: float, hours: int | None) -> tuple[float, ...]:
    """A named curve over ``hours`` (4 by default) or a list of hourly weights.

    >>> parse_demand("1,2,1", 10.0, None)
    (1.0, 2.0, 1.0)

    Raises:
        ValueError: an unknown curve, weights that are not numbers, --hours that disagrees
            with the number of weights, or fewer than one hour.
    """
    if text.strip() in DEMAND_CURVES:
        try:
            return demand_weights(text.strip(), start_h, 4 if hours is None else hours)
        except InvalidInput as exc:
            raise ValueError(f"--{exc.field}: {exc.problem}") from None
    try:
        weights = tuple(float(w) for w in text.split(","))
    except ValueError:
        raise ValueError(f"--demand: unknown curve {text!r} (known: {', '.join(DEMAND_CURVES)}, "
                         "or hourly weights such as 1,2,3)") from None
    if hours is not None and hours != len(weights):
        raise ValueError(f"--hours {hours} but --demand has {len(weights)} hourly weights")
    return weights


def _source(args: argparse.Namespace) -> tuple[Path, float]:
    """The zones file and the depots' ground altitude."""
    if args.zones is None:
        folder = resolve_scenario(DEFAULT_SOURCE)
        alt = args.ground_alt
        if alt is None:
            alt = round(statistics.fmean(d.ground_alt_amsl_m for d in
                                         load_depots(folder / "depots.json")), 1)
        return folder / "airspace.geojson", alt
    if args.ground_alt is None:
        raise ValueError("--ground-alt is needed with --zones: the depots' ground altitude "
                         "AMSL (there is no terrain model to read it from)")
    return args.zones, args.ground_alt


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"--out {out}: folder is not empty (--force writes into it)")


def build_spec(args: argparse.Namespace, ground_alt_m: float) -> DaySpec:
    """The spec from the arguments, checked.

    Raises:
        ValueError: naming the option.
    """
    if args.hours is not None and args.hours < 1:
        raise ValueError(f"--hours must be >= 1, got {args.hours}")
    start_h = parse_start_h(args.start)
    demand = parse_demand(args.demand, start_h, args.hours)
    spec = DaySpec(args.depots, args.drones, args.orders, parse_profiles(args.profiles),
                   seed=args.seed, start_s=start_h * 3600.0, demand=demand,
                   ground_alt_amsl_m=ground_alt_m, margin_m=args.margin,
                   name=args.name or args.out.resolve().name)
    try:
        check_spec(spec)
    except InvalidInput as exc:
        raise ValueError(f"--{exc.field}: {exc.problem}") from None
    return spec


def _describe(spec: DaySpec, args: argparse.Namespace, zones: Path) -> str:
    mix = ", ".join(f"{s.profile.name}={s.weight:g}" for s in spec.profiles)
    return (f"Generated by drone-delivery scenario generate: {spec.depots} depots, "
            f"{spec.drones} drones ({mix}), {spec.orders} orders over {len(spec.demand)} h from "
            f"{args.start} (demand {args.demand}), seed {spec.seed}, zones from {zones.name}.")


def _airspace_text(zones: Path, given: Airspace, generated: Scenario) -> str:
    """The zones file as it is, or with the derived operating area added."""
    if given.operating_area is not None:
        return read_text(zones)
    assert generated.airspace.operating_area is not None
    data = airspace_with_area(load_json(zones), generated.airspace.operating_area)
    return json.dumps(data, indent=1) + "\n"


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    _check_out(args.out, args.force)
    zones, ground_alt = _source(args)
    spec = build_spec(args, ground_alt)
    airspace = load_airspace(zones)
    spec = replace(spec, description=_describe(spec, args, zones))
    day = generate_day(spec, airspace)
    params = resolve_scenario(DEFAULT_SOURCE) / PARAMS_FILE
    dump_scenario(args.out, day, _airspace_text(zones, airspace, day),
                  {PARAMS_FILE: read_text(params)})
    for line in summary_lines(day, derived=airspace.operating_area is None):
        print(line, file=out)
    print(f"wrote {args.out}/ (plan it: drone-delivery plan {args.out})", file=out)
    if args.check:
        print(check_line(day, spec.margin_m), file=out)
    return 0


def summary_lines(day: Scenario, *, derived: bool) -> list[str]:
    """What was generated: counts, the fleet mix, the hours, where the area came from."""
    mix = Counter(d.profile for d in day.fleet)
    first, last = day.orders[0].created_s, day.orders[-1].created_s
    area = "derived round the depots" if derived else "from the zones' file"
    return [f"{day.name}: {len(day.depots)} depots, {len(day.fleet)} drones "
            f"({', '.join(f'{n} {p}' for p, n in mix.items())}), {len(day.orders)} orders "
            f"{_clock(first)}-{_clock(last)}",
            f"airspace: {len(day.airspace.zones)} zones, operating area {area}"]


def _clock(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"


def check_line(day: Scenario, margin_m: float) -> str:
    """Plan every order as ``plan`` does; how many are feasible and why not the rest."""
    outcomes = plan_scenario(day, margin_m=margin_m)
    ok = sum(p.result.feasible for p in outcomes)
    why = Counter(p.result.reasons[0].rule.value for p in outcomes if p.result.reasons)
    reasons = ", ".join(f"{rule} {n}" for rule, n in why.most_common())
    return f"planned: {ok} of {len(outcomes)} orders feasible" + (
        f" (not: {reasons})" if reasons else "")
