"""Energy of a delivery flight: a mass-dependent multirotor power model and the flight's phases.

Two power models, chosen by ``VehicleProfile.power_model``:

``PowerModel.MOMENTUM`` (default), actuator-disk momentum theory as used by Dorling, Heinrichs,
Messier and Magierowski, "Vehicle Routing Problems for Drone Delivery", IEEE Trans. Systems, Man,
and Cybernetics: Systems 47(1), 2017, doi:10.1109/TSMC.2016.2582745 (arXiv:1608.02305), extended
to forward flight with Glauert's induced-velocity relation (Leishman, *Principles of Helicopter
Aerodynamics*, ch. 2):

* rotor disk area ``A = n * pi * (d / 2)**2`` for ``n`` rotors of diameter ``d``;
* hover: ``T = m g`` and ``P = T**1.5 / sqrt(2 rho A) / FM + P_avionics``, where ``FM`` is the
  figure of merit of rotors, motors and ESCs together (ideal over electrical power);
* forward flight at speed ``V``: body drag ``D = 0.5 rho CdA V**2``, disk tilt
  ``tan(alpha) = D / (m g)``, thrust ``T = sqrt((m g)**2 + D**2)``; the induced velocity
  ``v_i`` solves
  ``v_i = T / (2 rho A sqrt((V cos alpha)**2 + (V sin alpha + v_i)**2))`` and
  ``P = (T v_i + D V) / FM + P_avionics`` (induced plus parasite power ``0.5 rho CdA V**3``);
* vertical climb at ``v_c``: ``P = T (v_c / 2 + sqrt((v_c / 2)**2 + T / (2 rho A))) / FM + P_av``;
* descent: hover power. Momentum theory has no valid solution in the vortex-ring state of a slow
  descent, and pilots' logs show descent power only slightly below hover, so hover power is a
  deliberately conservative stand-in.

``PowerModel.LINEAR``: Dorling et al.'s linear approximation ``P = a m + b`` (their fit:
``a = 46.7 W/kg``, ``b = 26.9 W``), used for hover, cruise and descent; a climb adds the rate of
potential energy ``m g v_c / FM``. Speed does not enter this model, as in the paper.

The flight (``flight_energy``) is: take off and climb to cruise altitude, cruise out with the
payload, deliver (depends on ``DeliveryMethod``), cruise back without the payload, descend, and
land slowly for the last ``land_final_alt_m``. The payload's mass counts until it is released.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from planner.errors import InvalidInput
from planner.model import PhaseEnergy
from planner.vehicle import DeliveryMethod, PowerModel, VehicleProfile

__all__ = [
    "G_MS2",
    "PHASE_GROUPS",
    "climb_power_w",
    "cruise_power_w",
    "cruise_time_s",
    "descent_power_w",
    "flight_energy",
    "group_phases",
    "hover_power_w",
    "induced_velocity_ms",
    "max_range_m",
    "release_time_s",
    "rotor_disk_area_m2",
    "total_energy_wh",
    "total_time_s",
]

G_MS2 = 9.80665
"""Standard gravity."""

_WH_PER_J = 1.0 / 3600.0


def rotor_disk_area_m2(profile: VehicleProfile) -> float:
    """Total disk area of all rotors.

    >>> from planner.vehicle import builtin_profile
    >>> round(rotor_disk_area_m2(builtin_profile("sitl-quad")), 3)
    0.385
    """
    return profile.rotor_count * math.pi * (profile.rotor_diameter_m / 2.0) ** 2


def induced_velocity_ms(
    thrust_n: float, rho_kgm3: float, area_m2: float, speed_ms: float, tilt_rad: float
) -> float:
    """Solve Glauert's relation for the rotor's induced velocity in forward flight.

    ``v_i * sqrt((V cos a)**2 + (V sin a + v_i)**2) = T / (2 rho A)``. The left side grows
    monotonically in ``v_i`` (for ``V sin a >= 0``) and is convex, so Newton's method started
    at the hover value (an upper bound) converges from above without overshooting.

    Args:
        thrust_n: total thrust.
        rho_kgm3: air density.
        area_m2: total rotor disk area.
        speed_ms: forward airspeed.
        tilt_rad: forward tilt of the rotor disk (the free stream flows into it from above).

    Returns:
        The induced velocity in m/s; equals ``sqrt(T / (2 rho A))`` at zero speed.
    """
    k = thrust_n / (2.0 * rho_kgm3 * area_m2)
    along = speed_ms * math.cos(tilt_rad)
    through = speed_ms * math.sin(tilt_rad)
    v = math.sqrt(k)
    for _ in range(60):
        root = math.hypot(along, through + v)
        f = v * root - k
        slope = root + v * (through + v) / root
        step = f / slope
        v -= step
        if abs(step) < 1e-10:
            break
    return v


def _momentum_hover_ideal_w(profile: VehicleProfile, thrust_n: float) -> float:
    area = rotor_disk_area_m2(profile)
    return float(thrust_n**1.5) / math.sqrt(2.0 * profile.air_density_kgm3 * area)


def _linear_w(profile: VehicleProfile, mass_kg: float) -> float:
    return profile.linear_w_per_kg * mass_kg + profile.linear_w_offset


def hover_power_w(profile: VehicleProfile, mass_kg: float) -> float:
    """Electrical power to hover at all-up mass ``mass_kg``.

    Momentum model: ``(m g)**1.5 / sqrt(2 rho A) / FM + avionics``; linear: ``a m + b``.
    """
    if profile.power_model is PowerModel.LINEAR:
        return _linear_w(profile, mass_kg)
    ideal = _momentum_hover_ideal_w(profile, mass_kg * G_MS2)
    return ideal / profile.figure_of_merit + profile.avionics_w


def cruise_power_w(profile: VehicleProfile, mass_kg: float, speed_ms: float) -> float:
    """Electrical power in level flight at ``speed_ms`` (still air), all-up mass ``mass_kg``.

    Momentum model: induced power from Glauert's induced velocity at the tilt that balances
    body drag, plus parasite power ``0.5 rho CdA V**3``, over the figure of merit, plus avionics.
    Linear model: ``a m + b`` regardless of speed.
    """
    if profile.power_model is PowerModel.LINEAR:
        return _linear_w(profile, mass_kg)
    weight_n = mass_kg * G_MS2
    drag_n = 0.5 * profile.air_density_kgm3 * profile.drag_area_m2 * speed_ms**2
    thrust_n = math.hypot(weight_n, drag_n)
    tilt = math.atan2(drag_n, weight_n)
    v_i = induced_velocity_ms(
        thrust_n, profile.air_density_kgm3, rotor_disk_area_m2(profile), speed_ms, tilt
    )
    ideal = thrust_n * v_i + drag_n * speed_ms
    return ideal / profile.figure_of_merit + profile.avionics_w


def climb_power_w(profile: VehicleProfile, mass_kg: float, climb_ms: float) -> float:
    """Electrical power in a vertical climb at ``climb_ms``.

    Momentum model: ``T (v_c/2 + sqrt((v_c/2)**2 + T/(2 rho A))) / FM + avionics``.
    Linear model: ``a m + b + m g v_c / FM`` (hover plus the rate of potential energy).
    """
    weight_n = mass_kg * G_MS2
    if profile.power_model is PowerModel.LINEAR:
        return _linear_w(profile, mass_kg) + weight_n * climb_ms / profile.figure_of_merit
    area = rotor_disk_area_m2(profile)
    half = climb_ms / 2.0
    inflow = half + math.sqrt(half**2 + weight_n / (2.0 * profile.air_density_kgm3 * area))
    return weight_n * inflow / profile.figure_of_merit + profile.avionics_w


def descent_power_w(profile: VehicleProfile, mass_kg: float) -> float:
    """Electrical power in a vertical descent: hover power (conservative, see module doc)."""
    return hover_power_w(profile, mass_kg)


def _phase(
    name: str, duration_s: float, power_w: float, mass_kg: float, dist_m: float = 0.0
) -> PhaseEnergy:
    return PhaseEnergy(
        name=name,
        duration_s=duration_s,
        energy_wh=power_w * duration_s * _WH_PER_J,
        distance_m=dist_m,
        mass_kg=mass_kg,
    )


def cruise_time_s(profile: VehicleProfile, length_m: float) -> float:
    """Time of a cruise leg from standstill to standstill: at cruise speed, plus ``v / a``
    for speeding up and slowing down at ``cruise_accel_ms2`` (a triangle when too short).

    >>> from planner.vehicle import builtin_profile
    >>> from dataclasses import replace
    >>> p = replace(builtin_profile("delivery-quad"), cruise_speed_ms=20.0, cruise_accel_ms2=2.0)
    >>> cruise_time_s(p, 1000.0), cruise_time_s(p, 100.0)
    (60.0, 14.142135623730951)
    """
    v, a = profile.cruise_speed_ms, profile.cruise_accel_ms2
    if a <= 0:
        return length_m / v
    if length_m >= v * v / a:
        return length_m / v + v / a
    return 2.0 * math.sqrt(length_m / a)


def _cruise(name: str, profile: VehicleProfile, mass_kg: float, length_m: float) -> PhaseEnergy:
    duration = cruise_time_s(profile, length_m)
    # The wind allowance is kept as extra cruise energy: a headwind stretches cruise time.
    power = cruise_power_w(profile, mass_kg, profile.cruise_speed_ms) * (
        1.0 + profile.wind_allowance
    )
    return _phase(name, duration, power, mass_kg, length_m)


def _climb(name: str, profile: VehicleProfile, mass_kg: float, height_m: float) -> PhaseEnergy:
    duration = height_m / profile.climb_speed_ms
    return _phase(name, duration, climb_power_w(profile, mass_kg, profile.climb_speed_ms), mass_kg)


def _descend(
    name: str, profile: VehicleProfile, mass_kg: float, height_m: float, speed_ms: float
) -> PhaseEnergy:
    return _phase(name, height_m / speed_ms, descent_power_w(profile, mass_kg), mass_kg)


def _hover(name: str, profile: VehicleProfile, mass_kg: float, duration_s: float) -> PhaseEnergy:
    return _phase(name, duration_s, hover_power_w(profile, mass_kg), mass_kg)


def _land(
    prefix: str, profile: VehicleProfile, mass_kg: float, height_m: float
) -> list[PhaseEnergy]:
    """Descend at descent speed to land_final_alt_m, then at land speed to the ground."""
    slow = min(profile.land_final_alt_m, height_m)
    return [
        _descend(f"{prefix}descent", profile, mass_kg, height_m - slow, profile.descent_speed_ms),
        _descend(f"{prefix}landing", profile, mass_kg, slow, profile.land_speed_ms),
    ]


def _delivery(profile: VehicleProfile, loaded_kg: float, empty_kg: float) -> list[PhaseEnergy]:
    """The phases over the drop-off; the payload's mass counts until the release."""
    cruise_alt = profile.cruise_alt_agl_m
    method = profile.delivery_method
    hold = profile.dropoff_hover_s
    if method is DeliveryMethod.DESCEND_RELEASE:
        drop = cruise_alt - profile.release_alt_agl_m
        return [
            _descend("release_descent", profile, loaded_kg, drop, profile.descent_speed_ms),
            _hover("release_hover", profile, loaded_kg, hold),
            _climb("release_climb", profile, empty_kg, drop),
        ]
    if method is DeliveryMethod.WINCH:
        line_s = profile.release_alt_agl_m / profile.winch_speed_ms
        return [
            _hover("winch_lower", profile, loaded_kg, line_s),
            _hover("release_hover", profile, loaded_kg, hold),
            _hover("winch_raise", profile, empty_kg, line_s),
        ]
    if method is DeliveryMethod.PAYLOAD_PLACE:
        return [
            _descend(
                "place_descent", profile, loaded_kg, cruise_alt, profile.place_descent_speed_ms
            ),
            _hover("release_hover", profile, loaded_kg, hold),
            _climb("place_climb", profile, empty_kg, cruise_alt),
        ]
    # LAND: on the ground the motors are stopped or idle; only the avionics draw power.
    return [
        *_land("dropoff_", profile, loaded_kg, cruise_alt),
        _phase("ground_wait", hold, profile.avionics_w, empty_kg),
        _climb("dropoff_takeoff", profile, empty_kg, cruise_alt),
    ]


