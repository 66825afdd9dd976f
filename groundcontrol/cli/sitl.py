"""``drone-delivery sitl``: run ArduPilot SITL copters until Ctrl-C.

Either N copters at ``--home`` (system ids ``1..N``), all flying one ``--profile`` airframe, or
one copter per drone of a ``--scenario``'s fleet: at its depot, with its system id, its
profile's airframe and the scenario's ``vehicle.parm``. Instances are ``-I first ..
first+N-1`` (TCP ``5760 + 10*i``). It waits until each is ready to arm, prints one endpoint per
line, and keeps them running until Ctrl-C (or SIGTERM), then stops them cleanly. Each
instance runs in ``<log-dir>/instance-<i>``, where ArduPilot keeps its own logs
(``logs/*.BIN``: ArduCopter only logs while armed unless ``LOG_DISARMED`` is 1). Exit status
0 after a clean stop, 1 when an instance fails to start, is not ready in time, or dies, 2 for
bad arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from groundcontrol.fleet.setup import VEHICLE_PARAMS, fleet_airframes, sim_homes
from groundcontrol.flight.ready import ekf_ready_check
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario
from sitl.airframe import DEFAULT_AIRFRAME, Airframe, airframe_names, load_airframe
from sitl.ardupilot import (
    ArduPilotSitl,
    Home,
    SitlError,
    check_instances,
    find_arducopter,
    sitl_defaults,
)

__all__ = ["PLAIN_QUAD", "Copter", "group_copters", "register", "run", "spread_homes"]

PLAIN_QUAD = "sitl-quad"
"""``--profile`` for ArduPilot's built-in quad (no delivery airframe)."""


@dataclass(frozen=True, slots=True)
class Copter:
    """One SITL copter to start."""

    home: Home
    sysid: int
    airframe: Airframe | None
    """The frame it flies; None for ArduPilot's built-in quad."""
    label: str = ""
    """What it stands for, appended to its ``ready`` line (a scenario's drone)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sitl", help="run ArduPilot SITL copters until Ctrl-C",
        description="Start ArduPilot SITL copters (N at --home, or a --scenario's fleet at its "
                    "depots), wait until each is ready to arm, print their MAVLink endpoints "
                    "and run until Ctrl-C.")
    p.add_argument("--scenario", metavar="NAME_OR_PATH",
                   help="one copter per drone of this scenario (folder or example name): at "
                        "its depot, with its sysid and its profile's airframe, plus the "
                        f"scenario's {VEHICLE_PARAMS}; instead of --home")
    p.add_argument("--home", action="append", metavar="LAT,LON,ALT,HDG",
                   help="home of the copters; give it once for all (spread 5 m apart) or once "
                        "per copter")
    p.add_argument("--count", type=int, default=None,
                   help="number of copters at --home (default 1)")
    p.add_argument("--profile", choices=[*airframe_names(), PLAIN_QUAD], default=None,
                   help=f"airframe the --home copters fly (default {DEFAULT_AIRFRAME}; "
                        f"{PLAIN_QUAD}: ArduPilot's built-in quad)")
    p.add_argument("--sitl", help="arducopter binary (default: $ARDUPILOT_SITL, then PATH)")
    p.add_argument("--defaults", help="comma-separated defaults .parm files (default: "
                                      "$ARDUPILOT_DEFAULTS, then copter.parm of the binary's "
                                      "ArduPilot tree)")
    p.add_argument("--no-overlay", action="store_true",
                   help="do not add sitl/params_ardupilot/delivery-overlay.parm")
    p.add_argument("--speedup", type=float, default=1.0, help="simulation speedup (default 1)")
    p.add_argument("--instance", type=int, default=0,
                   help="first -I instance, 0..255 (default 0)")
    p.add_argument("--log-dir", type=Path,
                   help="where the instances run and their logs stay: ArduPilot's own "
                        "dataflash logs in instance-I/logs/*.BIN (written once a copter arms, "
                        "or from boot with LOG_DISARMED 1), the console output in "
                        "arducopter-I.log (default: a new temporary folder)")
    p.add_argument("--ready-timeout", type=float, default=None,
                   help="wall seconds to wait for ready-to-arm (default 30 + 120/speedup)")
    p.set_defaults(func=run)


def spread_homes(texts: list[str], count: int) -> list[Home]:
    """One home per copter: the given ones, or one home repeated ~5 m east per copter.

    >>> [h.lon for h in spread_homes(["-35.0,149.0,600,0"], 2)]
    [149.0, 149.0000548]

    Raises:
        ValueError: a malformed home, or a number of homes that is neither 1 nor ``count``.
    """
    if count < 1:
        raise ValueError(f"--count must be >= 1, got {count}")
    homes = [Home.parse(t) for t in texts]
    if len(homes) == count:
        return homes
    if len(homes) != 1:
        raise ValueError(f"--home given {len(homes)} times for --count {count}: give it once "
                         "or once per copter")
    h = homes[0]
    # 5 m in longitude at this latitude; separate processes never collide, but a map would.
    from math import cos, radians

    step_deg = 5.0 / (111_320.0 * max(0.01, cos(radians(h.lat))))
    return [Home(h.lat, round(h.lon + i * step_deg, 7), h.alt_amsl_m, h.heading_deg)
            for i in range(count)]


def group_copters(copters: Sequence[Copter]) -> list[tuple[int, list[Copter]]]:
    """Runs of consecutive copters one ``ArduPilotSitl`` can start, with the offset of each
    run's first copter: the same airframe and consecutive system ids (it takes one airframe
    and numbers sysids up from the first).

    >>> h = Home(0.0, 0.0)
    >>> runs = group_copters([Copter(h, 1, None), Copter(h, 2, None), Copter(h, 5, None)])
    >>> [(offset, [c.sysid for c in run]) for offset, run in runs]
    [(0, [1, 2]), (2, [5])]
    """
    runs: list[tuple[int, list[Copter]]] = []
    for offset, copter in enumerate(copters):
        if runs:
            last = runs[-1][1][-1]
            if copter.airframe == last.airframe and copter.sysid == last.sysid + 1:
                runs[-1][1].append(copter)
                continue
        runs.append((offset, [copter]))
    return runs


def _copters_at_homes(args: argparse.Namespace) -> list[Copter]:
    name = args.profile or DEFAULT_AIRFRAME
    airframe = None if name == PLAIN_QUAD else load_airframe(name)
    homes = spread_homes(args.home, 1 if args.count is None else args.count)
    return [Copter(home, i + 1, airframe) for i, home in enumerate(homes)]


def _scenario_copters(args: argparse.Namespace) -> tuple[list[Copter], list[Path]]:
    """The scenario's drones as copters, and its vehicle parameter file if it has one."""
    if args.count is not None or args.profile is not None:
        raise ValueError("--count and --profile are for --home copters; with --scenario every "
                         "drone of the fleet starts, flying its own profile")
    folder = resolve_scenario(args.scenario)
    scenario = load_scenario(folder)
    if not scenario.fleet:
        raise ValueError(f"scenario {args.scenario!r} has no drones")
    copters = []
    for drone, home, airframe in zip(scenario.fleet, sim_homes(scenario),
                                     fleet_airframes(scenario), strict=True):
        flies = drone.profile if airframe is not None or drone.profile == PLAIN_QUAD else (
            f"{drone.profile}, as {PLAIN_QUAD}")
        copters.append(Copter(Home(*home), drone.sysid, airframe,
                              f"drone {drone.id} ({flies})"))
    params = folder / VEHICLE_PARAMS
    return copters, [params] if params.is_file() else []


