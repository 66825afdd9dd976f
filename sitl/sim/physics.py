"""A kinematic multicopter: position/velocity control with ArduCopter's limits, wind, attitude.

Not a rigid-body model: the copter follows the target the navigation layer gives it with
WPNAV speed/acceleration limits, a climb/descent rate, and a top airspeed set by ANGLE_MAX
through a drag law fitted to the SITL quad (29 deg at 10 m/s, 30 deg caps ~10.3 m/s, 44.5 deg
at 15 m/s). Positions are metres north/east/up of a fixed origin on a flat earth, which is
accurate to centimetres over delivery distances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "EARTH_RADIUS_M",
    "GRAVITY_MSS",
    "NavTarget",
    "Physics",
    "corner_speed_ms",
    "drag_accel_mss",
    "max_airspeed_ms",
    "ne_offset_m",
    "offset_latlon",
    "pass_speed_ms",
    "segment_distance_m",
]

EARTH_RADIUS_M = 6378137.0
GRAVITY_MSS = 9.80665
# drag acceleration a(v) = C1 v + C2 v^2 fitted to the SITL quad's recorded lean angles.
_DRAG_C1 = 0.3467
_DRAG_C2 = 0.01973


def corner_speed_ms(speed_ms: float, turn_rad: float, accel_mss: float,
                    radius_m: float) -> float:
    """How fast ArduCopter passes a waypoint where the path turns by ``turn_rad``.

    It slows so that the corner, flown as an arc at ``accel_mss`` sideways, passes within
    WPNAV_RADIUS (``radius_m``) of the waypoint: on ArduCopter 4.7 SITL the track passed
    1.6-1.7 m inside corners of 4.6 to 90 degrees at 22 m/s, slowing to 6-10 m/s for 90.

    >>> round(corner_speed_ms(22.0, math.radians(90), 2.5, 2.0), 1)
    3.5
    >>> corner_speed_ms(22.0, math.radians(2), 2.5, 2.0)
    22.0
    """
    half = turn_rad / 2.0
    if half >= math.pi / 2 - 1e-6:
        return 0.0
    excess = 1.0 / math.cos(half) - 1.0
    if excess <= 1e-12:
        return speed_ms
    arc_radius = max(radius_m, 0.1) / excess
    return min(speed_ms, math.sqrt(accel_mss * arc_radius))


def pass_speed_ms(speed_ms: float, here: tuple[float, float], corner: tuple[float, float],
                  nxt: tuple[float, float], accel_mss: float, radius_m: float) -> float:
    """``corner_speed_ms`` for the turn at ``corner`` (north, east metres) flown from
    ``here`` on to ``nxt``."""
    a_in = math.atan2(corner[1] - here[1], corner[0] - here[0])
    a_out = math.atan2(nxt[1] - corner[1], nxt[0] - corner[0])
    turn = abs(math.atan2(math.sin(a_out - a_in), math.cos(a_out - a_in)))
    return corner_speed_ms(speed_ms, turn, accel_mss, radius_m)


def drag_accel_mss(airspeed_ms: float, c1: float = _DRAG_C1, c2: float = _DRAG_C2) -> float:
    """Horizontal drag deceleration ``c1 v + c2 v^2`` at ``airspeed_ms`` (by default the SITL
    quad's; an airframe gives its own, ``sitl.airframe.Airframe.drag_coefficients``)."""
    v = abs(airspeed_ms)
    return c1 * v + c2 * v * v


def max_airspeed_ms(angle_max_deg: float, c1: float = _DRAG_C1, c2: float = _DRAG_C2) -> float:
    """Top airspeed where drag needs the full lean angle.

    >>> round(max_airspeed_ms(30.0), 1)
    10.3
    """
    a = GRAVITY_MSS * math.tan(math.radians(max(1.0, min(angle_max_deg, 80.0))))
    if c2 <= 0.0:
        return a / c1
    return (-c1 + math.sqrt(c1 * c1 + 4 * c2 * a)) / (2 * c2)


def ne_offset_m(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """North/east metres from (lat0, lon0) to (lat, lon) on a local flat earth."""
    north = math.radians(lat - lat0) * EARTH_RADIUS_M
    east = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    return north, east


def segment_distance_m(p: tuple[float, float], a: tuple[float, float],
                       b: tuple[float, float]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b`` (north/east metres).

    >>> segment_distance_m((1.0, 5.0), (0.0, 0.0), (0.0, 10.0))
    1.0
    """
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy)
                                              / length2))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


def offset_latlon(lat0: float, lon0: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point north_m/east_m metres from (lat0, lon0)."""
    lat = lat0 + math.degrees(north_m / EARTH_RADIUS_M)
    lon = lon0 + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))
    return lat, lon


@dataclass(frozen=True, slots=True)
class NavTarget:
    """Where the navigation layer wants the copter.

    Horizontal: go to (north_m, east_m) at up to speed_ms, arriving at end_speed_ms (0 = stop),
    or hold the current position when ``north_m`` is None. Vertical: go to up_m, or descend at
    ``descent_ms`` to the ground when ``land`` is set.
    """

    north_m: float | None = None
    east_m: float | None = None
    up_m: float | None = None
    speed_ms: float = 10.0
    end_speed_ms: float = 0.0
    climb_ms: float = 2.5
    sink_ms: float = 1.5
    land: bool = False
    descent_ms: float = 0.5


class Physics:
    """State of one copter relative to its origin; ``step`` advances it by dt seconds."""

    def __init__(self, ground_up_m: float = 0.0) -> None:
        self.north_m = 0.0
        self.east_m = 0.0
        self.up_m = ground_up_m
        self.ground_up_m = ground_up_m
        self.vn = 0.0
        self.ve = 0.0
        self.vu = 0.0
        self.yaw_rad = 0.0
        self.roll_rad = 0.0
        self.pitch_rad = 0.0
        self.wind_n = 0.0
        self.wind_e = 0.0
        self.accel_mss = 2.5
        self.accel_z_mss = 1.0
        self.angle_max_deg = 30.0
        self.drag = (_DRAG_C1, _DRAG_C2)
        """``(c1, c2)`` of the drag deceleration (the airframe's, else the SITL quad's)."""
        self.on_ground = True
        self.touchdown_speed_ms = 0.0

    @property
    def agl_m(self) -> float:
        return self.up_m - self.ground_up_m

    @property
    def groundspeed_ms(self) -> float:
        return math.hypot(self.vn, self.ve)

    @property
    def airspeed_ms(self) -> float:
        return math.hypot(self.vn - self.wind_n, self.ve - self.wind_e)

    def set_wind(self, speed_ms: float, from_deg: float) -> None:
        """Wind of speed_ms blowing FROM from_deg (meteorological, like SIM_WIND_DIR)."""
        to = math.radians(from_deg + 180.0)
        self.wind_n = speed_ms * math.cos(to)
        self.wind_e = speed_ms * math.sin(to)

    def freeze(self) -> None:
        """Motors off on the ground: nothing moves."""
        self.vn = self.ve = self.vu = 0.0
        self.roll_rad = self.pitch_rad = 0.0
        self.up_m = max(self.up_m, self.ground_up_m)

    def step(self, dt: float, target: NavTarget) -> bool:
        """Advance dt seconds toward ``target``. Returns True on the step that touches down."""
        self._step_horizontal(dt, target)
        self._step_vertical(dt, target)
        return self._move(dt)

    def fall(self, dt: float) -> bool:
        """Motors stopped in the air (a disarm in flight): fall, drag-limited, drift with the
        wind. Returns True on the step that hits the ground."""
        c1, c2 = self.drag
        drag = drag_accel_mss(self.vu, c1, c2)
        self.vu += (-GRAVITY_MSS + (drag if self.vu < 0 else -drag)) * dt
        air_n, air_e = self.vn - self.wind_n, self.ve - self.wind_e
        air = math.hypot(air_n, air_e)
        if air > 1e-6:
            slow = min(air, drag_accel_mss(air, c1, c2) * dt) / air
            self.vn -= air_n * slow
            self.ve -= air_e * slow
        self.roll_rad = self.pitch_rad = 0.0
        return self._move(dt)

    def _move(self, dt: float) -> bool:
        self.north_m += self.vn * dt
        self.east_m += self.ve * dt
        self.up_m += self.vu * dt
        touched = False
        if self.up_m <= self.ground_up_m:
            if not self.on_ground and self.vu < 0:
                touched = True
                self.touchdown_speed_ms = -self.vu
            self.up_m = self.ground_up_m
            self.vu = max(0.0, self.vu)
            self.on_ground = True
            self.vn = self.ve = 0.0
        elif self.up_m > self.ground_up_m + 0.05:
            self.on_ground = False
        self._update_attitude()
        return touched

    def _desired_velocity(self, target: NavTarget) -> tuple[float, float]:
        if target.north_m is None or target.east_m is None:
            return 0.0, 0.0
        dn = target.north_m - self.north_m
        de = target.east_m - self.east_m
        dist = math.hypot(dn, de)
        if dist < 1e-3:
            return 0.0, 0.0
        # Arrive at end_speed: v^2 = v_end^2 + 2 a d (a little under the limit, like S-curves).
        reach = math.sqrt(target.end_speed_ms**2 + 1.6 * self.accel_mss * dist)
        speed = min(target.speed_ms, reach)
        if target.end_speed_ms <= 0.0:
            speed = min(speed, 1.5 * dist + 0.05)
        return dn / dist * speed, de / dist * speed

    def _step_horizontal(self, dt: float, target: NavTarget) -> None:
        if self.on_ground and (target.up_m is None or target.up_m <= self.ground_up_m + 0.05):
            self.vn = self.ve = 0.0
            return
        want_n, want_e = self._desired_velocity(target)
        # The airspeed is capped by the lean angle; the controller flies ground velocity.
        air_n, air_e = want_n - self.wind_n, want_e - self.wind_e
        air = math.hypot(air_n, air_e)
        cap = max_airspeed_ms(self.angle_max_deg, *self.drag)
        if air > cap:
            air_n, air_e = air_n / air * cap, air_e / air * cap
            want_n, want_e = air_n + self.wind_n, air_e + self.wind_e
        dvn, dve = want_n - self.vn, want_e - self.ve
        dv = math.hypot(dvn, dve)
        max_dv = self.accel_mss * dt
        if dv > max_dv:
            dvn, dve = dvn / dv * max_dv, dve / dv * max_dv
        self.vn += dvn
        self.ve += dve
        if math.hypot(self.vn, self.ve) > 0.5:
            self.yaw_rad = math.atan2(self.ve, self.vn)

    def _step_vertical(self, dt: float, target: NavTarget) -> None:
        if target.land:
            want = -target.descent_ms
        elif target.up_m is None:
            want = 0.0
        else:
            err = target.up_m - self.up_m
            rate = math.sqrt(2 * self.accel_z_mss * abs(err)) if abs(err) > 0.01 else 0.0
            rate = min(rate, 2.0 * abs(err))
            want = min(rate, target.climb_ms) if err > 0 else -min(rate, target.sink_ms)
        dv = want - self.vu
        max_dv = self.accel_z_mss * dt
        self.vu += max(-max_dv, min(max_dv, dv))

    def _update_attitude(self) -> None:
        air_n, air_e = self.vn - self.wind_n, self.ve - self.wind_e
        air = math.hypot(air_n, air_e)
        if self.on_ground or air < 1e-3:
            self.roll_rad = self.pitch_rad = 0.0
            return
        lean = math.atan(drag_accel_mss(air, *self.drag) / GRAVITY_MSS)
        # Lean into the relative wind, expressed in the body frame (yaw).
        rel = math.atan2(air_e, air_n) - self.yaw_rad
        self.pitch_rad = -lean * math.cos(rel)
        self.roll_rad = lean * math.sin(rel)
