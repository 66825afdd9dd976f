"""``drone-delivery sim``: run built-in simulated ArduCopters on TCP ports until Ctrl-C.

Vehicle i listens on ``--base-port + 10*i`` (ArduPilot SITL's ``-I i`` layout, 5760, 5770, ...)
with MAV_SYSID i+1. Several ``--home`` (or a ``--homes`` file) spread the fleet over depots
round-robin. Each port serves one client at a time, like SITL's serial0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sitl.sim import Home, SimFleet, SimulatorError

__all__ = ["parse_home", "parse_homes_file", "register", "run"]


def parse_home(text: str) -> Home:
    """``LAT,LON,ALT[,HDG]`` to a Home.

    >>> parse_home("-35.363261,149.165230,584,353")
    Home(lat=-35.363261, lon=149.16523, alt_m=584.0, heading_deg=353.0)
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise ValueError(f"--home {text!r}: expected LAT,LON,ALT[,HDG]")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--home {text!r}: every field must be a number") from None
    lat, lon = values[0], values[1]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"--home {text!r}: latitude/longitude out of range")
    return Home(lat, lon, values[2], values[3] if len(values) == 4 else 0.0)


def parse_homes_file(path: Path) -> list[Home]:
    """One ``LAT,LON,ALT[,HDG]`` per line (``#`` comments); errors name the line."""
    homes = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            homes.append(parse_home(line))
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from None
    if not homes:
        raise ValueError(f"{path}: no homes")
    return homes


def _parse_wind(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        speed, direction = float(parts[0]), float(parts[1]) if len(parts) > 1 else 0.0
    except ValueError:
        raise ValueError(f"--wind {text!r}: expected SPEED,DIR (m/s, degrees from)") from None
    if speed < 0:
        raise ValueError(f"--wind {text!r}: speed must not be negative")
    return speed, direction


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="run built-in simulated ArduCopters on TCP ports",
                       description="Run N ArduCopter-compatible simulated vehicles. Vehicle i "
                                   "listens on TCP BASE_PORT+10*i with MAV_SYSID i+1.")
    p.add_argument("--count", type=int, default=1, help="number of vehicles (default 1)")
    p.add_argument("--home", action="append", default=[], metavar="LAT,LON,ALT,HDG",
                   help="start location; repeat for several depots (vehicles round-robin)")
    p.add_argument("--homes", type=Path, help="file with one LAT,LON,ALT,HDG per line")
    p.add_argument("--speedup", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--defaults", default="", metavar="FILE,...",
                   help="ArduPilot .parm files applied at boot, comma separated")
    p.add_argument("--wind", metavar="SPEED,DIR", help="wind speed m/s and direction (from)")
    p.add_argument("--base-port", type=int, default=5760, help="first TCP port (default 5760)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--duration", type=float, default=0.0,
                   help="stop after this many wall-clock seconds (default: until Ctrl-C)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    homes = [parse_home(h) for h in args.home]
    if args.homes:
        homes += parse_homes_file(args.homes)
    if not homes:
        homes = [Home(-35.363261, 149.165230, 584.0, 353.0)]
    if args.count < 1:
        raise ValueError(f"--count must be at least 1, got {args.count}")
    files = [Path(f) for f in args.defaults.split(",") if f.strip()]
    for f in files:
        if not f.is_file():
            raise ValueError(f"--defaults: no such file {f}")
    wind = _parse_wind(args.wind) if args.wind else None
    starts = [homes[i % len(homes)] for i in range(args.count)]
    try:
        fleet = SimFleet(starts, speedup=args.speedup, params_files=files,
                         base_port=args.base_port, host=args.host, wind=wind)
    except SimulatorError as exc:
        print(f"drone-delivery sim: {exc}", file=sys.stderr)
        return 1
    with fleet:
        for i, (url, home) in enumerate(zip(fleet.endpoints, starts, strict=True)):
            print(f"vehicle {i} sysid {i + 1} at {home.lat:.7f},{home.lon:.7f} "
                  f"{home.alt_m:.1f} m: {url}", flush=True)
        print(f"speedup {args.speedup:g}; Ctrl-C to stop", flush=True)
        started = time.monotonic()
        while not args.duration or time.monotonic() - started < args.duration:
            if fleet.error is not None:
                print(f"drone-delivery sim: simulator failed: {fleet.error!r}", file=sys.stderr)
                return 1
            time.sleep(0.2)
    return 0