def flight_energy(
    profile: VehicleProfile, out_length_m: float, back_length_m: float, payload_kg: float
) -> tuple[PhaseEnergy, ...]:
    """Time and energy of each phase of a delivery flight.

    Args:
        profile: the vehicle.
        out_length_m: horizontal length of the route depot -> drop-off.
        back_length_m: horizontal length of the route drop-off -> depot.
        payload_kg: the parcel, carried out and released at the drop-off.

    Returns:
        The phases in flight order: takeoff, cruise_out, the delivery phases of the profile's
        method, cruise_back, descent, landing.

    Raises:
        InvalidInput: a negative or non-finite length or payload.
    """
    for field, value in (
        ("out_length_m", out_length_m),
        ("back_length_m", back_length_m),
        ("payload_kg", payload_kg),
    ):
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(field, f"must be a finite number >= 0, got {value!r}")
    empty = profile.empty_mass_kg
    loaded = empty + payload_kg
    return (
        _climb("takeoff", profile, loaded, profile.cruise_alt_agl_m),
        _cruise("cruise_out", profile, loaded, out_length_m),
        *_delivery(profile, loaded, empty),
        _cruise("cruise_back", profile, empty, back_length_m),
        *_land("", profile, empty, profile.cruise_alt_agl_m),
    )


