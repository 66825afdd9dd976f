"""Following a running delivery mission from vehicle snapshots, and judging how it ended.

``ProgressTracker`` is pure (fed ``VehicleState`` snapshots, no I/O): progress comes from
MISSION_CURRENT and the armed/landed state, because MISSION_ITEM_REACHED is coalesced and
skips items. The delivery counts as made when MISSION_CURRENT moved past ``delivery_seq``
while armed in AUTO, plus the vehicle's text where the action has one ("Gripper Released").
``groundcontrol.flight.flight`` drives it and re-exports everything here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.flight.record import FlightRecord
from groundcontrol.mavlink.vehicle import VehicleState
from missions.items import Mission

__all__ = [
    "DELIVERY_TEXTS",
    "FlightOutcome",
    "FlightReason",
    "FlightState",
    "ProgressTracker",
]


class FlightState(Enum):
    """The phase of a flight as observers see it."""

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
    """Why a flight ended; the value is the text people read."""

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
    record: FlightRecord | None = None
    """Planned against flown (``Flight`` fills it in)."""

    @property
    def success(self) -> bool:
        """Delivered, landed and disarmed: the only ending that needs no one to look."""
        return self.delivered and self.landed and self.disarmed

    def __str__(self) -> str:
        flags = f"delivered={self.delivered} landed={self.landed} disarmed={self.disarmed}"
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.reason.value}{detail} ({flags})"


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
        """Passed the delivery item, with the release text when the action sends one."""
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
            reason, detail = failsafe, f"ended in {s.mode} {self._where(s)}"
        elif self.requested_mode is not None:
            reason = FlightReason.ABORTED
            detail = (f"{self.requested_mode} as the operator asked, after seq {self.max_seq}; "
                      "landed and disarmed")
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

    def _where(self, s: VehicleState) -> str:
        """Where in the mission a flight ended, only from what was seen (a flight followed
        from a re-attach may never have shown its progress in AUTO: no made-up "seq 0")."""
        if self.max_seq:
            where = f"after mission item {self.max_seq} of {self.last_seq}"
        elif s.mission_seq:
            where = f"with the vehicle's current mission item {s.mission_seq} of {self.last_seq}"
        else:
            where = "with no mission progress seen in AUTO while followed"
        released = ("parcel released" if self.delivered else "parcel not seen released"
                    if self.mission.delivery_seq is not None else "no delivery item")
        return f"{where}, {released}"

    def failsafe_reason(self, s: VehicleState) -> FlightReason | None:
        """The failsafe or mode change the vehicle's recent texts and state show, if any."""
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
