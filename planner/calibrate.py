"""Fit a vehicle profile to flown records: cruise speed and acceleration, vertical speeds and
the power model's coefficients, so the planner predicts what the aircraft really does.

A ``FlownSample`` is one flight: the plan's inputs (profile, payload, cruise lengths out and
back) and what was flown (seconds and Wh per phase group, ``planner.energy.PHASE_GROUPS``).
``calibrate`` re-plans every sample with candidate profiles (``planner.energy.flight_energy``,
the planner's own model, so the fitted profile is exactly what the planner will use) and
minimises, by Levenberg-Marquardt on the logarithms of the parameters:

1. time: the per-phase time errors over each flight's flown time, fitting ``cruise_speed_ms``,
   ``cruise_accel_ms2`` (the time a leg loses speeding up and slowing down), ``climb_speed_ms``
   and ``descent_speed_ms`` (effective speeds, their ramps included), and ``winch_speed_ms``
   for a winch profile;
2. energy, with the fitted times: the per-phase energy errors over each flight's used energy,
   fitting the momentum model's ``figure_of_merit`` and ``drag_area_m2`` (the linear model's
   ``linear_w_per_kg`` and ``linear_w_offset``).

A weak pull towards the starting profile keeps parameters the samples do not determine
(one flight length only, say) where they were. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.energy import PHASE_GROUPS, flight_energy, group_phases
from planner.errors import InvalidInput
from planner.vehicle import (
    DeliveryMethod,
    PowerModel,
    VehicleProfile,
    profile_from_dict,
    profile_to_dict,
)

__all__ = ["Calibration", "FlownSample", "calibrate", "errors", "sample_from_record"]

CALIBRATED_MARK = " Refitted by drone-delivery calibrate"
"""Where an earlier calibration's note starts in a description (replaced, not repeated)."""

PRIOR_WEIGHT = 0.05
"""Weight of the pull towards the starting profile, per unit of log-parameter (a residual
of 5 % of a flight's time per factor e)."""

_START = {"cruise_accel_ms2": 2.5}
"""Where to start a parameter the profile leaves at 0 (ArduCopter's WPNAV_ACCEL default)."""

_BOUNDS: dict[str, tuple[float, float]] = {
    "cruise_speed_ms": (1.0, 60.0),
    "cruise_accel_ms2": (0.2, 20.0),
    "climb_speed_ms": (0.2, 15.0),
    "descent_speed_ms": (0.2, 15.0),
    "winch_speed_ms": (0.05, 5.0),
    "figure_of_merit": (0.05, 1.0),
    "drag_area_m2": (0.001, 5.0),
    "linear_w_per_kg": (1.0, 1000.0),
    "linear_w_offset": (0.1, 5000.0),
}


@dataclass(frozen=True, slots=True)
class FlownSample:
    """One flown delivery: the plan's inputs and the flown figures per phase group."""

    profile: str
    payload_kg: float
    out_m: float
    back_m: float
    phases_s: Mapping[str, float]
    phases_wh: Mapping[str, float]
    flown_s: float
    used_wh: float | None
    label: str = ""
    cruise_alt_m: float | None = None
    """The cruise altitude flown (a separation layer may differ from the profile's)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted profile and how well the old and the new one predict the samples."""

    before: VehicleProfile
    after: VehicleProfile
    samples: int
    time_error_before: tuple[float, float]
    """(median, worst) of |planned/flown - 1| over the samples' total times."""
    time_error_after: tuple[float, float]
    energy_error_before: tuple[float, float] | None
    energy_error_after: tuple[float, float] | None

    def changed(self) -> dict[str, tuple[float, float]]:
        """The fitted fields whose value moved: name -> (before, after)."""
        return {name: (getattr(self.before, name), getattr(self.after, name))
                for name in _BOUNDS
                if not math.isclose(getattr(self.before, name), getattr(self.after, name))}