def total_energy_wh(phases: tuple[PhaseEnergy, ...]) -> float:
    """Sum of the phases' energies."""
    return math.fsum(p.energy_wh for p in phases)


def total_time_s(phases: tuple[PhaseEnergy, ...]) -> float:
    """Sum of the phases' durations."""
    return math.fsum(p.duration_s for p in phases)


def max_range_m(profile: VehicleProfile, payload_kg: float, *, tolerance_m: float = 1.0) -> float:
    """Largest drop-off distance on a straight out-and-back flight with the reserve kept.

    The payload is carried out and released; the return is empty. Found by bisection on the
    distance, since the energy grows strictly with it.

    Returns:
        The distance in metres (0.0 when even a zero-length delivery breaks the reserve).
    """
    budget_wh = profile.usable_wh - profile.reserve_wh

    def fits(distance_m: float) -> bool:
        return (
            total_energy_wh(flight_energy(profile, distance_m, distance_m, payload_kg)) <= budget_wh
        )

    if not fits(0.0):
        return 0.0
    low, high = 0.0, 1000.0
    while fits(high):
        low, high = high, high * 2.0
        if high > 1e8:  # a profile without a real limit; stop rather than loop forever
            return math.inf
    while high - low > tolerance_m:
        mid = (low + high) / 2.0
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


