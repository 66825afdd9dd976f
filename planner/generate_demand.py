"""Demand curves for generated days: how the orders of a day spread over its hours.

A curve is a weight per hour of the day; the named ones are shapes over the clock (a lunch
peak at 12:30, an evening peak at 18:30, both, or none) on a floor of steady orders, sampled
at the middle of each hour from the day's start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from planner.errors import InvalidInput

__all__ = ["DEMAND_CURVES", "arrival_times_s", "demand_weights"]

BASE = 0.25
"""Steady share under the peaks: people order at every hour."""


def _peak(hour: float, centre: float, spread_h: float) -> float:
    """A bell round ``centre`` o'clock, measured round the 24-hour clock."""
    offset = (hour - centre + 12.0) % 24.0 - 12.0
    return math.exp(-0.5 * (offset / spread_h) ** 2)


DEMAND_CURVES: dict[str, Callable[[float], float]] = {
    "flat": lambda h: 1.0,
    "lunch": lambda h: BASE + _peak(h, 12.5, 1.25),
    "evening": lambda h: BASE + _peak(h, 18.5, 1.5),
    "day": lambda h: BASE + 0.8 * _peak(h, 12.5, 1.25) + _peak(h, 18.5, 1.5),
}
"""Named curves: the weight at a clock hour (0-24, may run past midnight)."""


def demand_weights(curve: str, start_h: float, hours: int) -> tuple[float, ...]:
    """The weight of each hour of a day of ``hours`` hours from ``start_h`` o'clock.

    >>> demand_weights("flat", 10, 3)
    (1.0, 1.0, 1.0)
    >>> w = demand_weights("lunch", 10, 6); max(range(6), key=w.__getitem__)  # 12:00-13:00
    2

    Raises:
        InvalidInput: an unknown curve or a day shorter than an hour.
    """
    if curve not in DEMAND_CURVES:
        raise InvalidInput("demand", f"unknown curve {curve!r} (known: "
                                     f"{', '.join(DEMAND_CURVES)}, or hourly weights 1,2,3)")
    if hours < 1:
        raise InvalidInput("hours", f"must be >= 1, got {hours}")
    shape = DEMAND_CURVES[curve]
    return tuple(round(shape(start_h + i + 0.5), 4) for i in range(hours))


def arrival_times_s(weights: Sequence[float], start_s: float, count: int,
                    rng: np.random.Generator) -> list[float]:
    """``count`` order times, whole seconds, in order: an hour drawn by its weight, then a
    moment in it uniformly.

    >>> times = arrival_times_s([0, 1], 0.0, 5, np.random.default_rng(1))
    >>> all(3600 <= t < 7200 for t in times), times == sorted(times)
    (True, True)
    """
    p = np.asarray(weights, dtype=np.float64)
    hours = rng.choice(len(p), size=count, p=p / p.sum())
    moments = rng.uniform(0.0, 3600.0, size=count)
    times = np.floor(start_s + hours * 3600.0 + moments)
    return [float(t) for t in np.sort(times)]
