"""One delivery flight, from pre-flight checks to disarmed at the depot.

``Flight.run()`` checks, uploads fence/rally/mission (verified), arms in GUIDED, starts the
mission with MAV_CMD_MISSION_START and follows it with ``ProgressTracker``: progress comes from
MISSION_CURRENT and the armed/landed state, because MISSION_ITEM_REACHED is coalesced and
skips items. The delivery counts as made when MISSION_CURRENT moved past ``delivery_seq``
while armed in AUTO, plus the vehicle's text where the action has one ("Gripper Released").
ArduCopter without MIS_OPTIONS ContinueAfterLand disarms at a mid-mission NAV_LAND and resets
the mission to seq 1: that is reported as ``MISSION_RESET``, not as success.
``Flight.follow()`` follows a mission the vehicle is already flying (after a ground-station
restart) without checks, upload or arming. ``abort``/``rtl``/``land``/``pause``/``resume``
may be called from any thread; observers get small frozen ``FlightEvent``s. The pure
follower and the outcome types live in
``groundcontrol.flight.progress`` and are re-exported here.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from groundcontrol.errors import (
    CommandFailed,
    GroundControlError,
)
from groundcontrol.flight.preflight import PreflightConfig, run_preflight
from groundcontrol.flight.progress import (
    DELIVERY_TEXTS,
    FlightOutcome,
    FlightReason,
    FlightState,
    ProgressTracker,
)
from groundcontrol.flight.record import FlightRecorder
from groundcontrol.mavlink.commands import (
    CommandConfig,
    Commander,
    StreamKeeper,
    default_stream_rate_hz,
)
from groundcontrol.mavlink.messages import VehicleChannel
from groundcontrol.mavlink.transfer import TransferConfig, upload_verified
from groundcontrol.mavlink.vehicle import VehicleState, VehicleTracker
from missions.items import Mission, MissionType

__all__ = [
    "DELIVERY_TEXTS",
    "Flight",
    "FlightConfig",
    "FlightEvent",
    "FlightOutcome",
    "FlightReason",
    "FlightState",
    "ProgressTracker",
]

log = logging.getLogger(__name__)


ESTIMATE_EVERY_S = 10.0
"""Vehicle seconds between "estimate" events (time left to the landing) while flying."""


@dataclass(frozen=True, slots=True)
class FlightEvent:
    """Something an observer (TUI, dispatcher, CLI) should know; ``kind`` says what."""

    sysid: int
    kind: str
    """"state", "progress", "estimate", "hold", "text", "delivered", "problem"."""
    state: FlightState
    detail: str = ""
    seq: int | None = None
    time_s: float = field(default_factory=time.monotonic)
    remaining_s: float | None = None
    """For "estimate": vehicle seconds until the landing, from live progress."""


@dataclass(frozen=True, slots=True)
class FlightConfig:
    """Limits and retries of one flight (vehicle-time limits are divided by ``speedup``)."""

    speedup: float = 1.0
    """Vehicle seconds per wall second (simulator speedup); vehicle-time limits are divided."""
    preflight: PreflightConfig = field(default_factory=PreflightConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    commands: CommandConfig = field(default_factory=CommandConfig)
    arm_attempts: int = 15
    arm_retry_s: float = 3.0
    """Vehicle seconds between ARM attempts while pre-arm checks settle."""
    mission_timeout_s: float | None = None
    """Hard limit in vehicle seconds from MISSION_START to disarmed; None: none beyond the
    plan-derived budget, which is extended while the vehicle keeps making progress."""
    stall_s: float = 180.0
    """Vehicle seconds without progress (no new mission item, not moving) past the budget
    before the flight is given up."""
    link_lost_s: float = 5.0
    """Wall seconds without any message before reporting the link lost."""
    link_giveup_s: float = 120.0
    require_delivery_text: bool = True
    poll_s: float = 0.05
    stream_rate_hz: int | None = None
    """REQUEST_DATA_STREAM(ALL) rate in Hz (0: message intervals only); None picks
    ``default_stream_rate_hz(speedup)``. A fleet sharing one link asks for less."""
    launch_gate: Callable[[], bool] | None = None
    """Arm only once this returns True (a sortie's launch slot), asked after the checks and
    the upload; None: arm at once. Lets a fleet prepare a drone during its turnaround and
    still take off when the dispatcher planned."""


Observer = Callable[[FlightEvent], None]


class Flight:
    """Flies one ``Mission`` on one vehicle; ``run()`` blocks and returns the outcome."""

    def __init__(self, channel: VehicleChannel, mission: Mission, *,
                 tracker: VehicleTracker | None = None, config: FlightConfig = FlightConfig(),
                 observer: Observer | None = None) -> None:
        self.channel = channel
        self.mission = mission
        self.config = config
        self.observer = observer or (lambda event: None)
        self.commander = Commander(channel, config.commands)
        self._own_tracker = tracker is None
        self.tracker = tracker or VehicleTracker(channel.sysid)
        self._unsubscribe = channel.subscribe(self.tracker.update) if tracker is None else None
        self.progress = ProgressTracker(mission, config.require_delivery_text)
        self.recorder = FlightRecorder(mission)
        self._requests: queue.Queue[str] = queue.Queue()
        self._state = FlightState.PREFLIGHT
        self._aborted = False
        self._operator_reason: FlightReason | None = None
        self._pause_how: str | None = None
        self._started_s = time.monotonic()
        self._reported_seq: int | None = None
        self._estimated_at: float | None = None
        """Vehicle time of the last "estimate" event."""
        self._told_delivered = False
        self._told_left_auto = False
        self._cut_short = ""

    # -- control from any thread -----------------------------------------------------------
    @property
    def state(self) -> FlightState:
        return self._state

    @property
    def cut_short(self) -> str:
        """Why the vehicle is coming back before the end of its mission ("" while it is not):
        the operator's request, or the mode it switched to (and the failsafe when known)."""
        return self._cut_short

    def abort(self) -> None:
        """Stop the flight: before takeoff nothing more is sent; in the air, RTL."""
        self._aborted = True
        self._requests.put("abort")

    def rtl(self) -> None:
        self._requests.put("rtl")

    def land(self) -> None:
        self._requests.put("land")

    def pause(self) -> None:
        self._requests.put("pause")

    def resume(self) -> None:
        self._requests.put("resume")

    # -- events ----------------------------------------------------------------------------
    def _emit(self, kind: str, detail: str = "", seq: int | None = None) -> None:
        self.observer(FlightEvent(self.channel.sysid, kind, self._state, detail, seq))

    def _set_state(self, state: FlightState, detail: str = "") -> None:
        if state is not self._state:
            self._state = state
            self._emit("state", detail or state.value)

    def _fail(self, reason: FlightReason, exc: Exception | str, state: FlightState =
              FlightState.FAILED) -> FlightOutcome:
        self._set_state(state, f"{reason.value}: {exc}")
        s = self.tracker.snapshot()
        self.recorder.update(s)
        # A release the vehicle confirmed stays a delivery whatever ends the flight after it.
        return FlightOutcome(self.progress.delivered, not s.armed, not s.armed, reason,
                             str(exc), state, self.progress.max_seq,
                             time.monotonic() - self._started_s, s.energy_wh,
                             self.recorder.record())

    # -- the flight ------------------------------------------------------------------------
    def run(self) -> FlightOutcome:
        """Fly the mission; never raises for vehicle or link problems (they are outcomes)."""

        def fly() -> FlightOutcome:
            outcome = self._prepare()
            return self._fly() if outcome is None else outcome

        return self._streamed(fly)

    def follow(self) -> FlightOutcome:
        """Follow the mission the vehicle is already flying, from its current item to
        disarmed: no pre-flight checks, no upload (it would restart the mission), no arming.

        When the vehicle is already past ``delivery_seq`` its release text went to whoever
        was connected then, so passing the item is the evidence of the delivery. Never
        raises for vehicle or link problems (they are outcomes).
        """
        seq = self.tracker.snapshot().mission_seq or 0
        if self.mission.delivery_seq is not None and seq > self.mission.delivery_seq:
            self.progress.require_text = False

        def fly() -> FlightOutcome:
            self._started_s = time.monotonic()
            self._set_state(FlightState.EN_ROUTE, "re-attached")
            return self._fly()

        return self._streamed(fly)

    def _stream_rate_hz(self) -> int:
        rate = self.config.stream_rate_hz
        return default_stream_rate_hz(self.config.speedup) if rate is None else rate

    def _streamed(self, fly: Callable[[], FlightOutcome]) -> FlightOutcome:
        """Run ``fly`` with telemetry kept up (re-requested after a reboot), then report."""
        speedup = self.config.speedup
        keeper = StreamKeeper(self.channel, max(1.0, 3.0 / speedup), self._stream_rate_hz(),
                              speedup)
        try:
            outcome = fly()
        finally:
            keeper.close()
            if self._unsubscribe is not None:
                self._unsubscribe()
        self._emit("outcome", str(outcome))
        return outcome

    def _prepare(self) -> FlightOutcome | None:
        """Checks, upload, arm and start: the outcome if a step fails or aborts, else None."""
        try:
            self._wait_heard()
        except GroundControlError as exc:
            return self._fail(FlightReason.LINK_LOST, exc)
        try:
            self._preflight()
        except GroundControlError as exc:
            return self._fail(FlightReason.PREFLIGHT_FAILED, exc)
        if self._aborted:
            return self._fail(FlightReason.ABORTED, "before upload", FlightState.ABORTED)
        self._set_state(FlightState.UPLOADING)
        try:
            self._upload()
        except GroundControlError as exc:  # rejected, verify failed, timed out, link
            return self._fail(FlightReason.UPLOAD_FAILED, exc)
        if self._aborted:
            return self._fail(FlightReason.ABORTED, "before arming", FlightState.ABORTED)
        gate = self.config.launch_gate
        if gate is not None and not gate():
            self._emit("hold", "ready: holding for the launch slot")
            while not gate():
                if self._aborted:
                    return self._fail(FlightReason.ABORTED, "before arming",
                                      FlightState.ABORTED)
                time.sleep(self.config.poll_s)
        return self._start()

    def _preflight(self) -> None:
        """Telemetry streams at the simulator's rate, then the pre-flight checks, each reported."""
        cfg = self.config
        self.commander.request_streams(self._stream_rate_hz(), speedup=cfg.speedup)
        # the fence is uploaded and enabled by this flight, so it cannot be a precondition
        skip = frozenset({"FENCE_ENABLE"}) if self.mission.fence else frozenset()
        pre = replace(cfg.preflight, speedup=cfg.speedup)
        for r in run_preflight(self.commander, self.tracker, self.mission, pre, skip,
                               stop=lambda: self._aborted):
            self._emit("check", f"{r.name}: {r.detail}")

    def _start(self) -> FlightOutcome | None:
        """Arm in GUIDED and start the mission; a vehicle armed but not started is disarmed."""
        self._set_state(FlightState.ARMING)
        try:
            self.commander.set_mode("GUIDED")
            self._arm()
        except GroundControlError as exc:
            return self._fail(FlightReason.ARM_FAILED, exc)
        try:
            self.commander.mission_start()
        except GroundControlError as exc:
            self._safe(self.commander.disarm)
            return self._fail(FlightReason.START_FAILED, exc)
        self._started_s = time.monotonic()
        self._set_state(FlightState.TAKEOFF)
        return None

    def _wait_heard(self) -> None:
        deadline = time.monotonic() + 10.0
        while self.tracker.snapshot().heartbeats == 0:
            if time.monotonic() > deadline:
                raise GroundControlError(f"no HEARTBEAT from vehicle {self.channel.sysid}")
            time.sleep(0.05)

    def _upload(self) -> None:
        m, cfg = self.mission, self.config.transfer
        if m.fence:
            upload_verified(self.channel, m.fence, MissionType.FENCE, cfg)
            self.commander.set_param("FENCE_ENABLE", 1)  # DO_FENCE_ENABLE leaves the param at 0
            self._emit("upload", f"fence: {len(m.fence)} items verified, enabled")
        if m.rally:
            upload_verified(self.channel, m.rally, MissionType.RALLY, cfg)
            self._emit("upload", f"rally: {len(m.rally)} items verified")
        upload_verified(self.channel, m.items, MissionType.MISSION, cfg)
        self._emit("upload", f"mission: {len(m.items)} items verified")

    def _arm(self) -> None:
        cfg = self.config
        for attempt in range(1, cfg.arm_attempts + 1):
            try:
                self.commander.arm()
                return
            except CommandFailed as exc:
                if attempt == cfg.arm_attempts or self._aborted:
                    raise
                self._emit("problem", f"arm attempt {attempt} refused: {'; '.join(exc.texts)}")
                wait = self.tracker.deadline(cfg.arm_retry_s, cfg.speedup)
                while not wait.expired():
                    time.sleep(0.02)

    def _safe(self, action: Callable[[], object]) -> bool:
        try:
            action()
            return True
        except GroundControlError as exc:
            self._emit("problem", f"{exc}")
            return False

    def _budget_s(self) -> float:
        """Vehicle seconds the flight may take before it is re-estimated: the plan's time with
        half again and two minutes for the ground, else an hour."""
        planned = self.recorder.planned_s
        budget = 3600.0 if planned is None else 1.5 * planned + 120.0
        hard = self.config.mission_timeout_s
        return budget if hard is None else min(budget, hard)

    def _fly(self) -> FlightOutcome:
        """Follow the mission to its ending, or give up on a silent link or a stalled flight."""
        cfg = self.config
        deadline = self.tracker.deadline(self._budget_s(), cfg.speedup)
        hard = None if cfg.mission_timeout_s is None else self.tracker.deadline(
            cfg.mission_timeout_s, cfg.speedup)
        link_problem = False
        watch = _ProgressWatch(cfg.stall_s / cfg.speedup)
        while True:
            self._serve_requests()
            s = self.tracker.snapshot()
            self.recorder.update(s)
            watch.update(s)
            phase = self.progress.update(s)
            if self._pause_how is None:
                self._set_state(phase)
            self._report_progress(s)
            outcome = self.progress.ending(s)
            if outcome is not None:
                return self._finish(outcome)
            age = s.link_age_s() or 0.0
            if age > cfg.link_lost_s and not link_problem:
                link_problem = True
                self._emit("problem", f"no message for {age:.1f} s")
            elif age <= cfg.link_lost_s:
                link_problem = False
            if link_problem and age > cfg.link_giveup_s:
                return self._fail(FlightReason.LINK_LOST, f"silent for {age:.0f} s")
            if deadline.expired():
                if watch.stalled() or (hard is not None and hard.expired()):
                    self._safe(self.commander.rtl)
                    return self._fail(FlightReason.TIMEOUT, self._timeout_text(s, watch))
                deadline = self.tracker.deadline(self._extension_s(), cfg.speedup)
                self._emit("problem", self._slow_text())
            time.sleep(cfg.poll_s)

    def _extension_s(self) -> float:
        planned = self.recorder.planned_s
        return max(120.0, 0.25 * planned) if planned is not None else 600.0

    def _slow_text(self) -> str:
        """The re-estimate told to observers when the flight runs past its budget."""
        record = self.recorder.record()
        flown = self.recorder.elapsed_s()
        planned = record.planned_s
        text = f"slower than planned: {flown:.0f} s flown" if flown is not None else \
            "slower than planned"
        if planned is not None:
            text += f", plan said {planned:.0f} s"
        return text + f"; still progressing, allowing {self._extension_s():.0f} s more"

    def _timeout_text(self, s: VehicleState, watch: _ProgressWatch) -> str:
        why = (f"no progress for {self.config.stall_s:.0f} s at item {s.mission_seq}"
               if watch.stalled() else "hard time limit reached")
        return f"flight timed out ({why}); RTL sent"

    def _report_progress(self, s: VehicleState) -> None:
        """Tell observers of a new mission item, of leaving AUTO and of the delivery, once each,
        and every ``ESTIMATE_EVERY_S`` vehicle seconds how long until the landing."""
        now = s.boot_ms / 1000.0 if s.boot_ms is not None else None
        if now is not None and s.armed and s.mode == "AUTO" and (
                self._estimated_at is None or now - self._estimated_at >= ESTIMATE_EVERY_S):
            left = self.recorder.remaining_s(s)
            if left is not None:
                self._estimated_at = now
                self.observer(FlightEvent(self.channel.sysid, "estimate", self._state,
                                          f"landing in {left:.0f} s", s.mission_seq,
                                          remaining_s=left))
        if s.mission_seq != self._reported_seq and s.armed:
            self._reported_seq = s.mission_seq
            self._emit("progress", f"item {s.mission_seq}/{self.progress.last_seq}",
                       s.mission_seq)
        if self.progress.left_auto and not self._told_left_auto:
            self._told_left_auto = True
            why = self.progress.failsafe_reason(s)
            text = f"vehicle switched to {self.progress.left_auto}" + (
                f" ({why.value})" if why else "")
            self._cut_short = self._cut_short or text
            self._emit("problem", text)
        if self.progress.delivered and not self._told_delivered:
            self._told_delivered = True
            self._emit("delivered", self.progress.text_seen or "passed the delivery item")

    def _finish(self, outcome: FlightOutcome) -> FlightOutcome:
        reason, state = outcome.reason, outcome.state
        if self._operator_reason is not None and reason is not FlightReason.COMPLETED:
            reason = self._operator_reason
            state = FlightState.ABORTED if reason is FlightReason.ABORTED else state
        self.recorder.update(self.tracker.snapshot())
        final = FlightOutcome(outcome.delivered, outcome.landed, outcome.disarmed, reason,
                              outcome.detail, state, outcome.reached_seq,
                              time.monotonic() - self._started_s, outcome.energy_wh,
                              self.recorder.record())
        self._set_state(state, str(final))
        return final

    def _safe_return(self) -> None:
        self.progress.requested_mode = "SMART_RTL"
        self.progress.requested_mode = self.commander.safe_return()
        if self.progress.requested_mode != "SMART_RTL":
            self._emit("problem", "SMART_RTL refused: landing where it is")

    def _serve_requests(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request in ("abort", "rtl", "land"):
                self._cut_short = f"{request} requested by the operator"
            if request in ("abort", "rtl"):
                self._operator_reason = FlightReason.ABORTED
                self.progress.requested_mode = "SMART_RTL"
                self._pause_how = None
                self._safe(self._safe_return)
            elif request == "land":
                self._operator_reason = FlightReason.ABORTED
                self.progress.requested_mode = "LAND"
                self._safe(self.commander.land)
            elif request == "pause" and self._pause_how is None:
                self.progress.requested_mode = "BRAKE"
                try:
                    self._pause_how = self.commander.pause()
                    self._set_state(FlightState.PAUSED)
                except GroundControlError as exc:
                    self._emit("problem", f"pause failed: {exc}")
            elif request == "resume" and self._pause_how is not None and self._safe(
                    lambda: self.commander.resume(self._pause_how or "pause")):
                self._pause_how = None


class _ProgressWatch:
    """Wall time since the vehicle last made progress: a new mission item, or moving."""

    def __init__(self, stall_wall_s: float) -> None:
        self.stall_wall_s = stall_wall_s
        self.seq: int | None = None
        self.last_s = time.monotonic()

    def update(self, s: VehicleState) -> None:
        moving = (s.groundspeed_ms or 0.0) > 1.0 or abs(s.climb_ms or 0.0) > 0.3
        if moving or s.mission_seq != self.seq:
            self.seq = s.mission_seq
            self.last_s = time.monotonic()

    def stalled(self) -> bool:
        return time.monotonic() - self.last_s > self.stall_wall_s
