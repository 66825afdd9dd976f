"""Vehicle profiles: what a drone type can lift, how far, how fast, how it delivers.

Profiles are data (JSON files under ``planner/profiles/``), read with ``load_profile`` (any
path), ``builtin_profile`` (by name) or ``profile_from_dict`` (already parsed JSON). Reading is
strict: an unknown field, a wrong type or an impossible value raises ``InvalidInput`` naming the
field and the file, so a typo in a profile never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from planner.errors import InvalidInput

__all__ = [
    "DEFAULT_PROFILE",
    "DeliveryMethod",
    "PowerModel",
    "VehicleProfile",
    "builtin_profile",
    "builtin_profile_names",
    "load_profile",
    "profile_from_dict",
    "profile_to_dict",
]

DEFAULT_PROFILE = "delivery-quad"
"""Name of the built-in profile used when none is given."""

_PROFILE_DIR = Path(__file__).parent / "profiles"


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
    """The vehicle continues a mission after a landing (ArduPilot MIS_OPTIONS bit 2)."""
    disarm_delay_s: float = 10.0
    """Seconds on the ground before the autopilot disarms (ArduPilot DISARM_DELAY)."""
    wind_allowance: float = 0.0
    """Extra fraction of cruise energy kept for headwind (0.1 = 10 %)."""
    description: str = ""
    """Where the numbers come from (free text, shown to operators)."""
    air_density_kgm3: float = 1.225
    """Air density for the power model (ISA sea level 1.225; lower at altitude or in heat)."""
    land_speed_ms: float = 0.5
    """Final descent speed below land_final_alt_m (ArduCopter LAND_SPEED, 50 cm/s default)."""
    land_final_alt_m: float = 10.0
    """Height where the final slow descent starts (ArduCopter LAND_ALT_LOW, 10 m default)."""
    winch_speed_ms: float = 1.0
    """Line speed of the winch for WINCH delivery, both out and in."""
    place_descent_speed_ms: float = 0.5
    """Descent speed of NAV_PAYLOAD_PLACE (ArduCopter descends at 0.5 m/s, see the reference)."""
    cruise_accel_ms2: float = 0.0
    """Effective horizontal acceleration at the start and end of a cruise leg (ArduCopter's
    WPNAV_ACCEL with its jerk limit); 0 plans the leg at cruise speed from end to end."""
    nav_accuracy_m: float = 12.0
    """Horizontal distance from the planned track the vehicle may be found at (metres): the
    separation check pads each flight by it. Measured worst cross-track: 1.8 m on ArduCopter
    SITL, 9.3 m on the built-in simulator (``fly --json`` ``max_cross_track_m``); real GNSS
    and wind add to both."""

    @property
    def usable_wh(self) -> float:
        return self.battery_wh * self.usable_fraction

    @property
    def reserve_wh(self) -> float:
        return self.usable_wh * self.reserve_fraction


MAX_ALT_AGL_M = 3000.0
"""Altitudes of a profile (cruise, ceiling, release, final descent), m AGL: a few km, above
anything a multirotor delivery drone is flown at."""


@dataclass(frozen=True, slots=True)
class _Range:
    """The physical range of a profile number: ``low < v`` (or ``<=``) and ``v <= high``."""

    low: float
    high: float
    unit: str = ""
    low_open: bool = False
    """True when ``low`` itself is impossible (no mass, no battery, no speed)."""

    def holds(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.low:g} {'<' if self.low_open else '<='} value <= {self.high:g}{unit}"


_RANGES: dict[str, _Range] = {
    # Masses and energy: from a small quad to a heavy-lift octocopter.
    "empty_mass_kg": _Range(0.05, 150.0, "kg"),
    "max_payload_kg": _Range(0.0, 100.0, "kg", low_open=True),
    "battery_wh": _Range(1.0, 10_000.0, "Wh"),
    "usable_fraction": _Range(0.0, 1.0, low_open=True),
    "reserve_fraction": _Range(0.0, 1.0),
    "wind_allowance": _Range(0.0, 1.0),
    # Speeds: the calibration fit's bounds fit inside these (planner.calibrate._BOUNDS).
    "cruise_speed_ms": _Range(0.5, 60.0, "m/s"),
    "climb_speed_ms": _Range(0.1, 20.0, "m/s"),
    "descent_speed_ms": _Range(0.1, 20.0, "m/s"),
    "land_speed_ms": _Range(0.1, 10.0, "m/s"),
    "place_descent_speed_ms": _Range(0.1, 10.0, "m/s"),
    "winch_speed_ms": _Range(0.05, 10.0, "m/s"),
    "cruise_accel_ms2": _Range(0.0, 20.0, "m/s^2"),
    # Altitudes and times.
    "cruise_alt_agl_m": _Range(1.0, MAX_ALT_AGL_M, "m"),
    "ceiling_agl_m": _Range(1.0, MAX_ALT_AGL_M, "m"),
    "release_alt_agl_m": _Range(0.0, MAX_ALT_AGL_M, "m"),
    "land_final_alt_m": _Range(0.0, MAX_ALT_AGL_M, "m"),
    "dropoff_hover_s": _Range(0.0, 3600.0, "s"),
    "disarm_delay_s": _Range(0.0, 127.0, "s (ArduCopter DISARM_DELAY 0..127)"),
    "nav_accuracy_m": _Range(0.0, 1000.0, "m"),
    # The power model: rotors from a toy's to a large octocopter's (a 1e-300 m rotor divided
    # by zero), air from 6 km up in the heat to a cold sea level.
    "rotor_count": _Range(1, 16),
    "rotor_diameter_m": _Range(0.05, 3.0, "m"),
    "figure_of_merit": _Range(0.05, 1.0),
    "drag_area_m2": _Range(0.0, 5.0, "m^2"),
    "air_density_kgm3": _Range(0.5, 1.5, "kg/m^3"),
    "avionics_w": _Range(0.0, 5000.0, "W"),
    "linear_w_per_kg": _Range(0.0, 1000.0, "W/kg"),
    "linear_w_offset": _Range(0.0, 5000.0, "W"),
}
"""Every number of a profile has a physical range, checked when a profile is read: an
impossible value is an error naming the field and the range, never a plan (battery_wh 1e308
planned as feasible)."""
MIN_CRUISE_ACCEL_MS2 = 0.05
"""Smallest leg acceleration other than 0 (ArduCopter documents WPNAV_ACCEL from 0.5 m/s^2)."""
_NAME_LENGTH = 100

_ENUMS: dict[str, type[Enum]] = {
    "delivery_method": DeliveryMethod,
    "power_model": PowerModel,
}


def _field_types() -> dict[str, str]:
    # With ``from __future__ import annotations`` the dataclass types are strings.
    return {f.name: str(f.type) for f in dataclasses.fields(VehicleProfile)}


def _brief(value: Any) -> str:
    """A JSON value as a message shows it: containers by their size (a 900-deep array would
    not even print), long text and huge integers cut short."""
    if isinstance(value, (list, dict)):
        return f"{'an array' if isinstance(value, list) else 'an object'} of {len(value)}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"an integer of {len(str(abs(value)))} digits"
    return repr(value[:40] if isinstance(value, str) else value)


def _convert(name: str, kind: str, value: Any, source: str) -> Any:
    """Check one raw JSON value against the field's declared type and convert enums."""
    if name in _ENUMS:
        enum = _ENUMS[name]
        allowed = [m.value for m in enum]
        if not isinstance(value, str) or value not in allowed:
            raise InvalidInput(name, f"must be one of {allowed}, got {_brief(value)}", source)
        return enum(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(name, f"must be a number, got {_brief(value)}", source)
        if isinstance(value, int) and abs(value) > 2**1023:  # float() would overflow
            raise InvalidInput(name, f"must be a number a float holds, got {_brief(value)}", source)
        if not math.isfinite(value):
            raise InvalidInput(name, f"must be finite, got {value!r}", source)
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(name, f"must be an integer, got {_brief(value)}", source)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(name, f"must be true or false, got {_brief(value)}", source)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise InvalidInput(name, f"must be a string, got {_brief(value)}", source)
        return value
    raise InvalidInput(name, f"has unsupported type {kind}", source)  # a new field type


def _check_ranges(values: Mapping[str, Any], source: str) -> None:
    """Reject physically impossible numbers; names the first offending field and its range."""
    for name, allowed in _RANGES.items():
        if name in values and not allowed.holds(values[name]):
            raise InvalidInput(name, f"{values[name]!r} is outside {allowed}", source)
    accel = values.get("cruise_accel_ms2", 0.0)
    if 0.0 < accel < MIN_CRUISE_ACCEL_MS2:  # 1e-300 planned legs of 1e152 s
        raise InvalidInput(
            "cruise_accel_ms2",
            f"{accel!r} is neither 0 (legs flown at cruise speed throughout) nor within "
            f"{MIN_CRUISE_ACCEL_MS2:g}..{_RANGES['cruise_accel_ms2'].high:g} m/s^2",
            source,
        )
    name = values.get("name", "x")
    if name == "":
        raise InvalidInput("name", "must not be empty", source)
    if len(name) > _NAME_LENGTH or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput(
            "name",
            f"must be one line of at most {_NAME_LENGTH} characters, got {name[:40]!r}",
            source,
        )


def _check_consistency(profile: VehicleProfile, source: str) -> None:
    """Reject combinations of fields that cannot be flown safely."""
    if profile.cruise_alt_agl_m > profile.ceiling_agl_m:
        raise InvalidInput(
            "cruise_alt_agl_m",
            f"{profile.cruise_alt_agl_m:g} m is above ceiling_agl_m {profile.ceiling_agl_m:g} m",
            source,
        )
    if profile.release_alt_agl_m > profile.cruise_alt_agl_m:
        raise InvalidInput(
            "release_alt_agl_m",
            f"{profile.release_alt_agl_m:g} m is above cruise_alt_agl_m "
            f"{profile.cruise_alt_agl_m:g} m",
            source,
        )
    if profile.delivery_method is DeliveryMethod.LAND:
        # Real ArduCopter disarms after a landing and restarts the mission unless told to
        # continue, and disarms anyway after DISARM_DELAY on the ground (see the reference).
        if not profile.continue_after_land:
            raise InvalidInput(
                "continue_after_land",
                "must be true for delivery_method 'land' (ArduPilot MIS_OPTIONS bit 2)",
                source,
            )
        if profile.dropoff_hover_s >= profile.disarm_delay_s:
            raise InvalidInput(
                "dropoff_hover_s",
                f"ground wait {profile.dropoff_hover_s:g} s must be shorter than "
                f"disarm_delay_s {profile.disarm_delay_s:g} s for delivery_method 'land'",
                source,
            )


def profile_from_dict(data: Mapping[str, Any], source: str) -> VehicleProfile:
    """Build a profile from parsed JSON, strictly.

    Args:
        data: the JSON object; keys are ``VehicleProfile`` field names, enums as their values.
        source: where the data came from (file name), used in error messages.

    Returns:
        The validated profile.

    Raises:
        InvalidInput: unknown or missing field, wrong type, impossible value (zero or negative
            mass or speed, a fraction outside 0..1, cruise altitude above the ceiling, a
            landing delivery on a vehicle that would disarm at the drop-off).

    >>> p = profile_from_dict({"name": "t", "empty_mass_kg": 2, "battery_wh": 100,
    ...     "usable_fraction": 0.9, "reserve_fraction": 0.2, "max_payload_kg": 1,
    ...     "cruise_speed_ms": 10, "climb_speed_ms": 2, "descent_speed_ms": 1.5,
    ...     "cruise_alt_agl_m": 40, "ceiling_agl_m": 120}, "example")
    >>> p.usable_wh
    90.0
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("profile", f"must be a JSON object, got {type(data).__name__}", source)
    types = _field_types()
    for key in data:
        if key not in types:
            raise InvalidInput(str(key)[:40], f"unknown field (known: {', '.join(types)})", source)
    required = [
        f.name
        for f in dataclasses.fields(VehicleProfile)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    for name in required:
        if name not in data:
            raise InvalidInput(name, "missing required field", source)
    values = {key: _convert(key, types[key], value, source) for key, value in data.items()}
    _check_ranges(values, source)
    profile = VehicleProfile(**values)
    _check_consistency(profile, source)
    return profile


def profile_to_dict(profile: VehicleProfile) -> dict[str, Any]:
    """The profile as the JSON object ``profile_from_dict`` reads (enums as their values).

    >>> p = builtin_profile("delivery-quad")
    >>> profile_from_dict(profile_to_dict(p), "round trip") == p
    True
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(VehicleProfile):
        value = getattr(profile, f.name)
        out[f.name] = value.value if isinstance(value, Enum) else value
    return out


def load_profile(path: str | Path) -> VehicleProfile:
    """Read a profile from a JSON file.

    Raises:
        InvalidInput: the file is missing, empty, not JSON, or not a valid profile.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("file", f"cannot read: {exc.strerror or exc}", source) from exc
    if not text.strip():
        raise InvalidInput("file", "is empty", source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "file", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", source
        ) from exc
    except RecursionError:  # the decoder recurses once per nested array or object
        raise InvalidInput(
            "file", "JSON nested too deeply to read (a profile is one flat object)", source
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise InvalidInput("file", f"invalid JSON: {exc}", source) from None
    return profile_from_dict(data, source)


def builtin_profile_names() -> tuple[str, ...]:
    """Names of the profiles shipped in ``planner/profiles/``, sorted."""
    return tuple(sorted(p.stem for p in _PROFILE_DIR.glob("*.json")))


def builtin_profile(name: str = DEFAULT_PROFILE) -> VehicleProfile:
    """Load a shipped profile by name (the file stem, e.g. ``"delivery-quad"``).

    Raises:
        InvalidInput: no shipped profile has that name (the message lists the known ones).
    """
    if name not in builtin_profile_names():
        known = ", ".join(builtin_profile_names())
        raise InvalidInput("profile", f"unknown profile {name!r} (known: {known})")
    return load_profile(_PROFILE_DIR / f"{name}.json")