def _copters(args: argparse.Namespace) -> tuple[list[Copter], list[Path]]:
    """The copters the arguments ask for, and operator parameter files for all of them.

    Raises:
        ValueError: bad or conflicting arguments, or a bad scenario.
    """
    if args.speedup <= 0:
        raise ValueError(f"--speedup must be positive, got {args.speedup:g}")
    if (args.scenario is None) == (args.home is None):
        raise ValueError("give either --scenario or --home (exactly one)")
    copters, operator = (_scenario_copters(args) if args.scenario is not None
                         else (_copters_at_homes(args), []))
    check_instances(args.instance, len(copters))
    return copters, operator


def _launchers(args: argparse.Namespace, copters: Sequence[Copter], operator: Sequence[Path],
               binary: Path, log_dir: Path) -> list[ArduPilotSitl]:
    """One (not yet started) ``ArduPilotSitl`` per run of ``group_copters``."""
    return [
        ArduPilotSitl(
            homes=[c.home for c in run], log_dir=log_dir, binary=binary,
            defaults=sitl_defaults(binary, args.defaults, overlay=not args.no_overlay,
                                   airframe=run[0].airframe, operator=operator),
            speedup=args.speedup, first_instance=args.instance + offset,
            first_sysid=run[0].sysid, airframe=run[0].airframe)
        for offset, run in group_copters(copters)]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _supervise(sitls: Sequence[ArduPilotSitl], out: TextIO) -> int:
    try:
        # Said inside the try: a Ctrl-C that follows "running" at once is a stop, not an
        # interrupted start (a script reading the line raced the print and exited 130).
        out.write("running; Ctrl-C stops them\n")
        out.flush()
        while True:
            for sitl in sitls:
                sitl.check_alive()
            time.sleep(0.5)
    except SitlError as exc:
        print(f"drone-delivery sitl: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out.write("stopping\n")
        out.flush()
        return 0


def _serve(sitls: Sequence[ArduPilotSitl], copters: Sequence[Copter], timeout_s: float,
           speedup: float, out: TextIO) -> int:
    """Start every launcher, wait until all are ready, report them and supervise until
    Ctrl-C; every instance is stopped on the way out, whatever happens."""
    with ExitStack() as stack:
        # Start them all before waiting for any, so that their boots overlap.
        for sitl in sitls:
            stack.enter_context(sitl)
        ready = ekf_ready_check(speedup)
        for sitl in sitls:
            sitl.wait_ready(ready, timeout_s)
        urls = [url for sitl in sitls for url in sitl.endpoints]
        for url, copter in zip(urls, copters, strict=True):
            label = f"  {copter.label}" if copter.label else ""
            out.write(f"ready  sysid {copter.sysid}  {url}  home {copter.home.arg()}{label}\n")
        return _supervise(sitls, out)


def run(args: argparse.Namespace) -> int:
    copters, operator = _copters(args)
    out = sys.stdout
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        binary = find_arducopter(args.sitl)
        log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="drone-delivery-sitl-"))
        sitls = _launchers(args, copters, operator, binary, log_dir)
        frames = dict.fromkeys(c.airframe.name if c.airframe else PLAIN_QUAD for c in copters)
        out.write(f"starting {len(copters)} x {binary} ({', '.join(frames)}; speedup "
                  f"{args.speedup:g}); logs in {log_dir}\n")
        out.flush()
        timeout = args.ready_timeout or 30.0 + 120.0 / args.speedup
        status = _serve(sitls, copters, timeout, args.speedup, out)
        out.write(f"stopped; logs in {log_dir}\n")
        return status
    except KeyboardInterrupt:
        print("drone-delivery sitl: interrupted while starting; stopped", file=sys.stderr)
        return 130
    except SitlError as exc:
        print(f"drone-delivery sitl: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
