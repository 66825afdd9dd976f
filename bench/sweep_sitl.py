"""Contingency cases on real ArduCopter SITL, judged from ArduPilot's own dataflash log.

The flight is the product's: ``Flight`` uploads, checks (with ``configure``) and flies the
mission; when the mission reaches ``inject_seq`` the contingency is injected the way it would
happen: a FENCE_RADIUS 20 m short of the copter, the ground station's heartbeats stopping,
a battery that reads low/critical (BATT_LOW_MAH / BATT_CRT_MAH at the pack's capacity), the
GPS stopping (SIM_GPS1_ENABLE 0), or the dispatcher's RTL (``Flight.rtl``: SMART_RTL, else
LAND). The track is SITL's true position (the SIM message, not the EKF's estimate), read
with DFReader.

Used by ``tests/sitl/test_contingency_sitl.py``; needs ARDUPILOT_SITL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from pymavlink import DFReader

from groundcontrol.flight.flight import Flight, FlightConfig, FlightEvent
from groundcontrol.flight.preflight import PreflightConfig
from groundcontrol.flight.ready import ekf_ready_check
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.link import Link
from missions.items import Mission
from planner.geo import ardupilot_distance_m
from planner.model import LatLon
from sitl.airframe import load_airframe
from sitl.ardupilot import launch_fleet
from sitl.sim.lockstep import FENCE_BREACH_M

__all__ = ["SitlCase", "fly_sitl_case", "read_truth"]


@dataclass(frozen=True)
class SitlCase:
    """What a SITL case flew: the true track (degrees, metres above home) and its modes."""

    points: list[LatLon]
    alts_m: list[float]
    modes: list[int]
    """MODE numbers in the order the log shows them (3 AUTO, 21 SMART_RTL, 9 LAND)."""
    texts: list[str]
    outcome: str


def read_truth(bin_path: Path, home_alt_amsl_m: float) -> tuple[list[LatLon], list[float],
                                                                list[int], list[str]]:
    """SITL's true positions (SIM) after arming, the modes (MODE) and texts (MSG)."""
    log = DFReader.DFReader_binary(str(bin_path))
    points: list[LatLon] = []
    alts: list[float] = []
    modes: list[int] = []
    texts: list[str] = []
    while (m := log.recv_match(type=["SIM", "MODE", "MSG"])) is not None:
        kind = m.get_type()
        if kind == "MODE":
            modes.append(int(m.Mode))
        elif kind == "MSG":
            texts.append(str(m.Message))
        else:
            points.append(LatLon(m.Lat, m.Lng))
            alts.append(m.Alt - home_alt_amsl_m)
    return points, alts, modes, texts


class _Injector:
    """Injects ``kind`` once the flight's progress reaches ``inject_seq``."""

    def __init__(self, kind: str, link: Link, mission: Mission, inject_seq: int) -> None:
        self.kind, self.link, self.mission, self.inject_seq = kind, link, mission, inject_seq
        self.flight: Flight | None = None
        self.done = threading.Event()

    def observe(self, event: FlightEvent) -> None:
        if self.done.is_set() or event.kind != "progress" or event.seq is None:
            return
        if event.seq >= self.inject_seq and self.flight is not None:
            self.done.set()
            threading.Thread(target=self._inject, args=(self.flight,), daemon=True).start()

    def _inject(self, flight: Flight) -> None:
        commander = Commander(flight.channel)
        if self.kind == "fence":
            home = LatLon(self.mission.items[0].x, self.mission.items[0].y)
            item = self.mission.items[self.inject_seq]
            dist = ardupilot_distance_m(home, LatLon(item.x, item.y))
            commander.set_param("FENCE_RADIUS", max(30.0, round(dist - FENCE_BREACH_M)))
        elif self.kind == "gcs":
            self.link.heartbeat_enabled = False
        elif self.kind in ("battery_low", "battery_critical"):
            capacity = commander.get_param("BATT_CAPACITY")
            name = "BATT_LOW_MAH" if self.kind == "battery_low" else "BATT_CRT_MAH"
            commander.set_param(name, capacity)
        elif self.kind == "ekf":
            commander.set_param("SIM_GPS1_ENABLE", 0)
        elif self.kind == "operator":
            flight.rtl()
        else:
            raise ValueError(f"unknown contingency {self.kind!r}")


def fly_sitl_case(mission: Mission, kind: str, inject_seq: int, workdir: Path, *,
                  params: list[Path], speedup: float = 25.0,
                  binary: str | None = None, first_instance: int | None = None) -> SitlCase:
    """Fly ``mission`` on a fresh SITL instance, inject ``kind`` at ``inject_seq``."""
    frame = load_airframe(mission.meta["profile"])
    home = mission.items[0]
    config = FlightConfig(speedup=speedup, preflight=PreflightConfig(configure=True))
    # FS_GCS_TIMEOUT is vehicle time: 5 s at speedup 25 is 0.2 s of wall time, shorter than
    # a scheduling hiccup of the heartbeat thread on a loaded 2-core machine (seen: a GCS
    # failsafe nobody injected). Keep about 0.6 s of wall time.
    harness = workdir / "harness.parm"
    harness.write_text(f"FS_GCS_TIMEOUT {max(5.0, round(0.6 * speedup))}\n")
    fleet = launch_fleet([(home.x, home.y, home.z, 0.0)], speedup, binary=binary,
                         ready=ekf_ready_check(speedup), airframe=frame, log_dir=workdir,
                         operator_params=[*params, harness], first_instance=first_instance)
    with fleet as ardupilot, Link(ardupilot.endpoints[0],
                                  heartbeat_period_s=1.0 / speedup) as link:
        channel = link.wait_vehicle(None, timeout_s=60.0)
        injector = _Injector(kind, link, mission, inject_seq)
        flight = Flight(channel, mission, config=config, observer=injector.observe)
        injector.flight = flight
        outcome = flight.run()
    logs = sorted(workdir.rglob("*.BIN"))
    if not logs:
        raise FileNotFoundError(f"no dataflash log under {workdir}")
    points, alts, modes, texts = read_truth(logs[-1], home.z)
    return SitlCase(points, alts, modes, texts, f"{outcome.reason.value}: {outcome.detail}")
