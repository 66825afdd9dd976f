"""Domain values of the planner: positions, depots, orders, airspace and plan results.

Everything here is a frozen dataclass or an Enum: plain values that the rest of the project
passes around and that tests can build in one line. Positions are WGS84 degrees; altitudes
say their reference in the name (``_agl_m`` above ground at the point, ``_amsl_m`` above mean
sea level). Times on the scenario clock are seconds (``_s``) since the scenario's epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from planner.errors import InvalidInput

__all__ = [
    "Airspace",
    "Depot",
    "FlightPlan",
    "Infeasibility",
    "LatLon",
    "NoFlyZone",
    "Order",
    "PhaseEnergy",
    "PlanResult",
    "Rule",
]


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS84 position in decimal degrees.

    >>> LatLon(-35.3, 149.1)
    LatLon(lat=-35.3, lon=149.1)
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        for name, value, limit in (("lat", self.lat, 90.0), ("lon", self.lon, 180.0)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InvalidInput(name, f"must be a number, got {value!r}")
            if not math.isfinite(value) or abs(value) > limit:
                raise InvalidInput(name, f"{value!r} is outside -{limit:g}..{limit:g} degrees")


@dataclass(frozen=True, slots=True)
class Depot:
    """A place drones take off from, land at, and swap batteries."""

    id: str
    position: LatLon
    ground_alt_amsl_m: float = 0.0
    """Ground altitude above mean sea level at the depot; the mission's home altitude."""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """A delivery request: a payload from a depot to a drop-off point by a due time."""

    id: str
    depot_id: str
    dropoff: LatLon
    payload_kg: float
    created_s: float = 0.0
    """When the order was placed, scenario clock seconds."""
    due_s: float | None = None
    """Promised drop-off time, scenario clock seconds; None means created_s + the promise."""
    priority: int = 0
    """Higher goes first among orders that can all be kept."""


@dataclass(frozen=True, slots=True)
class NoFlyZone:
    """An airspace volume no flight may enter: polygons or a circle, within an altitude band.

    Exactly one of ``polygons`` (exterior rings, open: first point not repeated) or
    ``circle_center`` + ``circle_radius_m`` is set. The band is above ground level; a zone
    whose band does not touch a flight's altitudes does not constrain that flight.
    """

    id: str
    name: str = ""
    polygons: tuple[tuple[LatLon, ...], ...] = ()
    circle_center: LatLon | None = None
    circle_radius_m: float | None = None
    floor_m: float = 0.0
    """Lower edge of the band, metres AGL."""
    ceiling_m: float = math.inf
    """Upper edge of the band, metres AGL."""
    kind: str = ""
    """Free-form category for display: airport, hospital, prison, stadium ..."""

    @property
    def is_circle(self) -> bool:
        return self.circle_center is not None

    def constrains(self, low_agl_m: float, high_agl_m: float) -> bool:
        """True when the band [floor, ceiling] overlaps the flight's altitudes [low, high]."""
        return self.floor_m < high_agl_m and self.ceiling_m > low_agl_m


@dataclass(frozen=True, slots=True)
class Airspace:
    """The no-fly zones, the optional operating area, and the altitude ceiling."""

    zones: tuple[NoFlyZone, ...] = ()
    operating_area: tuple[LatLon, ...] | None = None
    """Polygon (open ring) that every flight must stay inside, or None for no limit."""
    ceiling_agl_m: float = 120.0
    """Highest altitude any flight may use, metres above ground (regulatory ceiling)."""


class Rule(Enum):
    """The rules an order is checked against; each infeasibility names one."""

    UNKNOWN_DEPOT = "unknown_depot"
    PAYLOAD = "payload"
    CEILING = "ceiling"
    DEPOT_IN_NO_FLY_ZONE = "depot_in_no_fly_zone"
    DROPOFF_IN_NO_FLY_ZONE = "dropoff_in_no_fly_zone"
    OUTSIDE_OPERATING_AREA = "outside_operating_area"
    NO_PATH = "no_path"
    ENERGY = "energy"
    DEADLINE = "deadline"
    MISSION = "mission"
    """The plan is sound but its mission cannot be built for the vehicle (a fence beyond
    ArduCopter's storage, a value MAVLink cannot carry): decided by the ground station."""


@dataclass(frozen=True, slots=True)
class Infeasibility:
    """Why an order cannot be flown: the rule, what was measured, and the limit it broke."""

    rule: Rule
    measured: float | str
    limit: float | str
    unit: str = ""
    detail: str = ""

    def __str__(self) -> str:
        def fmt(v: float | str) -> str:
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        unit = f" {self.unit}" if self.unit else ""
        text = f"{self.rule.value}: {fmt(self.measured)}{unit} (limit {fmt(self.limit)}{unit})"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True, slots=True)
class PhaseEnergy:
    """Energy and time of one flight phase (takeoff, climb, cruise_out, hover, ...)."""

    name: str
    duration_s: float
    energy_wh: float
    distance_m: float = 0.0
    mass_kg: float = 0.0
    """All-up mass during the phase."""


@dataclass(frozen=True, slots=True)
class FlightPlan:
    """A feasible delivery: the route there and back and what it costs."""

    order: Order
    depot: Depot
    profile_name: str
    outbound: tuple[LatLon, ...]
    """Depot first, drop-off last, safe turning points between."""
    inbound: tuple[LatLon, ...]
    """Drop-off first, depot last."""
    cruise_alt_agl_m: float
    distance_m: float
    """Geodesic length of both legs."""
    flight_time_s: float
    energy_wh: float
    reserve_left_wh: float
    """Usable energy left at landing beyond the required reserve (>= 0 when feasible)."""
    phases: tuple[PhaseEnergy, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanResult:
    """The planner's answer for one order: a plan, or every reason it cannot be flown."""

    order: Order
    plan: FlightPlan | None = None
    reasons: tuple[Infeasibility, ...] = field(default=())

    @property
    def feasible(self) -> bool:
        return self.plan is not None and not self.reasons
