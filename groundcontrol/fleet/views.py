"""The read side of the fleet controller: drone views, the summary, and waiting until done.

A mixin of ``FleetController`` (kept apart so each module stays readable); every method here
only reads the controller's state and may be called from any thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.core import FleetState
from groundcontrol.fleet.flight_job import FlightJob
from groundcontrol.fleet.model import DroneActivity, DroneView
from groundcontrol.fleet.stats import FleetSummary, summarize
from groundcontrol.fleet.store.sqlite import OrderState
from groundcontrol.flight.flight import FlightState
from groundcontrol.flight.preflight import distance_m
from planner.model import Infeasibility, Order

__all__ = ["ESTIMATE_FRESH_S", "FleetViews"]

ESTIMATE_FRESH_S = 30.0
"""A flight's landing estimate (sent every 10 vehicle seconds in AUTO) older than this many
scenario seconds is stale: the ETA is worked out from where the vehicle is instead."""
MIN_RETURN_SPEED_MS = 3.0
"""Below this ground speed (a turn, a hover) the ETA assumes the profile's cruise speed."""

_PHASES = {
    FlightState.PREFLIGHT: DroneActivity.PREFLIGHT, FlightState.ARMING: DroneActivity.PREFLIGHT,
    FlightState.UPLOADING: DroneActivity.UPLOADING, FlightState.TAKEOFF: DroneActivity.EN_ROUTE,
    FlightState.EN_ROUTE: DroneActivity.EN_ROUTE, FlightState.PAUSED: DroneActivity.PAUSED,
    FlightState.DELIVERING: DroneActivity.DELIVERING,
    FlightState.RETURNING: DroneActivity.RETURNING, FlightState.LANDING: DroneActivity.RETURNING,
    FlightState.LANDED: DroneActivity.LANDED,
}


