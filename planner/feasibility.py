"""Feasibility rules an order is checked against, each returning a reason or nothing.

Every check is a small pure function that returns an ``Infeasibility`` (rule, measured value,
limit, unit) when the order breaks the rule and ``None`` when it does not. ``planner.plan``
runs them all and keeps every reason, so an operator sees at once that an order is both too
heavy and too far rather than fixing one problem to discover the next.

Energy accounting (all Wh): the battery holds ``battery_wh`` now (the nominal ``battery_wh`` of
the profile when full); the bottom ``(1 - usable_fraction)`` of the nominal energy is never
drawn; the reserve ``reserve_fraction * usable_wh`` (of the nominal pack) must remain at
landing. A flight is feasible when ``energy + reserve <= drawable``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from planner.energy import release_time_s
from planner.errors import InvalidInput
from planner.model import Airspace, FlightPlan, Infeasibility, Order, Rule
from planner.vehicle import DeliveryMethod, VehicleProfile

__all__ = [
    "check_ceiling",
    "check_deadline",
    "check_energy",
    "check_order",
    "check_payload",
    "drawable_energy_wh",
    "highest_alt_agl_m",
    "unknown_depot",
]


def check_order(order: Order) -> None:
    """Reject an order whose payload is not a usable number (bad input, not a domain outcome).

    Raises:
        InvalidInput: payload negative, not finite or not a number.
    """
    value = order.payload_kg
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput("payload_kg", f"must be a number, got {value!r}", f"order {order.id}")
    if not math.isfinite(value) or value < 0:
        raise InvalidInput("payload_kg", f"must be >= 0, got {value!r}", f"order {order.id}")


def unknown_depot(order: Order, known_ids: Iterable[str]) -> Infeasibility:
    """The reason for an order that names a depot the planner does not know."""
    known = ", ".join(sorted(known_ids)) or "none"
    return Infeasibility(
        Rule.UNKNOWN_DEPOT,
        order.depot_id,
        f"one of: {known}",
        "",
        f"order {order.id} names depot {order.depot_id!r}, which is not in the scenario",
    )


def check_payload(order: Order, profile: VehicleProfile) -> Infeasibility | None:
    """PAYLOAD: the parcel is heavier than the vehicle may carry."""
    if order.payload_kg <= profile.max_payload_kg:
        return None
    return Infeasibility(
        Rule.PAYLOAD,
        float(order.payload_kg),
        profile.max_payload_kg,
        "kg",
        f"{profile.name} carries at most {profile.max_payload_kg:g} kg",
    )


def highest_alt_agl_m(profile: VehicleProfile) -> float:
    """The highest altitude the flight is sent to: cruise, or a release height above it."""
    release = profile.release_alt_agl_m
    if profile.delivery_method is DeliveryMethod.DESCEND_RELEASE:
        return max(profile.cruise_alt_agl_m, release)
    return profile.cruise_alt_agl_m


def check_ceiling(profile: VehicleProfile, airspace: Airspace) -> Infeasibility | None:
    """CEILING: the flight would go above the vehicle's or the airspace's ceiling."""
    highest = highest_alt_agl_m(profile)
    limit = min(profile.ceiling_agl_m, airspace.ceiling_agl_m)
    if highest <= limit:
        return None
    binding = (
        f"the airspace ceiling {airspace.ceiling_agl_m:g} m"
        if airspace.ceiling_agl_m <= profile.ceiling_agl_m
        else f"the ceiling of {profile.name} {profile.ceiling_agl_m:g} m"
    )
    return Infeasibility(
        Rule.CEILING,
        float(highest),
        float(limit),
        "m AGL",
        f"{profile.name} cruises at {profile.cruise_alt_agl_m:g} m AGL, above {binding}",
    )


def drawable_energy_wh(profile: VehicleProfile, battery_wh: float | None = None) -> float:
    """Energy that may be drawn from the battery before it reaches its discharge floor.

    Args:
        profile: the vehicle; its nominal ``battery_wh`` and ``usable_fraction``.
        battery_wh: energy in the battery now; None for a full battery.

    Raises:
        InvalidInput: ``battery_wh`` negative or not finite.

    >>> from planner.vehicle import builtin_profile
    >>> p = builtin_profile("delivery-quad")
    >>> drawable_energy_wh(p) == p.usable_wh
    True
    """
    if battery_wh is None:
        return profile.usable_wh
    if isinstance(battery_wh, bool) or not isinstance(battery_wh, (int, float)):
        raise InvalidInput("battery_wh", f"must be a number, got {battery_wh!r}")
    if not math.isfinite(battery_wh) or battery_wh < 0:
        raise InvalidInput("battery_wh", f"must be a finite number >= 0, got {battery_wh!r}")
    floor_wh = profile.battery_wh * (1.0 - profile.usable_fraction)
    return battery_wh - floor_wh


def check_energy(
    energy_wh: float, profile: VehicleProfile, battery_wh: float | None = None
) -> Infeasibility | None:
    """ENERGY: the flight plus the reserve needs more than the battery can give."""
    drawable = drawable_energy_wh(profile, battery_wh)
    needed = energy_wh + profile.reserve_wh
    if needed <= drawable:
        return None
    pack = "a full battery" if battery_wh is None else f"a battery holding {battery_wh:.1f} Wh"
    return Infeasibility(
        Rule.ENERGY,
        needed,
        drawable,
        "Wh",
        f"flight {energy_wh:.1f} Wh + reserve {profile.reserve_wh:.1f} Wh; "
        f"{pack} gives {drawable:.1f} Wh",
    )


def check_deadline(plan: FlightPlan) -> Infeasibility | None:
    """An order with a due time that cannot be met even if launched the moment it was placed.

    Only orders that carry their own ``due_s`` are checked here; the delivery promise of a
    fleet (and queueing for a free drone) is the dispatcher's to judge.
    """
    order = plan.order
    if order.due_s is None:
        return None
    allowed_s = order.due_s - order.created_s
    needed_s = release_time_s(plan.phases)
    if needed_s <= allowed_s:
        return None
    return Infeasibility(
        Rule.DEADLINE, round(needed_s, 1), round(allowed_s, 1), "s",
        f"the drop-off takes {needed_s / 60:.1f} min from takeoff, the order is due "
        f"{allowed_s / 60:.1f} min after it was placed",
    )
