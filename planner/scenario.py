"""A delivery scenario: depots, airspace, fleet, orders and the vehicle profiles they use.

A scenario is what ``planner.load.load_scenario`` reads from a directory and what the planner,
the dispatcher and the ground station consume. Values only: no file I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from planner.errors import InvalidInput
from planner.model import Airspace, Depot, Order
from planner.vehicle import VehicleProfile

__all__ = ["DEFAULT_PROMISE_S", "Drone", "Fleet", "Scenario"]

DEFAULT_PROMISE_S = 1800.0


@dataclass(frozen=True, slots=True)
class Drone:
    """One member of the fleet: which vehicle type it is, where it is based, its MAVLink id."""

    id: str
    profile: str
    """Profile name (a key of ``Scenario.profiles``); the fleet file may give a built-in name
    or a JSON path relative to the scenario, which loading resolves to the profile's name."""
    depot_id: str
    sysid: int
    """MAVLink system id of the vehicle, 1..254 (255 is the ground station's)."""
    name: str = ""


def _frozen_profiles(profiles: Mapping[str, VehicleProfile]) -> Mapping[str, VehicleProfile]:
    return MappingProxyType(dict(profiles))


@dataclass(frozen=True, slots=True)
class Fleet:
    """The drones of a fleet file and the profiles they name, by profile name."""

    drones: tuple[Drone, ...]
    profiles: Mapping[str, VehicleProfile] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "profiles", _frozen_profiles(self.profiles))


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything needed to plan a day of deliveries."""

    name: str
    depots: tuple[Depot, ...]
    airspace: Airspace
    fleet: tuple[Drone, ...]
    orders: tuple[Order, ...]
    profiles: Mapping[str, VehicleProfile] = field(default_factory=dict, hash=False)
    """Vehicle profiles by name; every drone's ``profile`` is a key."""
    promise_s: float = DEFAULT_PROMISE_S
    """Delivery promise: an order without a due time is due this long after it was created."""
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "profiles", _frozen_profiles(self.profiles))

    def depot_by_id(self, depot_id: str) -> Depot | None:
        """The depot with this id, or None (orders may name depots that do not exist).

        >>> from planner.model import LatLon
        >>> s = Scenario("s", (Depot("d1", LatLon(-35.2, 149.1)),), Airspace(), (), ())
        >>> s.depot_by_id("d1").id, s.depot_by_id("nope")
        ('d1', None)
        """
        for depot in self.depots:
            if depot.id == depot_id:
                return depot
        return None

    def profile_for(self, drone: Drone) -> VehicleProfile:
        """The vehicle profile of a fleet member.

        Raises:
            InvalidInput: the drone names a profile this scenario does not hold.
        """
        try:
            return self.profiles[drone.profile]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise InvalidInput(
                f"fleet[{drone.id}].profile", f"unknown profile {drone.profile!r} (known: {known})"
            ) from None

    def drones_at(self, depot_id: str) -> tuple[Drone, ...]:
        """The drones based at a depot, in fleet order."""
        return tuple(d for d in self.fleet if d.depot_id == depot_id)

    def due_s(self, order: Order) -> float:
        """When an order is due: its own due time, or its creation time plus the promise.

        >>> from planner.model import LatLon
        >>> s = Scenario("s", (), Airspace(), (), (), promise_s=600.0)
        >>> s.due_s(Order("o", "d", LatLon(0, 0), 1.0, created_s=100.0))
        700.0
        """
        return order.due_s if order.due_s is not None else order.created_s + self.promise_s
