"""One delivery flight, from pre-flight checks to disarmed at the depot.

``Flight.run()`` checks, uploads fence/rally/mission (verified), arms in GUIDED, starts the
mission with MAV_CMD_MISSION_START and follows it with ``ProgressTracker``: progress comes from
MISSION_CURRENT and the armed/landed state, because MISSION_ITEM_REACHED is coalesced and
skips items. The delivery counts as made when MISSION_CURRENT moved past ``delivery_seq``
while armed in AUTO, plus the vehicle's text where the action has one ("Gripper Released").
ArduCopter without MIS_OPTIONS ContinueAfterLand disarms at a mid-mission NAV_LAND and resets
the mission to seq 1: that is reported as ``MISSION_RESET``, not as success.
``abort``/``rtl``/``land``/``pause``/``resume`` may be called from any thread; observers get
small frozen ``FlightEvent``s.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.commands import (
    CommandConfig,
    Commander,
    StreamKeeper,
    default_stream_rate_hz,
)
from groundcontrol.errors import (
    CommandFailed,
    GroundControlError,
    MissionRejected,
    MissionTransferTimeout,
    MissionVerifyFailed,
)
from groundcontrol.messages import VehicleChannel
from groundcontrol.preflight import PreflightConfig, run_preflight
from groundcontrol.transfer import TransferConfig, upload_verified
from groundcontrol.vehicle import VehicleState, VehicleTracker
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


class FlightState(Enum):
    PREFLIGHT = "preflight"
    UPLOADING = "uploading"
    ARMING = "arming"
    TAKEOFF = "takeoff"
    EN_ROUTE = "en route"
    DELIVERING = "delivering"
    RETURNING = "returning"
    LANDING = "landing"
    LANDED = "landed"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    ABORTED = "aborted"


class FlightReason(Enum):
    COMPLETED = "completed"
    PREFLIGHT_FAILED = "preflight checks failed"
    UPLOAD_FAILED = "upload failed"
    ARM_FAILED = "arming failed"
    START_FAILED = "mission start failed"
    MISSION_RESET = "vehicle disarmed mid-mission and reset the mission"
    NOT_DELIVERED = "mission flown but no evidence the payload was released"
    BATTERY_FAILSAFE = "battery failsafe"
    GCS_FAILSAFE = "GCS failsafe"
    FENCE_BREACH = "fence breach"
    MODE_CHANGED = "vehicle left AUTO"
    ABORTED = "aborted by the operator"
    LINK_LOST = "link lost"
    TIMEOUT = "flight timed out"


DELIVERY_TEXTS: dict[int, tuple[str, ...]] = {
    mavlink.MAV_CMD_DO_GRIPPER: ("Gripper Released", "Gripper load released"),
    mavlink.MAV_CMD_DO_WINCH: ("Winch:",),
    mavlink.MAV_CMD_NAV_PAYLOAD_PLACE: ("PayloadPlace: Releasing",),
}
"""Texts ArduCopter sends when the delivery action really ran (a disabled gripper is silent)."""


@dataclass(frozen=True, slots=True)
class FlightEvent:
    """Something an observer (TUI, dispatcher, CLI) should know; ``kind`` says what."""

    sysid: int
    kind: str
    """"state", "progress", "text", "delivered", "problem"."""
    state: FlightState
    detail: str = ""
    seq: int | None = None
    time_s: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class FlightOutcome:
    """How a flight ended."""

    delivered: bool
    landed: bool
    disarmed: bool
    reason: FlightReason
    detail: str = ""
    state: FlightState = FlightState.DONE
    reached_seq: int = 0
    """Highest MISSION_CURRENT seen while armed in AUTO."""
    duration_s: float = 0.0
    energy_wh: float | None = None

    @property
    def success(self) -> bool:
        return self.delivered and self.landed and self.disarmed

    def __str__(self) -> str:
        flags = f"delivered={self.delivered} landed={self.landed} disarmed={self.disarmed}"
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.reason.value}{detail} ({flags})"


@dataclass(frozen=True, slots=True)
class FlightConfig:
    speedup: float = 1.0
    """Vehicle seconds per wall second (simulator speedup); vehicle-time limits are divided."""
    preflight: PreflightConfig = field(default_factory=PreflightConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    commands: CommandConfig = field(default_factory=CommandConfig)
    arm_attempts: int = 15
    arm_retry_s: float = 3.0
    """Vehicle seconds between ARM attempts while pre-arm checks settle."""
    mission_timeout_s: float = 3600.0
    """Vehicle seconds from MISSION_START to disarmed."""
    link_lost_s: float = 5.0
    """Wall seconds without any message before reporting the link lost."""
    link_giveup_s: float = 120.0
    require_delivery_text: bool = True
    poll_s: float = 0.05


class ProgressTracker:
    """Pure follower of a running mission: fed snapshots, tells the phase and the ending."""

    def __init__(self, mission: Mission, require_text: bool = True,
                 since_s: float | None = None) -> None:
        self.mission = mission
        self.since_s = time.monotonic() if since_s is None else since_s
        """Texts received before this (monotonic) belong to an earlier flight."""
        self.auto_seen = False
        self.last_seq = len(mission.items) - 1
        self.require_text = require_text
        self.was_armed = False
        self.max_seq = 0
        self.passed_delivery = False
        self.text_seen: str | None = None
        self.left_auto: str | None = None
        self.requested_mode: str | None = None
        self.final_land_seen = False
        delivery = mission.items[mission.delivery_seq] if mission.delivery_seq else None
        self.expected_texts = DELIVERY_TEXTS.get(delivery.command, ()) if delivery else ()
        self._last_text_s = self.since_s

    @property
    def delivered(self) -> bool:
        if self.mission.delivery_seq is None or not self.passed_delivery:
            return False
        return bool(self.text_seen) or not (self.require_text and self.expected_texts)

    def update(self, s: VehicleState) -> FlightState:
        """Fold in one snapshot; returns the flight phase it shows."""
        self._scan_texts(s)
        if s.armed:
            self.was_armed = True
        if s.armed and s.mode == "AUTO" and s.mission_seq is not None:
            self.auto_seen = True
            self.max_seq = max(self.max_seq, s.mission_seq)
            if self.mission.delivery_seq is not None and s.mission_seq > self.mission.delivery_seq:
                self.passed_delivery = True
            if s.mission_seq >= self.last_seq:
                self.final_land_seen = True
        if self.auto_seen and s.armed and s.mode not in ("AUTO", self.requested_mode):
            self.left_auto = self.left_auto or s.mode
        return self._phase(s)

    def _scan_texts(self, s: VehicleState) -> None:
        # The release text comes before MISSION_CURRENT moves on, so any text since the
        # flight was armed counts (texts of earlier flights are older than since_s).
        for t in s.texts:
            if t.received_s <= self._last_text_s:
                continue
            self._last_text_s = t.received_s
            if self.was_armed and self.text_seen is None and any(
                    t.text.startswith(p) for p in self.expected_texts):
                self.text_seen = t.text

    def _phase(self, s: VehicleState) -> FlightState:
        if not self.was_armed:
            return FlightState.ARMING
        if not s.armed:
            return FlightState.LANDED  # the run loop turns this into DONE/FAILED
        if s.mode in ("RTL", "SMART_RTL"):
            return FlightState.RETURNING
        if s.mode == "LAND" or (self.final_land_seen and s.mode == "AUTO"):
            return FlightState.LANDING
        seq = s.mission_seq or 0
        drop = self.mission.dropoff_seq or self.last_seq
        if seq <= 1:
            return FlightState.TAKEOFF
        if seq < drop:
            return FlightState.EN_ROUTE
        if not self.passed_delivery:
            return FlightState.DELIVERING
        return FlightState.RETURNING

    def ending(self, s: VehicleState) -> FlightOutcome | None:
        """The outcome once the vehicle is disarmed after having flown, else None."""
        if not self.was_armed or s.armed:
            return None
        failsafe = self.failsafe_reason(s)
        if self.final_land_seen:
            reason = FlightReason.COMPLETED if self.delivered else FlightReason.NOT_DELIVERED
            detail = self.text_seen or ""
        elif failsafe is not None:
            reason, detail = failsafe, f"ended in {s.mode} at seq {self.max_seq}"
        else:
            reason = FlightReason.MISSION_RESET
            back = ", MISSION_CURRENT back at 1" if s.mission_seq == 1 else ""
            detail = (f"disarmed at seq {self.max_seq} before the final land (seq "
                      f"{self.last_seq}){back}; ArduCopter resets the mission after a landing "
                      "unless MIS_OPTIONS bit 2 (ContinueAfterLand) is set")
        # EXTENDED_SYS_STATE may lag the disarm; ArduCopter disarms in the air only when forced
        # or crashing, so low altitude counts as landed too.
        landed = s.on_ground or s.landed_state is None or (
            s.alt_rel_m is not None and abs(s.alt_rel_m) < 3.0)
        return FlightOutcome(self.delivered, landed, True, reason, detail,
                             FlightState.DONE if reason is FlightReason.COMPLETED
                             else FlightState.FAILED, self.max_seq,
                             energy_wh=s.energy_wh)

    def failsafe_reason(self, s: VehicleState) -> FlightReason | None:
        texts = " | ".join(t.text for t in s.texts[-30:])
        if "Battery Failsafe" in texts or "Battery 1 is" in texts:
            return FlightReason.BATTERY_FAILSAFE
        if "GCS Failsafe" in texts:  # even once cleared, the vehicle stays in RTL
            return FlightReason.GCS_FAILSAFE
        if s.fence_breach_count or "fence breached" in texts.lower():
            return FlightReason.FENCE_BREACH
        if self.left_auto is not None:
            return FlightReason.MODE_CHANGED
        return None


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
        self._requests: queue.Queue[str] = queue.Queue()
        self._state = FlightState.PREFLIGHT
        self._aborted = False
        self._operator_reason: FlightReason | None = None
        self._pause_how: str | None = None
        self._started_s = time.monotonic()
        self._told_delivered = False
        self._told_left_auto = False

    # -- control from any thread -----------------------------------------------------------
    @property
    def state(self) -> FlightState:
        return self._state

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
        return FlightOutcome(False, not s.armed, not s.armed, reason, str(exc), state,
                             duration_s=time.monotonic() - self._started_s)

    # -- the flight ------------------------------------------------------------------------
    def run(self) -> FlightOutcome:
        """Fly the mission; never raises for vehicle or link problems (they are outcomes)."""
        speedup = self.config.speedup
        keeper = StreamKeeper(self.channel, max(1.0, 3.0 / speedup),
                              default_stream_rate_hz(speedup), speedup)
        try:
            outcome = self._prepare()
            if outcome is None:
                outcome = self._fly()
        finally:
            keeper.close()
            if self._unsubscribe is not None:
                self._unsubscribe()
        self._emit("outcome", str(outcome))
        return outcome

    def _prepare(self) -> FlightOutcome | None:
        cfg = self.config
        try:
            self._wait_heard()
        except GroundControlError as exc:
            return self._fail(FlightReason.LINK_LOST, exc)
        try:
            self.commander.request_streams(default_stream_rate_hz(cfg.speedup),
                                           speedup=cfg.speedup)
            skip = frozenset({"FENCE_ENABLE"}) if self.mission.fence else frozenset()
            pre = replace(cfg.preflight, speedup=cfg.speedup)
            for r in run_preflight(self.commander, self.tracker, self.mission, pre, skip,
                                   stop=lambda: self._aborted):
                self._emit("check", f"{r.name}: {r.detail}")
        except GroundControlError as exc:
            return self._fail(FlightReason.PREFLIGHT_FAILED, exc)
        if self._aborted:
            return self._fail(FlightReason.ABORTED, "before upload", FlightState.ABORTED)
        self._set_state(FlightState.UPLOADING)
        try:
            self._upload()
        except (MissionRejected, MissionVerifyFailed, MissionTransferTimeout) as exc:
            return self._fail(FlightReason.UPLOAD_FAILED, exc)
        except GroundControlError as exc:
            return self._fail(FlightReason.UPLOAD_FAILED, exc)
        if self._aborted:
            return self._fail(FlightReason.ABORTED, "before arming", FlightState.ABORTED)
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

    def _fly(self) -> FlightOutcome:
        cfg = self.config
        deadline = self.tracker.deadline(cfg.mission_timeout_s, cfg.speedup)
        last_seq: int | None = None
        link_problem_s: float | None = None
        while True:
            self._serve_requests()
            s = self.tracker.snapshot()
            phase = self.progress.update(s)
            if self._pause_how is None:
                self._set_state(phase)
            if s.mission_seq != last_seq and s.armed:
                last_seq = s.mission_seq
                self._emit("progress", f"item {s.mission_seq}/{self.progress.last_seq}",
                           s.mission_seq)
            if self.progress.left_auto and not self._told_left_auto:
                self._told_left_auto = True
                why = self.progress.failsafe_reason(s)
                self._emit("problem", f"vehicle switched to {self.progress.left_auto}"
                           + (f" ({why.value})" if why else ""))
            if self.progress.delivered and not self._told_delivered:
                self._told_delivered = True
                self._emit("delivered", self.progress.text_seen or "passed the delivery item")
            outcome = self.progress.ending(s)
            if outcome is not None:
                return self._finish(outcome)
            age = s.link_age_s() or 0.0
            if age > cfg.link_lost_s and link_problem_s is None:
                link_problem_s = time.monotonic()
                self._emit("problem", f"no message for {age:.1f} s")
            elif age <= cfg.link_lost_s:
                link_problem_s = None
            if link_problem_s is not None and age > cfg.link_giveup_s:
                return self._fail(FlightReason.LINK_LOST, f"silent for {age:.0f} s")
            if deadline.expired():
                self._safe(self.commander.rtl)
                return self._fail(FlightReason.TIMEOUT, "mission timeout; RTL sent")
            time.sleep(cfg.poll_s)

    def _finish(self, outcome: FlightOutcome) -> FlightOutcome:
        reason, state = outcome.reason, outcome.state
        if self._operator_reason is not None and reason is not FlightReason.COMPLETED:
            reason = self._operator_reason
            state = FlightState.ABORTED if reason is FlightReason.ABORTED else state
        final = FlightOutcome(outcome.delivered, outcome.landed, outcome.disarmed, reason,
                              outcome.detail, state, outcome.reached_seq,
                              time.monotonic() - self._started_s, outcome.energy_wh)
        self._set_state(state, str(final))
        return final

    def _serve_requests(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request in ("abort", "rtl"):
                self._operator_reason = FlightReason.ABORTED
                self.progress.requested_mode = "RTL"
                self._pause_how = None
                self._safe(self.commander.rtl)
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
