"""Fleet benchmark: how many vehicles, how fast, at what CPU.

Simulator section (``simulator_figures``): a ``SimFleet`` of ``--vehicles`` (default 100) in a
child process (``bench.sim_child``) at each requested speedup, with this process as their ground
stations: one TCP link per vehicle (``LinkManager``), the telemetry the fleet controller asks
for (``send_stream_request`` at ``FleetConfig.stream_rate_hz``), and a realistic mix: most
vehicles fly a delivery mission (takeoff, a leg of ``--leg-m`` out, descend, release the
parcel, climb, back, land; uploaded with ``groundcontrol.mavlink.transfer``, armed in GUIDED,
started with MISSION_START), one in ten loiters at 30 m in LOITER, one in ten stays disarmed on
the ground. Once every vehicle is doing its part, a window of ``--window`` wall seconds is
measured: the speedup reached (simulated seconds / wall seconds), the simulator process's CPU
per simulated vehicle-second, and the share of one core it used (the ground stations' CPU,
in this process, is printed apart). Speedup ``max`` asks for 1000x: the fleet then runs as
fast as its one thread can.

The other sections (``--sections``, default all four): the ground station following
``--gcs-vehicles`` (200) simulated drones, alone and with the dispatcher console
(``bench.fleet_gcs``: messages/s, % of one core, key-to-screen p95); dispatch of a generated
5,000-order / 100-drone / 5-depot day online and by the offline baseline, and the store's
order transitions per second on SQLite and PostgreSQL with 1 and 4 writers
(``bench.fleet_sections``). Each returns rows for the summary table printed last, side by
side. Prints figures, asserts nothing.
Run: ``python -m bench fleet [--help]``; ``--profile DIR`` writes the simulator thread's
cProfile stats (one file per speedup).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from bench import fleet_gcs, fleet_sections
from bench.sim_child import HOME, SPACING_DEG, SimChild, SimSample
from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.model import FleetConfig
from groundcontrol.flight.preflight import wait_ready
from groundcontrol.mavlink.commands import (
    CommandConfig,
    Commander,
    send_stream_request,
    stream_intervals,
)
from groundcontrol.mavlink.link import LinkChannel, LinkManager
from groundcontrol.mavlink.messages import MavMessage
from groundcontrol.mavlink.transfer import upload
from groundcontrol.mavlink.vehicle import VehicleTracker
from missions.items import Cmd, Frame, MissionItem
from sitl.sim.server import STEP_S
from sitl.sim.state import Home
from sitl.sim.vehicle import SimVehicle

__all__ = ["SimFigures", "delivery_mission", "lockstep_cpu_us", "main", "simulator_figures"]

SECTIONS = ("sim", "gcs", "dispatch", "store")
"""The benchmark's sections, in the order they run: built-in simulator, ground station,
dispatch, store."""
MAX_SPEEDUP = 1000.0
"""What ``--speedups max`` asks for: more than one thread can give, so it runs flat out."""
CRUISE_ALT_M = 30.0
GRIPPER_PARAMS = {"GRIP_ENABLE": 1.0, "GRIP_TYPE": 1.0, "SERVO9_FUNCTION": 28.0}
"""A servo gripper on output 9, as the scenarios' ``vehicle.parm`` has."""
SETUP_SPEEDUP = 10.0
"""The fleet is set up at most this fast, then runs at the speedup asked."""
SETUP_WORKERS = 8
"""Vehicles set up at once (each setup mostly waits for acknowledgements)."""


class Role:
    DELIVERY = "delivery"
    LOITER = "loiter"
    IDLE = "idle"


def role_of(index: int) -> str:
    """Eight in ten deliver, one loiters, one stays on the ground."""
    return {8: Role.LOITER, 9: Role.IDLE}.get(index % 10, Role.DELIVERY)


