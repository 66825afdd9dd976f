"""``drone-delivery calibrate``: fit vehicle profiles to what was really flown.

Reads planned-against-flown records from a dispatch store (every flight ``run``, ``demo`` or
the console flew), from ``fly --json`` / ``bench fidelity --records`` lines, or from ``.tlog``
files with the mission each flew, fits each profile flown (``planner.calibrate``) and writes
the fitted profile as JSON, printing the error before and after.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from planner.calibrate import Calibration, FlownSample, calibrate, sample_from_record
from planner.errors import InvalidInput
from planner.vehicle import (
    VehicleProfile,
    builtin_profile,
    builtin_profile_names,
    load_profile,
    profile_to_dict,
)

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibrate", help="fit vehicle profiles to flown records",
        description="Fit each flown profile's cruise speed and acceleration, climb and descent "
                    "speeds and power coefficients to planned-against-flown records; write the "
                    "fitted profiles and print the planner's error before and after.")
    p.add_argument("--store", type=Path, action="append", default=[],
                   help="a dispatch store (.db) whose flights to use; may be repeated")
    p.add_argument("--records", type=Path, action="append", default=[],
                   help="a file of JSON objects, one per line (fly --json, bench fidelity "
                        "--records); may be repeated")
    p.add_argument("--tlog", nargs=2, action="append", default=[], metavar=("TLOG", "PLAN"),
                   help="a flight's .tlog and the .plan it flew; may be repeated")
    p.add_argument("--backend",
                   help="with --records: only the lines of this backend (e.g. ardupilot)")
    p.add_argument("--profile", action="append", default=[], metavar="NAME|FILE",
                   help="the profile the flights were planned with, when not the built-in of "
                        "that name; may be repeated")
    p.add_argument("--out", type=Path, default=Path("calibrated"),
                   help="folder for the fitted profiles, NAME.json (default: calibrated/)")
    p.set_defaults(func=run)


def _store_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if not path.is_file():
        raise ValueError(f"{path}: no such store")
    from groundcontrol.fleet.store.sqlite import Store

    store = Store.open(path)
    try:
        for order_id, record in store.flight_records():
            yield f"{path.name}:{order_id}", record
    finally:
        store.close()


def _line_records(path: Path, backend: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise ValueError(f"{path}:{number}: not a JSON object ({exc})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            if backend is None or record.get("backend") == backend:
                yield f"{path.name}:{number}", record


def _tlog_records(tlog: str, plan: str) -> Iterator[tuple[str, dict[str, Any]]]:
    from groundcontrol.cli.fly import load_mission
    from groundcontrol.flight.record import record_from_tlog

    if not Path(tlog).is_file():
        raise ValueError(f"{tlog}: no such file")
    yield tlog, record_from_tlog(tlog, load_mission(Path(plan))).as_dict()


def _samples(args: argparse.Namespace) -> tuple[list[FlownSample], int]:
    sources: list[Iterator[tuple[str, dict[str, Any]]]] = [
        *(_store_records(p) for p in args.store),
        *(_line_records(p, args.backend) for p in args.records),
        *(_tlog_records(t, p) for t, p in args.tlog)]
    if not sources:
        raise ValueError("give flown records: --store, --records or --tlog")
    samples, skipped = [], 0
    for source in sources:
        for label, record in source:
            sample = sample_from_record(record, label)
            if sample is None:
                skipped += 1
            else:
                samples.append(sample)
    return samples, skipped


def _base_profiles(args: argparse.Namespace) -> dict[str, VehicleProfile]:
    given = {}
    for text in args.profile:
        profile = load_profile(text) if text.endswith(".json") else builtin_profile(text)
        given[profile.name] = profile
    return given


def _pct(pair: tuple[float, float] | None) -> str:
    return "-" if pair is None else f"median {100 * pair[0]:.1f} %, worst {100 * pair[1]:.1f} %"


def _report(c: Calibration, path: Path) -> None:
    print(f"{c.after.name}: {c.samples} flight{'s' if c.samples != 1 else ''} -> {path}")
    print(f"  time error    before {_pct(c.time_error_before)}; after {_pct(c.time_error_after)}")
    print(f"  energy error  before {_pct(c.energy_error_before)}; "
          f"after {_pct(c.energy_error_after)}")
    for name, (old, new) in c.changed().items():
        print(f"  {name:<18} {old:>9.4g} -> {new:.4g}")


def run(args: argparse.Namespace) -> int:
    samples, skipped = _samples(args)
    given = _base_profiles(args)
    names = sorted({s.profile for s in samples})
    if not names:
        raise ValueError(f"no completed flight with the plan's inputs among the records "
                         f"({skipped} incomplete or planned before inputs were kept)")
    unknown = [n for n in names if n not in given and n not in builtin_profile_names()]
    if unknown:
        raise ValueError(f"flights of profile {', '.join(unknown)}: give its file with --profile")
    fits = []
    for name in names:
        try:
            fits.append(calibrate(given.get(name) or builtin_profile(name), samples))
        except InvalidInput as exc:
            print(f"drone-delivery calibrate: {name}: {exc}", file=sys.stderr)
            return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for fit in fits:
        path = args.out / f"{fit.after.name}.json"
        path.write_text(json.dumps(profile_to_dict(fit.after), indent=2) + "\n",
                        encoding="utf-8")
        _report(fit, path)
    if skipped:
        print(f"({skipped} records skipped: the flight did not complete its phases, or was "
              f"planned before the plan's inputs were kept)")
    return 0