PHASE_GROUPS = ("out", "delivery", "back", "landing")
"""How a flight is split for planned-vs-flown: takeoff and cruise to the drop-off, the delivery
action, the cruise home, the final descent and landing."""


def group_phases(phases: Sequence[PhaseEnergy]) -> dict[str, tuple[float, float]]:
    """(seconds, Wh) of each of ``PHASE_GROUPS``: phases before ``cruise_out`` count as out,
    those between the cruises as delivery, those after ``cruise_back`` as landing."""
    sums = {name: [0.0, 0.0] for name in PHASE_GROUPS}
    group = "out"
    for phase in phases:
        if phase.name == "cruise_back":
            group = "back"
        sums[group][0] += phase.duration_s
        sums[group][1] += phase.energy_wh
        if phase.name == "cruise_out":
            group = "delivery"
        elif phase.name == "cruise_back":
            group = "landing"
    return {name: (s, wh) for name, (s, wh) in sums.items()}


RELEASE_PHASES = ("release_hover", "ground_wait")
"""Phases at whose end the parcel has left the drone (hover release, or the wait on the ground)."""


def release_time_s(phases: Sequence[PhaseEnergy]) -> float:
    """Seconds from takeoff until the parcel is released: the end of the release phase.

    Raises:
        ValueError: the phases contain no release phase (not a delivery flight).
    """
    elapsed = 0.0
    for phase in phases:
        elapsed += phase.duration_s
        if phase.name in RELEASE_PHASES:
            return elapsed
    raise ValueError(f"no release phase ({', '.join(RELEASE_PHASES)}) among "
                     f"{[p.name for p in phases]}")
