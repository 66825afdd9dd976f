"""RTL as ArduCopter flies it: climb to RTL_ALT (or stay higher), return home, loiter
RTL_LOIT_TIME, descend and land (LAND_SPEED below LAND_ALT_LOW), disarm. SMART_RTL (mode 21)
retraces the path recorded since arming (``SmartRtlPath``) at WPNAV_SPEED, then lands at home."""

from __future__ import annotations

import math

from .physics import NavTarget, pass_speed_ms, segment_distance_m
from .state import VehicleCore

__all__ = ["RtlController", "SmartRtlPath"]


class RtlController:
    """State machine for RTL mode and the mission's NAV_RETURN_TO_LAUNCH."""

    def __init__(self, vehicle: VehicleCore) -> None:
        self.v = vehicle
        self.phase = "idle"
        self.return_up_m = 0.0
        self.t0_s = 0.0
        self.home_ne = (0.0, 0.0)
        self.in_mission = False
        self.smart = SmartRtlPath(vehicle)
        self.smart_path: list[tuple[float, float, float]] = []

    def start_smart(self) -> bool:
        """Enter SMART_RTL; False (mode refused) when there is no path to retrace."""
        path = self.smart.retrace()
        if not path:
            return False
        path = _simplify(path, max(self.v.params.get("SRTL_ACCURACY"), 0.1) * 0.5)
        self.home_ne = self.v.home_ne()
        self.smart_path = path
        self.in_mission = False
        self.phase = "landed" if self.v.phys.on_ground else "smart"
        self.t0_s = self.v.sim_time_s
        return True

    def _smart_target(self) -> NavTarget:
        v = self.v
        n, e, up = self.smart_path[0]
        end = 0.0
        if len(self.smart_path) > 1:
            n2, e2, _ = self.smart_path[1]
            end = pass_speed_ms(v.wp_speed_ms, (v.phys.north_m, v.phys.east_m), (n, e),
                                (n2, e2), v.params.get("WPNAV_ACCEL") / 100.0,
                                v.params.get("WPNAV_RADIUS") / 100.0)
        return NavTarget(n, e, up, speed_ms=v.wp_speed_ms, end_speed_ms=end,
                         climb_ms=v.climb_ms, sink_ms=v.sink_ms)

    def start(self, in_mission: bool = False) -> None:
        v = self.v
        self.home_ne = v.home_ne()
        rtl_alt_m = v.params.get("RTL_ALT") / 100.0
        home_up = v.home_up_m()
        current_rel = v.phys.up_m - home_up
        target_rel = current_rel if rtl_alt_m <= 0 else max(current_rel, rtl_alt_m)
        fence_max = v.params.get("FENCE_ALT_MAX")
        if v.fence_enabled() and int(v.params.get("FENCE_TYPE")) & 1:
            target_rel = min(target_rel, max(current_rel, fence_max - 2.0))
        self.return_up_m = home_up + target_rel
        self.in_mission = in_mission
        self.phase = "landed" if v.phys.on_ground else "climb"
        self.t0_s = v.sim_time_s

    def target(self) -> NavTarget | None:
        v = self.v
        n, e = self.home_ne
        speed = v.params.get("RTL_SPEED") / 100.0 or v.wp_speed_ms
        if self.phase == "smart" and self.smart_path:
            return self._smart_target()
        if self.phase == "climb":
            return NavTarget(v.phys.north_m, v.phys.east_m, self.return_up_m, climb_ms=v.climb_ms)
        if self.phase == "return":
            return NavTarget(n, e, self.return_up_m, speed_ms=speed, climb_ms=v.climb_ms,
                             sink_ms=v.sink_ms)
        if self.phase == "loiter":
            return NavTarget(n, e, self.return_up_m)
        if self.phase == "land":
            return NavTarget(n, e, None, land=True, descent_ms=v.land_descent_ms())
        return None

    def update(self) -> None:
        """Advance the phases (called every physics step while RTL runs)."""
        v = self.v
        p = v.phys
        n, e = self.home_ne
        if self.phase == "smart":
            self._smart_update()
        elif self.phase == "climb" and p.up_m >= self.return_up_m - 0.5:
            self.phase = "return"
        elif self.phase == "return" and math.hypot(n - p.north_m, e - p.east_m) < 2.0 \
                and p.groundspeed_ms < 0.5:
            self.phase = "loiter"
            self.t0_s = v.sim_time_s
        elif self.phase == "loiter" and \
                v.sim_time_s - self.t0_s >= v.params.get("RTL_LOIT_TIME") / 1000.0:
            self.phase = "land"
        elif self.phase == "land" and v.land_complete():
            self.phase = "landed"
            # In a mission the item completes first; the mission end then disarms.
            if v.armed and not self.in_mission:
                v.disarm(from_land=True)

    def _smart_update(self) -> None:
        p = self.v.phys
        n, e, up = self.smart_path[0]
        radius = max(self.v.params.get("WPNAV_RADIUS") / 100.0, 0.5)
        last = len(self.smart_path) == 1
        if math.hypot(n - p.north_m, e - p.east_m) <= (1.0 if last else radius) \
                and abs(up - p.up_m) < 2.0 and (not last or p.groundspeed_ms < 0.5):
            self.smart_path.pop(0)
        if not self.smart_path:
            self.phase = "land"

    def done(self) -> bool:
        return self.phase == "landed"


