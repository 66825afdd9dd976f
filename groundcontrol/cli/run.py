"""``drone-delivery run``: dispatch and fly a scenario's orders on vehicles given as connection
strings (ArduPilot SITL, real vehicles, or a ``drone-delivery sim``), headless.

The store is the run's memory: run it again with the same store after a crash and it carries
on (flights in the air are followed, not flown again). Orders added meanwhile with
``drone-delivery order add --store PATH`` are picked up, checked against the scenario the run
records in the store. Exit 0 once every order is final.

One owner per store: a run holds the store's owner lock (``own_store``) for its whole life,
so a second process on the same store is refused, naming the owner's pid; a killed run's
lock dies with it and the next run takes over.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.model import FleetConfig, ManualCrew, VehicleClock
from groundcontrol.fleet.setup import (
    add_fleet_arguments,
    endpoints_from_urls,
    load_fleet_scenario,
    printer,
    resume_time_s,
    select_orders,
    site_of,
    start_time_s,
)
from groundcontrol.fleet.store.owner import own_store
from groundcontrol.fleet.store.sqlite import Store

__all__ = ["register", "run"]



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="dispatch a scenario to vehicles given by connection strings",
        description="Dispatch and fly a scenario's orders on connected vehicles, recording "
                    "everything in a store; run again on the same store to resume after a "
                    "crash. One run per store: a second is refused while the first lives. "
                    "Exit 0 once every order is delivered, infeasible, failed or "
                    "cancelled.")
    add_fleet_arguments(p, default_speedup=1.0)
    p.add_argument("--connect", required=True, metavar="URL[,URL...]",
                   help="one MAVLink URL for the whole fleet (vehicles told apart by sysid) "
                        "or one per drone in fleet order")
    p.add_argument("--configure", action="store_true",
                   help="let pre-flight set missing vehicle parameters (may reboot them)")
    p.add_argument("--timeout", type=float, default=24 * 3600.0,
                   help="wall seconds before giving up, the wait for the vehicles included "
                        "(default: a day)")
    p.add_argument("--verbose", action="store_true", help="every flight phase and text")
    p.set_defaults(func=run)


MAX_TIMEOUT_S = 366 * 24 * 3600.0
"""--timeout beyond a year is a typo (and 1e308 overflowed the deadline arithmetic)."""


def run(args: argparse.Namespace) -> int:
    scenario, folder = load_fleet_scenario(args)
    if args.store is None:
        raise ValueError("--store PATH is required (the run's memory across restarts)")
    if not 0 < args.timeout <= MAX_TIMEOUT_S:  # NaN too
        raise ValueError(f"--timeout must be > 0 and <= {MAX_TIMEOUT_S:g} s, got {args.timeout:g}")
    started = time.monotonic()
    endpoints = endpoints_from_urls(scenario, args.connect)
    releases = select_orders(scenario.orders, args.orders, args.time_scale)
    config = FleetConfig(speedup=args.speedup, configure=args.configure,
                         margin_m=args.margin, auto_recover_s=300.0)
    # The wait for the vehicles' heartbeats is part of --timeout, not added to it.
    config = replace(config, resync_wall_s=min(config.resync_wall_s, args.timeout))
    store_path, depots = args.store, site_of(args)
    with own_store(store_path, depots), Store.open(store_path, depots=depots) as store:
        resumed = resume_time_s(store)
        start_s = start_time_s(store, releases)
        record_scenario(store, folder, args.margin, start_s)
        controller: FleetController | None = None
        clock = VehicleClock(lambda: list(controller.trackers.values()) if controller else [],
                             start_s, fallback_speedup=args.speedup)
        controller = FleetController(scenario, store, endpoints, clock, config=config,
                                     crew=ManualCrew(), releases=releases)
        controller.add_observer(printer(sys.stdout, args.verbose))
        word = "resuming" if resumed is not None else "starting"
        print(f"{scenario.name}: {word} at t={start_s:.0f} s with {len(scenario.fleet)} "
              f"drones, {len(releases)} orders, store {args.store}", flush=True)
        try:
            controller.start()
            if not any(t.snapshot().heartbeats for t in controller.trackers.values()):
                raise GroundControlError(
                    f"no vehicle answered on {args.connect} within {config.resync_wall_s:.0f} s; "
                    "check --connect and that the vehicles are running (the store is kept: "
                    "run again to resume)")
            summary = controller.run_until_done(args.timeout, since=started)
        except GroundControlError as exc:
            print(f"drone-delivery run: {exc}", file=sys.stderr)
            return 1
        finally:
            controller.stop()
    print("\n".join(summary.lines()), flush=True)
    return 0 if summary.open == 0 else 1
