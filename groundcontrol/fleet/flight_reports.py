"""The fleet controller's side of its flights: starting a sortie's ``FlightJob`` when it is due
and acting on what the job reports.

A mixin of ``FleetController`` (kept apart so each module stays readable), like ``FleetViews``.
A job runs in its own thread and reports through ``_job_report``, which only stamps the report
with the scenario time and queues it; everything else here runs on the controller's loop
thread: a take-off, a release and a landing estimate are recorded in the store or handed to the
dispatcher, and the flight's end is settled (``outcome.settle_outcome``).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

from groundcontrol.fleet.core import FleetCore
from groundcontrol.fleet.flight_job import FlightJob, JobReport
from groundcontrol.fleet.model import FleetEventKind, GroundCrew, separation_text
from groundcontrol.fleet.outcome import settle_outcome
from groundcontrol.fleet.resync import released_setting
from groundcontrol.fleet.store.sqlite import OrderState, StoreError
from groundcontrol.flight.flight import FlightConfig, FlightEvent, FlightState
from groundcontrol.flight.preflight import PreflightConfig
from missions.build import build_mission
from missions.errors import MissionBuildError
from missions.items import Mission
from planner.dispatch_model import Sortie, SortieProgress

__all__ = ["ESTIMATE_SLACK_S", "FlightReports"]

ESTIMATE_SLACK_S = 30.0
"""How far a flight's live landing estimate may drift from the schedule, in two estimates
in a row, before the dispatcher re-plans on it (seconds)."""


class FlightReports(FleetCore):
    """Starts flights and handles their reports (mixed into ``FleetController``, which sets
    the fields and provides ``emit``, ``dispatch`` and the clock)."""

    crew: GroundCrew
    jobs: dict[str, FlightJob]
    landing_at: dict[str, tuple[float, float]]
    operating: set[str]
    _inbox: queue.Queue[Callable[[], None]]
    _pace_samples: list[tuple[float, float]]
    """(wall time, scenario time) samples that ``_pace`` measures the simulator's pace on."""
    _off_schedule: dict[str, bool]
    """Orders whose last landing estimate was off the schedule: True late, False early."""

    def now_s(self) -> float:
        """Scenario time (the controller's clock)."""
        raise NotImplementedError

    def mission_for(self, sortie: Sortie) -> Mission:
        """The mission of a sortie (deterministic: the same plan gives the same items)."""
        profile = self.scenario.profile_for(self.drones[sortie.drone_id])
        return build_mission(sortie.plan, profile, self.scenario.airspace,
                             depots=self.scenario.depots)

    def _flight_config(self, sortie: Sortie) -> FlightConfig:
        cfg = self.config
        profile = self.scenario.profile_for(self.drones[sortie.drone_id])
        need = int(100.0 * sortie.plan.energy_wh / profile.battery_wh) + 1
        pre = PreflightConfig(min_battery_pct=max(cfg.min_battery_pct, min(90, need)),
                              configure=cfg.configure)
        # Flight turns vehicle-time limits into wall time with its speedup; a simulator that
        # cannot keep up runs slower than asked, so give it the pace actually measured.
        return FlightConfig(speedup=self._pace(), preflight=pre,
                            mission_timeout_s=cfg.mission_timeout_s,
                            link_lost_s=cfg.link_lost_wall_s,
                            stream_rate_hz=cfg.stream_rate_hz,
                            launch_gate=lambda: self.now_s() >= sortie.launch_s)

    def _pace(self) -> float:
        """Scenario seconds per wall second over the last few seconds (at most ``speedup``)."""
        wall, now = time.monotonic(), self.now_s()
        self._pace_samples.append((wall, now))
        while len(self._pace_samples) > 2 and wall - self._pace_samples[1][0] > 10.0:
            self._pace_samples.pop(0)
        (w0, t0), pace = self._pace_samples[0], self.config.speedup
        if wall - w0 > 2.0:
            pace = min(pace, 0.8 * (now - t0) / (wall - w0))
        return max(1.0, pace)

    def _launch(self, now: float) -> None:
        """Start the flight of every committed sortie whose launch is near (loop thread)."""
        for sortie in self.dispatcher.in_flight():
            drone_id = sortie.drone_id
            if (drone_id in self.jobs or drone_id in self.faults or drone_id in self.link_lost
                    or drone_id in self.operating
                    or now < sortie.launch_s - self.config.launch_lead_s):
                continue
            if self.store.order(sortie.order_id).state is not OrderState.ASSIGNED:
                continue  # its flight has been started or settled already
            try:
                self.start_job(sortie, reattach=False)
            except MissionBuildError as exc:
                # Planning refuses such plans (checked_plan_fn); should one slip through, the
                # drone stays on the ground and the order moves or fails with the reason.
                self.fault(drone_id, f"the mission of {sortie.order_id} cannot be built: {exc}",
                           now, recover_after=True)

    def start_job(self, sortie: Sortie, reattach: bool) -> FlightJob:
        """Start (or, after a restart, re-attach to) the flight of a sortie (loop thread)."""
        drone_id = sortie.drone_id
        profile = self.scenario.profile_for(self.drones[drone_id])
        job = FlightJob(drone_id, sortie, self.mission_for(sortie), self.channels[drone_id],
                        self.trackers[drone_id], self._flight_config(sortie), self.crew,
                        profile.battery_wh, self._job_report, reattach)
        self.jobs[drone_id] = job
        verb = "re-attached to" if reattach else "starting"
        self.emit(FleetEventKind.FLIGHT, f"{verb} the flight of {sortie.order_id}", drone_id,
                  sortie.order_id)
        job.start()
        return job

    def _job_report(self, report: JobReport) -> None:
        """From a job's thread: hand it to the loop, stamped with the time it happened (the
        loop may be busy: a take-off, a release or a landing estimate keeps its own time)."""
        at = self.now_s()
        self._inbox.put(lambda: self._on_report(report, at))

    def _on_report(self, report: JobReport, now: float) -> None:
        job = report.job
        if report.event is not None:
            self._on_flight_event(job, report.event, now)
        if report.outcome is not None:
            if self.jobs.get(job.drone_id) is job:
                del self.jobs[job.drone_id]
            try:
                settle_outcome(self, job, report.outcome, now)
            except StoreError as exc:
                # The store refused a change (it guards delivered-once): say so, keep going.
                self.emit(FleetEventKind.NOTE, f"could not record the end of {job.order_id}: "
                          f"{exc}", job.drone_id, job.order_id, "error")
            self.emit(FleetEventKind.ORDER, "", job.drone_id, job.order_id)

    def _on_flight_event(self, job: FlightJob, event: FlightEvent, now: float) -> None:
        if event.kind == "state" and event.state is FlightState.TAKEOFF and not job.reattach:
            job.launched_s = now
            try:
                self.store.start_flight(job.order_id, job.drone_id, now)
            except StoreError as exc:
                # The order moved on (cancelled or given to another drone) while this one
                # was getting ready: bring the drone back rather than fly it twice.
                job.flight.abort()
                self.emit(FleetEventKind.NOTE, f"take-off not recorded ({exc}); aborting",
                          job.drone_id, job.order_id, "error")
            self.emit(FleetEventKind.ORDER, "", job.drone_id, job.order_id)
        if event.kind == "delivered":
            self.delivered_at.setdefault(job.order_id, now)
            # Kept for a restart whose vehicles cannot tell (see resync.released_setting).
            self.store.set_setting(released_setting(job.order_id), repr(now), now)
        if event.kind == "estimate" and event.remaining_s is not None:
            self.landing_at[job.order_id] = (now + event.remaining_s, now)
            self._on_estimate(job, event.remaining_s, now)
        final = event.kind == "state" and event.state in (
            FlightState.DONE, FlightState.FAILED, FlightState.ABORTED)  # "outcome" says it
        if event.kind == "hold":
            waited = job.sortie.separation is not None
            self.emit(FleetEventKind.FLIGHT, separation_text(job.sortie), job.drone_id,
                      job.order_id, "notice" if waited else "info")
        if event.kind in ("state", "delivered", "problem", "outcome", "crew") and not final:
            severity = "warning" if event.kind == "problem" else "info"
            self.emit(FleetEventKind.FLIGHT, f"{event.state.value}: {event.detail}",
                      job.drone_id, job.order_id, severity)

    def _on_estimate(self, job: FlightJob, remaining_s: float, now: float) -> None:
        """A flight's live landing estimate: when it is off the schedule by more than
        ``ESTIMATE_SLACK_S``, the dispatcher moves the landing and what the drone flies next."""
        sortie = next((s for s in self.dispatcher.in_flight()
                       if s.order_id == job.order_id and s.drone_id == job.drone_id), None)
        land_s = now + remaining_s
        if sortie is None or abs(land_s - sortie.land_s) < ESTIMATE_SLACK_S:
            self._off_schedule.pop(job.order_id, None)
            return
        # Once is noise (a turn, the top of the climb): act when the next estimate agrees.
        late = land_s > sortie.land_s
        if self._off_schedule.get(job.order_id) is not late:
            self._off_schedule[job.order_id] = late
            return
        self.emit(FleetEventKind.FLIGHT, f"landing now expected at {land_s:.0f} s "
                  f"({land_s - sortie.land_s:+.0f} s against the plan)", job.drone_id,
                  job.order_id)
        self.dispatch(SortieProgress(job.drone_id, job.order_id, land_s,
                                     delivered=job.order_id in self.delivered_at), now)
