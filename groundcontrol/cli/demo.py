"""``drone-delivery demo``: the README's main job.

Starts one built-in simulated drone per fleet member at its depot (in this process), loads the
scenario's orders, dispatches and flies them faster than real time, and shows it all in the
dispatcher console; ``--headless`` prints progress lines and a summary instead (for scripts
and CI). Exit 0 once every order is final, 1 when the run failed or timed out.

Defaults: the built-in simulator carries the nine-drone Canberra fleet at roughly 5-13x on
two busy cores (it slows itself down rather than skip, and the fleet runs on its clock), so
the afternoon's arrivals are compressed (``--time-scale``) to keep the whole run within minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.model import FleetConfig, SimClock, SimCrew
from groundcontrol.fleet.setup import (
    add_fleet_arguments,
    fleet_stream_rate_hz,
    load_fleet_scenario,
    printer,
    select_orders,
    sim_endpoints,
    site_of,
    start_sim,
    start_time_s,
)
from groundcontrol.fleet.stats import FleetSummary, store_note
from groundcontrol.fleet.store.owner import own_store
from groundcontrol.fleet.store.sqlite import Store
from planner.scenario import Scenario

__all__ = ["DEFAULT_SPEEDUP", "DEFAULT_TIME_SCALE", "build_sim_controller", "register", "run"]

DEFAULT_SPEEDUP = 25.0
"""Asked of the simulator; with the whole fleet it runs as fast as the CPU allows below it.
Above it the ground station's own work (checks, verified uploads) costs the flights minutes
of scenario time: at 40 the Canberra demo took longer on the wall (5.7 min against 5.0) and
pre-flights ran past their turnaround by up to 150 s."""
DEFAULT_TIME_SCALE = 0.15
"""The 4-hour Canberra afternoon arrives in 35 minutes of scenario time. Measured on a shared
2-core machine (2026-12-06, profiles calibrated on SITL): 5.0 min wall, 37 orders delivered,
37 on time, 18 refused for the 30-minute promise with 2 minutes in hand."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="fly the example scenario on simulated drones, in the console",
        description="Start simulated drones at the scenario's depots, dispatch its orders and "
                    "fly them faster than real time, shown in the dispatcher console "
                    "(--headless: progress lines and a summary).")
    add_fleet_arguments(p, default_speedup=DEFAULT_SPEEDUP)
    p.set_defaults(time_scale=DEFAULT_TIME_SCALE)
    p.add_argument("--headless", action="store_true", help="no console: progress and summary")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="wall seconds before a headless run gives up (default %(default)s)")
    p.add_argument("--verbose", action="store_true", help="every flight phase and text")
    p.set_defaults(func=run)


def build_sim_controller(scenario: Scenario, folder: Path, sim: Any, store: Store,
                         args: argparse.Namespace) -> FleetController:
    """A controller over simulated drones (``sim`` from ``start_sim``), clocked by the sim."""
    releases = select_orders(scenario.orders, args.orders, args.time_scale)
    start_s = start_time_s(store, releases)
    # As run does: order add checks against it, replay and report draw its map.
    record_scenario(store, folder, args.margin, start_s)
    config = FleetConfig(speedup=args.speedup, configure=True, margin_m=args.margin,
                         auto_recover_s=120.0, vehicles_start_fresh=True,
                         stream_rate_hz=fleet_stream_rate_hz(len(scenario.fleet), args.speedup))
    crew = SimCrew(sim, {d.id: i for i, d in enumerate(scenario.fleet)})
    return FleetController(scenario, store, sim_endpoints(scenario, sim),
                           SimClock(sim, start_s), config=config, crew=crew, releases=releases)


def run(args: argparse.Namespace) -> int:
    scenario, folder = load_fleet_scenario(args)
    with tempfile.TemporaryDirectory(prefix="drone-delivery-demo-") as tmp:
        store_path = args.store if args.store else Path(tmp) / "demo.sqlite"
        depots = site_of(args)
        # before the simulator: a refused demo starts nothing
        with own_store(store_path, depots):
            sim = start_sim(scenario, folder, args.speedup, process=True)
            try:
                with Store.open(store_path, depots=depots) as store:
                    controller = build_sim_controller(scenario, folder, sim, store, args)
                    if args.headless:
                        return _headless(controller, args)
                    return _console(controller, scenario, args)
            finally:
                sim.stop()


def _headless(controller: FleetController, args: argparse.Namespace) -> int:
    controller.add_observer(printer(sys.stdout, args.verbose))
    print(f"{controller.scenario.name}: {len(controller.drones)} simulated drones, "
          f"{controller.pending_releases()} orders, speedup {args.speedup:g}, arrivals x"
          f"{args.time_scale:g}", flush=True)
    summary: FleetSummary | None = None
    sim0, wall0 = controller.clock.now_s(), time.monotonic()
    try:
        controller.start()
        summary = controller.run_until_done(args.timeout)
    except GroundControlError as exc:
        print(f"drone-delivery demo: {exc}", file=sys.stderr)
        return 1
    finally:
        controller.stop()
        if summary is None:
            summary = controller.summary()
        pace = _pace_line(controller.clock.now_s() - sim0, time.monotonic() - wall0, args.speedup)
        print("\n".join([*summary.lines(), pace, store_note(args.store)]), flush=True)
    return 0 if summary.open == 0 else 1


def _pace_line(sim_s: float, wall_s: float, asked: float) -> str:
    """How fast the simulated day ran: a fleet the machine cannot step at the speedup asked
    runs slower, and says so."""
    reached = sim_s / wall_s if wall_s > 0 else 0.0
    return (f"simulated {sim_s / 60:.1f} min in {wall_s:.0f} s wall: {reached:.1f}x "
            f"(asked {asked:g}x)")


def _console(controller: FleetController, scenario: Scenario, args: argparse.Namespace) -> int:
    from groundcontrol.console.session import SIM_QUIT_NOTE, run_console

    controller.start()
    return run_console(controller, f"{scenario.name} · built-in sim",
                       Path(args.store) if args.store else None, quit_note=SIM_QUIT_NOTE)
