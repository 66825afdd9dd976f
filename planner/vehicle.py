"""Vehicle profiles: what a drone type can lift, how far, how fast, how it delivers.

Profiles are data (JSON files under ``planner/profiles/``), loaded with ``load_profile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["DeliveryMethod", "PowerModel", "VehicleProfile"]


class DeliveryMethod(Enum):
    """How the payload leaves the drone at the drop-off."""

    DESCEND_RELEASE = "descend_release"
    """Descend to release_alt_agl_m, DO_GRIPPER release, climb back (no touchdown)."""
    WINCH = "winch"
    """Hover at cruise altitude and lower the parcel with DO_WINCH (no touchdown)."""
    PAYLOAD_PLACE = "payload_place"
    """NAV_PAYLOAD_PLACE: descend until the payload touches down, release, climb back."""
    LAND = "land"
    """NAV_LAND at the drop-off, DO_GRIPPER release, NAV_TAKEOFF. Needs MIS_OPTIONS bit 2."""


class PowerModel(Enum):
    """Which multirotor power model the energy estimate uses."""

    MOMENTUM = "momentum"
    """Momentum theory (Dorling et al. 2017): P = (m g)^1.5 / sqrt(2 rho A) / FM, plus drag."""
    LINEAR = "linear"
    """Dorling et al.'s linear approximation: P = linear_w_per_kg * m + linear_w_offset."""


@dataclass(frozen=True, slots=True)
class VehicleProfile:
    """A drone type. Masses in kg, energies in Wh, speeds in m/s, altitudes in m AGL."""

    name: str
    empty_mass_kg: float
    """Airframe with battery, no payload."""
    battery_wh: float
    """Nominal battery energy."""
    usable_fraction: float
    """Fraction of nominal energy that can be drawn (depth of discharge, ageing)."""
    reserve_fraction: float
    """Fraction of the usable energy that must remain at landing."""
    max_payload_kg: float
    cruise_speed_ms: float
    climb_speed_ms: float
    descent_speed_ms: float
    cruise_alt_agl_m: float
    ceiling_agl_m: float
    """Highest altitude the vehicle may be sent to."""
    delivery_method: DeliveryMethod = DeliveryMethod.DESCEND_RELEASE
    release_alt_agl_m: float = 10.0
    """Height of the release for DESCEND_RELEASE; line length for WINCH."""
    dropoff_hover_s: float = 5.0
    """Time spent over the drop-off for the release (hover or ground)."""
    rotor_count: int = 4
    rotor_diameter_m: float = 0.5
    power_model: PowerModel = PowerModel.MOMENTUM
    figure_of_merit: float = 0.7
    """Hover efficiency of rotors, motors and ESCs together (ideal power / electrical power)."""
    drag_area_m2: float = 0.1
    """Equivalent flat-plate area Cd*A for parasite power in forward flight."""
    avionics_w: float = 20.0
    linear_w_per_kg: float = 46.7
    linear_w_offset: float = 26.9
    continue_after_land: bool = False
    """The vehicle is configured to continue a mission after a landing (ArduPilot MIS_OPTIONS bit 2)."""
    disarm_delay_s: float = 10.0
    """Seconds on the ground before the autopilot disarms (ArduPilot DISARM_DELAY)."""
    wind_allowance: float = 0.0
    """Extra fraction of cruise energy kept for headwind (0.1 = 10 %)."""

    @property
    def usable_wh(self) -> float:
        return self.battery_wh * self.usable_fraction

    @property
    def reserve_wh(self) -> float:
        return self.usable_wh * self.reserve_fraction