def delivery_mission(index: int, leg_m: float) -> tuple[MissionItem, ...]:
    """Vehicle ``index``'s delivery: out ``leg_m`` on a bearing of its own and back.

    Takeoff to 30 m, cruise to the drop-off, descend to 10 m, release (DO_GRIPPER), climb,
    cruise home, land: what ``missions.build`` produces for one parcel, without the planner.
    """
    lat = HOME[0]
    lon = HOME[1] + SPACING_DEG * index
    bearing = math.radians((index * 37) % 360)
    drop_lat = lat + leg_m * math.cos(bearing) / 111_320.0
    drop_lon = lon + leg_m * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
    rel = Frame.GLOBAL_RELATIVE_ALT_INT
    return (
        MissionItem(0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=lat, y=lon, z=HOME[2]),
        MissionItem(1, Cmd.NAV_TAKEOFF, rel, z=CRUISE_ALT_M),
        MissionItem(2, Cmd.NAV_WAYPOINT, rel, x=drop_lat, y=drop_lon, z=CRUISE_ALT_M),
        MissionItem(3, Cmd.NAV_WAYPOINT, rel, x=drop_lat, y=drop_lon, z=10.0),
        MissionItem(4, Cmd.DO_GRIPPER, Frame.MISSION, param1=1, param2=0),
        MissionItem(5, Cmd.NAV_WAYPOINT, rel, param1=2, x=drop_lat, y=drop_lon, z=10.0),
        MissionItem(6, Cmd.NAV_WAYPOINT, rel, x=drop_lat, y=drop_lon, z=CRUISE_ALT_M),
        MissionItem(7, Cmd.NAV_LAND, rel, x=lat, y=lon, z=0.0),
    )


@dataclass(frozen=True, slots=True)
class SimFigures:
    """One simulator run: the fleet at one asked speedup over the measured window."""

    vehicles: int
    asked: float
    """Speedup asked of the fleet."""
    start: SimSample
    end: SimSample
    gcs_cpu_s: float
    """CPU of this process (the ground stations) over the window."""
    messages: int
    """Messages the ground stations received over the window."""
    airborne: tuple[int, int]
    """Vehicles in the air at the window's start and end."""
    roles: dict[str, int]
    failed: tuple[str, ...]
    """Vehicles whose setup failed, with the reason."""

    @property
    def wall_s(self) -> float:
        return self.end.wall_s - self.start.wall_s

    @property
    def sim_s(self) -> float:
        return self.end.sim_s - self.start.sim_s

    @property
    def sim_cpu_s(self) -> float:
        return self.end.cpu_s - self.start.cpu_s

    @property
    def reached(self) -> float:
        """Speedup reached: simulated seconds per wall second."""
        return self.sim_s / self.wall_s

    @property
    def cpu_per_vehicle_s_us(self) -> float:
        """Simulator CPU microseconds per simulated vehicle-second."""
        return 1e6 * self.sim_cpu_s / max(1e-9, self.sim_s * self.vehicles)

    @property
    def core_pct(self) -> float:
        return 100.0 * self.sim_cpu_s / self.wall_s


# -- the ground stations ---------------------------------------------------------------------

def _set_up(links: LinkManager, url: str, index: int, speedup: float, leg_m: float,
            trackers: list[VehicleTracker | None]) -> str | None:
    """Connect to vehicle ``index``, ask for telemetry and give it its part; None when done,
    else what failed."""
    sysid = index + 1
    try:
        channel: LinkChannel = links.vehicle(url, sysid=sysid, timeout_s=60.0)
        tracker = VehicleTracker(sysid)
        channel.subscribe(tracker.update)
        trackers[index] = tracker
        send_stream_request(channel, FleetConfig().stream_rate_hz)
        role = role_of(index)
        if role == Role.IDLE:
            return None
        # In the vehicle's seconds at the asked speedup: generous, as a fleet behind runs slower.
        ready = wait_ready(tracker, timeout_s=3000.0, speedup=speedup)
        if not ready.ok:
            return f"vehicle {sysid}: {ready.detail}"
        commander = Commander(channel, CommandConfig(ack_timeout_s=3.0, mode_confirm_s=10.0,
                                                     arm_confirm_s=10.0))
        if role == Role.DELIVERY:
            upload(channel, delivery_mission(index, leg_m))
        commander.set_mode("GUIDED")
        commander.arm()
        if role == Role.DELIVERY:
            commander.mission_start()
            return None
        commander.takeoff(CRUISE_ALT_M)
        deadline = tracker.deadline(60.0, speedup)
        while (tracker.snapshot().alt_rel_m or 0.0) < CRUISE_ALT_M - 2.0:
            if deadline.expired():
                return f"vehicle {sysid}: no takeoff to {CRUISE_ALT_M:g} m in 60 s"
            time.sleep(0.05)
        commander.set_mode("LOITER")
        return None
    except (GroundControlError, TimeoutError, OSError) as exc:  # reported, the rest go on
        return f"vehicle {sysid}: {type(exc).__name__}: {exc}"


