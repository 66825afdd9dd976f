"""Delivery airframes both simulators fly: an ArduPilot SITL frame model plus its parameters.

Each vehicle profile of the planner (``planner/profiles/NAME.json``) has an airframe here:
``sitl/airframes/NAME.json`` is a frame model in ArduPilot's format (``arducopter --model
quad:NAME.json``; keys as in ArduPilot's ``libraries/SITL/SIM_Frame.cpp``) and
``NAME.parm`` the parameters that make ArduCopter fly it as the profile plans (speeds, lean
limit, motor and battery settings, payload outputs). The built-in simulator reads the same
JSON (``drag_coefficients``, ``hover_power_w``), so both simulate one aircraft.

What SITL does with the model, as ``SIM_Frame.cpp`` computes it: the drag at ``refSpd`` needs
``refAngle`` of lean (momentum drag linear in airspeed, the rest quadratic), hover power is
``refCurrent x refVoltage`` at ``mass`` and power follows thrust; the pack is
``battCapacityAh`` at ``maxVoltage`` when full. SITL has no payload mass: ``mass`` is the
take-off mass with the profile's largest parcel.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AIRFRAMES_DIR", "DEFAULT_AIRFRAME", "Airframe", "airframe_names", "load_airframe"]

AIRFRAMES_DIR = Path(__file__).resolve().parent / "airframes"
DEFAULT_AIRFRAME = "delivery-quad"
GRAVITY_MSS = 9.80665


def _air_density(alt_amsl_m: float) -> float:
    """ISA density, as SITL's ``get_air_density`` (troposphere).

    >>> round(_air_density(0.0), 3)
    1.225
    """
    temp_k = 288.15 - 0.0065 * alt_amsl_m
    pressure = 101325.0 * (temp_k / 288.15) ** 5.25588
    return pressure / (287.05 * temp_k)


@dataclass(frozen=True, slots=True)
class Airframe:
    """One airframe: its SITL frame model (JSON) and parameter file."""

    name: str
    model_path: Path
    """The frame model JSON (ArduPilot's keys)."""
    parm_path: Path
    mass_kg: float
    ref_speed_ms: float
    """Airspeed held at ``ref_angle_deg`` of lean."""
    ref_angle_deg: float
    hover_power_w: float
    """refCurrent x refVoltage: electrical power in a hover at ``mass_kg``."""
    full_voltage_v: float
    capacity_ah: float
    disc_area_m2: float
    mdrag_coef: float
    ref_alt_m: float

    def drag_coefficients(self) -> tuple[float, float]:
        """``(c1, c2)`` of the horizontal drag deceleration ``c1 v + c2 v^2`` (m/s^2) that
        SITL derives from ``refSpd``/``refAngle``: momentum drag (linear) plus the rest."""
        tilt = math.radians(self.ref_angle_deg)
        rho = _air_density(self.ref_alt_m)
        drag_n = self.mass_kg * GRAVITY_MSS * math.tan(tilt)
        thrust_n = self.mass_kg * GRAVITY_MSS / math.cos(tilt)
        per_ms = math.cos(tilt) * self.mdrag_coef * math.cos(tilt) * math.sqrt(
            thrust_n * rho * self.disc_area_m2)
        momentum_n = per_ms * self.ref_speed_ms
        if momentum_n >= drag_n:
            return drag_n / self.ref_speed_ms / self.mass_kg, 0.0
        quad_n_per_ms2 = (drag_n - momentum_n) / self.ref_speed_ms**2
        return per_ms / self.mass_kg, quad_n_per_ms2 / self.mass_kg

    def max_airspeed_ms(self, angle_max_deg: float) -> float:
        """Top airspeed where the drag needs the whole lean limit."""
        c1, c2 = self.drag_coefficients()
        a = GRAVITY_MSS * math.tan(math.radians(max(1.0, min(angle_max_deg, 80.0))))
        if c2 <= 0:
            return a / c1
        return (-c1 + math.sqrt(c1 * c1 + 4 * c2 * a)) / (2 * c2)

    def install(self, workdir: Path) -> str:
        """Copy the model into an instance's working directory; the ``--model`` argument.

        SITL takes the model path relative to its working directory (an absolute one fails
        to load), so each instance gets its own copy.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.model_path, workdir / self.model_path.name)
        return f"quad:{self.model_path.name}"


def airframe_names() -> tuple[str, ...]:
    """The airframes shipped with the project (one per planner profile that SITL can fly)."""
    return tuple(sorted(p.stem for p in AIRFRAMES_DIR.glob("*.json")))


def load_airframe(name_or_path: str | Path) -> Airframe:
    """An airframe by profile name (``delivery-quad``) or by the path of its model JSON.

    Raises:
        ValueError: no such airframe, no ``.parm`` beside the model, or a model without the
            keys the simulators need.
    """
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = AIRFRAMES_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(airframe_names()) or "none"
        raise ValueError(f"airframe {str(name_or_path)!r}: no model {path} (known: {known})")
    parm = path.with_suffix(".parm")
    if not parm.is_file():
        raise ValueError(f"airframe {path.stem!r}: no parameter file {parm}")
    try:
        data = json.loads(path.read_text())
        return Airframe(
            name=path.stem, model_path=path, parm_path=parm,
            mass_kg=float(data["mass"]), ref_speed_ms=float(data["refSpd"]),
            ref_angle_deg=float(data["refAngle"]),
            hover_power_w=float(data["refCurrent"]) * float(data["refVoltage"]),
            full_voltage_v=float(data["maxVoltage"]),
            capacity_ah=float(data["battCapacityAh"]),
            disc_area_m2=float(data["disc_area"]), mdrag_coef=float(data["mdrag_coef"]),
            ref_alt_m=float(data["refAlt"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"airframe model {path}: {exc!r} (needs mass, refSpd, refAngle, "
                         "refCurrent, refVoltage, maxVoltage, battCapacityAh, disc_area, "
                         "mdrag_coef, refAlt)") from exc
