"""What the controller's helpers (``outcome``, ``resync``) may use of the controller.

A ``Protocol`` rather than ``FleetController`` itself, so the helpers do not import the module
that imports them; ``FleetController`` satisfies it (checked by mypy where the controller
passes itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from groundcontrol.fleet.flight_job import FlightJob
from groundcontrol.fleet.model import FleetConfig, FleetEventKind
from groundcontrol.fleet.store.sqlite import Store
from groundcontrol.mavlink.messages import VehicleChannel
from groundcontrol.mavlink.vehicle import VehicleTracker
from missions.items import Mission
from planner.dispatch import Dispatcher
from planner.dispatch_model import Decision, Event, Sortie
from planner.scenario import Drone, Scenario

__all__ = ["FleetCore", "FleetState"]

T = TypeVar("T")


class FleetState(Protocol):
    """The controller's fields that its views and helpers read (the controller sets them)."""

    scenario: Scenario
    store: Store
    drones: dict[str, Drone]
    trackers: dict[str, VehicleTracker]
    faults: dict[str, str]
    link_lost: set[str]
    delivered_at: dict[str, float]
    why: dict[str, str]


class FleetCore(FleetState, Protocol):
    """The controller's state and loop-thread operations that outcomes and resync act on."""

    config: FleetConfig
    dispatcher: Dispatcher
    channels: dict[str, VehicleChannel]

    def emit(self, kind: FleetEventKind, text: str, drone_id: str | None = None,
             order_id: str | None = None, severity: str = "info") -> None: ...

    def dispatch(self, event: Event, now: float) -> list[Decision]: ...

    def mission_for(self, sortie: Sortie) -> Mission: ...

    def start_job(self, sortie: Sortie, reattach: bool) -> FlightJob: ...

    def fault(self, drone_id: str, reason: str, now: float,
              recover_after: bool = False) -> None: ...

    def back_in_service(self, drone_id: str, now: float) -> None: ...

    def call(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T: ...