class FleetViews(FleetState):
    """Views of a running fleet (mixed into ``FleetController``, which sets the fields)."""

    jobs: dict[str, FlightJob]
    rejected: dict[str, tuple[Infeasibility, ...]]
    why: dict[str, str]
    error: BaseException | None
    lost: set[str]
    landing_at: dict[str, tuple[float, float]]
    """Per order in the air: the scenario time its flight last expected to land, and when it
    said so (from the flight's "estimate" events)."""
    _releases: list[Order]

    def now_s(self) -> float:
        """Scenario time (the controller's clock)."""
        raise NotImplementedError

    def activity(self, drone_id: str) -> DroneActivity:
        job = self.jobs.get(drone_id)
        if job is not None:
            return _PHASES.get(job.state, DroneActivity.LANDED)
        if drone_id in self.link_lost:
            return DroneActivity.LINK_LOST
        if drone_id in self.faults:
            return DroneActivity.FAULT
        return DroneActivity.IDLE

    def drone_views(self) -> list[DroneView]:
        """Every drone's state now (any thread)."""
        views = []
        now = self.now_s()
        for drone_id, drone in self.drones.items():
            job = self.jobs.get(drone_id)
            views.append(DroneView(drone_id, drone.name or drone_id, drone.sysid,
                                   self.activity(drone_id), self.trackers[drone_id].snapshot(),
                                   job.order_id if job else None,
                                   None if job is None else self.eta_s(job, now),
                                   self.faults.get(drone_id, "")))
        return views

    def eta_s(self, job: FlightJob, now: float) -> float | None:
        """Scenario time of a flight's next milestone: the drop-off while outbound (as
        scheduled, moved by as much as the take-off was late), the landing once delivered or
        coming back (live), None while paused."""
        if job.state is FlightState.PAUSED:
            return None  # held by the operator: no time can be promised
        returning = job.delivered or bool(job.flight.cut_short) or job.state in (
            FlightState.RETURNING, FlightState.LANDING)
        if not returning:
            # A sortie flown again after a restart, or held on the pad, leaves late: its
            # scheduled drop-off had passed ("ETA 0s" for the whole way out).
            sortie = job.sortie
            if job.launched_s is not None:
                start = job.launched_s
            elif job.took_off:  # followed after a restart: its take-off time is not known
                start = sortie.launch_s
            else:  # still on the ground
                start = max(now, sortie.launch_s)
            return sortie.dropoff_s + max(0.0, start - sortie.launch_s)
        estimate = self.landing_at.get(job.order_id)
        if estimate is not None and not job.flight.cut_short and \
                now - estimate[1] <= ESTIMATE_FRESH_S:
            return estimate[0]
        return self._landing_from_position(job, now)

    def _landing_from_position(self, job: FlightJob, now: float) -> float:
        """The landing time from the vehicle's distance to its depot, its ground speed (the
        profile's cruise speed when slower) and its height (the profile's descent speed)."""
        s = self.trackers[job.drone_id].snapshot()
        profile = self.scenario.profile_for(self.drones[job.drone_id])
        if s.lat_deg is None or s.lon_deg is None:
            return max(now, job.sortie.land_s)
        depot = job.sortie.plan.depot.position
        away_m = distance_m(s.lat_deg, s.lon_deg, depot.lat, depot.lon)
        speed = s.groundspeed_ms if (s.groundspeed_ms or 0.0) >= MIN_RETURN_SPEED_MS else \
            profile.cruise_speed_ms
        height = max(0.0, s.alt_rel_m or 0.0)
        return now + away_m / max(speed or 0.0, MIN_RETURN_SPEED_MS) + \
            height / profile.descent_speed_ms

    def order_note(self, order_id: str) -> str:
        """Why an order's flight is coming back or ended short, or why its launch waits for
        separation ("" when nothing is amiss): the store keeps the order in flight until the
        vehicle is down, this says why."""
        job = next((j for j in list(self.jobs.values()) if j.order_id == order_id), None)
        if job is not None and job.flight.cut_short and not job.delivered:
            return f"returning: {job.flight.cut_short}"
        wait = job.sortie.separation if job is not None and not job.took_off else None
        if wait is not None and wait.held_s > 0:
            return (f"launch held {wait.held_s:.0f} s for separation from "
                    f"{wait.other_drone_id} ({wait.kind})")
        return self.why.get(order_id, "")

    def pending_releases(self) -> int:
        return len(self._releases)

    def summary(self) -> FleetSummary:
        return summarize(self.store, self.scenario, self.delivered_at, self.rejected)

    def open_orders(self) -> list[str]:
        """Ids of the orders the store still has open (not delivered, failed, cancelled or
        rejected)."""
        open_states = (OrderState.NEW, OrderState.PLANNED, OrderState.ASSIGNED,
                       OrderState.IN_FLIGHT)
        return [s.order.id for s in self.store.orders() if s.state in open_states]

    def done(self) -> bool:
        """No order left to release, no flight under way, and no open order in the store."""
        return not self._releases and not self.jobs and not self.open_orders()

    def run_until_done(self, timeout_wall_s: float, stalled: Callable[[], bool] | None = None,
                       since: float | None = None) -> FleetSummary:
        """Block until ``done()`` (or ``stalled()``), then return the summary.

        ``timeout_wall_s`` counts from ``since`` (a ``time.monotonic()``; default now), so a
        caller's wait for the vehicles is part of it.

        Raises:
            GroundControlError: the loop failed, an open order was lost by the dispatcher
                (named), or the timeout passed first.
        """
        deadline = (time.monotonic() if since is None else since) + timeout_wall_s
        while not self.done():
            if self.error is not None:
                raise GroundControlError(f"fleet controller failed: {self.error!r}")
            lost = sorted(self.lost & set(self.open_orders()))
            if lost and not self._releases and not self.jobs:
                raise GroundControlError(f"orders lost by the dispatcher: {', '.join(lost)}")
            if stalled is not None and stalled():
                break
            if time.monotonic() > deadline:
                still = self.open_orders()
                waiting = self.pending_releases()
                what = ", ".join(still) if still else "none placed yet"
                raise GroundControlError(
                    f"orders still open after {timeout_wall_s:.0f} s: {what}"
                    + (f"; {waiting} more not yet placed" if waiting else ""))
            time.sleep(0.1)
        return self.summary()
