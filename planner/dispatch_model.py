"""Values of the dispatcher: depot model, events in, decisions out, sorties.

Everything is a frozen dataclass or an Enum so a day can be replayed and compared value by
value. Times are scenario-clock seconds (``_s``); energies are watt-hours (``_wh``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from planner.errors import InvalidInput
from planner.model import FlightPlan, Infeasibility, LatLon, Order, PlanResult
from planner.vehicle import VehicleProfile

__all__ = [
    "DEFAULT_PROMISE_S",
    "Assign",
    "BatteryAction",
    "CancelAnswer",
    "Decision",
    "DepotModel",
    "DroneFault",
    "DroneLanded",
    "DroneRecovered",
    "DroneSpec",
    "DroneStatus",
    "Event",
    "Fail",
    "FleetDrone",
    "LinkLost",
    "LinkRestored",
    "OrderCancelled",
    "OrderPlaced",
    "PlanFn",
    "Reject",
    "SeparationWait",
    "Sortie",
    "SortieProgress",
    "SwapBattery",
    "Tick",
    "Unassign",
]

DEFAULT_PROMISE_S = 30 * 60.0
"""The delivery promise: drop-off at most this long after the order is placed."""

PlanFn = Callable[[Order, VehicleProfile, "float | None"], PlanResult]
"""The planner seam: (order, profile, battery energy in Wh or None for a full battery)."""


class DroneSpec(Protocol):
    """What the dispatcher needs of a drone (``FleetDrone``; ``dispatch.fleet_of(scenario)``)."""

    @property
    def id(self) -> str: ...

    @property
    def profile(self) -> VehicleProfile: ...

    @property
    def depot_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FleetDrone:
    """A fleet member with its profile resolved (``planner.scenario.Drone`` names it)."""

    id: str
    profile: VehicleProfile
    depot_id: str


class DroneStatus(Enum):
    """Whether a drone can be given work."""

    AVAILABLE = "available"
    """On the ground or flying a sortie; can be given further sorties."""
    FAULT = "fault"
    """Out of service until a DroneRecovered event."""
    LINK_LOST = "link_lost"
    """No telemetry: keeps flying what it has, gets nothing new until LinkRestored."""


class BatteryAction(Enum):
    """The turnaround before a sortie."""

    KEEP = "keep"
    """Fly on the battery already in the drone (only the parcel is loaded)."""
    SWAP = "swap"
    """Swap in a charged spare from the depot's pool."""
    CHARGE = "charge"
    """Charge the drone's own battery on a pad until it holds enough for the sortie."""


@dataclass(frozen=True, slots=True)
class DepotModel:
    """The ground resources of one depot."""

    depot_id: str
    pads: int = 4
    """Drones that can be serviced (loaded, swapped, charged) at the same time."""
    spare_batteries: int = 10
    """Charged batteries in the pool at the start, one charger each."""
    swap_time_s: float = 120.0
    """Time on a pad to swap a battery (the parcel is loaded meanwhile)."""
    load_time_s: float = 60.0
    """Time on a pad to load a parcel; the shortest possible turnaround."""
    charge_rate_w: float = 500.0
    """Charger power, for spares in the pool and for a drone charging on a pad."""
    park_charging: bool = False
    """Every drone rests on its own charging pad: its battery charges whenever it is on the
    ground, not only during a turnaround (a nest per drone; needs pads >= drones)."""

    def __post_init__(self) -> None:
        if self.pads < 1:
            raise InvalidInput("pads", f"must be at least 1, got {self.pads}")
        if self.spare_batteries < 0:
            raise InvalidInput("spare_batteries", f"must be >= 0, got {self.spare_batteries}")
        for name in ("swap_time_s", "load_time_s"):
            if getattr(self, name) < 0:
                raise InvalidInput(name, f"must be >= 0, got {getattr(self, name)}")
        if self.charge_rate_w <= 0:
            raise InvalidInput("charge_rate_w", f"must be > 0, got {self.charge_rate_w}")


# ---------------------------------------------------------------------------------- events in


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """A new order arrives."""

    order: Order


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The customer cancels; ignored once the parcel's sortie has begun."""

    order_id: str


@dataclass(frozen=True, slots=True)
class DroneLanded:
    """A drone is back at its depot (on time or early) with this much battery energy."""

    drone_id: str
    battery_wh: float
    delivered: bool = True
    """False when the sortie was aborted with the parcel still on board: the order is re-queued."""
    order_id: str | None = None
    """The sortie that ended, when known (the flight layer knows which mission it flew);
    without it, the drone's earliest sortie already launched."""


@dataclass(frozen=True, slots=True)
class DroneFault:
    """A drone is out of service; a sortie it is flying is lost."""

    drone_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DroneRecovered:
    """A faulted drone is back in service at its depot with this battery energy."""

    drone_id: str
    battery_wh: float


@dataclass(frozen=True, slots=True)
class LinkLost:
    """No telemetry from a drone; its flight continues, it gets no new work."""

    drone_id: str


@dataclass(frozen=True, slots=True)
class LinkRestored:
    """Telemetry is back."""

    drone_id: str


