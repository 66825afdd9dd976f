"""Fidelity benchmark: every feasible order of a scenario flown as planned, per backend.

Plans every order of the scenario (default: Canberra) as ``drone-delivery plan`` does, then
flies each feasible order's ``.plan`` with ``drone-delivery fly --backend B --json`` (the
product's own command, one process per flight so several fly at once on separate cores), on
the built-in simulator and, when ``arducopter`` is found, on ArduPilot SITL, with the
scenario's own ``vehicle.parm`` (the operator's parameters) after each profile's airframe.

Per backend it prints: delivered / attempted, flown/planned time and used/planned energy
(median and worst, the worst being the farthest from 1), the worst distance from the planned
route, and, when both backends ran, the built-in simulator against SITL on the same orders.
``--records FILE`` keeps every flight's ``fly --json`` object (one per line, with the backend),
the input ``drone-delivery calibrate --records`` fits a profile to.

Prints figures, asserts nothing. Run: ``./dev bench fidelity [--help]``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from groundcontrol.cli.plan import plan_scenario
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario
from planner.vehicle import load_profile
from sitl.ardupilot import SitlNotFound, find_arducopter

__all__ = ["fly_all", "main", "summarize"]

EXE = Path(sys.executable).parent / "drone-delivery"


def _args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench fidelity", description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", default="canberra", help="scenario folder or example name")
    p.add_argument("--backend", choices=("builtin", "ardupilot", "both"), default="both",
                   help="which simulators (default both; ardupilot is skipped when absent)")
    p.add_argument("--orders", help="comma-separated order ids (default: every feasible one)")
    p.add_argument("--limit", type=int, help="fly only the first N feasible orders")
    p.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)),
                   help="flights at once (default: one per core)")
    p.add_argument("--speedup", type=float, default=40.0,
                   help="simulator speedup (default 40; SITL stayed stable there)")
    p.add_argument("--profile", action="append", default=[], metavar="FILE",
                   help="a profile JSON replacing the scenario's profile of the same name "
                        "(e.g. one written by drone-delivery calibrate); may be repeated")
    p.add_argument("--records", type=Path, help="append every flight's JSON object here")
    p.add_argument("--log-dir", type=Path, help="keep SITL's own logs here (one folder each)")
    return p.parse_args(list(argv))


def _plans(args: argparse.Namespace, out_dir: Path) -> list[Path]:
    folder = resolve_scenario(args.scenario)
    scenario = load_scenario(folder)
    if args.profile:
        profiles = dict(scenario.profiles)
        for path in args.profile:
            profile = load_profile(path)
            profiles[profile.name] = profile
        scenario = replace(scenario, profiles=profiles)
    outcomes = plan_scenario(scenario, out_dir=out_dir)
    wanted = set(args.orders.split(",")) if args.orders else None
    plans = [p.files[0] for p in outcomes if p.files
             and (wanted is None or p.result.order.id in wanted)]
    return plans[: args.limit] if args.limit else plans


def fly_all(plans: Sequence[Path], backend: str, *, jobs: int, speedup: float,
            params: Path | None, log_dir: Path | None = None) -> list[dict[str, Any]]:
    """Fly every ``.plan`` with ``drone-delivery fly --backend B --json``, ``jobs`` at once."""

    slots: queue.Queue[int] = queue.Queue()
    for k in range(jobs):
        slots.put(10 + k)  # SITL instance numbers: no two flights start on the same ports

    def one(plan: Path) -> dict[str, Any]:
        cmd = [str(EXE), "fly", str(plan), "--backend", backend, "--json",
               "--speedup", f"{speedup:g}"]
        if params is not None:
            cmd += ["--params", str(params)]
        slot = slots.get()
        if backend == "ardupilot":
            cmd += ["--instance", str(slot)]
            if log_dir is not None:
                cmd += ["--log-dir", str(log_dir / plan.stem)]
        started = time.monotonic()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        finally:
            slots.put(slot)
        row: dict[str, Any] = {"backend": backend, "plan": plan.stem, "exit": done.returncode,
                               "wall_s": round(time.monotonic() - started, 1)}
        try:
            row.update(json.loads(done.stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            row["error"] = (done.stderr.strip().splitlines() or ["no output"])[-1]
        status = "ok" if row.get("success") else row.get("error") or row.get("detail")
        print(f"  {backend:<9} {plan.stem:<10} {row['wall_s']:6.1f} s  {status}", flush=True)
        return row

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, plans))


def _ratio(row: dict[str, Any], flown: str, planned: str) -> float | None:
    a, b = row.get(flown), row.get(planned)
    return a / b if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def _worst(values: Sequence[float]) -> float:
    return max(values, key=lambda v: abs(v - 1.0))


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Delivered/attempted, flown/planned time and energy (median, worst), worst cross-track."""
    time_r = [r for r in (_ratio(x, "flown_s", "planned_s") for x in rows) if r is not None]
    wh_r = [r for r in (_ratio(x, "used_wh", "planned_wh") for x in rows) if r is not None]
    track = [x["max_cross_track_m"] for x in rows
             if isinstance(x.get("max_cross_track_m"), int | float)]
    return {
        "attempted": len(rows),
        "delivered": sum(1 for x in rows if x.get("delivered")),
        "landed": sum(1 for x in rows if x.get("success")),
        "time_median": statistics.median(time_r) if time_r else None,
        "time_worst": _worst(time_r) if time_r else None,
        "energy_median": statistics.median(wh_r) if wh_r else None,
        "energy_worst": _worst(wh_r) if wh_r else None,
        "track_worst_m": max(track) if track else None,
        "time_within_10": sum(1 for r in time_r if abs(r - 1) <= 0.10),
        "energy_within_15": sum(1 for r in wh_r if abs(r - 1) <= 0.15),
    }


