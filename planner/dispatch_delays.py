"""Launch delays that would make a flight meet another one, as exact intervals.

For a piece of the delayed flight A and a piece of a planned flight B, with ``u`` and ``w``
the times into each piece, whether they are too close depends on ``(u, w)`` only (the
vertical strip and the horizontal distance), and the delay ``d`` only enters the time band:
``|s_a + d - s_b| <= band``. The set ``K`` of close ``(u, w)`` is convex (a polygon cut by an
ellipse, a strip or nothing), so the delays at which the pieces conflict are one interval:
``[min g - band, max g + band]`` with ``g = s_b - s_a`` over ``K``. The extremes of a linear
function over ``K`` lie at a polygon vertex inside the ellipse, where an edge crosses it, or
where the ellipse is tangent to the direction; all in closed form. The union of these
intervals over the piece pairs is every delay at which A would meet B, so the smallest clear
delay is found without trying delays one by one.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

import numpy as np

from planner.separation import (
    PlannedFlight,
    SeparationRules,
    clip_polygon,
    near_pieces,
    pair_minima,
)

__all__ = ["FlightPool", "PairCache", "blocked_delays", "first_clear_delay"]

_T0, _T1, _X0, _Y0, _VX, _VY, _Z0, _VZ, _EZ = range(9)
_PAD_M = 0.1
"""Extra horizontal padding for treating nearly parallel pieces as parallel (metres)."""

Point = tuple[float, float]


PairCache = dict[tuple[int, int, float, float, float], list[tuple[float, float]]]
"""Delay intervals of a pair of trajectories (by ``id``, kept alive by their owner's cache)
under given minima, relative to their launch difference: at every launch time, merged."""
_CACHE_LIMIT = 200_000
_ALL_TIMES = (-1e12, 1e12)
"""A shift window that keeps every piece pair near in space, whatever its times."""


def blocked_delays(
    flight: PlannedFlight,
    others: Iterable[PlannedFlight],
    rules: SeparationRules,
    max_delay_s: float,
    cache: PairCache | None = None,
) -> list[tuple[float, float]]:
    """Delays of ``flight``'s launch, in [0, ``max_delay_s``], at which it would meet one of
    ``others`` (other owners): merged closed intervals, sorted.

    A pair's intervals are those of its two trajectories moved by their launch difference,
    so a ``cache`` kept by the caller (with the trajectories alive) holds each pair's
    intervals at every launch difference once: a depot re-planned with the same flights at
    other times, or with another window, reads them back.
    """
    spans: list[tuple[float, float]] = []
    for other in others:
        if other.owner == flight.owner or other.key == flight.key:
            continue
        if cache is None:
            spans.extend(_pair_delays(flight, other, rules, max_delay_s))
            continue
        minima = pair_minima(flight, other, rules)
        key = (id(flight.path), id(other.path), *minima)
        found = cache.get(key)
        if found is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            found = cache[key] = _merged(_relative_delays(flight, other, minima))
        diff = other.launch_s - flight.launch_s
        # merged and sorted, so the upper ends are sorted too: skip those below 0
        first = bisect.bisect_left(found, -diff, key=lambda span: span[1])
        for lo, hi in found[first:]:
            if lo + diff > max_delay_s:
                break
            spans.append((lo + diff, hi + diff))
    return _merged(s for s in spans if s[1] >= 0.0 and s[0] <= max_delay_s)


def _merged(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Closed intervals merged where they touch or overlap, sorted.

    >>> _merged([(5.0, 6.0), (0.0, 2.0), (1.0, 3.0)])
    [(0.0, 3.0), (5.0, 6.0)]
    """
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def first_clear_delay(
    blocked: Sequence[tuple[float, float]], step_s: float, from_s: float = 0.0
) -> float:
    """The smallest multiple of ``step_s`` at or after ``from_s`` outside every interval.

    >>> first_clear_delay([(0.0, 12.0), (14.0, 16.0)], 5.0)
    20.0
    """
    d = math.ceil(from_s / step_s - 1e-9) * step_s
    for lo, hi in blocked:
        if d < lo:
            break
        if d <= hi:
            d = math.floor(hi / step_s + 1e-9) * step_s + step_s
    return d


def _pair_delays(
    a: PlannedFlight, b: PlannedFlight, rules: SeparationRules, max_delay_s: float
) -> list[tuple[float, float]]:
    band, vert, horiz = pair_minima(a, b, rules)
    shift = (a.launch_s, a.launch_s + max_delay_s)
    rows, cols = near_pieces(a.path.boxes, b.path.boxes, shift, b.launch_s, (band, horiz, vert))
    return _piece_spans(a, a.launch_s, b, b.launch_s, rows, cols, (band, vert, horiz))


def _relative_delays(
    a: PlannedFlight, b: PlannedFlight, minima: tuple[float, float, float]
) -> list[tuple[float, float]]:
    """``_pair_delays`` at every delay, for flights launched together (add B's launch minus
    A's to place them): the piece pairs near in space, whatever their times."""
    band, vert, horiz = minima
    rows, cols = near_pieces(a.path.boxes, b.path.boxes, _ALL_TIMES, 0.0, (band, horiz, vert))
    return _piece_spans(a, 0.0, b, 0.0, rows, cols, minima)


def _piece_spans(
    a: PlannedFlight,
    a_launch: float,
    b: PlannedFlight,
    b_launch: float,
    rows: Iterable[int],
    cols: Iterable[int],
    minima: tuple[float, float, float],
) -> list[tuple[float, float]]:
    band, vert, horiz = minima
    ra, rb = a.path.rows, b.path.rows
    out = []
    for i, j in zip(rows, cols, strict=True):
        span = _piece_delays(ra[i], a_launch, rb[j], b_launch, vert, horiz + _PAD_M)
        if span is not None:
            out.append((span[0] - band, span[1] + band))
    return out


def _piece_delays(
    ra: Sequence[float],
    a_launch: float,
    rb: Sequence[float],
    b_launch: float,
    vert_m: float,
    horiz_m: float,
) -> tuple[float, float] | None:
    """(min, max) of ``s_b - s_a`` over the close part of two pieces, or None if none."""
    ta, tb = ra[_T1] - ra[_T0], rb[_T1] - rb[_T0]
    dz = ra[_Z0] - rb[_Z0]
    wz = vert_m + ra[_EZ] + rb[_EZ]
    poly: list[Point] = [(0.0, 0.0), (ta, 0.0), (ta, tb), (0.0, tb)]
    if ra[_VZ] == 0.0 and rb[_VZ] == 0.0:  # level pieces: apart or not, all along
        if abs(dz) > wz:
            return None
    else:
        for a, b, c in ((ra[_VZ], -rb[_VZ], wz - dz), (-ra[_VZ], rb[_VZ], wz + dz)):
            poly = clip_polygon(poly, a, b, c)
            if not poly:
                return None
    points = _close_points(
        poly,
        (ra[_X0] - rb[_X0], ra[_Y0] - rb[_Y0]),
        (ra[_VX], -rb[_VX], ra[_VY], -rb[_VY]),
        horiz_m,
    )
    if not points:
        return None
    offset = (rb[_T0] + b_launch) - (ra[_T0] + a_launch)
    values = [w - u + offset for u, w in points]
    return min(values), max(values)


def _close_points(
    poly: list[Point], c: Point, m: tuple[float, float, float, float], h: float
) -> list[Point]:
    """Points of ``K = poly ∩ {|c + M s| <= h}`` among which the extremes of any linear
    function in the direction (-1, 1) lie (empty when K is)."""
    ax, bx, ay, by = m
    q11, q12, q22 = ax * ax + ay * ay, ax * bx + ay * by, bx * bx + by * by
    det = ax * by - bx * ay
    scale = q11 + q22
    if scale <= 1e-18:  # neither moves horizontally: all or nothing
        return list(poly) if c[0] * c[0] + c[1] * c[1] <= h * h else []
    if det * det <= 1e-12 * scale * scale:
        return _strip_points(poly, c, m, h)
    h2 = h * h
    out = [p for p in poly if _f(p, c, m) <= h2]
    n = len(poly)
    for k in range(n):
        (pu, pw), (qu, qw) = poly[k], poly[(k + 1) % n]
        du, dw = qu - pu, qw - pw
        alx, aly = c[0] + ax * pu + bx * pw, c[1] + ay * pu + by * pw
        bex, bey = ax * du + bx * dw, ay * du + by * dw
        qa, qb = bex * bex + bey * bey, 2.0 * (alx * bex + aly * bey)
        qc = alx * alx + aly * aly - h2
        disc = qb * qb - 4.0 * qa * qc
        if qa <= 0 or disc < 0:
            continue
        root = math.sqrt(disc)
        for lam in ((-qb - root) / (2.0 * qa), (-qb + root) / (2.0 * qa)):
            if 0.0 <= lam <= 1.0:
                out.append((pu + lam * du, pw + lam * dw))
    # tangent points of the ellipse (s - s0)^T Q (s - s0) = h^2 in the direction l = (-1, 1)
    u0 = (-c[0] * by + bx * c[1]) / det
    w0 = (-ax * c[1] + ay * c[0]) / det
    qdet = q11 * q22 - q12 * q12
    iu, iw = (-q22 - q12) / qdet, (q12 + q11) / qdet  # Q^-1 l
    norm = math.sqrt(max(0.0, -iu + iw))  # sqrt(l^T Q^-1 l)
    if norm > 0:
        for sign in (1.0, -1.0):
            p = (u0 + sign * h * iu / norm, w0 + sign * h * iw / norm)
            if _inside(poly, p):
                out.append(p)
    return out


def _strip_points(
    poly: list[Point], c: Point, m: tuple[float, float, float, float], h: float
) -> list[Point]:
    """Parallel (or one stationary) motion: ``M s = q (r . s)``, so the close set is a strip
    ``|q . c + r . s| <= sqrt(h^2 - |c_perp|^2)`` cut out of the polygon."""
    ax, bx, ay, by = m
    n1, n2 = math.hypot(ax, ay), math.hypot(bx, by)
    qx, qy = (ax / n1, ay / n1) if n1 >= n2 else (bx / n2, by / n2)
    r1, r2 = qx * ax + qy * ay, qx * bx + qy * by
    c_par = qx * c[0] + qy * c[1]
    perp2 = c[0] * c[0] + c[1] * c[1] - c_par * c_par
    if perp2 > h * h:
        return []
    half = math.sqrt(h * h - perp2)
    for a, b, lim in ((r1, r2, half - c_par), (-r1, -r2, half + c_par)):
        poly = clip_polygon(poly, a, b, lim)
        if not poly:
            return []
    return poly


def _f(p: Point, c: Point, m: tuple[float, float, float, float]) -> float:
    x = c[0] + m[0] * p[0] + m[1] * p[1]
    y = c[1] + m[2] * p[0] + m[3] * p[1]
    return x * x + y * y


def _inside(poly: list[Point], p: Point) -> bool:
    """``p`` in a convex polygon (either orientation), with a small tolerance."""
    sign = 0.0
    n = len(poly)
    for k in range(n):
        (x0, y0), (x1, y1) = poly[k], poly[(k + 1) % n]
        cross = (x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0)
        if abs(cross) <= 1e-9:
            continue
        if sign == 0.0:
            sign = cross
        elif (cross > 0) != (sign > 0):
            return False
    return True


class FlightPool:
    """Flights a sortie is checked against, their windows and boxes in arrays: ``resolve``
    asks ``overlapping`` of one pool for every layer and window it tries."""

    def __init__(self, flights: Sequence[PlannedFlight]) -> None:
        self.flights = list(flights)
        self._start = np.array([f.start_s for f in self.flights], dtype=float)
        self._end = np.array([f.end_s for f in self.flights], dtype=float)
        self._buffer = np.array([f.buffer_s for f in self.flights], dtype=float)
        self._bbox = np.array([f.path.bbox for f in self.flights], dtype=float).reshape(-1, 4)
        self._nav_m = max((f.path.nav_accuracy_m for f in self.flights), default=0.0)

    def overlapping(
        self, flight: PlannedFlight, rules: SeparationRules, later_s: float = 0.0
    ) -> list[PlannedFlight]:
        """The flights of the pool that ``flight`` could meet if launched up to ``later_s``
        later: other owners, time windows within the buffers, and whole-flight boxes within
        the minima."""
        if not self.flights:
            return []
        margin = rules.horizontal_m + 2.0 * max(flight.path.nav_accuracy_m, self._nav_m)
        x0, x1, y0, y1 = flight.path.bbox
        band = flight.buffer_s + self._buffer
        b = self._bbox
        near = (
            (self._start - band <= flight.end_s + later_s)
            & (flight.start_s - band <= self._end)
            & (b[:, 0] <= x1 + margin)
            & (b[:, 1] >= x0 - margin)
            & (b[:, 2] <= y1 + margin)
            & (b[:, 3] >= y0 - margin)
        )
        return [
            other
            for other in (self.flights[i] for i in np.flatnonzero(near))
            if other.owner != flight.owner and other.key != flight.key
        ]
