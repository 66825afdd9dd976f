"""Turning points moved out so the corner ArduCopter flies keeps the margin the polyline keeps.

A shortest route around inflated zones bends exactly on their inflated edges, so the planned
polyline touches the margin at every turning point. ArduCopter does not fly through a turning
point: its S-curve navigation blends into the next leg before the corner and passes inside the
turn. Measured on ArduCopter 4.7.0-dev SITL (delivery-quad, 22 m/s, WPNAV_RADIUS 200 cm, read
from its dataflash log): the flown track passed 1.6-1.7 m inside the corner for turns of 4.6,
45, 60 and 90 degrees; the copter slows down for sharper turns (to 6-10 m/s at 90 degrees) so the
cut stays within WPNAV_RADIUS. Flown as planned, CBR-040's only corner beside the stadium zone
brought the copter to 28.6 m from the zone with a 30 m margin.

``relieve_corners`` moves each turning point outward along its bisector far enough that both
legs at that corner shift outward by the cut, so the flown corner lies where the planned one
was. The cut also covers SmartRTL retracing the flown corner after a failsafe. The mission asks
for WPNAV_RADIUS and SRTL_ACCURACY no larger (``missions.build``), and the built-in simulator
slows for corners to stay inside the same radius.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = [
    "CORNER_CUT_M",
    "MAX_PUSH_FACTOR",
    "SRTL_ACCURACY_M",
    "WPNAV_RADIUS_M",
    "corner_push_m",
    "relieve_corners",
]

FloatArray = npt.NDArray[np.float64]
Blocked = Callable[[FloatArray, FloatArray], npt.NDArray[np.bool_]]

WPNAV_RADIUS_M = 2.0
"""How far inside a turn ArduCopter may fly: WPNAV_RADIUS at its default, 200 cm."""
SRTL_ACCURACY_M = 2.0
"""How far SmartRTL's retrace may stray from the path flown: SRTL_ACCURACY's default."""
CORNER_CUT_M = WPNAV_RADIUS_M + SRTL_ACCURACY_M
"""The relief the planner gives each turning point: the corner flown in AUTO, and its retrace
by SmartRTL after a failsafe (on SITL an operator's return from CBR-040's drop-off passed
29.97 m from the stadium with 2 m of relief, 0.5 m closer than the mission had flown)."""
MAX_PUSH_FACTOR = 3.0
"""A turning point moves at most this many cuts: a hairpin would need an unbounded push."""
_MIN_TURN_RAD = math.radians(0.05)
_TRIES = 4
"""Halvings of the push tried when the full one would cross an obstacle."""


def corner_push_m(turn_rad: float, cut_m: float) -> float:
    """How far to move a turning point along its bisector so both legs shift by ``cut_m``.

    A point moved by d along the bisector moves each leg's line by d cos(turn / 2).

    >>> round(corner_push_m(math.radians(90.0), 2.0), 3)
    2.828
    >>> corner_push_m(0.0, 2.0)
    2.0
    """
    return min(cut_m / max(math.cos(turn_rad / 2.0), 1e-9), MAX_PUSH_FACTOR * cut_m)


def _turn(prev: FloatArray, at: FloatArray, nxt: FloatArray) -> tuple[float, FloatArray] | None:
    """The turn angle at ``at`` and the unit vector out of the turn, or None for no turn."""
    a, b = at - prev, nxt - at
    la, lb = float(np.hypot(*a)), float(np.hypot(*b))
    if la < 1e-6 or lb < 1e-6:
        return None
    u, w = a / la, b / lb
    turn = math.acos(max(-1.0, min(1.0, float(u @ w))))
    if turn < _MIN_TURN_RAD:
        return None
    out = u - w
    return turn, out / float(np.hypot(*out))


def relieve_corners(path: FloatArray, cut_m: float, blocked: Blocked) -> FloatArray:
    """``path`` ((n, 2) metres, start and goal fixed) with every turning point moved out.

    Each push is computed from the original polyline, so a route and its reverse get the same
    points. A push that would make a leg cross an obstacle is halved, at both ends of that
    leg, until no leg does (or it is dropped after a few halvings).

    Args:
        path: the polyline; its ends (depot and drop-off, where the copter stops) stay.
        cut_m: how far inside a turn the autopilot may fly.
        blocked: for legs ``a[i] -> b[i]``, True where a leg would cross an obstacle.

    Returns:
        A new array of the same shape.
    """
    base = np.array(path, dtype=float, copy=True)
    n = len(base)
    if cut_m <= 0.0 or n < 3:
        return base
    offsets = np.zeros_like(base)
    for i in range(1, n - 1):
        turn = _turn(base[i - 1], base[i], base[i + 1])
        if turn is not None:
            offsets[i] = corner_push_m(turn[0], cut_m) * turn[1]
    scale = np.ones(n)
    for _ in range(_TRIES + 1):
        moved = base + offsets * scale[:, None]
        bad = np.flatnonzero(blocked(moved[:-1], moved[1:]))
        if len(bad) == 0:
            return moved
        scale[bad] /= 2.0
        scale[bad + 1] /= 2.0
    scale[bad] = 0.0
    scale[bad + 1] = 0.0
    return base + offsets * scale[:, None]
