"""``drone-delivery upload | download | vehicle``: operate one vehicle as a ground station does,
without flying a delivery.

* ``upload FILE``: a ``.plan`` (mission, fence and rally, as QGroundControl sends it: an empty
  fence or rally list clears the vehicle's) or a ``.waypoints`` file (mission only), each list
  read back and compared (``upload_verified``, as ``fly`` does).
* ``download FILE``: the vehicle's mission (seq 0 is home), fence and rally to a ``.plan``, or
  its mission to a ``.waypoints`` file.
* ``vehicle ACTION``: ``status``, ``arm``, ``disarm``, ``mode NAME``, ``goto LAT LON ALT``
  (GUIDED, altitude above home), ``rtl`` (SmartRTL, else Land: never a straight RTL through
  zones), ``land``, ``param NAME [VALUE]``.

The operations themselves are ``groundcontrol.flight.operate``'s, shared with the console's
vehicle screen.

Exit status: 0 done, 1 the vehicle refused or did not answer, 2 bad input (a file, an argument).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from groundcontrol.errors import GroundControlError
from groundcontrol.flight.mission_file import load_mission
from groundcontrol.flight.operate import download_lists, perform, upload_lists
from groundcontrol.flight.vehicle_ops import (
    Arm,
    Disarm,
    Land,
    ReadParam,
    ReturnHome,
    SetParam,
    UploadPlan,
    VehicleOp,
    parse_download_path,
    parse_goto,
    parse_mode,
    parse_number,
    parse_param_name,
)
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.link import Link, LinkChannel
from groundcontrol.mavlink.signing import use_stored_key
from groundcontrol.mavlink.vehicle import COPTER_MODES, VehicleTracker

__all__ = ["register", "vehicle_op"]

_ACTIONS = ("status", "arm", "disarm", "mode", "goto", "rtl", "land", "param")


def _connection_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connect", default="tcp:127.0.0.1:5760",
                   help="MAVLink URL: tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, "
                        "serial:DEVICE:BAUD (default: tcp:127.0.0.1:5760)")
    p.add_argument("--sysid", type=int, help="vehicle system id (default: the first heard)")
    p.add_argument("--speedup", type=float, default=1.0,
                   help="a simulator's speedup, so heartbeats match its clock (default 1)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="wall seconds to wait for the vehicle's first heartbeat (default 30)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("upload", help="upload a .plan or .waypoints to a vehicle (verified)",
                        description="Upload a .plan (mission, fence and rally; an empty list "
                                    "clears the vehicle's) or a .waypoints (mission), each list "
                                    "read back and compared.")
    up.add_argument("file", type=Path, help="mission file (.plan or .waypoints)")
    _connection_arguments(up)
    up.set_defaults(func=run_upload)
    down = sub.add_parser("download", help="save a vehicle's mission, fence and rally")
    down.add_argument("file", type=Path, help="where to write (.plan or .waypoints)")
    _connection_arguments(down)
    down.set_defaults(func=run_download)
    v = sub.add_parser("vehicle", help="status, arm, disarm, mode, goto, rtl, land, param")
    v.add_argument("action", choices=_ACTIONS)
    v.add_argument("values", nargs="*", help="mode NAME | goto LAT LON ALT | param NAME [VALUE]")
    v.add_argument("--force", action="store_true", help="arm/disarm: skip the checks (flying!)")
    v.add_argument("--json", action="store_true", help="status/param: one JSON object")
    _connection_arguments(v)
    v.set_defaults(func=run_vehicle)


@contextmanager
def _vehicle(args: argparse.Namespace) -> Iterator[LinkChannel]:
    if not (math.isfinite(args.speedup) and 0 < args.speedup <= 1000):
        raise ValueError(f"--speedup must be > 0 and <= 1000, got {args.speedup:g}")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ValueError(f"--timeout must be > 0 s, got {args.timeout:g}")
    with Link(args.connect, heartbeat_period_s=1.0 / args.speedup) as link:
        channel = link.wait_vehicle(args.sysid, timeout_s=args.timeout)
        link.pin(channel.sysid)
        use_stored_key(link, channel.sysid)  # a signed vehicle ignores us otherwise
        yield channel


def _refused(command: str, exc: GroundControlError) -> int:
    print(f"drone-delivery {command}: {exc}", file=sys.stderr)
    return 1


def run_upload(args: argparse.Namespace) -> int:
    op = UploadPlan(args.file)
    load_mission(args.file)  # bad files are refused (exit 2) before anything is connected
    try:
        with _vehicle(args) as channel:
            lines = upload_lists(channel, op)
    except GroundControlError as exc:
        return _refused("upload", exc)
    print(f"{args.file} to vehicle {channel.sysid}: " + "; ".join(lines))
    return 0


def run_download(args: argparse.Namespace) -> int:
    op = parse_download_path(str(args.file))
    try:
        with _vehicle(args) as channel:
            saved = download_lists(channel, op)
    except GroundControlError as exc:
        return _refused("download", exc)
    print(f"vehicle {channel.sysid} to {args.file}: {saved}")
    return 0


def vehicle_op(action: str, values: list[str], force: bool = False) -> VehicleOp | None:
    """The operation ``vehicle ACTION VALUES`` asks for (None for ``status``); bad arguments
    are refused with ``ValueError`` before anything is connected."""
    simple: dict[str, VehicleOp | None] = {
        "arm": Arm(force), "disarm": Disarm(force), "rtl": ReturnHome(), "land": Land(),
        "status": None}
    if action in simple:
        if values:
            raise ValueError(f"{action} takes no values, got {' '.join(values)}")
        return simple[action]
    if action == "mode":
        if len(values) != 1:
            raise ValueError(f"mode: expected one of {', '.join(COPTER_MODES.values())}, "
                             f"got {' '.join(values) or 'nothing'}")
        return parse_mode(values[0])
    if action == "goto":
        if len(values) != 3:
            raise ValueError(f"expected LAT LON ALT, got {' '.join(values) or 'nothing'}")
        return parse_goto(*values)
    if not 1 <= len(values) <= 2:
        raise ValueError("param: expected NAME (at most 16 characters) [VALUE]")
    name = parse_param_name(values[0])
    if len(values) == 1:
        return ReadParam(name)
    return SetParam(name, parse_number(values[1], "VALUE"))


def run_vehicle(args: argparse.Namespace) -> int:
    op = vehicle_op(args.action, args.values, args.force)
    try:
        with _vehicle(args) as channel:
            done: dict[str, object] = {"vehicle": channel.sysid, "action": args.action}
            if op is None:
                done.update(_status(channel))
            else:
                done.update(perform(channel, op).fields)
    except GroundControlError as exc:
        return _refused(f"vehicle {args.action}", exc)
    print(json.dumps(done) if args.json else _text(done))
    return 0


def _status(channel: LinkChannel, settle_s: float = 2.0) -> dict[str, object]:
    """What the vehicle reports after ``settle_s`` of its telemetry (streams asked for)."""
    tracker = VehicleTracker(channel.sysid)
    unsubscribe = channel.subscribe(tracker.update)
    try:
        Commander(channel).request_streams()
        deadline = time.monotonic() + settle_s
        # Position and GPS come in different messages: wait for both (a loaded 2-core
        # machine once printed the position with no GPS_RAW_INT yet).
        while time.monotonic() < deadline and (tracker.snapshot().lat_deg is None
                                               or tracker.snapshot().gps_fix_type is None):
            time.sleep(0.05)
        time.sleep(0.2)  # one more round of the slower streams
        s = tracker.snapshot()
    finally:
        unsubscribe()
    return {"mode": s.mode, "armed": s.armed, "lat": s.lat_deg, "lon": s.lon_deg,
            "alt_rel_m": s.alt_rel_m, "battery_pct": s.battery_pct, "voltage_v": s.voltage_v,
            "gps_fix": s.gps_fix_type, "satellites": s.gps_sats, "ekf_flags": s.ekf_flags}


def _text(answer: dict[str, object]) -> str:
    rest = {k: v for k, v in answer.items() if k not in ("vehicle", "action")}
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in rest.items())
    return f"vehicle {answer['vehicle']}: {answer['action']} done" + (f"; {shown}" if shown
                                                                       else "")
