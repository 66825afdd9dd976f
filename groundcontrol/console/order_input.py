"""The order form's text checked into an order: one message per bad field, nothing sent on any.

The rules are ``drone-delivery order add``'s (``planner.load``): plain decimal numbers, a whole
priority in ``PRIORITY_RANGE``, a due time after the order is placed. The form adds the ways a
person gives a due time: a clock time of the scenario's day (``14:30``, ``14:30:15``; the
scenario clock is seconds since midnight) or minutes from now (``30``, ``+30``, ``+90s``,
``+2h``). Blank means the fleet's promise applies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from planner.load import MAX_CLOCK_S, PRIORITY_RANGE, parse_decimal, parse_whole

__all__ = ["MAX_PAYLOAD_KG", "OrderInput", "parse_due", "parse_priority", "validate_order_form"]

MAX_PAYLOAD_KG = 50.0
"""Anything heavier is a typo, not a drone parcel; the backend checks the real vehicle limit."""

_CLOCK = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$", re.ASCII)
_RELATIVE = re.compile(r"^\+?([0-9]+(?:\.[0-9]+)?)([smh]?)$", re.ASCII)
_UNIT_S = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0}
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class OrderInput:
    """What the form asks the backend for."""

    depot_id: str
    lat: float
    lon: float
    payload_kg: float
    due_s: float | None = None
    """Due drop-off, scenario clock; None: the fleet's promise applies."""
    priority: int = 0


def _hhmm(time_s: float) -> str:
    minutes = int(time_s // 60)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def parse_due(text: str, now_s: float) -> tuple[float | None, str]:
    """A due time from the form: (scenario seconds or None when blank, "" or the error).

    >>> parse_due("14:30", 13 * 3600.0), parse_due("+45", 100.0), parse_due("", 0.0)
    ((52200.0, ''), (2800.0, ''), (None, ''))
    >>> parse_due("9:00", 13 * 3600.0)[1]
    'due: 09:00 is not after now (13:00)'
    """
    shown = text.strip()
    if not shown:
        return None, ""
    clock, relative = _CLOCK.match(shown), _RELATIVE.match(shown)
    if clock:
        h, m, s = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if h > 23 or m > 59 or s > 59:
            return None, f"due: {shown} is not a clock time (00:00..23:59)"
        due = now_s - now_s % DAY_S + h * 3600 + m * 60 + s
    elif relative and parse_decimal(relative[1]) is not None:
        due = now_s + float(relative[1]) * _UNIT_S[relative[2]]
    else:
        return None, f"due: '{shown[:20]}' is not HH:MM or minutes from now (+30, +2h)"
    if due <= now_s:
        return None, f"due: {_hhmm(due)} is not after now ({_hhmm(now_s)})"
    if due > MAX_CLOCK_S:
        return None, f"due: {shown} is past the scenario clock's end"
    return due, ""


def parse_priority(text: str) -> tuple[int, str]:
    """A priority from the form: (the whole number, "" or the error); blank is 0.

    >>> parse_priority(" 5 "), parse_priority(""), parse_priority("1.5")[1]
    ((5, ''), (0, ''), 'priority: must be a whole number -1000..1000, got 1.5')
    """
    shown = text.strip()
    low, high = PRIORITY_RANGE
    value = parse_whole(shown) if shown else 0
    if value is None or not low <= value <= high:
        return 0, f"priority: must be a whole number {low}..{high}, got {shown[:20]}"
    return value, ""


def _number(text: str, name: str, low: float, high: float, errors: dict[str, str]) -> float:
    shown = text.strip()
    value = parse_decimal(shown)
    if value is None:
        errors[name] = f"{name}: '{shown[:20]}' is not a number" if shown else f"{name}: required"
        return math.nan
    if not low <= value <= high:
        errors[name] = f"{name}: {value:g} is outside {low:g}..{high:g}"
    return value


def _depot(text: str, depots: Sequence[str], errors: dict[str, str]) -> str:
    depot_id = text.strip()
    if not depot_id:
        errors["depot"] = "depot: required"
    elif depot_id not in depots:
        by_case = {d.lower(): d for d in depots}
        if depot_id.lower() in by_case:
            return by_case[depot_id.lower()]
        known = ", ".join(depots) or "none"
        errors["depot"] = f"depot: unknown depot '{depot_id}' (known: {known})"
    return depot_id


def validate_order_form(
    depot: str, lat: str, lon: str, payload: str, depots: Sequence[str],
    due: str = "", priority: str = "", now_s: float = 0.0,
) -> tuple[OrderInput | None, dict[str, str]]:
    """Check the form's text fields; return the input, or None and an error per bad field.

    ``now_s``: the scenario clock, which a due time must be after.

    >>> validate_order_form("D1", "-35.3", "149.1", "1.5", ["D1"], "+30", "2", 600.0)[0]
    OrderInput(depot_id='D1', lat=-35.3, lon=149.1, payload_kg=1.5, due_s=2400.0, priority=2)
    >>> validate_order_form("D9", "x", "149.1", "0", ["D1"])[1]["depot"]
    "depot: unknown depot 'D9' (known: D1)"
    """
    errors: dict[str, str] = {}
    depot_id = _depot(depot, depots, errors)
    lat_v = _number(lat, "lat", -90.0, 90.0, errors)
    lon_v = _number(lon, "lon", -180.0, 180.0, errors)
    payload_v = _number(payload, "payload", 0.0, MAX_PAYLOAD_KG, errors)
    if "payload" not in errors and payload_v <= 0.0:
        errors["payload"] = "payload: must be more than 0 kg"
    due_s, due_error = parse_due(due, now_s)
    priority_v, priority_error = parse_priority(priority)
    errors.update((k, e) for k, e in (("due", due_error), ("priority", priority_error)) if e)
    if errors:
        return None, errors
    return OrderInput(depot_id, lat_v, lon_v, payload_v, due_s, priority_v), errors
