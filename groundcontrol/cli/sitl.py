"""``drone-delivery sitl``: run N ArduPilot SITL copters until Ctrl-C.

Starts ``arducopter`` instances ``-I first .. first+N-1`` (TCP ``5760 + 10*i``, system ids
``1..N``), waits until each is ready to arm, prints one endpoint per line, and keeps them running
until Ctrl-C (or SIGTERM), then stops them cleanly. Logs stay in ``--log-dir``. Exit status 0
after a clean stop, 1 when an instance fails to start, is not ready in time, or dies, 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from groundcontrol.flight.ready import ekf_ready_check
from sitl.ardupilot import ArduPilotSitl, Home, SitlError, find_arducopter, sitl_defaults

__all__ = ["register", "run", "spread_homes"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sitl", help="run ArduPilot SITL copters until Ctrl-C",
        description="Start N ArduPilot SITL copters, wait until each is ready to arm, print "
                    "their MAVLink endpoints and run until Ctrl-C.")
    p.add_argument("--count", type=int, default=1, help="number of copters (default 1)")
    p.add_argument("--home", action="append", required=True, metavar="LAT,LON,ALT,HDG",
                   help="home of the copters; give it once for all (spread 5 m apart) or once "
                        "per copter")
    p.add_argument("--sitl", help="arducopter binary (default: $ARDUPILOT_SITL, then PATH)")
    p.add_argument("--defaults", help="comma-separated defaults .parm files (default: "
                                      "$ARDUPILOT_DEFAULTS, then copter.parm of the binary's "
                                      "ArduPilot tree)")
    p.add_argument("--no-overlay", action="store_true",
                   help="do not add sitl/params_ardupilot/delivery-overlay.parm")
    p.add_argument("--speedup", type=float, default=1.0, help="simulation speedup (default 1)")
    p.add_argument("--instance", type=int, default=0, help="first -I instance (default 0)")
    p.add_argument("--log-dir", type=Path, help="where logs go (default: a new temporary folder)")
    p.add_argument("--ready-timeout", type=float, default=None,
                   help="wall seconds to wait for ready-to-arm (default 30 + 120/speedup)")
    # "--home -35.3,149.1,584,0" must read as a value: argparse only treats plain negative
    # numbers so, and would take the southern latitude for an option.
    p._negative_number_matcher = re.compile(r"^-\d*\.?\d+(,[-\d.]*)*$")
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


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _supervise(sitl: ArduPilotSitl, out: TextIO) -> int:
    try:
        while True:
            sitl.check_alive()
            time.sleep(0.5)
    except SitlError as exc:
        print(f"drone-delivery sitl: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out.write("stopping\n")
        out.flush()
        return 0


def run(args: argparse.Namespace) -> int:
    if args.speedup <= 0:
        raise ValueError(f"--speedup must be positive, got {args.speedup:g}")
    homes = spread_homes(args.home, args.count)
    out = sys.stdout
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        binary = find_arducopter(args.sitl)
        log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="drone-delivery-sitl-"))
        timeout = args.ready_timeout or 30.0 + 120.0 / args.speedup
        sitl = ArduPilotSitl(
            homes=homes, log_dir=log_dir, binary=binary,
            defaults=sitl_defaults(binary, args.defaults, overlay=not args.no_overlay),
            speedup=args.speedup, first_instance=args.instance,
            ready=ekf_ready_check(args.speedup), ready_timeout_s=timeout)
        out.write(f"starting {len(homes)} x {binary} (speedup {args.speedup:g}); "
                  f"logs in {log_dir}\n")
        out.flush()
        with sitl:
            for url, sysid, home in zip(sitl.endpoints, sitl.sysids, homes, strict=True):
                out.write(f"ready  sysid {sysid}  {url}  home {home.arg()}\n")
            out.write("running; Ctrl-C stops them\n")
            out.flush()
            status = _supervise(sitl, out)
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
