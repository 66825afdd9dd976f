"""``drone-delivery fly``: fly one mission file on one vehicle and say how it went.

Exit status 0 only when the delivery was made and the vehicle landed and disarmed; 1 with the
reason otherwise; 2 for bad input (unreadable mission file, bad arguments).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from groundcontrol.errors import GroundControlError
from groundcontrol.flight import DELIVERY_TEXTS, Flight, FlightConfig, FlightEvent
from groundcontrol.link import Link
from groundcontrol.preflight import PreflightConfig
from groundcontrol.tlog import TlogWriter
from missions.items import Cmd, Mission, MissionItem

__all__ = ["load_mission", "mission_from_items", "register", "run"]

_NAV_COMMANDS = {Cmd.NAV_WAYPOINT, Cmd.NAV_LAND, Cmd.NAV_LOITER_TIME, Cmd.NAV_TAKEOFF,
                 Cmd.NAV_PAYLOAD_PLACE}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fly", help="fly one mission on one vehicle",
        description="Check, upload (verified), arm, start and follow one delivery mission. "
                    "Exit 0 only when the payload was delivered and the vehicle landed and "
                    "disarmed.")
    p.add_argument("mission", type=Path, help="mission file (.plan or .waypoints)")
    p.add_argument("--connect", default="tcp:127.0.0.1:5760",
                   help="MAVLink URL: tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, "
                        "serial:DEVICE:BAUD (default: %(default)s)")
    p.add_argument("--sysid", type=int, help="vehicle system id (default: the first heard)")
    p.add_argument("--tlog", type=Path, help="write a .tlog of the flight here")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="wall seconds allowed for the mission once started (default: %(default)s)")
    p.add_argument("--speedup", type=float, default=1.0,
                   help="the simulator's speedup, so heartbeats and waits match its clock")
    p.add_argument("--configure", action="store_true",
                   help="set missing required parameters (reboots when one needs it)")
    p.add_argument("--min-battery", type=int, default=90, help="minimum battery %% to take off")
    p.set_defaults(func=run)


def mission_from_items(name: str, items: tuple[MissionItem, ...]) -> Mission:
    """A ``Mission`` from bare items: the first payload action is the delivery, the nav item
    before it the drop-off (``.waypoints`` files do not say)."""
    delivery = next((i.seq for i in items if i.command in DELIVERY_TEXTS), None)
    dropoff = None
    if delivery is not None:
        dropoff = next((i.seq for i in reversed(items[:delivery + 1])
                        if i.command in _NAV_COMMANDS), delivery)
    return Mission(name, items, delivery_seq=delivery, dropoff_seq=dropoff)


def load_mission(path: Path) -> Mission:
    """Read a ``.plan`` (with its fence, rally and parameter needs) or a ``.waypoints`` file.

    Raises:
        ValueError: unknown extension or a malformed file (names the line/field).
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if suffix == ".plan":
        from missions.qgc_plan import read_plan

        mission = read_plan(path)
        if mission.delivery_seq is None:
            derived = mission_from_items(mission.name, mission.items)
            mission = Mission(mission.name, mission.items, mission.fence, mission.rally,
                              mission.required_params, derived.delivery_seq,
                              derived.dropoff_seq, mission.order_id, mission.cruise_speed_ms)
        return mission
    if suffix in (".waypoints", ".txt"):
        from missions.wpl import read_wpl

        return mission_from_items(path.stem, tuple(read_wpl(path)))
    raise ValueError(f"{path}: expected a .plan or .waypoints file")


def _printer(out: TextIO, t0: float) -> object:
    def show(event: FlightEvent) -> None:
        if event.kind in ("state", "progress", "delivered", "problem", "upload", "check",
                          "outcome"):
            out.write(f"{time.monotonic() - t0:7.1f}s  vehicle {event.sysid}  "
                      f"{event.state.value:<10}  {event.kind}: {event.detail}\n")
            out.flush()

    return show


def run(args: argparse.Namespace) -> int:
    mission = load_mission(args.mission)
    if args.timeout <= 0 or args.speedup <= 0:
        raise ValueError("--timeout and --speedup must be positive")
    out = sys.stdout
    config = FlightConfig(
        speedup=args.speedup, mission_timeout_s=args.timeout * args.speedup,
        preflight=PreflightConfig(min_battery_pct=args.min_battery, configure=args.configure))
    try:
        with Link(args.connect, heartbeat_period_s=1.0 / args.speedup) as link:
            channel = link.wait_vehicle(args.sysid, timeout_s=30.0)
            out.write(f"connected to vehicle {channel.sysid} on {args.connect}; "
                      f"mission {mission.name}: {len(mission.items)} items, delivery at seq "
                      f"{mission.delivery_seq}\n")
            tlog = TlogWriter(args.tlog) if args.tlog else None
            if tlog is not None:
                tlog.attach(channel)
            try:
                flight = Flight(channel, mission, config=config,
                                observer=_printer(out, time.monotonic()))  # type: ignore[arg-type]
                outcome = flight.run()
            finally:
                if tlog is not None:
                    tlog.close()
    except GroundControlError as exc:
        print(f"drone-delivery fly: {exc}", file=sys.stderr)
        return 1
    if outcome.success:
        out.write(f"delivered, landed and disarmed ({outcome.duration_s:.0f} s)\n")
        return 0
    print(f"drone-delivery fly: not delivered: {outcome}", file=sys.stderr)
    return 1
