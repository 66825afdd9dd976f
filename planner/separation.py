"""Separation of planned flights in space and time (4D): trajectories and the conflict check.

A planned flight becomes a ``Trajectory``: straight pieces in a local metric frame, each with a
constant velocity (x east, y north, z up, metres and seconds from launch), built from the
plan's phases exactly as ``planner.energy`` prices them: a vertical climb at the depot, the
cruise out along ``plan.outbound`` at the cruise altitude, the delivery over the drop-off, the
cruise back along ``plan.inbound``, the descent and landing at the depot. The delivery is a
column over the drop-off from the lowest height the delivery method reaches up to the cruise
altitude, for the whole delivery (conservative: the exact descent profile does not matter).

Two flights are in conflict when, at some time, they are horizontally closer than
``SeparationRules.horizontal_m`` AND vertically closer than ``vertical_m``, with both minima
padded by the flights' navigation accuracy, and with each flight's position at time ``t``
taken anywhere it is planned to be over ``[t - b, t + b]`` (``b`` its time buffer: launch slip,
wind, the autopilot's speed ramps). The check is exact, not sampled: for a pair of pieces the
set of (time on A, time on B) allowed by the buffer and the vertical minimum is a convex
polygon, and the squared horizontal distance is a convex quadratic over it, minimised in
closed form. Pairs are pruned first by time windows and bounding boxes (numpy), so a check
against a day's schedule costs microseconds per flight that could meet.

A depot is one point: every drone of a depot lands on the depot's position (the mission's
NAV_LAND) and pads a few metres apart are inside the navigation accuracy, so the column over
a depot is shared and flights through it are separated in time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.errors import InvalidInput
from planner.geo import LocalFrame
from planner.model import FlightPlan, LatLon
from planner.vehicle import DeliveryMethod, VehicleProfile

__all__ = [
    "PIECE_COLUMNS",
    "Conflict",
    "PlannedFlight",
    "SeparationRules",
    "Trajectory",
    "clip_polygon",
    "first_conflict",
    "flight_conflict",
    "meets",
    "near_pieces",
    "pair_minima",
    "trajectory",
]

FloatArray = npt.NDArray[np.float64]

PIECE_COLUMNS = ("t0", "t1", "x0", "y0", "vx", "vy", "z0", "vz", "ez")
"""Columns of ``Trajectory.pieces`` (see there)."""
_T0, _T1, _X0, _Y0, _VX, _VY, _Z0, _VZ, _EZ = range(9)
_CLIMB, _CRUISE_OUT, _DELIVERY, _CRUISE_BACK, _DESCENT = (
    "climb",
    "cruise out",
    "delivery",
    "cruise back",
    "descent",
)


@dataclass(frozen=True, slots=True)
class SeparationRules:
    """The separation minima and how conflicts may be resolved.

    Defaults: 50 m horizontal and 15 m vertical between the padded volumes (small-UAS
    traffic-management figures), a 10 s time buffer per flight, barometric altitude hold
    good to 3 m.
    """

    horizontal_m: float = 50.0
    """Horizontal minimum between two flights, before navigation-accuracy padding (metres)."""
    vertical_m: float = 15.0
    """Vertical minimum, before altitude-accuracy padding (metres)."""
    time_buffer_s: float = 10.0
    """Each flight may be this far ahead of or behind its plan (seconds)."""
    altitude_accuracy_m: float = 3.0
    """Vertical padding per flight (metres): altitude hold of the autopilot."""
    layer_spacing_m: float = 25.0
    """Cruise-altitude layers below the profile's cruise altitude, this far apart (metres)."""
    layers: int = 2
    """How many extra layers a conflict may be resolved with (0: delays only)."""
    min_layer_agl_m: float = 50.0
    """No layer below this height above ground (obstacles)."""
    delay_step_s: float = 5.0
    """A delayed launch is tried in steps of this many seconds."""
    max_delay_s: float = 1800.0
    """Give up delaying a launch after this long (the drone option is then not used)."""

    def __post_init__(self) -> None:
        for name in (
            "horizontal_m",
            "vertical_m",
            "time_buffer_s",
            "altitude_accuracy_m",
            "min_layer_agl_m",
            "max_delay_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InvalidInput(name, f"must be a finite number >= 0, got {value!r}")
        for name in ("layer_spacing_m", "delay_step_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInput(name, f"must be a finite number > 0, got {value!r}")
        if self.layers < 0:
            raise InvalidInput("layers", f"must be >= 0, got {self.layers}")

    def layer_altitudes(self, cruise_alt_agl_m: float) -> tuple[float, ...]:
        """Other cruise altitudes to try, nearest first (all below ``cruise_alt_agl_m``, so
        within every ceiling the cruise altitude is within).

        >>> SeparationRules().layer_altitudes(100.0)
        (75.0, 50.0)
        """
        out = []
        for k in range(1, self.layers + 1):
            alt = cruise_alt_agl_m - k * self.layer_spacing_m
            if alt < self.min_layer_agl_m - 1e-9:
                break
            out.append(alt)
        return tuple(out)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A planned flight in a local frame, times in seconds from its launch.

    ``pieces`` has one row per piece: ``t0, t1`` (s from launch), ``x0, y0`` (m at ``t0``),
    ``vx, vy`` (m/s), ``z0`` (m AGL at ``t0``), ``vz`` (m/s), ``ez`` (m: the piece occupies
    ``z +- ez``, for the delivery column).
    """

    pieces: FloatArray
    kinds: tuple[str, ...]
    """What each piece is: climb, cruise out, delivery, cruise back, descent."""
    duration_s: float
    nav_accuracy_m: float
    """Horizontal padding of this flight (the profile's navigation accuracy)."""
    model_slack_s: float
    """How far the constant-speed pieces may be off the real motion in time (seconds):
    half the speed-up time of a cruise leg, ``v / (2 a)``."""
    boxes: FloatArray
    """Per piece: lows ``t0, x, y, z`` then highs ``t1, x, y, z``: its time (s from launch)
    and the ranges it covers (metres)."""
    bbox: tuple[float, float, float, float]
    """x min, x max, y min, y max of the whole flight (metres)."""
    rows: tuple[tuple[float, ...], ...]
    """``pieces`` as Python floats (the exact check runs per piece pair in Python)."""

    def position(self, t_s: float) -> tuple[float, float, float]:
        """(x, y, z) at ``t_s`` seconds after launch (clamped to the flight)."""
        t = min(max(t_s, 0.0), self.duration_s)
        rows = self.pieces
        i = int(np.searchsorted(rows[:, _T1], t, side="left"))
        r = rows[min(i, len(rows) - 1)]
        dt = t - r[_T0]
        return (
            float(r[_X0] + r[_VX] * dt),
            float(r[_Y0] + r[_VY] * dt),
            float(r[_Z0] + r[_VZ] * dt),
        )


@dataclass(frozen=True, eq=False)
class PlannedFlight:
    """A trajectory placed on the scenario clock, with whom it belongs to."""

    key: str
    """The flight's name in reports (the order id)."""
    owner: str
    """The drone; flights of one owner are never checked against each other."""
    launch_s: float
    path: Trajectory
    buffer_s: float
    """Time buffer of this flight (rules' buffer plus the trajectory's model slack)."""

    @property
    def start_s(self) -> float:
        return self.launch_s

    @property
    def end_s(self) -> float:
        return self.launch_s + self.path.duration_s


@dataclass(frozen=True, slots=True)
class Conflict:
    """Where and when a flight would meet another one."""

    other: str
    """The other flight's key (order id)."""
    other_owner: str
    at_s: float
    """Scenario time on the checked flight."""
    other_at_s: float
    """Scenario time on the other flight (within both buffers of ``at_s``)."""
    where: LatLon
    """The checked flight's position then."""
    alt_agl_m: float
    horizontal_m: float
    """Their horizontal distance at those times (metres)."""
    vertical_m: float
    kind: str
    """``over the depot``, ``over a drop-off``, ``head-on``, ``same track`` or ``crossing``."""


# -------------------------------------------------------------------------- trajectories


def _cruise_index(plan: FlightPlan, name: str) -> int:
    for i, phase in enumerate(plan.phases):
        if phase.name == name:
            return i
    raise InvalidInput("plan.phases", f"no {name!r} phase: cannot place the flight in time")


def _polyline(
    rows: list[list[float]],
    kinds: list[str],
    kind: str,
    xy: FloatArray,
    t0: float,
    duration_s: float,
    z: float,
) -> None:
    """Pieces along the points ``xy`` at one speed over ``duration_s`` from ``t0``."""
    lengths = np.hypot(*np.diff(xy, axis=0).T)
    total = float(lengths.sum())
    t = t0
    for i, length in enumerate(lengths):
        dur = duration_s * float(length) / total if total > 0 else 0.0
        if dur <= 0:
            continue
        (x0, y0), (x1, y1) = xy[i], xy[i + 1]
        rows.append([t, t + dur, x0, y0, (x1 - x0) / dur, (y1 - y0) / dur, z, 0.0, 0.0])
        kinds.append(kind)
        t += dur
    if total <= 0 and duration_s > 0:  # a drop-off on the depot: hover there
        x0, y0 = xy[0]
        rows.append([t0, t0 + duration_s, x0, y0, 0.0, 0.0, z, 0.0, 0.0])
        kinds.append(kind)


def _lowest_delivery_agl_m(profile: VehicleProfile, cruise_m: float) -> float:
    method = profile.delivery_method
    if method is DeliveryMethod.DESCEND_RELEASE:
        return min(cruise_m, profile.release_alt_agl_m)
    if method is DeliveryMethod.WINCH:
        return cruise_m  # the drone holds its altitude; only the line goes down
    return 0.0


def trajectory(plan: FlightPlan, profile: VehicleProfile, frame: LocalFrame) -> Trajectory:
    """The flight of ``plan`` as pieces in ``frame``, from its phases.

    Raises:
        InvalidInput: a plan without ``cruise_out`` and ``cruise_back`` phases.
    """
    out_i, back_i = _cruise_index(plan, "cruise_out"), _cruise_index(plan, "cruise_back")
    if back_i < out_i:
        raise InvalidInput("plan.phases", "cruise_back comes before cruise_out")
    durations = [p.duration_s for p in plan.phases]
    cruise = plan.cruise_alt_agl_m
    out = np.column_stack(
        frame.to_xy_array([p.lat for p in plan.outbound], [p.lon for p in plan.outbound])
    )
    back = np.column_stack(
        frame.to_xy_array([p.lat for p in plan.inbound], [p.lon for p in plan.inbound])
    )
    rows: list[list[float]] = []
    kinds: list[str] = []
    climb_s = math.fsum(durations[:out_i])
    if climb_s > 0:
        rows.append([0.0, climb_s, out[0, 0], out[0, 1], 0.0, 0.0, 0.0, cruise / climb_s, 0.0])
        kinds.append(_CLIMB)
    t = climb_s
    _polyline(rows, kinds, _CRUISE_OUT, out, t, durations[out_i], cruise)
    t += durations[out_i]
    deliver_s = math.fsum(durations[out_i + 1 : back_i])
    if deliver_s > 0:
        low = _lowest_delivery_agl_m(profile, cruise)
        rows.append(
            [
                t,
                t + deliver_s,
                out[-1, 0],
                out[-1, 1],
                0.0,
                0.0,
                (cruise + low) / 2.0,
                0.0,
                (cruise - low) / 2.0,
            ]
        )
        kinds.append(_DELIVERY)
    t += deliver_s
    _polyline(rows, kinds, _CRUISE_BACK, back, t, durations[back_i], cruise)
    t += durations[back_i]
    _descent(rows, kinds, plan, profile, back[-1], back_i, t, cruise)
    pieces = np.asarray(rows, dtype=np.float64).reshape(-1, 9)
    accel = profile.cruise_accel_ms2
    slack = profile.cruise_speed_ms / (2.0 * accel) if accel > 0 else 0.0
    boxes = _boxes(pieces)
    bbox = (
        float(boxes[:, 1].min()),
        float(boxes[:, 5].max()),
        float(boxes[:, 2].min()),
        float(boxes[:, 6].max()),
    )
    rows_ = tuple(tuple(r) for r in pieces.tolist())
    return Trajectory(
        pieces,
        tuple(kinds),
        math.fsum(durations),
        profile.nav_accuracy_m,
        slack,
        boxes,
        bbox,
        rows_,
    )


def _descent(
    rows: list[list[float]],
    kinds: list[str],
    plan: FlightPlan,
    profile: VehicleProfile,
    at: FloatArray,
    back_i: int,
    t: float,
    cruise: float,
) -> None:
    """The phases after the cruise back: down to the ground at the depot, each phase at its
    own speed (the slow final landing below ``land_final_alt_m``)."""
    phases = [p for p in plan.phases[back_i + 1 :] if p.duration_s > 0]
    drops = [
        p.duration_s * (profile.land_speed_ms if "landing" in p.name else profile.descent_speed_ms)
        for p in phases
    ]
    total = math.fsum(drops)
    z = cruise
    for phase, drop in zip(phases, drops, strict=True):
        height = cruise * drop / total if total > 0 else cruise / len(phases)
        rows.append(
            [t, t + phase.duration_s, at[0], at[1], 0.0, 0.0, z, -height / phase.duration_s, 0.0]
        )
        kinds.append(_DESCENT)
        z -= height
        t += phase.duration_s


# ---------------------------------------------------------------------------- conflicts


def _boxes(p: FloatArray) -> FloatArray:
    """Per piece: lows ``t0, x, y, z`` then highs ``t1, x, y, z`` (the ranges it covers)."""
    dur = p[:, _T1] - p[:, _T0]
    x1, y1 = p[:, _X0] + p[:, _VX] * dur, p[:, _Y0] + p[:, _VY] * dur
    z1 = p[:, _Z0] + p[:, _VZ] * dur
    return np.column_stack(
        [
            p[:, _T0],
            np.minimum(p[:, _X0], x1),
            np.minimum(p[:, _Y0], y1),
            np.minimum(p[:, _Z0], z1) - p[:, _EZ],
            p[:, _T1],
            np.maximum(p[:, _X0], x1),
            np.maximum(p[:, _Y0], y1),
            np.maximum(p[:, _Z0], z1) + p[:, _EZ],
        ]
    )


def clip_polygon(
    poly: list[tuple[float, float]], a: float, b: float, c: float
) -> list[tuple[float, float]]:
    """The part of a convex polygon where ``a u + b w <= c`` (Sutherland-Hodgman).

    >>> clip_polygon([(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)], 1.0, 0.0, 1.0)
    [(0.0, 0.0), (1.0, 0.0), (1.0, 2.0), (0.0, 2.0)]
    """
    values = [a * u + b * w - c for u, w in poly]
    hi = max(values)
    if hi <= 0:
        return poly
    if min(values) > 0:
        return []
    out: list[tuple[float, float]] = []
    last_p, last_f = poly[-1], values[-1]
    for p, fp in zip(poly, values, strict=True):
        # the edge from the previous vertex to this one
        if (last_f < 0 < fp) or (fp < 0 < last_f):
            t = last_f / (last_f - fp)
            out.append((last_p[0] + t * (p[0] - last_p[0]), last_p[1] + t * (p[1] - last_p[1])))
        if fp <= 0:
            out.append(p)
        last_p, last_f = p, fp
    return out


def _edge_min(
    poly: list[tuple[float, float]], cx: float, cy: float, m: tuple[float, ...]
) -> tuple[float, float, float]:
    """Minimum of ``|c + M (u, w)|^2`` over the boundary of a convex polygon: (u, w, value).

    It is the minimum over the polygon unless the unconstrained minimiser lies inside (the
    caller checks that): when ``M`` is singular the minimisers form lines, and a line through
    a bounded polygon leaves it. Each edge is minimised in closed form.
    """
    ax, bx, ay, by = m
    best = (0.0, 0.0, math.inf)
    n = len(poly)
    for i in range(n):
        (pu, pw), (qu, qw) = poly[i], poly[(i + 1) % n]
        du, dw = qu - pu, qw - pw
        alx, aly = cx + ax * pu + bx * pw, cy + ay * pu + by * pw
        bex, bey = ax * du + bx * dw, ay * du + by * dw
        bb = bex * bex + bey * bey
        lam = 0.0 if bb <= 0 else min(1.0, max(0.0, -(alx * bex + aly * bey) / bb))
        vx, vy = alx + lam * bex, aly + lam * bey
        value = vx * vx + vy * vy
        if value < best[2]:
            best = (pu + lam * du, pw + lam * dw, value)
    return best


def _piece_pair(
    ra: Sequence[float],
    a_launch: float,
    rb: Sequence[float],
    b_launch: float,
    band_s: float,
    vert_m: float,
    horiz_m: float,
) -> tuple[float, float, float] | None:
    """Times (scenario clock) on A and B and the squared horizontal distance of the closest
    approach of two pieces within the band and vertical minimum, or None if they keep the
    horizontal minimum there."""
    ta, tb = ra[_T1] - ra[_T0], rb[_T1] - rb[_T0]
    offset = (ra[_T0] + a_launch) - (rb[_T0] + b_launch)  # s_a - s_b = u - w + offset
    dz = ra[_Z0] - rb[_Z0]
    wz = vert_m + ra[_EZ] + rb[_EZ]
    poly = [(0.0, 0.0), (ta, 0.0), (ta, tb), (0.0, tb)]
    planes = (
        (1.0, -1.0, band_s - offset),
        (-1.0, 1.0, band_s + offset),
        (ra[_VZ], -rb[_VZ], wz - dz),
        (-ra[_VZ], rb[_VZ], wz + dz),
    )
    for a, b, c in planes:
        poly = clip_polygon(poly, a, b, c)
        if not poly:
            return None
    cx, cy = ra[_X0] - rb[_X0], ra[_Y0] - rb[_Y0]
    m = (ra[_VX], -rb[_VX], ra[_VY], -rb[_VY])
    det = m[0] * m[3] - m[1] * m[2]
    if abs(det) > 1e-12:
        u = (-cx * m[3] + m[1] * cy) / det
        w = (-m[0] * cy + m[2] * cx) / det
        inside = (
            -1e-9 <= u <= ta + 1e-9
            and -1e-9 <= w <= tb + 1e-9
            and all(a * u + b * w <= c + 1e-9 for a, b, c in planes)
        )
        if inside:
            return (u + ra[_T0] + a_launch, w + rb[_T0] + b_launch, 0.0)
    u, w, d2 = _edge_min(poly, cx, cy, m)
    if d2 >= horiz_m * horiz_m:
        return None
    return (u + ra[_T0] + a_launch, w + rb[_T0] + b_launch, d2)


def _kind(ka: str, kb: str, ra: Sequence[float], rb: Sequence[float]) -> str:
    if _CLIMB in (ka, kb) or _DESCENT in (ka, kb):
        return "over the depot"
    if _DELIVERY in (ka, kb):
        return "over a drop-off"
    na, nb = math.hypot(ra[_VX], ra[_VY]), math.hypot(rb[_VX], rb[_VY])
    if na == 0 or nb == 0:
        return "crossing"
    cos = (ra[_VX] * rb[_VX] + ra[_VY] * rb[_VY]) / (na * nb)
    return "head-on" if cos < -0.87 else "same track" if cos > 0.87 else "crossing"


def near_pieces(
    a: FloatArray,
    b: FloatArray,
    a_shift: tuple[float, float],
    b_shift: float,
    gaps: tuple[float, float, float],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Piece pairs (rows of A, rows of B) whose boxes come within ``gaps`` (time, horizontal,
    vertical), with A's times moved by ``a_shift`` (low, high) and B's by ``b_shift``."""
    gap = np.array([gaps[0], gaps[1], gaps[1], gaps[2]])
    a_lo, a_hi = a[:, :4].copy(), a[:, 4:].copy()
    b_lo, b_hi = b[:, :4].copy(), b[:, 4:].copy()
    a_lo[:, 0] += a_shift[0]
    a_hi[:, 0] += a_shift[1]
    b_lo[:, 0] += b_shift
    b_hi[:, 0] += b_shift
    near = (
        (a_lo[:, None, :] - gap <= b_hi[None, :, :]) & (b_lo[None, :, :] - gap <= a_hi[:, None, :])
    ).all(axis=2)
    rows, cols = np.nonzero(near)
    return rows, cols


def pair_minima(
    a: PlannedFlight, b: PlannedFlight, rules: SeparationRules
) -> tuple[float, float, float]:
    """(time band, vertical, horizontal minimum) of a pair, padded."""
    band = a.buffer_s + b.buffer_s
    horiz = rules.horizontal_m + a.path.nav_accuracy_m + b.path.nav_accuracy_m
    return band, rules.vertical_m + 2.0 * rules.altitude_accuracy_m, horiz


def _candidates(
    a: PlannedFlight, b: PlannedFlight, band: float, vert: float, horiz: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Piece pairs (rows of A, rows of B) whose boxes come within the minima."""
    shift = (a.launch_s, a.launch_s)
    return near_pieces(a.path.boxes, b.path.boxes, shift, b.launch_s, (band, horiz, vert))


def meets(a: PlannedFlight, b: PlannedFlight, rules: SeparationRules) -> bool:
    """True when two flights conflict (the quick form of ``flight_conflict``)."""
    band, vert, horiz = pair_minima(a, b, rules)
    ra, rb = a.path.rows, b.path.rows
    for i, j in zip(*_candidates(a, b, band, vert, horiz), strict=True):
        if _piece_pair(ra[i], a.launch_s, rb[j], b.launch_s, band, vert, horiz) is not None:
            return True
    return False


def flight_conflict(
    a: PlannedFlight, b: PlannedFlight, rules: SeparationRules, frame: LocalFrame
) -> Conflict | None:
    """The earliest (on ``a``'s clock) conflict between two planned flights, or None."""
    band, vert, horiz = pair_minima(a, b, rules)
    ra, rb = a.path.rows, b.path.rows
    best: tuple[float, float, float, int, int] | None = None
    for i, j in zip(*_candidates(a, b, band, vert, horiz), strict=True):
        hit = _piece_pair(ra[i], a.launch_s, rb[j], b.launch_s, band, vert, horiz)
        if hit is not None and (best is None or hit[0] < best[0]):
            best = (hit[0], hit[1], hit[2], int(i), int(j))
    if best is None:
        return None
    sa, sb, d2, i, j = best
    xa, ya, za = a.path.position(sa - a.launch_s)
    _, _, zb = b.path.position(sb - b.launch_s)
    kind = _kind(a.path.kinds[i], b.path.kinds[j], ra[i], rb[j])
    return Conflict(
        b.key, b.owner, sa, sb, frame.to_latlon(xa, ya), za, math.sqrt(d2), abs(za - zb), kind
    )


def first_conflict(
    flight: PlannedFlight,
    others: Iterable[PlannedFlight],
    rules: SeparationRules,
    frame: LocalFrame,
) -> Conflict | None:
    """The earliest conflict of ``flight`` with any of ``others`` (other owners only)."""
    best: Conflict | None = None
    for other in others:
        if other.owner == flight.owner or other.key == flight.key:
            continue
        band = flight.buffer_s + other.buffer_s
        if other.start_s - band > flight.end_s or flight.start_s - band > other.end_s:
            continue
        found = flight_conflict(flight, other, rules, frame)
        if found is not None and (best is None or found.at_s < best.at_s):
            best = found
    return best