def _airborne(trackers: Sequence[VehicleTracker | None]) -> int:
    return sum(1 for t in trackers
               if t is not None and (t.snapshot().alt_rel_m or 0.0) > 1.0)


def simulator_figures(vehicles: int, speedup: float, window_s: float, leg_m: float,
                      profile: Path | None = None) -> SimFigures:
    """Run ``vehicles`` simulated drones at ``speedup`` with this process as their ground
    stations and measure a window of ``window_s`` wall seconds once all have their part."""
    params = {**GRIPPER_PARAMS}
    trackers: list[VehicleTracker | None] = [None] * vehicles
    # Set up at a pace the ground stations' mission uploads keep up with (flat out, the
    # vehicles' timeouts ran out in wall milliseconds), then run at the asked speedup.
    setup = min(speedup, SETUP_SPEEDUP)
    with SimChild(vehicles, setup, params=params, profile=profile) as sim, \
            LinkManager() as links:
        with ThreadPoolExecutor(SETUP_WORKERS) as pool:
            failed = [f for f in pool.map(
                lambda i: _set_up(links, sim.endpoints[i], i, setup, leg_m, trackers),
                range(vehicles)) if f is not None]
        if speedup != setup:
            sim.set_speedup(speedup)
            time.sleep(1.0)  # the new pace settles before the window
        received0 = sum(link.stats().received for link in links.links())
        airborne0, cpu0 = _airborne(trackers), time.process_time()
        start = sim.sample()
        time.sleep(window_s)
        end = sim.sample()
        cpu1, airborne1 = time.process_time(), _airborne(trackers)
        received1 = sum(link.stats().received for link in links.links())
    roles: dict[str, int] = {}
    for i in range(vehicles):
        roles[role_of(i)] = roles.get(role_of(i), 0) + 1
    return SimFigures(vehicles, speedup, start, end, cpu1 - cpu0, received1 - received0,
                      (airborne0, airborne1), roles, tuple(failed))


def _print_simulator(f: SimFigures) -> None:
    asked = "max" if f.asked >= MAX_SPEEDUP else f"{f.asked:g}x"
    mix = ", ".join(f"{n} {role}" for role, n in f.roles.items())
    print(f"built-in simulator: {f.vehicles} vehicles ({mix}), speedup asked {asked}, "
          f"{f.wall_s:.1f} s window")
    print(f"  speedup reached      {f.reached:7.1f}x  ({f.sim_s:.0f} simulated s in "
          f"{f.wall_s:.1f} wall s)")
    print(f"  simulator CPU        {f.cpu_per_vehicle_s_us:7.0f} us per simulated "
          f"vehicle-second, {f.core_pct:.0f} % of one core")
    print(f"  ground stations CPU  {100 * f.gcs_cpu_s / f.wall_s:7.0f} % of one core, "
          f"{f.messages / f.wall_s:.0f} messages/s received")
    print(f"  in the air           {f.airborne[0]} at the window's start, {f.airborne[1]} "
          "at its end")
    for reason in f.failed:
        print(f"  WARNING: {reason}")


# -- the simulator alone, in lock step ------------------------------------------------------

