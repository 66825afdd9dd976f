"""The simulator's own power model and battery (independent of the planner's energy model).

Calibrated to the battery_model recording of the SITL quad (3 kg): 354 W hover, 382 W at
10 m/s, 493 W at 15 m/s airspeed, at a flat 12.6 V. Power scales with mass^1.5 (induced
power) and adds the work of climbing. Like SITL with SIM_BATT_CAP_AH = 0 the voltage is
flat by default; with a capacity (``sag_capacity_ah``) it falls linearly with charge used and
with the load, so battery failsafes can be reached by draining.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .physics import GRAVITY_MSS

__all__ = ["Battery", "PowerModel"]


@dataclass(frozen=True, slots=True)
class PowerModel:
    """Electrical power of the airframe (the simulator's parameters, not the planner's)."""

    mass_kg: float = 3.0
    hover_power_w: float = 354.0
    """Hover power at ``reference_mass_kg``."""
    reference_mass_kg: float = 3.0
    speed_linear_w_per_ms: float = -10.13
    """Linear term: translational lift makes slow forward flight cheaper than hover."""
    speed_quadratic_w_per_ms2: float = 1.293
    climb_efficiency: float = 0.6
    idle_power_w: float = 10.0
    """Armed on the ground, motors spinning at idle."""
    thrust_drag: tuple[float, float] | None = None
    """An airframe's drag ``(c1, c2)``: power then follows thrust as in ArduPilot SITL's
    frame models (hover power / cos(lean)) instead of the fitted speed terms."""

    @classmethod
    def for_airframe(cls, mass_kg: float, hover_power_w: float,
                     drag: tuple[float, float]) -> PowerModel:
        """Power of an airframe SITL flies from a frame model: hover power at its mass,
        then proportional to thrust (the lean that balances drag adds 1/cos(lean))."""
        return cls(mass_kg=mass_kg, hover_power_w=hover_power_w, reference_mass_kg=mass_kg,
                   thrust_drag=drag)

    def power_w(self, airspeed_ms: float, climb_ms: float, payload_kg: float = 0.0) -> float:
        """Electrical power in flight.

        >>> round(PowerModel().power_w(0.0, 0.0))
        354
        >>> round(PowerModel().power_w(10.0, 0.0))
        382
        """
        mass = self.mass_kg + payload_kg
        hover = self.hover_power_w * (mass / self.reference_mass_kg) ** 1.5
        v = max(0.0, airspeed_ms)
        climb = mass * GRAVITY_MSS * climb_ms / self.climb_efficiency if climb_ms > 0 else 0.0
        if self.thrust_drag is not None:
            # SITL's current follows the motor output, i.e. thrust: a steady climb costs
            # no more than a hover there (its vertical drag is small), only the lean does.
            c1, c2 = self.thrust_drag
            tilt = (c1 * v + c2 * v * v) / GRAVITY_MSS
            return max(self.idle_power_w, hover * math.sqrt(1.0 + tilt * tilt))
        forward = self.speed_linear_w_per_ms * v + self.speed_quadratic_w_per_ms2 * v * v
        scale = hover / self.hover_power_w
        return max(self.idle_power_w, hover + forward * scale + climb)


class Battery:
    """Pack state: current, consumed charge/energy, voltage; ``drain`` adds load for dt."""

    def __init__(self, capacity_mah: float = 3300.0, full_voltage_v: float = 12.6,
                 sag_capacity_ah: float = 0.0) -> None:
        self.capacity_mah = capacity_mah
        self.full_voltage_v = full_voltage_v
        self.sag_capacity_ah = sag_capacity_ah
        self.consumed_mah = 0.0
        self.consumed_wh = 0.0
        self.current_a = 0.0
        self.voltage_v = full_voltage_v
        self.internal_resistance_ohm = 0.02

    def _open_circuit_v(self) -> float:
        if self.sag_capacity_ah <= 0:
            return self.full_voltage_v
        used = min(1.0, self.consumed_mah / (self.sag_capacity_ah * 1000.0))
        # 4.2 V -> 3.3 V per cell over the pack, linear: simple, monotonic, predictable.
        cells = self.full_voltage_v / 4.2
        return self.full_voltage_v - used * cells * 0.9

    def drain(self, power_w: float, dt: float) -> None:
        """Draw power_w for dt seconds."""
        ocv = self._open_circuit_v()
        self.current_a = power_w / max(ocv, 1.0)
        if self.sag_capacity_ah > 0:
            self.voltage_v = ocv - self.current_a * self.internal_resistance_ohm
        else:
            self.voltage_v = ocv
        self.consumed_mah += self.current_a * dt / 3.6
        self.consumed_wh += self.current_a * self.voltage_v * dt / 3600.0

    def drain_mah(self, mah: float) -> None:
        """Fault injection: remove charge at once."""
        self.consumed_mah += mah
        self.consumed_wh += mah / 1000.0 * self.voltage_v
        self.drain(0.0 if self.current_a == 0 else self.current_a * self.voltage_v, 0.0)

    @property
    def remaining_pct(self) -> int:
        if self.capacity_mah <= 0:
            return -1
        return max(0, min(100, round(100.0 * (1.0 - self.consumed_mah / self.capacity_mah))))
