"""A delivery scenario: depots, airspace, fleet, orders and the vehicle profiles they use.

A scenario is what ``planner.load.load_scenario`` reads from a directory and what the planner,
the dispatcher and the ground station consume. Values only: no file I/O here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

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


class _Profiles(Mapping[str, VehicleProfile]):
    """A read-only copy of a profile table that still pickles and deep-copies (a
    ``MappingProxyType`` does neither, and scenarios travel to workers and into copies)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, VehicleProfile]) -> None:
        self._data = dict(data)

    def __getitem__(self, name: str) -> VehicleProfile:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[type[_Profiles], tuple[dict[str, VehicleProfile]]]:
        return (type(self), (self._data,))


def _frozen_profiles(profiles: Mapping[str, VehicleProfile]) -> Mapping[str, VehicleProfile]:
    return profiles if isinstance(profiles, _Profiles) else _Profiles(profiles)


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