def _number(record: Mapping[str, Any], key: str, where: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise InvalidInput(f"{where}.{key}", f"must be a finite number >= 0, got {value!r}")
    return float(value)


def _phase_map(record: Mapping[str, Any], key: str, where: str) -> dict[str, float]:
    raw = record.get(key) or {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{where}.{key}", f"must be an object, got {raw!r}")
    return {name: _number(raw, name, f"{where}.{key}") for name in PHASE_GROUPS if name in raw}


def sample_from_record(record: Mapping[str, Any], label: str = "record") -> FlownSample | None:
    """A sample from a planned-against-flown record (``FlightRecord.as_dict()`` or a
    ``fly --json`` object); None when the flight did not complete its four phases or the
    record lacks the plan's inputs (planned before they were kept).

    Raises:
        InvalidInput: a field of the wrong type or a negative or non-finite number.
    """
    inputs = record.get("inputs")
    if not isinstance(inputs, Mapping) or not {"profile", "payload_kg", "out_m",
                                                "back_m"} <= set(inputs):
        return None
    phases_s = _phase_map(record, "flown_phases_s", label)
    if set(phases_s) != set(PHASE_GROUPS) or record.get("flown_s") is None:
        return None
    profile = inputs["profile"]
    if not isinstance(profile, str) or not profile:
        raise InvalidInput(f"{label}.inputs.profile", f"must be a name, got {profile!r}")
    used = record.get("used_wh")
    return FlownSample(
        profile=profile,
        payload_kg=_number(inputs, "payload_kg", f"{label}.inputs"),
        out_m=_number(inputs, "out_m", f"{label}.inputs"),
        back_m=_number(inputs, "back_m", f"{label}.inputs"),
        phases_s=phases_s,
        phases_wh=_phase_map(record, "flown_phases_wh", label),
        flown_s=_number(record, "flown_s", label),
        used_wh=None if used is None else _number(record, "used_wh", label),
        label=label,
        cruise_alt_m=_number(inputs, "cruise_alt_m", f"{label}.inputs")
        if "cruise_alt_m" in inputs else None,
    )


def _predict(profile: VehicleProfile, s: FlownSample) -> dict[str, tuple[float, float]]:
    if s.cruise_alt_m is not None and s.cruise_alt_m != profile.cruise_alt_agl_m:
        profile = replace(profile, cruise_alt_agl_m=s.cruise_alt_m)
    return group_phases(flight_energy(profile, s.out_m, s.back_m, s.payload_kg))


def errors(profile: VehicleProfile, samples: Sequence[FlownSample]
           ) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """(median, worst) relative error of the planned total time and energy against flown."""
    t_err, e_err = [], []
    for s in samples:
        groups = _predict(profile, s)
        t_err.append(abs(sum(v[0] for v in groups.values()) / s.flown_s - 1.0))
        if s.used_wh:
            e_err.append(abs(sum(v[1] for v in groups.values()) / s.used_wh - 1.0))
    energy = (float(np.median(e_err)), max(e_err)) if e_err else None
    return (float(np.median(t_err)), max(t_err)), energy


def _time_fields(profile: VehicleProfile) -> list[str]:
    names = ["cruise_speed_ms", "cruise_accel_ms2", "climb_speed_ms", "descent_speed_ms"]
    if profile.delivery_method is DeliveryMethod.WINCH:
        names.append("winch_speed_ms")
    return names


def _energy_fields(profile: VehicleProfile) -> list[str]:
    if profile.power_model is PowerModel.LINEAR:
        return ["linear_w_per_kg", "linear_w_offset"]
    return ["figure_of_merit", "drag_area_m2"]


def _with(profile: VehicleProfile, names: Sequence[str], logs: np.ndarray) -> VehicleProfile:
    values: dict[str, Any] = {}
    for name, x in zip(names, logs, strict=True):
        low, high = _BOUNDS[name]
        values[name] = min(high, max(low, math.exp(float(x))))
    return replace(profile, **values)


def _time_residuals(profile: VehicleProfile, samples: Sequence[FlownSample]) -> list[float]:
    out = []
    for s in samples:
        groups = _predict(profile, s)
        out += [(groups[g][0] - s.phases_s[g]) / s.flown_s for g in PHASE_GROUPS]
    return out


def _energy_residuals(profile: VehicleProfile, samples: Sequence[FlownSample]) -> list[float]:
    out = []
    for s in samples:
        if not s.used_wh:
            continue
        groups = _predict(profile, s)
        if set(s.phases_wh) == set(PHASE_GROUPS):
            out += [(groups[g][1] - s.phases_wh[g]) / s.used_wh for g in PHASE_GROUPS]
        else:
            out.append((sum(v[1] for v in groups.values()) - s.used_wh) / s.used_wh)
    return out


def _fit(profile: VehicleProfile, names: Sequence[str],
         residuals: Callable[[VehicleProfile], list[float]]) -> VehicleProfile:
    """Levenberg-Marquardt on log-parameters with a numerical Jacobian and a weak prior."""
    start = np.array([math.log(max(getattr(profile, n) or _START.get(n, 0.0), _BOUNDS[n][0]))
                      for n in names])

    def full(x: np.ndarray) -> np.ndarray:
        return np.array([*residuals(_with(profile, names, x)),
                         *(PRIOR_WEIGHT * (x - start))])

    x, damping = start.copy(), 1e-3
    r = full(x)
    for _ in range(100):
        jac = np.empty((r.size, x.size))
        for j in range(x.size):
            step = np.zeros_like(x)
            step[j] = 1e-6
            jac[:, j] = (full(x + step) - r) / 1e-6
        grad, hess = jac.T @ r, jac.T @ jac
        while True:
            delta = np.linalg.solve(hess + damping * np.diag(np.diag(hess) + 1e-12), -grad)
            trial = x + delta
            r_trial = full(trial)
            if r_trial @ r_trial < r @ r:
                x, r, damping = trial, r_trial, max(damping / 3.0, 1e-9)
                break
            damping *= 4.0
            if damping > 1e9:
                return _with(profile, names, x)
        if np.max(np.abs(delta)) < 1e-7:
            break
    return _with(profile, names, x)


def calibrate(profile: VehicleProfile, samples: Sequence[FlownSample],
              note: str | None = None) -> Calibration:
    """Fit ``profile`` to the samples flown with it (those of other profiles are ignored).

    Args:
        profile: the profile the samples were planned with (the starting point).
        samples: flown records.
        note: appended to the new profile's description, replacing an earlier calibration's
            (default: "Calibrated on N flown records.").

    Raises:
        InvalidInput: no sample of this profile, or a fitted profile that fails the profile
            checks (cannot happen inside the bounds; checked all the same).
    """
    mine = [s for s in samples if s.profile == profile.name]
    if not mine:
        raise InvalidInput("samples", f"no completed flight of profile {profile.name!r} "
                                      "with the plan's inputs recorded")
    timed = _fit(profile, _time_fields(profile), lambda p: _time_residuals(p, mine))
    fitted = timed
    if any(s.used_wh for s in mine):
        fitted = _fit(timed, _energy_fields(timed), lambda p: _energy_residuals(p, mine))
    if note is None:
        note = f"{CALIBRATED_MARK.strip()} on {len(mine)} flown records."
    description = f"{profile.description.split(CALIBRATED_MARK)[0].strip()} {note}".strip()
    fitted = replace(fitted, description=description)
    checked = profile_from_dict(profile_to_dict(fitted), source=f"calibrated {profile.name}")
    t0, e0 = errors(profile, mine)
    t1, e1 = errors(checked, mine)
    return Calibration(profile, checked, len(mine), t0, t1, e0, e1)
