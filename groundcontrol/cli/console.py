"""``drone-delivery console``: the dispatcher console on a live fleet.

``--sim`` (the default without ``--connect``) starts the built-in simulator's drones at the
scenario's depots, as the demo does; ``--connect`` drives vehicles given as connection strings
(ArduPilot SITL or real), with the turnarounds left to the depot crew. ``--watch --store
URL`` opens no fleet: it follows the whole order book that the sites' ``run`` processes write
(every site's orders and drones), read-only (``groundcontrol.console.watch``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from groundcontrol.cli.demo import DEFAULT_SPEEDUP, build_sim_controller
from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.model import FleetConfig, ManualCrew, VehicleClock
from groundcontrol.fleet.setup import (
    add_fleet_arguments,
    endpoints_from_urls,
    load_fleet_scenario,
    select_orders,
    site_of,
    start_sim,
    start_time_s,
)
from groundcontrol.fleet.store.owner import own_store
from groundcontrol.fleet.store.sqlite import Store
from planner.scenario import Scenario

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "console", help="the dispatcher console on a live fleet",
        description="Open the dispatcher console on a scenario's fleet: simulated drones "
                    "(--sim, the default) or vehicles given by --connect. With --watch "
                    "--store, follow the whole order book live instead (every site's orders, "
                    "every drone with its depot from its latest snapshot, kept a minute "
                    "apart, the event log and the day screen, y), read-only: it flies "
                    "nothing, takes no site's lease, and refuses every action (\"watching "
                    "the book: act from the site's console\"); the map is the scenario the "
                    "sites recorded in the book.")
    add_fleet_arguments(p, default_speedup=DEFAULT_SPEEDUP)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--connect", metavar="URL[,URL...]",
                       help="one MAVLink URL for the fleet, or one per drone in fleet order")
    where.add_argument("--sim", action="store_true",
                       help="built-in simulated drones at the depots (default)")
    where.add_argument("--watch", action="store_true",
                       help="with --store FILE or postgresql://...: watch every site's orders "
                            "and drones in the book as the sites write it (read-only)")
    p.add_argument("--poll", type=float, default=1.0, metavar="S",
                   help="with --watch: wall seconds between two reads of the book "
                        "(default %(default)s)")
    p.add_argument("--configure", action="store_true",
                   help="with --connect: let pre-flight set missing vehicle parameters")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.watch:
        return _watch(args)
    scenario, folder = load_fleet_scenario(args)
    with tempfile.TemporaryDirectory(prefix="drone-delivery-console-") as tmp:
        store_path = args.store if args.store else Path(tmp) / "console.sqlite"
        # Owned before the simulator starts: a refused console starts nothing.
        with own_store(store_path, site_of(args)):
            return _run_owned(scenario, folder, store_path, args)


def _run_owned(scenario: Scenario, folder: Path, store_path: Path,
               args: argparse.Namespace) -> int:
    from groundcontrol.console.session import SIM_QUIT_NOTE, run_console

    sim = None if args.connect else start_sim(scenario, folder, args.speedup, process=True)
    try:
        with Store.open(store_path, depots=site_of(args)) as store:
            if sim is not None:
                controller = build_sim_controller(scenario, folder, sim, store, args)
                where, note = "built-in sim", SIM_QUIT_NOTE
            else:
                controller = _connected(scenario, folder, store, args)
                where, note = args.connect, None
            try:
                _start(controller, args)
            except GroundControlError as exc:
                controller.stop()
                print(f"drone-delivery console: {exc}", file=sys.stderr)
                return 1
            return run_console(controller, f"{scenario.name} · {where}",
                               Path(args.store) if args.store else None, quit_note=note)
    finally:
        if sim is not None:
            sim.stop()


def _start(controller: FleetController, args: argparse.Namespace) -> None:
    """Start the controller; a fleet of which no vehicle answers is an error, as in ``run``.

    Raises:
        GroundControlError: a link cannot be opened, or no vehicle sent a HEARTBEAT.
    """
    hint = ("check --connect and that the vehicles are running (the store is kept: run again "
            "to resume)")
    try:
        controller.start()
    except GroundControlError as exc:
        raise GroundControlError(f"{exc}; {hint}") from exc
    if not any(t.snapshot().heartbeats for t in controller.trackers.values()):
        where = args.connect or "the built-in simulator"
        raise GroundControlError(f"no vehicle answered on {where} within "
                                 f"{controller.config.resync_wall_s:.0f} s; {hint}")


def _connected(scenario: Scenario, folder: Path, store: Store, args: argparse.Namespace
               ) -> FleetController:
    releases = select_orders(scenario.orders, args.orders, args.time_scale)
    start_s = start_time_s(store, releases)
    record_scenario(store, folder, args.margin, start_s)
    holder: list[FleetController] = []
    clock = VehicleClock(lambda: list(holder[0].trackers.values()) if holder else [], start_s,
                         fallback_speedup=args.speedup)
    config = FleetConfig(speedup=args.speedup, configure=args.configure, margin_m=args.margin)
    controller = FleetController(scenario, store, endpoints_from_urls(scenario, args.connect),
                                 clock, config=config, crew=ManualCrew(), releases=releases)
    holder.append(controller)
    return controller


def _watch(args: argparse.Namespace) -> int:
    """``console --watch``: the whole book, read-only.

    Raises:
        ValueError: no --store, options that drive a fleet, a store that cannot be read
            (``StoreError``, ``StoreFault``: no such file, not a store, no server), or a
            book with nothing recorded yet.
    """
    if args.store is None:
        raise ValueError("--watch needs --store FILE or postgresql://...: the order book to "
                         "watch")
    if args.site:
        raise ValueError("--watch shows every site: drop --site (a site's own console is "
                         "`console --site DEPOT --connect ...`)")
    if args.scenario is not None:
        raise ValueError("--watch draws the scenario the sites recorded in the book: drop "
                         f"{args.scenario!r}")
    if not (args.poll > 0 and args.poll < 3600):
        raise ValueError(f"--poll must be between 0 and 3600 s, got {args.poll:g}")
    from groundcontrol.console.watch import BookWatch, WatchBackend
    from groundcontrol.console.watch_app import WatchApp

    watch = BookWatch(args.store)
    try:
        first = watch.poll()
        if watch.empty:
            raise ValueError(f"{watch.store.path}: nothing recorded yet (no orders, events "
                             "or vehicle snapshots): start a site (`run --site DEPOT`) or "
                             "import orders, then watch")
        backend = WatchBackend(watch, args.poll, first)
        WatchApp(backend).run()
    finally:
        watch.close()
    print(f"watched {watch.summary()}", flush=True)
    return 0
