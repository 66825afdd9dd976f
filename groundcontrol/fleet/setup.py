"""Building a fleet controller for the commands: orders to release, simulated drones at their
depots, connection strings, the clock after a restart, and progress lines.

Shared by ``drone-delivery demo``, ``run`` and ``console`` so they behave the same.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from groundcontrol.fleet.model import FleetEvent, FleetEventKind
from groundcontrol.fleet.store.dialect import store_location
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.scenarios import resolve_scenario
from planner.load import load_scenario
from planner.model import Order
from planner.scenario import Scenario
from sitl.airframe import Airframe, airframe_names, load_airframe

__all__ = [
    "LEAD_S",
    "PAD_SPACING_DEG",
    "VEHICLE_PARAMS",
    "add_fleet_arguments",
    "endpoints_from_urls",
    "fleet_airframes",
    "fleet_stream_rate_hz",
    "load_fleet_scenario",
    "printer",
    "resume_time_s",
    "select_orders",
    "sim_endpoints",
    "sim_gcs_timeout_s",
    "sim_homes",
    "site_depots",
    "site_of",
    "site_scenario",
    "start_sim",
    "start_time_s",
]

VEHICLE_PARAMS = "vehicle.parm"
"""A scenario's vehicle parameter file (applied by the simulator at first boot)."""
PAD_SPACING_DEG = 0.00005
"""About 5.5 m between the pads of one depot, so simulated drones do not start stacked."""
PADS_PER_ROW = 4
"""Pads north of the depot in a row, then the next row east: ten drones in one row put the
last 50 m from its depot, and pre-flight refused its missions (home 50 m from the depot)."""


def add_fleet_arguments(p: argparse.ArgumentParser, *, default_speedup: float) -> None:
    """Arguments every fleet command takes (scenario, orders, timing, store)."""
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario folder or example name (default: canberra)")
    p.add_argument("--orders", type=int, metavar="N",
                   help="fly only the first N orders of the scenario (default: all)")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="F",
                   help="compress the order arrival times by this factor (0.5: twice as many "
                        "orders per hour; default %(default)s)")
    p.add_argument("--speedup", type=float, default=default_speedup, metavar="K",
                   help="simulated seconds per wall second (default %(default)s)")
    p.add_argument("--store", type=store_location, metavar="PATH|URL",
                   help="the dispatch database, a file or postgresql://user@host:port/db; an "
                        "existing one is resumed")
    p.add_argument("--site", metavar="DEPOT[,DEPOT]",
                   help="(PostgreSQL store) dispatch only these depots' drones and orders, "
                        "beside other sites sharing the order book")
    p.add_argument("--margin", type=float, default=30.0,
                   help="safety margin from no-fly zones, metres (default 30)")


def load_fleet_scenario(args: argparse.Namespace) -> tuple[Scenario, Path]:
    """The scenario named on the command line and its folder; checks the numeric options.

    Raises:
        ValueError: a bad option value or scenario.
    """
    if args.speedup <= 0:
        raise ValueError(f"--speedup must be positive, got {args.speedup:g}")
    if not 0 < args.time_scale <= 1:
        raise ValueError(f"--time-scale must be in (0, 1], got {args.time_scale:g}")
    if args.orders is not None and args.orders < 0:
        raise ValueError(f"--orders must be >= 0, got {args.orders}")
    if args.margin < 0:
        raise ValueError(f"--margin must be >= 0 m, got {args.margin:g}")
    folder = resolve_scenario(args.scenario)
    scenario = load_scenario(folder)
    if getattr(args, "site", None):
        scenario = site_scenario(scenario, site_depots(args.site))
    return scenario, folder