def _print_summary(backend: str, s: dict[str, Any]) -> None:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * (v - 1):+.1f} %"

    print(f"{backend}: delivered {s['delivered']}/{s['attempted']}, landed and disarmed "
          f"{s['landed']}/{s['attempted']}")
    print(f"  time   flown/planned: median {pct(s['time_median'])}, worst "
          f"{pct(s['time_worst'])}; within ±10 %: {s['time_within_10']}/{s['attempted']}")
    print(f"  energy used/planned:  median {pct(s['energy_median'])}, worst "
          f"{pct(s['energy_worst'])}; within ±15 %: {s['energy_within_15']}/{s['attempted']}")
    track = "-" if s["track_worst_m"] is None else f"{s['track_worst_m']:.1f} m"
    print(f"  worst distance from the planned route: {track}")


def _compare(builtin: Sequence[dict[str, Any]], sitl: Sequence[dict[str, Any]]) -> None:
    by_plan = {r["plan"]: r for r in sitl}
    for key, label in (("flown_s", "time"), ("used_wh", "energy")):
        ratios = [b[key] / s[key] for b in builtin if (s := by_plan.get(b["plan"]))
                  and isinstance(b.get(key), int | float) and isinstance(s.get(key), int | float)
                  and s[key]]
        if ratios:
            within = sum(1 for r in ratios if abs(r - 1) <= 0.05)
            print(f"  built-in/SITL {label}: median {100 * (statistics.median(ratios) - 1):+.1f} "
                  f"%, worst {100 * (_worst(ratios) - 1):+.1f} %; within ±5 %: "
                  f"{within}/{len(ratios)}")


def main(argv: Sequence[str] = ()) -> None:
    args = _args(argv)
    backends = ["builtin", "ardupilot"] if args.backend == "both" else [args.backend]
    if "ardupilot" in backends:
        try:
            find_arducopter(None)
        except SitlNotFound as exc:
            print(f"ArduPilot SITL skipped: {exc}")
            backends.remove("ardupilot")
    params = resolve_scenario(args.scenario) / "vehicle.parm"
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        plans = _plans(args, Path(tmp))
        print(f"{len(plans)} feasible orders of {args.scenario}; {args.jobs} at once, "
              f"speedup {args.speedup:g}", flush=True)
        for backend in backends:
            started = time.monotonic()
            results[backend] = fly_all(plans, backend, jobs=args.jobs, speedup=args.speedup,
                                       params=params if params.is_file() else None,
                                       log_dir=args.log_dir)
            print(f"  {backend}: {time.monotonic() - started:.0f} s wall", flush=True)
    if args.records is not None:
        with args.records.open("a", encoding="utf-8") as f:
            for rows in results.values():
                f.writelines(json.dumps(r) + "\n" for r in rows)
    for backend, rows in results.items():
        _print_summary(backend, summarize(rows))
    if "builtin" in results and "ardupilot" in results:
        _compare(results["builtin"], results["ardupilot"])
    for backend, rows in results.items():
        bad = [f"{r['plan']} ({r.get('detail') or r.get('error')})"
               for r in rows if not r.get("success")]
        if bad:
            print(f"{backend} not delivered/landed: {'; '.join(bad)}")