class _LockstepGcs:
    """Vehicle ``index`` driven in-process: messages in by ``receive``, output drained (and
    parsed only while a mission upload needs the vehicle's requests)."""

    def __init__(self, vehicle: SimVehicle, index: int) -> None:
        self.v, self.sysid = vehicle, index + 1
        self.parser = mavlink.MAVLink(None)
        self.parser.robust_parsing = True

    def drain(self, parse: bool = False) -> list[MavMessage]:
        data = self.v.take_output()
        return list(self.parser.parse_buffer(data) or []) if parse else []

    def send(self, msg: MavMessage) -> list[MavMessage]:
        self.v.receive(msg)
        return self.drain(parse=True)

    def command(self, command: int, *params: float) -> None:
        p = [*params, *([0.0] * (7 - len(params)))]
        self.send(mavlink.MAVLink_command_long_message(self.sysid, 1, command, 0, *p))

    def upload(self, items: Sequence[MissionItem]) -> None:
        replies = self.send(mavlink.MAVLink_mission_count_message(self.sysid, 1, len(items), 0))
        for _ in range(len(items)):
            asked = [m.seq for m in replies if m.get_type().startswith("MISSION_REQUEST")]
            if not asked:
                break
            it = items[asked[0]]
            replies = self.send(mavlink.MAVLink_mission_item_int_message(
                self.sysid, 1, it.seq, int(it.frame), int(it.command), it.current,
                it.autocontinue, it.param1, it.param2, it.param3, it.param4, it.x_int,
                it.y_int, it.z, 0))


def lockstep_cpu_us(vehicles: int, window_s: float, leg_m: float) -> float:
    """Simulator CPU per simulated vehicle-second with no sockets and no clock: the same
    vehicles, mix and telemetry as ``simulator_figures``, stepped in lock step (what the
    fleet's thread costs before TCP)."""
    fleet = [SimVehicle(Home(HOME[0], HOME[1] + SPACING_DEG * i, HOME[2], HOME[3]),
                        sysid=i + 1, params=dict(GRIPPER_PARAMS)) for i in range(vehicles)]
    gcs = [_LockstepGcs(v, i) for i, v in enumerate(fleet)]

    def run(seconds: float) -> None:
        for _ in range(round(seconds / STEP_S)):
            for v, g in zip(fleet, gcs, strict=True):
                v.step(STEP_S)
                g.drain()

    for v in fleet:
        v.boot()
    run(1.0)
    for g in gcs:
        g.send(mavlink.MAVLink_request_data_stream_message(
            g.sysid, 1, mavlink.MAV_DATA_STREAM_ALL, FleetConfig().stream_rate_hz, 1))
        for msgid, interval_s in stream_intervals(1.0).items():
            g.command(mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, msgid, interval_s * 1e6)
    run(44.0)  # the EKF is ready at ~42 s
    for i, g in enumerate(gcs):
        if role_of(i) == Role.IDLE:
            continue
        if role_of(i) == Role.DELIVERY:
            g.upload(delivery_mission(i, leg_m))
        g.command(mavlink.MAV_CMD_DO_SET_MODE, 1, 4)  # GUIDED
        g.command(mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1)
        if role_of(i) == Role.DELIVERY:
            g.command(mavlink.MAV_CMD_MISSION_START)
        else:
            g.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, CRUISE_ALT_M)
    run(25.0)
    for i, g in enumerate(gcs):
        if role_of(i) == Role.LOITER:
            g.command(mavlink.MAV_CMD_DO_SET_MODE, 1, 5)  # LOITER
    cpu0 = time.process_time()
    run(window_s)
    return 1e6 * (time.process_time() - cpu0) / (vehicles * window_s)


# -- summary ---------------------------------------------------------------------------------

Row = tuple[str, str, str]
"""(section, what, figure) in the summary table."""


def simulator_rows(f: SimFigures) -> list[Row]:
    asked = "max" if f.asked >= MAX_SPEEDUP else f"{f.asked:g}x"
    what = f"{f.vehicles} vehicles, asked {asked}"
    return [("simulator", f"{what}: speedup reached", f"{f.reached:.1f}x"),
            ("simulator", f"{what}: CPU per vehicle-second", f"{f.cpu_per_vehicle_s_us:.0f} us"),
            ("simulator", f"{what}: one core used", f"{f.core_pct:.0f} %")]