@dataclass(frozen=True, slots=True)
class SortieProgress:
    """A drone in the air now expects to land at ``land_s`` (from its live progress: ground
    speed and distance left), so what it flies next is promised on that, not on the plan."""

    drone_id: str
    order_id: str
    land_s: float
    delivered: bool = False
    """The parcel is released already (the drop-off time is then history)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: sorties whose turnaround has begun become fixed."""


Event = (
    OrderPlaced
    | OrderCancelled
    | DroneLanded
    | DroneFault
    | DroneRecovered
    | LinkLost
    | LinkRestored
    | SortieProgress
    | Tick
)

# ------------------------------------------------------------------------------------ sorties


@dataclass(frozen=True, slots=True)
class SeparationWait:
    """Why a sortie launches later, or cruises lower, than it first could: the planned flight
    it would have come too close to (``planner.dispatch_separation``)."""

    held_s: float
    """How much later it launches than it could have (0 when a layer alone cleared it)."""
    cruise_alt_agl_m: float
    """The cruise altitude it flies."""
    planned_alt_agl_m: float
    """The cruise altitude it was planned at before the conflict."""
    other_order_id: str
    other_drone_id: str
    at_s: float
    """When they would have met (scenario clock, on this sortie's first plan)."""
    where: LatLon
    alt_agl_m: float
    kind: str
    """``over the depot``, ``over a drop-off``, ``head-on``, ``same track`` or ``crossing``."""
    distance_m: float
    """Horizontal distance they would have had (metres)."""

    def describe(self, drone_id: str) -> str:
        """One line for an operator.

        >>> w = SeparationWait(45.0, 100.0, 100.0, "o1", "d1", 3600.0, LatLon(-35.3, 149.1),
        ...                    100.0, "crossing", 12.0)
        >>> w.describe("d2")[:58]
        'd2 launch held 45 s for separation from d1 (o1): crossing '
        """
        if self.held_s > 0:
            what = f"{drone_id} launch held {self.held_s:.0f} s"
            if self.cruise_alt_agl_m != self.planned_alt_agl_m:
                what += f" and cruise at {self.cruise_alt_agl_m:.0f} m"
        else:
            what = (f"{drone_id} cruise at {self.cruise_alt_agl_m:.0f} m instead of "
                    f"{self.planned_alt_agl_m:.0f} m")
        return (f"{what} for separation from {self.other_drone_id} ({self.other_order_id}): "
                f"{self.kind} at t={self.at_s:.0f} s near {self.where.lat:.5f}, "
                f"{self.where.lon:.5f}, {self.alt_agl_m:.0f} m AGL")


@dataclass(frozen=True, slots=True)
class Sortie:
    """One drone flying one order: turnaround on a pad, launch, drop-off, landing."""

    order_id: str
    drone_id: str
    depot_id: str
    turnaround_start_s: float
    launch_s: float
    dropoff_s: float
    land_s: float
    action: BatteryAction
    battery_id: str
    """The battery flown (the spare's id for a swap)."""
    launch_wh: float
    """Energy in the battery at launch."""
    plan: FlightPlan
    pad: int
    swapped_out_id: str | None = None
    """The battery taken out of the drone by a swap (it goes to the pool to charge)."""
    separation: SeparationWait | None = None
    """Set when the launch waited, or the altitude changed, to keep clear of another flight."""

    @property
    def landing_wh(self) -> float:
        return self.launch_wh - self.plan.energy_wh


# --------------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Assign:
    """Fly ``order_id`` with ``drone_id``: supersedes any earlier Assign of the same order."""

    order_id: str
    drone_id: str
    launch_at_s: float
    eta_dropoff_s: float
    due_s: float
    """The promised drop-off time."""
    sortie: Sortie
    """Everything the ground side needs: turnaround, battery, pad, landing, the flight plan."""

    @property
    def plan(self) -> FlightPlan:
        return self.sortie.plan

    @property
    def late(self) -> bool:
        """True when the drop-off is planned after the promise (only after a disruption)."""
        return self.eta_dropoff_s > self.due_s


@dataclass(frozen=True, slots=True)
class Unassign:
    """An earlier Assign no longer holds (the order moved to another drone or waits)."""

    order_id: str
    drone_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    """The order cannot be promised: every reason, at once."""

    order_id: str
    reasons: tuple[Infeasibility, ...]


@dataclass(frozen=True, slots=True)
class SwapBattery:
    """Ground crew: put ``battery_in_id`` into the drone at ``at_s`` (part of an Assign)."""

    order_id: str
    drone_id: str
    at_s: float
    battery_in_id: str
    battery_out_id: str


@dataclass(frozen=True, slots=True)
class Fail:
    """An order lost with its drone (fault during the sortie)."""

    order_id: str
    drone_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CancelAnswer:
    """The answer to OrderCancelled: cancelled, or refused because the sortie has begun."""

    order_id: str
    cancelled: bool
    reason: str = ""


Decision = Assign | Unassign | Reject | SwapBattery | Fail | CancelAnswer
