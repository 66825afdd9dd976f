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

from groundcontrol.cli.fly import load_mission
from groundcontrol.errors import GroundControlError
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.link import Link, LinkChannel
from groundcontrol.mavlink.signing import use_stored_key
from groundcontrol.mavlink.transfer import clear, download, upload_verified
from groundcontrol.mavlink.vehicle import COPTER_MODES, VehicleTracker
from missions.items import Mission, MissionItem, MissionType
from missions.qgc_plan import write_plan
from missions.wpl import write_wpl

__all__ = ["register"]

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
    mission = load_mission(args.file)  # validated before anything is connected
    whole_plan = args.file.suffix.lower() == ".plan"
    try:
        with _vehicle(args) as channel:
            lines = [_send(channel, mission.items, MissionType.MISSION, "mission")]
            if whole_plan:
                lines.append(_send(channel, mission.fence, MissionType.FENCE, "fence"))
                lines.append(_send(channel, mission.rally, MissionType.RALLY, "rally"))
    except GroundControlError as exc:
        return _refused("upload", exc)
    print(f"{args.file} to vehicle {channel.sysid}: " + "; ".join(lines))
    return 0


def _send(channel: LinkChannel, items: tuple[MissionItem, ...], kind: MissionType,
          name: str) -> str:
    if not items:
        clear(channel, kind)
        return f"{name} cleared"
    upload_verified(channel, items, kind)
    return f"{name} {len(items)} items verified"


def run_download(args: argparse.Namespace) -> int:
    suffix = args.file.suffix.lower()
    if suffix not in (".plan", ".waypoints", ".txt"):
        raise ValueError(f"{args.file}: expected a .plan or .waypoints file name")
    if not args.file.parent.is_dir():
        raise ValueError(f"{args.file.parent}: no such folder")
    try:
        with _vehicle(args) as channel:
            items = download(channel, MissionType.MISSION)
            fence = download(channel, MissionType.FENCE) if suffix == ".plan" else ()
            rally = download(channel, MissionType.RALLY) if suffix == ".plan" else ()
    except GroundControlError as exc:
        return _refused("download", exc)
    if suffix == ".plan":
        write_plan(args.file, Mission(args.file.stem, items, fence=fence, rally=rally))
    else:
        write_wpl(args.file, items)
    print(f"vehicle {channel.sysid} to {args.file}: mission {len(items)} items (home included)"
          + (f", fence {len(fence)}, rally {len(rally)}" if suffix == ".plan" else ""))
    return 0


def _numbers(values: list[str], names: tuple[str, ...]) -> list[float]:
    if len(values) != len(names):
        raise ValueError(f"expected {' '.join(names)}, got {' '.join(values) or 'nothing'}")
    out = []
    for name, text in zip(names, values, strict=True):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or "_" in text:
            raise ValueError(f"{name}: not a number: {text!r}")
        out.append(number)
    return out


def _check_action(args: argparse.Namespace) -> None:
    """Bad arguments are refused before anything is connected."""
    action, values = args.action, args.values
    if action == "mode":
        if len(values) != 1 or values[0].upper() not in COPTER_MODES.values():
            raise ValueError(f"mode: expected one of {', '.join(COPTER_MODES.values())}, "
                             f"got {' '.join(values) or 'nothing'}")
    elif action == "goto":
        lat, lon, alt = _numbers(values, ("LAT", "LON", "ALT"))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < alt <= 10_000):
            raise ValueError(f"goto: {lat:g} {lon:g} {alt:g} is not a position "
                             "(latitude -90..90, longitude -180..180, altitude 0..10,000 m)")
    elif action == "param":
        if not 1 <= len(values) <= 2 or not 1 <= len(values[0]) <= 16:
            raise ValueError("param: expected NAME (at most 16 characters) [VALUE]")
        if len(values) == 2:
            _numbers(values[1:], ("VALUE",))
    elif values:
        raise ValueError(f"{action} takes no values, got {' '.join(values)}")


def run_vehicle(args: argparse.Namespace) -> int:
    _check_action(args)
    try:
        with _vehicle(args) as channel:
            answer = _act(Commander(channel), channel, args)
    except GroundControlError as exc:
        return _refused(f"vehicle {args.action}", exc)
    print(json.dumps(answer) if args.json else _text(answer))
    return 0


def _act(commander: Commander, channel: LinkChannel, args: argparse.Namespace
         ) -> dict[str, object]:
    action, values = args.action, args.values
    done: dict[str, object] = {"vehicle": channel.sysid, "action": action}
    if action == "status":
        return {**done, **_status(channel)}
    if action == "arm":
        commander.arm(force=args.force)
    elif action == "disarm":
        commander.disarm(force=args.force)
    elif action == "mode":
        commander.set_mode(values[0].upper())
    elif action == "goto":
        lat, lon, alt = (float(v) for v in values)
        commander.set_mode("GUIDED")
        commander.goto(lat, lon, alt)
    elif action == "rtl":
        done["mode"] = commander.safe_return()
    elif action == "land":
        commander.land()
    elif action == "param":
        name = values[0].upper()
        value = commander.get_param(name) if len(values) == 1 else \
            commander.set_param(name, float(values[1]))
        done.update(name=name, value=value)
    return done


def _status(channel: LinkChannel, settle_s: float = 2.0) -> dict[str, object]:
    """What the vehicle reports after ``settle_s`` of its telemetry (streams asked for)."""
    tracker = VehicleTracker(channel.sysid)
    unsubscribe = channel.subscribe(tracker.update)
    try:
        Commander(channel).request_streams()
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline and tracker.snapshot().lat_deg is None:
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