def site_of(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The depots ``--site`` names, or None (the whole store)."""
    return site_depots(args.site) if getattr(args, "site", None) else None


def site_depots(text: str) -> tuple[str, ...]:
    """``--site``: depot ids, comma-separated."""
    depots = tuple(sorted({d.strip() for d in text.split(",") if d.strip()}))
    if not depots:
        raise ValueError("--site: give one or more depot ids, comma-separated")
    return depots


def site_scenario(scenario: Scenario, depots: Sequence[str]) -> Scenario:
    """The part of a scenario one site dispatches: its depots' drones and orders.

    Raises:
        ValueError: a depot the scenario does not have, or one without drones.
    """
    known = {d.id for d in scenario.depots}
    for depot in depots:
        if depot not in known:
            raise ValueError(f"--site: no depot {depot!r} in {scenario.name} (depots: "
                             f"{', '.join(sorted(known))})")
        if not any(d.depot_id == depot for d in scenario.fleet):
            raise ValueError(f"--site: depot {depot!r} has no drones")
    return replace(scenario, fleet=tuple(d for d in scenario.fleet if d.depot_id in depots),
                   orders=tuple(o for o in scenario.orders if o.depot_id in depots))


def select_orders(orders: Sequence[Order], count: int | None, time_scale: float
                  ) -> tuple[Order, ...]:
    """The first ``count`` orders by arrival, arrivals compressed by ``time_scale`` from the
    first one (a due time keeps its distance from the arrival: the promise is not shrunk).

    >>> from planner.model import LatLon
    >>> o = [Order(f"o{i}", "d", LatLon(0, 0), 1.0, created_s=100.0 * i) for i in (1, 2, 3)]
    >>> [(x.id, x.created_s) for x in select_orders(o, 2, 0.5)]
    [('o1', 100.0), ('o2', 150.0)]
    """
    chosen = sorted(orders, key=lambda o: (o.created_s, o.id))[:count]
    if not chosen:
        return ()
    t0 = chosen[0].created_s

    def scaled(o: Order) -> Order:
        created = t0 + (o.created_s - t0) * time_scale
        due = None if o.due_s is None else created + (o.due_s - o.created_s)
        return replace(o, created_s=created, due_s=due)

    return tuple(scaled(o) for o in chosen)


def sim_homes(scenario: Scenario) -> list[tuple[float, float, float, float]]:
    """Start position of each drone (fleet order): its depot, one pad apart per drone."""
    homes = []
    for drone in scenario.fleet:
        depot = scenario.depot_by_id(drone.depot_id)
        if depot is None:
            raise ValueError(f"drone {drone.id}: unknown depot {drone.depot_id!r}")
        pad = [d.id for d in scenario.drones_at(depot.id)].index(drone.id)
        row, column = divmod(pad, PADS_PER_ROW)
        east_deg = row * PAD_SPACING_DEG / math.cos(math.radians(depot.position.lat))
        homes.append((depot.position.lat + column * PAD_SPACING_DEG,
                      depot.position.lon + east_deg, depot.ground_alt_amsl_m, 0.0))
    return homes


def start_sim(scenario: Scenario, folder: Path, speedup: float, *,
              process: bool = False) -> Any:
    """A started ``SimFleet`` with one vehicle per drone at its depot (sysids as the fleet's);
    ``process``: in a child process (``sitl.sim_process``), so that the simulator and this
    ground station each get a core instead of sharing one interpreter lock.

    Raises:
        ValueError: the fleet's sysids are not consecutive in fleet order (the simulator
            numbers its vehicles from the first one).
    """
    from sitl.sim import SimFleet

    first = scenario.fleet[0].sysid if scenario.fleet else 1
    for i, drone in enumerate(scenario.fleet):
        if drone.sysid != first + i:
            raise ValueError(f"fleet: the simulator needs consecutive sysids in fleet order; "
                             f"{drone.id} has {drone.sysid}, expected {first + i}")
    params = [folder / VEHICLE_PARAMS] if (folder / VEHICLE_PARAMS).is_file() else []
    kwargs: dict[str, Any] = {
        "homes": sim_homes(scenario), "speedup": speedup, "params_files": params,
        "base_port": 0, "sysid_base": first, "airframes": fleet_airframes(scenario),
        "params": {"FS_GCS_TIMEOUT": sim_gcs_timeout_s(speedup)}}
    if process:
        from sitl.sim_process import SimFleetProcess

        return SimFleetProcess(**kwargs).start()
    return SimFleet(**kwargs).start()


TELEMETRY_BUDGET_MSG_S = 8000.0
"""Messages a second one ground-station process reads with room to spare (200 vehicles at
ArduPilot's usual rates, ~7,400 msg/s, took a third of a core; the dispatcher needs the rest)."""
ALL_STREAMS_MSG = 30.0
"""Messages REQUEST_DATA_STREAM(ALL) at 1 Hz makes ArduCopter send a second."""


def fleet_stream_rate_hz(drones: int, speedup: float) -> int:
    """The REQUEST_DATA_STREAM(ALL) rate a fleet asks of each vehicle: 1 Hz while every
    stream of every vehicle fits the ground station's budget at this speedup, else 0 (only
    the messages the fleet relies on, at intervals stretched with the speedup). A hundred
    drones at 10x with every stream asked ~30,000 msg/s and the links were reported lost.

    >>> [fleet_stream_rate_hz(n, k) for n, k in ((9, 25.0), (100, 10.0), (200, 1.0))]
    [1, 0, 1]
    """
    fits = drones * ALL_STREAMS_MSG * max(1.0, speedup) <= TELEMETRY_BUDGET_MSG_S
    return 1 if fits else 0


def sim_gcs_timeout_s(speedup: float) -> float:
    """FS_GCS_TIMEOUT for a simulated fleet: about a second of wall time.

    The GCS failsafe is about a ground station gone for seconds. At speedup 25 ArduCopter's
    5 s is 0.2 s of wall time, less than one busy moment of the ground station's heartbeat
    thread with nine vehicles on two cores, and the demo's drones went home for no reason.
    """
    return max(5.0, round(float(speedup)))


def fleet_airframes(scenario: Scenario) -> list[Airframe | None]:
    """Each drone's airframe (``sitl/airframes/<profile>``); None where its profile has none
    (the simulator's default SITL quad)."""
    known = set(airframe_names())
    return [load_airframe(d.profile) if d.profile in known else None for d in scenario.fleet]


def sim_endpoints(scenario: Scenario, fleet: Any) -> dict[str, str]:
    """Drone id to the simulated vehicle's connection string."""
    return {d.id: url for d, url in zip(scenario.fleet, fleet.endpoints, strict=True)}


def endpoints_from_urls(scenario: Scenario, text: str) -> dict[str, str]:
    """``--connect``: one URL for every drone (routed by sysid), or one per drone in fleet order.

    Raises:
        ValueError: another number of URLs than 1 or the fleet's size.
    """
    urls = [u.strip() for u in text.split(",") if u.strip()]
    if len(urls) == 1:
        return {d.id: urls[0] for d in scenario.fleet}
    if len(urls) != len(scenario.fleet):
        raise ValueError(f"--connect: give 1 URL or {len(scenario.fleet)} (one per drone in "
                         f"fleet order), got {len(urls)}")
    return {d.id: url for d, url in zip(scenario.fleet, urls, strict=True)}


def resume_time_s(store: Store) -> float | None:
    """Where a resumed day's clock starts: the last thing the store logged (a dispatcher
    step, or a flight launched after it), None for a new store. From the last dispatcher
    step alone, a flight launched after it and aborted at the restart ended before it began."""
    state = store.load_state()
    steps = [state.dispatch_events[-1][0]] if state.dispatch_events else []
    logged = store.last_time_s()
    times = steps + ([] if logged is None else [logged])
    return max(times) if times else None


LEAD_S = 60.0
"""A new run's clock starts this long before the first order: the vehicles boot and get a fix."""


def start_time_s(store: Store, releases: Sequence[Order]) -> float:
    """Scenario time to start the clock at: where the store left off, else LEAD_S before the
    first order to release."""
    resumed = resume_time_s(store)
    if resumed is not None:
        return resumed
    return releases[0].created_s - LEAD_S if releases else 0.0


def _clock_text(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def printer(out: TextIO, verbose: bool = False) -> Callable[[FleetEvent], None]:
    """Progress lines for ``--headless`` and ``run``: decisions, launches, outcomes, problems."""
    t0 = time.monotonic()

    def show(event: FleetEvent) -> None:
        if event.kind is FleetEventKind.ORDER:
            return
        if event.kind is FleetEventKind.TEXT and not verbose and event.severity == "info":
            return
        if event.kind is FleetEventKind.FLIGHT and not verbose and not any(
                w in event.text for w in ("starting", "re-attached", "done", "failed",
                                          "delivered", "aborted", "problem", "separation")):
            return
        who = event.drone_id or "dispatch"
        out.write(f"{_clock_text(event.t_s)} [{time.monotonic() - t0:6.1f}s] {who:<8} "
                  f"{event.text}\n")
        out.flush()

    return show
