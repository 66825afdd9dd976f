"""RTL as ArduCopter flies it: climb to RTL_ALT (or stay higher), return home, loiter
RTL_LOIT_TIME, descend and land (LAND_SPEED below LAND_ALT_LOW), disarm."""

from __future__ import annotations

import math

from .physics import NavTarget
from .state import VehicleCore

__all__ = ["RtlController"]


class RtlController:
    """State machine for RTL mode and the mission's NAV_RETURN_TO_LAUNCH."""

    def __init__(self, vehicle: VehicleCore) -> None:
        self.v = vehicle
        self.phase = "idle"
        self.return_up_m = 0.0
        self.t0_s = 0.0
        self.home_ne = (0.0, 0.0)
        self.in_mission = False

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
        if self.phase == "climb" and p.up_m >= self.return_up_m - 0.5:
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

    def done(self) -> bool:
        return self.phase == "landed"