class SmartRtlPath:
    """AP_SmartRTL: the path flown since arming, kept to SRTL_POINTS, and its retrace home.

    A point is saved once the copter is SRTL_ACCURACY from the last one. When the buffer
    fills, the path is simplified (points within SRTL_ACCURACY of a straight line go) and
    loops are pruned; if it is still full, SmartRTL deactivates ("SmartRTL deactivated:
    buffer full") and the failsafes fall back (SmartRTL or Land / or RTL). The retrace starts
    at the earliest part of the path the copter is back on (a loop flown out and back, like
    the return leg over the outbound one, is cut) and follows the path backwards to home.
    """

    def __init__(self, vehicle: VehicleCore) -> None:
        self.v = vehicle
        self.points: list[tuple[float, float, float]] = []
        self.active = False
        self.why_inactive = "not armed"

    def reset(self) -> None:
        """Arming starts a new path at the copter's position (AP_SmartRTL::set_home)."""
        p = self.v.phys
        capacity = int(self.v.params.get("SRTL_POINTS"))
        self.points = [(p.north_m, p.east_m, p.up_m)]
        self.active = capacity > 0 and self.v.ekf_ready()
        self.why_inactive = "" if self.active else (
            "SRTL_POINTS is 0" if capacity <= 0 else "bad position")

    def record(self) -> None:
        """Called every step while armed."""
        if not self.active or not self.points:
            return
        p = self.v.phys
        here = (p.north_m, p.east_m, p.up_m)
        accuracy = max(self.v.params.get("SRTL_ACCURACY"), 0.1)
        if math.dist(here, self.points[-1]) < accuracy:
            return
        self.points.append(here)
        if len(self.points) > int(self.v.params.get("SRTL_POINTS")):
            self.points = _simplify(self.points, accuracy * 0.5)
            if len(self.points) > int(self.v.params.get("SRTL_POINTS")):
                self.active = False
                self.why_inactive = "buffer full"
                self.v.text(4, "SmartRTL deactivated: buffer full")

    def retrace(self) -> list[tuple[float, float, float]]:
        """Points to fly, nearest first, ending at home; empty when SmartRTL is unavailable."""
        if not self.active or len(self.points) < 1:
            return []
        p = self.v.phys
        here = (p.north_m, p.east_m)
        accuracy = max(self.v.params.get("SRTL_ACCURACY"), 0.1)
        cut = len(self.points) - 1
        for i in range(len(self.points) - 1):
            a, b = self.points[i], self.points[i + 1]
            if segment_distance_m(here, a[:2], b[:2]) <= 2.0 * accuracy:
                cut = i
                break
        return list(reversed(self.points[: cut + 1]))


def _simplify(points: list[tuple[float, float, float]],
              epsilon: float) -> list[tuple[float, float, float]]:
    """Ramer-Douglas-Peucker in 3D, iteratively (paths have thousands of points)."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        a, b = points[i], points[j]
        worst, at = -1.0, -1
        for k in range(i + 1, j):
            d = _point_line_3d(points[k], a, b)
            if d > worst:
                worst, at = d, k
        if worst > epsilon:
            keep[at] = True
            stack.extend(((i, at), (at, j)))
    return [pt for pt, k in zip(points, keep, strict=True) if k]


def _point_line_3d(p: tuple[float, float, float], a: tuple[float, float, float],
                   b: tuple[float, float, float]) -> float:
    d = [b[i] - a[i] for i in range(3)]
    w = [p[i] - a[i] for i in range(3)]
    length2 = sum(x * x for x in d)
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, sum(w[i] * d[i] for i in range(3)) / length2))
    return math.sqrt(sum((w[i] - t * d[i]) ** 2 for i in range(3)))
