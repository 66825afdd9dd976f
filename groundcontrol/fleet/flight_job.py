"""One sortie on one vehicle, run in a worker thread for the fleet controller.

``FlightJob`` runs the depot turnaround (``GroundCrew.prepare``) and then a
``groundcontrol.flight.flight.Flight``; or, after a controller restart, ``Flight.follow()`` on a
mission the vehicle is already flying (no checks, no upload, no arming). Everything
the job learns goes to the controller through one callback, so the controller's own thread
does all the bookkeeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from groundcontrol.fleet.model import CrewTimeout, GroundCrew
from groundcontrol.flight.flight import (
    Flight,
    FlightConfig,
    FlightEvent,
    FlightOutcome,
    FlightReason,
    FlightState,
)
from groundcontrol.mavlink.messages import VehicleChannel
from groundcontrol.mavlink.transfer import compare_items
from groundcontrol.mavlink.vehicle import VehicleTracker
from missions.items import Mission, MissionItem, MissionType
from planner.dispatch_model import Sortie

__all__ = ["FlightJob", "JobReport", "same_mission"]


def same_mission(expected: Mission, got: tuple[MissionItem, ...]) -> bool:
    """True when a downloaded mission is ``expected`` (home's position is the vehicle's)."""
    return not compare_items(expected.items, got, MissionType.MISSION)


@dataclass(frozen=True, slots=True)
class JobReport:
    """What a job tells the controller: a flight event, or the end (``outcome`` set)."""

    job: FlightJob
    event: FlightEvent | None = None
    outcome: FlightOutcome | None = None


class FlightJob:
    """Turnaround plus flight of one sortie in its own thread.

    Args:
        drone_id: the fleet member flying.
        sortie: the dispatcher's sortie (order, times, battery action, plan).
        mission: the mission built from the sortie's plan.
        channel, tracker: the vehicle (the tracker is shared with the controller).
        config: flight timing (speedup, pre-flight settings).
        crew: carries out the turnaround before the flight.
        capacity_wh: the drone profile's battery capacity.
        report: called from the job's thread with every ``JobReport``.
        reattach: follow the mission already flying instead of flying it.
    """

    def __init__(self, drone_id: str, sortie: Sortie, mission: Mission, channel: VehicleChannel,
                 tracker: VehicleTracker, config: FlightConfig, crew: GroundCrew,
                 capacity_wh: float, report: Callable[[JobReport], None],
                 reattach: bool = False) -> None:
        self.drone_id = drone_id
        self.sortie = sortie
        self.mission = mission
        self.reattach = reattach
        self.took_off = reattach
        self.launched_s: float | None = None
        """Scenario time of the take-off, as the controller recorded it (None: not yet, or
        a flight followed after a restart)."""
        self.delivered = False
        self.state = FlightState.PREFLIGHT
        self._crew = crew
        self._tracker = tracker
        self._capacity_wh = capacity_wh
        self._report = report
        self.flight = Flight(channel, mission, tracker=tracker, config=config,
                             observer=self._on_event)
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name=f"flight {drone_id} {sortie.order_id}")

    @property
    def order_id(self) -> str:
        return self.sortie.order_id

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float) -> bool:
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _on_event(self, event: FlightEvent) -> None:
        self.state = event.state
        if event.kind == "state" and event.state is FlightState.TAKEOFF:
            self.took_off = True
        if event.kind == "delivered":
            self.delivered = True
        self._report(JobReport(self, event=event))

    def _say(self, text: str) -> None:
        self._report(JobReport(self, event=FlightEvent(self.flight.channel.sysid, "crew",
                                                       self.state, text)))

    def _work(self) -> None:
        outcome: FlightOutcome
        try:
            if not self.reattach:
                self._crew.prepare(self.drone_id, self.sortie, self._tracker,
                                   self._capacity_wh, self._say)
        except CrewTimeout as exc:
            outcome = FlightOutcome(False, True, True, FlightReason.PREFLIGHT_FAILED, str(exc),
                                    FlightState.FAILED)
        else:
            outcome = self.flight.follow() if self.reattach else self.flight.run()
        self._report(JobReport(self, outcome=outcome))
