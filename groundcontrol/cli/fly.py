"""``drone-delivery fly``: fly one mission file on one vehicle and say how it went.

Exit status 0 only when the delivery was made and the vehicle landed and disarmed; 1 with the
reason otherwise; 2 for bad input (unreadable mission file, bad arguments).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from groundcontrol.errors import GroundControlError
from groundcontrol.flight.flight import Flight, FlightConfig, FlightEvent
from groundcontrol.flight.mission_file import load_mission, mission_from_items
from groundcontrol.flight.preflight import PreflightConfig
from groundcontrol.flight.progress import FlightOutcome
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.signing import use_stored_key
from groundcontrol.mavlink.tlog import TlogWriter
from missions.items import Mission
from sitl.airframe import DEFAULT_AIRFRAME, Airframe, airframe_names, load_airframe
from sitl.ardupilot import SitlError, SitlNotFound

__all__ = ["BACKENDS", "check_arguments", "load_mission", "mission_from_items", "register", "run",
           "vehicle_at"]

BACKENDS = ("builtin", "ardupilot")
DEFAULT_SPEEDUP = {None: 1.0, "builtin": 20.0, "ardupilot": 10.0}
MAX_SPEEDUP = 1000.0
"""Beyond this a simulator cannot keep its clock, and waits scaled by it become nonsense."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fly", help="fly one mission on one vehicle",
        description="Check, upload (verified), arm, start and follow one delivery mission. "
                    "Exit 0 only when the payload was delivered and the vehicle landed and "
                    "disarmed.")
    p.add_argument("mission", type=Path, help="mission file (.plan or .waypoints)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--connect",
                       help="MAVLink URL: tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, "
                            "serial:DEVICE:BAUD (default: tcp:127.0.0.1:5760)")
    where.add_argument("--backend", choices=BACKENDS,
                       help="start a simulated vehicle at the mission's home and fly it there: "
                            "the built-in simulator or ArduPilot SITL (arducopter from --sitl, "
                            "ARDUPILOT_SITL or PATH); implies --configure")
    p.add_argument("--sitl", help="arducopter binary for --backend ardupilot")
    p.add_argument("--profile",
                   help="airframe of the simulated vehicle (sitl/airframes/NAME.json + .parm; "
                        "default: the profile the .plan was planned for, else delivery-quad)")
    p.add_argument("--params", type=Path, action="append", default=[], metavar="FILE",
                   help="with --backend: the operator's parameter file, applied after the "
                        "airframe's (e.g. a scenario's vehicle.parm); may be repeated")
    p.add_argument("--log-dir", type=Path,
                   help="with --backend ardupilot: keep SITL's own logs (logs/*.BIN) here")
    p.add_argument("--instance", type=int, metavar="N",
                   help="with --backend ardupilot: SITL's instance number -I (0..255; ports "
                        "5760+10N...; default: the first free one)")
    p.add_argument("--sysid", type=int, help="vehicle system id (default: the first heard)")
    p.add_argument("--tlog", type=Path, help="write a .tlog of the flight here")
    p.add_argument("--timeout", type=float, default=None,
                   help="hard limit in wall seconds for the mission once started (default: "
                        "none; the flight may run 1.5x its planned time, then longer while the "
                        "vehicle keeps making progress)")
    p.add_argument("--json", action="store_true",
                   help="print the outcome as one JSON object on stdout (progress on stderr)")
    p.add_argument("--speedup", type=float,
                   help="the simulator's speedup, so heartbeats and waits match its clock "
                        "(default: 1 with --connect, 20 builtin, 10 ardupilot)")
    p.add_argument("--configure", action="store_true",
                   help="set missing required parameters (reboots when one needs it)")
    p.add_argument("--min-battery", type=int, default=90, help="minimum battery %% to take off")
    p.set_defaults(func=run)


def _printer(out: TextIO, t0: float) -> object:
    def show(event: FlightEvent) -> None:
        if event.kind in ("state", "progress", "delivered", "problem", "upload", "check",
                          "outcome"):
            out.write(f"{time.monotonic() - t0:7.1f}s  vehicle {event.sysid}  "
                      f"{event.state.value:<10}  {event.kind}: {event.detail}\n")
            out.flush()

    return show


@contextlib.contextmanager
def vehicle_at(mission: Mission, backend: str | None, connect: str | None, speedup: float,
               sitl: str | None = None, profile: str | None = None,
               log_dir: Path | None = None, params: Sequence[Path] = (),
               instance: int | None = None) -> Iterator[str]:
    """The MAVLink URL to fly on: ``connect``, or a vehicle started at the mission's home
    flying the mission's airframe (``profile``, else the one it was planned for), with the
    operator's ``params`` files applied last. ``instance``: SITL's ``-I`` (default: the
    first free one)."""
    for path in params:
        if not path.is_file():
            raise ValueError(f"{path}: no such parameter file")
    if backend is None:
        yield connect or "tcp:127.0.0.1:5760"
        return
    if not mission.items:
        raise ValueError(f"mission {mission.name!r}: no items, so no home to start a vehicle at")
    home_item = mission.items[0]
    home = (home_item.x, home_item.y, home_item.z, 0.0)
    airframe = mission_airframe(mission, profile)
    if backend == "builtin":
        import sitl as sitl_package
        from sitl.sim import SimFleet

        # The same base defaults and delivery overlay as ArduPilot SITL gets (--defaults).
        param_dir = Path(sitl_package.__file__).parent / "params"
        with SimFleet(homes=[home], speedup=speedup, base_files=[param_dir / "copter.parm"],
                      params_files=[param_dir / "delivery.parm", *params],
                      airframes=airframe,
                      base_port=0) as fleet:
            yield fleet.endpoints[0]
        return
    from groundcontrol.flight.ready import ekf_ready_check
    from sitl.ardupilot import launch_fleet

    with launch_fleet([home], speedup, binary=sitl, ready=ekf_ready_check(speedup),
                      airframe=airframe, log_dir=log_dir, operator_params=list(params),
                      first_instance=instance) as ardupilot:
        yield ardupilot.endpoints[0]