def print_summary(rows: Sequence[Row]) -> None:
    if not rows:
        return
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    print("summary")
    for section, what, figure in rows:
        print(f"  {section:<{width[0]}}  {what:<{width[1]}}  {figure:>{width[2]}}")


def _speedups(text: str) -> list[float]:
    return [MAX_SPEEDUP if s.strip() == "max" else float(s) for s in text.split(",")]


def lockstep_rows(vehicles: int, cpu_us: float) -> list[Row]:
    return [("simulator", f"{vehicles} vehicles in lock step: CPU per vehicle-second",
             f"{cpu_us:.0f} us"),
            ("simulator", "  so one core runs them at most at",
             f"{1e6 / (cpu_us * vehicles):.1f}x")]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench fleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--speedups", type=_speedups, default=_speedups("10,max"),
                        help="speedups asked, comma-separated; 'max' asks for "
                             f"{MAX_SPEEDUP:g}x (default 10,max)")
    parser.add_argument("--window", type=float, default=20.0, help="measured window, wall s")
    parser.add_argument("--leg-m", type=float, default=3000.0,
                        help="delivery leg, m (long enough to be cruising in the window)")
    parser.add_argument("--lockstep-window", type=float, default=60.0,
                        help="simulated seconds measured in lock step (0: skip that section)")
    parser.add_argument("--no-tcp", action="store_true",
                        help="only the lock-step section (no child process, no sockets)")
    parser.add_argument("--profile", type=Path,
                        help="write the simulator thread's cProfile stats into this folder")
    parser.add_argument("--sections", type=_sections, default=SECTIONS,
                        help=f"which sections, comma-separated (default {','.join(SECTIONS)})")
    parser.add_argument("--gcs-vehicles", type=int, default=200,
                        help="vehicles the ground station follows (default 200)")
    parser.add_argument("--gcs-window", type=float, default=30.0,
                        help="ground station: measured window, wall s (default 30)")
    parser.add_argument("--dispatch-orders", type=int, default=5000)
    parser.add_argument("--dispatch-drones", type=int, default=100)
    parser.add_argument("--dispatch-depots", type=int, default=5)
    parser.add_argument("--offline-limit", type=float, default=60.0,
                        help="offline baseline's solver time, s (0: skip it)")
    parser.add_argument("--store-seconds", type=float, default=4.0,
                        help="store: seconds per configuration")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    if "sim" in args.sections:
        rows += _simulator_section(args)
    if "gcs" in args.sections:
        print(f"ground station: {args.gcs_vehicles} vehicles", flush=True)
        rows += fleet_gcs.run(args.gcs_vehicles, args.gcs_window)
    if "dispatch" in args.sections:
        print("dispatch", flush=True)
        rows += fleet_sections.dispatch_rows(args.dispatch_orders, args.dispatch_drones,
                                             args.dispatch_depots, args.offline_limit)
    if "store" in args.sections:
        print("store", flush=True)
        rows += fleet_sections.store_rows(args.store_seconds)
    print_summary(rows)


def _sections(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section {', '.join(unknown)}; "
                                         f"known: {', '.join(SECTIONS)}")
    return names


def _simulator_section(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    if args.lockstep_window > 0:
        cpu_us = lockstep_cpu_us(args.vehicles, args.lockstep_window, args.leg_m)
        print(f"built-in simulator in lock step (no sockets): {args.vehicles} vehicles, "
              f"{args.lockstep_window:g} simulated s: {cpu_us:.0f} us CPU per vehicle-second")
        rows += lockstep_rows(args.vehicles, cpu_us)
    for speedup in [] if args.no_tcp else args.speedups:
        profile = None
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            profile = args.profile / f"sim-{args.vehicles}-{speedup:g}.prof"
        figures = simulator_figures(args.vehicles, speedup, args.window, args.leg_m, profile)
        _print_simulator(figures)
        rows += simulator_rows(figures)
    return rows


if __name__ == "__main__":
    main()
