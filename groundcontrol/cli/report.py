"""``drone-delivery report``: a dispatch day from its store, as tables, CSV or JSON.

Without ``--out`` it prints each drone's day and the totals; with ``--out DIR`` it also writes
``orders.csv``, ``flights.csv``, ``drones.csv`` and ``report.json`` there; with ``--json`` it
prints the whole report as one JSON object instead of the table. The store is only read, so
a report can be made while ``run`` drives flights from it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from groundcontrol.cli.order import DEFAULT_STORE
from groundcontrol.fleet.report import build_report, day_lines, report_json, write_report
from groundcontrol.fleet.store.dialect import store_location
from groundcontrol.fleet.store.sqlite import Store

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report", help="orders, flights and each drone's day from a dispatch store",
        description="Read a dispatch store: per order its state, promised and drop-off time "
                    "and how late; per flight planned against flown; per drone sorties, km, "
                    "Wh, delivered and on time. Times in scenario seconds and HH:MM.")
    p.add_argument("--store", type=store_location, default=DEFAULT_STORE, metavar="PATH|URL",
                   help=f"dispatch database, which must exist (default: {DEFAULT_STORE})")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write orders.csv, flights.csv, drones.csv and report.json here")
    p.add_argument("--json", action="store_true",
                   help="print the report as one JSON object instead of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    with Store.open(args.store, create=False) as store:
        report = build_report(store)
    written = write_report(report, args.out) if args.out is not None else []
    if args.json:
        data = report_json(report)
        data["files"] = [str(p) for p in written]
        print(json.dumps(data), file=out)
        return 0
    for line in day_lines(report):
        print(line, file=out)
    if written:
        print(f"wrote {', '.join(p.name for p in written)} in {args.out}", file=out)
    return 0