def mission_airframe(mission: Mission, profile: str | None) -> Airframe:
    """The airframe to simulate: ``profile``, else the mission's planned profile when an
    airframe of that name exists, else ``delivery-quad``.

    Raises:
        ValueError: ``profile`` names no airframe.
    """
    if profile is not None:
        return load_airframe(profile)
    planned = mission.meta.get("profile")
    return load_airframe(planned if planned in airframe_names() else DEFAULT_AIRFRAME)


def check_arguments(args: argparse.Namespace, speedup: float) -> None:
    """Numbers from the command line within what a flight can use (NaN passed ``<= 0``).

    Raises:
        ValueError: naming the option, the value and the limit.
    """
    if not (math.isfinite(speedup) and 0 < speedup <= MAX_SPEEDUP):
        raise ValueError(f"--speedup must be within 0 < speedup <= {MAX_SPEEDUP:g}, "
                         f"got {speedup:g}")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ValueError(f"--timeout must be a finite number of seconds > 0, got "
                         f"{args.timeout:g}")
    for option, value, low, high in (("--sysid", args.sysid, 1, 255),
                                     ("--instance", args.instance, 0, 255),
                                     ("--min-battery", args.min_battery, 0, 100)):
        if value is not None and not low <= value <= high:
            raise ValueError(f"{option} must be within {low}..{high}, got {value}")


def run(args: argparse.Namespace) -> int:
    speedup = args.speedup if args.speedup is not None else DEFAULT_SPEEDUP[args.backend]
    check_arguments(args, speedup)
    mission = load_mission(args.mission)
    out = sys.stderr if args.json else sys.stdout
    config = FlightConfig(
        speedup=speedup,
        mission_timeout_s=None if args.timeout is None else args.timeout * speedup,
        preflight=PreflightConfig(min_battery_pct=args.min_battery,
                                  configure=args.configure or args.backend is not None))
    try:
        with vehicle_at(mission, args.backend, args.connect, speedup, args.sitl, args.profile,
                        args.log_dir, args.params, args.instance) as url:
            if args.backend:
                out.write(f"started a {args.backend} vehicle at the mission's home: {url}\n")
            outcome = _fly(url, mission, config, args, out)
    except GroundControlError as exc:
        print(f"drone-delivery fly: {exc}", file=sys.stderr)
        return 1
    except SitlError as exc:  # no arducopter, or it would not start: its log tail is in exc
        print(f"drone-delivery fly: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, SitlNotFound) else 1
    if outcome.record is not None:
        out.write("planned against flown (vehicle time):\n")
        out.writelines(f"  {line}\n" for line in outcome.record.lines())
    if args.json:
        sys.stdout.write(json.dumps(outcome_json(mission, outcome)) + "\n")
    if outcome.success:
        out.write(f"delivered, landed and disarmed ({outcome.duration_s:.0f} s)\n")
        return 0
    lead = "delivered, but" if outcome.delivered else "not delivered:"
    print(f"drone-delivery fly: {lead} {outcome}", file=sys.stderr)
    return 1


def outcome_json(mission: Mission, outcome: FlightOutcome) -> dict[str, object]:
    """``fly --json``: the outcome and planned against flown, one flat object."""
    record = outcome.record
    planned = record.as_dict() if record is not None else {}
    return {
        "order_id": mission.order_id, "delivered": outcome.delivered,
        "landed": outcome.landed, "disarmed": outcome.disarmed,
        "success": outcome.success, "reason": outcome.reason.value, "detail": outcome.detail,
        "wall_s": round(outcome.duration_s, 1),
        **{key: planned.get(key) for key in ("planned_s", "flown_s", "planned_wh", "used_wh",
                                              "max_cross_track_m", "planned_phases_s",
                                              "flown_phases_s", "planned_phases_wh",
                                              "flown_phases_wh", "inputs")},
    }


def _fly(url: str, mission: Mission, config: FlightConfig, args: argparse.Namespace,
         out: TextIO) -> FlightOutcome:
    with Link(url, heartbeat_period_s=1.0 / config.speedup) as link:
        channel = link.wait_vehicle(args.sysid, timeout_s=30.0)
        link.pin(channel.sysid)  # the vehicle connected to, and no other, is flown
        link.add_stranger_listener(lambda sysid, mtype: print(
            f"drone-delivery fly: warning: system {sysid} appeared on {url} ({mtype}); "
            f"ignored, flying vehicle {channel.sysid} only", file=sys.stderr, flush=True))
        if use_stored_key(link, channel.sysid):  # a signed vehicle ignores us otherwise
            out.write(f"signing with the key kept for vehicle {channel.sysid}\n")
        out.write(f"connected to vehicle {channel.sysid} on {url}; mission {mission.name}: "
                  f"{len(mission.items)} items, delivery at seq {mission.delivery_seq}\n")
        tlog = TlogWriter(args.tlog) if args.tlog else None
        if tlog is not None:
            tlog.attach(channel)
        try:
            flight = Flight(channel, mission, config=config,
                            observer=_printer(out, time.monotonic()))  # type: ignore[arg-type]
            return flight.run()
        finally:
            if tlog is not None:
                tlog.close()
