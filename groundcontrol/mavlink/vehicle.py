"""Vehicle state from telemetry: a thread-safe tracker and its immutable snapshots.

``VehicleTracker`` is fed every message from one vehicle (subscribe it to a channel) and keeps
what a ground station shows and decides on: mode (Copter's custom_mode table), armed, position
and altitudes, speed, battery, GPS, EKF health and "ready to arm", home, mission progress,
landed state, fence, the vehicle's texts (chunked STATUSTEXTs reassembled) and link age.
``snapshot()`` returns a frozen ``VehicleState`` that observers and the TUI can keep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.mavlink.messages import MavMessage

__all__ = [
    "COPTER_MODES",
    "EKF_READY_FLAGS",
    "StatusText",
    "StatusTextAssembler",
    "VehicleDeadline",
    "VehicleState",
    "VehicleTracker",
    "copter_mode_name",
    "copter_mode_number",
    "ekf_ready",
]

COPTER_MODES: dict[int, str] = {
    0: "STABILIZE", 1: "ACRO", 2: "ALT_HOLD", 3: "AUTO", 4: "GUIDED", 5: "LOITER", 6: "RTL",
    7: "CIRCLE", 9: "LAND", 11: "DRIFT", 13: "SPORT", 14: "FLIP", 15: "AUTOTUNE",
    16: "POSHOLD", 17: "BRAKE", 18: "THROW", 19: "AVOID_ADSB", 20: "GUIDED_NOGPS",
    21: "SMART_RTL", 22: "FLOWHOLD", 23: "FOLLOW", 24: "ZIGZAG", 25: "SYSTEMID",
    26: "AUTOROTATE", 27: "AUTO_RTL", 28: "TURTLE",
}
_MODE_NUMBERS = {name: number for number, name in COPTER_MODES.items()}

EKF_READY_FLAGS = (
    mavlink.EKF_ATTITUDE | mavlink.EKF_VELOCITY_HORIZ | mavlink.EKF_VELOCITY_VERT
    | mavlink.EKF_POS_HORIZ_REL | mavlink.EKF_POS_HORIZ_ABS | mavlink.EKF_POS_VERT_ABS
)
"""What ArduCopter's EKF reports once it uses GPS (0x33f in the recordings includes these)."""
_EKF_BAD_FLAGS = mavlink.EKF_CONST_POS_MODE | mavlink.EKF_UNINITIALIZED | mavlink.EKF_GPS_GLITCHING
_PREARM_BIT = mavlink.MAV_SYS_STATUS_PREARM_CHECK
_TEXT_CHUNK_LEN = 50


def copter_mode_name(custom_mode: int) -> str:
    """ArduCopter's name for a custom_mode number.

    >>> copter_mode_name(3)
    'AUTO'
    """
    return COPTER_MODES.get(custom_mode, f"MODE_{custom_mode}")


def copter_mode_number(name: str) -> int:
    """The custom_mode number of an ArduCopter mode name (case-insensitive).

    >>> copter_mode_number("guided")
    4

    Raises:
        ValueError: not a Copter mode.
    """
    try:
        return _MODE_NUMBERS[name.upper()]
    except KeyError:
        raise ValueError(f"mode: {name!r} is not an ArduCopter mode") from None


def ekf_ready(flags: int) -> bool:
    """True when EKF_STATUS_REPORT flags show an absolute position good enough to arm.

    >>> ekf_ready(0x33f), ekf_ready(0xa7), ekf_ready(0x400)
    (True, False, False)
    """
    return (flags & EKF_READY_FLAGS) == EKF_READY_FLAGS and not flags & _EKF_BAD_FLAGS


@dataclass(frozen=True, slots=True)
class StatusText:
    """One (reassembled) STATUSTEXT."""

    severity: int
    text: str
    received_s: float
    """``time.monotonic()`` when its last chunk arrived."""


class StatusTextAssembler:
    """Joins ArduPilot's chunked STATUSTEXTs (same non-zero id, chunk_seq 0, 1, ...).

    A chunk shorter than 50 characters ends a message; id 0 is always a whole message.
    """

    def __init__(self) -> None:
        self._parts: dict[int, list[str]] = {}

    def add(self, msg: MavMessage, now_s: float) -> StatusText | None:
        text = msg.text
        msg_id = getattr(msg, "id", 0) or 0
        if msg_id == 0:
            return StatusText(msg.severity, text, now_s)
        parts = self._parts.setdefault(msg_id, [])
        if getattr(msg, "chunk_seq", 0) == 0:
            parts.clear()
        parts.append(text)
        if len(text) < _TEXT_CHUNK_LEN:
            del self._parts[msg_id]
            return StatusText(msg.severity, "".join(parts), now_s)
        return None


@dataclass(frozen=True, slots=True)
class VehicleState:
    """What is known about one vehicle at one moment (None: not reported yet)."""

    sysid: int
    mode: str = "UNKNOWN"
    custom_mode: int | None = None
    armed: bool = False
    system_status: int | None = None
    """MAV_STATE: 3 STANDBY, 4 ACTIVE, 5 CRITICAL (failsafe)."""
    heartbeats: int = 0
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_amsl_m: float | None = None
    alt_rel_m: float | None = None
    """Above home."""
    groundspeed_ms: float | None = None
    climb_ms: float | None = None
    heading_deg: float | None = None
    battery_pct: int | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    consumed_mah: float | None = None
    energy_wh: float | None = None
    battery_charge_state: int | None = None
    gps_fix_type: int | None = None
    gps_sats: int | None = None
    ekf_flags: int | None = None
    prearm_ok: bool | None = None
    """SYS_STATUS pre-arm health bit (evaluated by the vehicle for its current mode)."""
    home_lat_deg: float | None = None
    home_lon_deg: float | None = None
    home_alt_amsl_m: float | None = None
    mission_seq: int | None = None
    mission_total: int | None = None
    """Items without home (MISSION_CURRENT.total)."""
    mission_state: int | None = None
    reached: tuple[int, ...] = ()
    """MISSION_ITEM_REACHED seqs in arrival order (coalesced by the vehicle: may skip)."""
    landed_state: int | None = None
    """MAV_LANDED_STATE: 1 ON_GROUND, 2 IN_AIR, 3 TAKEOFF, 4 LANDING."""
    fence_breached: bool = False
    fence_breach_count: int = 0
    fence_breach_type: int | None = None
    texts: tuple[StatusText, ...] = field(default=())
    last_message_s: float | None = None
    boot_ms: int | None = None
    link_received: int = 0
    """Messages received from the vehicle (every component)."""
    link_lost: int = 0
    """Messages missed, from gaps in each component's MAVLink sequence numbers (as MAVProxy
    counts its link loss); a repeated number (a duplicate) is neither."""

    @property
    def ekf_ready(self) -> bool:
        return self.ekf_flags is not None and ekf_ready(self.ekf_flags)

    @property
    def ready_to_arm(self) -> bool:
        """EKF position good and the vehicle's own pre-arm bit healthy (if it reports one)."""
        return self.ekf_ready and self.prearm_ok is not False

    @property
    def has_home(self) -> bool:
        return self.home_lat_deg is not None

    @property
    def in_air(self) -> bool:
        return self.landed_state in (
            mavlink.MAV_LANDED_STATE_IN_AIR, mavlink.MAV_LANDED_STATE_TAKEOFF,
            mavlink.MAV_LANDED_STATE_LANDING,
        )

    @property
    def on_ground(self) -> bool:
        return bool(self.landed_state == mavlink.MAV_LANDED_STATE_ON_GROUND)

    def link_age_s(self, now_s: float | None = None) -> float | None:
        """Seconds since any message from the vehicle."""
        if self.last_message_s is None:
            return None
        return (time.monotonic() if now_s is None else now_s) - self.last_message_s


_MAX_TEXTS = 100
_MAX_REACHED = 200
Observer = Callable[[VehicleState], None]


Fields = dict[str, Any]
"""A tracker's current field values by ``VehicleState`` field name (mutated in place)."""
_FIELD_NAMES = tuple(f.name for f in fields(VehicleState))


class VehicleTracker:
    """Folds one vehicle's messages into its state; thread-safe, observers see snapshots.

    Each message updates a plain dict of the state's fields; the frozen ``VehicleState`` is
    built only when someone asks (``snapshot()``, an observer) and kept until the next
    message. A ground station following 200 vehicles folds ~7,000 messages a second and
    reads each vehicle's snapshot a few times a second: building the 40-field dataclass per
    message (twice, with ``dataclasses.replace``) was half of its CPU.
    """

    def __init__(self, sysid: int) -> None:
        self._fields: Fields = {}
        self._state: VehicleState | None = None
        """The last snapshot built, None once a message changed a field."""
        self._lock = threading.Lock()
        self._texts = StatusTextAssembler()
        self._observers: list[Observer] = []
        self._vehicle_s = 0.0
        self._vehicle_seen_at: float | None = None
        """Monotonic time of the last message that carried time_boot_ms."""
        self._last_boot_ms: int | None = None
        self._last_seq: dict[int, int] = {}
        """The last sequence number heard from each component."""
        self._handlers: dict[str, Callable[[Fields, MavMessage], None]] = {
            "HEARTBEAT": _heartbeat, "GLOBAL_POSITION_INT": _position, "VFR_HUD": _vfr_hud,
            "SYS_STATUS": _sys_status, "BATTERY_STATUS": _battery, "GPS_RAW_INT": _gps,
            "EKF_STATUS_REPORT": _ekf, "HOME_POSITION": _home, "MISSION_CURRENT": _mission,
            "EXTENDED_SYS_STATE": _extended, "FENCE_STATUS": _fence,
        }
        self._start(sysid)

    def _start(self, sysid: int) -> None:
        initial = VehicleState(sysid=sysid)
        self._fields = {name: getattr(initial, name) for name in _FIELD_NAMES}
        self._state = initial

    def reset(self) -> None:
        """Forget everything (after a reboot the old EKF/home state is stale)."""
        with self._lock:
            self._start(self._fields["sysid"])
            self._texts = StatusTextAssembler()
            self._last_seq.clear()

    def snapshot(self) -> VehicleState:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> VehicleState:
        """The current state (lock held), built once per change."""
        if self._state is None:
            self._state = VehicleState(**self._fields)
        return self._state

    def add_observer(self, observer: Observer) -> Callable[[], None]:
        """Call ``observer(snapshot)`` after each message that changed the state."""
        with self._lock:
            self._observers.append(observer)

        def remove() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return remove

    def update(self, msg: MavMessage) -> None:
        """Fold one message in (subscribe this method to the vehicle's channel)."""
        now = time.monotonic()
        mtype = msg.get_type()
        with self._lock:
            f = self._fields
            handler = self._handlers.get(mtype)
            if handler is not None:
                handler(f, msg)
            elif mtype == "STATUSTEXT":
                text = self._texts.add(msg, now)
                if text is not None:
                    f["texts"] = (*f["texts"], text)[-_MAX_TEXTS:]
            elif mtype == "MISSION_ITEM_REACHED":
                f["reached"] = (*f["reached"], msg.seq)[-_MAX_REACHED:]
            boot = getattr(msg, "time_boot_ms", None)
            if boot is not None:
                if self._last_boot_ms is not None and boot > self._last_boot_ms:
                    self._vehicle_s += (boot - self._last_boot_ms) / 1000.0
                self._last_boot_ms = boot  # lower after a reboot: start counting again
                self._vehicle_seen_at = now
                f["boot_ms"] = boot
            f["last_message_s"] = now
            f["link_received"] += 1
            f["link_lost"] += self._missed(msg)
            self._state = None
            notify = bool(self._observers) and (handler is not None or mtype in (
                "STATUSTEXT", "MISSION_ITEM_REACHED"))
            observers = list(self._observers) if notify else []
            state = self._snapshot() if notify else None
        for observer in observers:
            assert state is not None
            observer(state)

    def _missed(self, msg: MavMessage) -> int:
        """Messages missed before ``msg`` by its component (lock held)."""
        seq, comp = msg.get_seq(), msg.get_srcComponent()
        last = self._last_seq.get(comp)
        self._last_seq[comp] = seq
        return 0 if last is None else (seq - last - 1) % 256 % 255  # seq == last: a duplicate

    def vehicle_time_s(self) -> float:
        """Seconds of the vehicle's own clock seen so far (from ``time_boot_ms``, across
        reboots): waits measured with it hold whatever the simulator's real speed."""
        with self._lock:
            return self._vehicle_s

    def vehicle_time_now_s(self, speedup: float = 1.0) -> float:
        """The vehicle's clock now: the last reported time plus the wall time since then at
        ``speedup`` (time_boot_ms comes only with telemetry, so the last value can be a whole
        stream interval old)."""
        with self._lock:
            if self._vehicle_seen_at is None:
                return self._vehicle_s
            return self._vehicle_s + (time.monotonic() - self._vehicle_seen_at) * speedup

    def deadline(self, vehicle_s: float, speedup: float = 1.0) -> VehicleDeadline:
        """A deadline ``vehicle_s`` ahead on the vehicle's clock (see ``VehicleDeadline``)."""
        return VehicleDeadline(self, vehicle_s, speedup)

    def texts_since(self, since_s: float) -> list[str]:
        """Texts received at or after monotonic time ``since_s``."""
        return [t.text for t in self.snapshot().texts if t.received_s >= since_s]


class VehicleDeadline:
    """Expires after ``vehicle_s`` seconds of the vehicle's clock, or at the latest after
    ``4 * vehicle_s / speedup + 5`` wall seconds (a vehicle that stopped reporting time).

    It counts from the vehicle's clock extrapolated to now and ends on a reported time, so it
    never expires early because the last time_boot_ms was a stream interval old (a pause test
    read a braking copter as not holding because its 8 s wait ended 5 vehicle seconds short).
    """

    def __init__(self, tracker: VehicleTracker, vehicle_s: float, speedup: float = 1.0) -> None:
        self.tracker = tracker
        self.vehicle_s = vehicle_s
        self._start = tracker.vehicle_time_now_s(speedup)
        self._wall_cap = time.monotonic() + 4.0 * vehicle_s / speedup + 5.0

    def elapsed_s(self) -> float:
        return self.tracker.vehicle_time_s() - self._start

    def expired(self) -> bool:
        return self.elapsed_s() >= self.vehicle_s or time.monotonic() >= self._wall_cap


def _heartbeat(f: Fields, msg: MavMessage) -> None:
    if msg.type == mavlink.MAV_TYPE_GCS or msg.autopilot == mavlink.MAV_AUTOPILOT_INVALID:
        return  # a gimbal, camera or other GCS on the same system id
    f["custom_mode"] = msg.custom_mode
    f["mode"] = copter_mode_name(msg.custom_mode)
    f["armed"] = bool(msg.base_mode & mavlink.MAV_MODE_FLAG_SAFETY_ARMED)
    f["system_status"] = msg.system_status
    f["heartbeats"] += 1


def _position(f: Fields, msg: MavMessage) -> None:
    f["lat_deg"] = msg.lat / 1e7
    f["lon_deg"] = msg.lon / 1e7
    f["alt_amsl_m"] = msg.alt / 1000.0
    f["alt_rel_m"] = msg.relative_alt / 1000.0
    if msg.hdg != 65535:
        f["heading_deg"] = msg.hdg / 100.0


def _vfr_hud(f: Fields, msg: MavMessage) -> None:
    f["groundspeed_ms"] = msg.groundspeed
    f["climb_ms"] = msg.climb
    f["heading_deg"] = float(msg.heading)


def _sys_status(f: Fields, msg: MavMessage) -> None:
    prearm = None
    if msg.onboard_control_sensors_present & _PREARM_BIT:
        prearm = bool(msg.onboard_control_sensors_health & _PREARM_BIT)
    f["prearm_ok"] = prearm
    f["voltage_v"] = msg.voltage_battery / 1000.0 if msg.voltage_battery != 65535 else None
    f["current_a"] = msg.current_battery / 100.0 if msg.current_battery >= 0 else None
    f["battery_pct"] = msg.battery_remaining if msg.battery_remaining >= 0 else None


def _battery(f: Fields, msg: MavMessage) -> None:
    if msg.id != 0:
        return
    f["consumed_mah"] = float(msg.current_consumed) if msg.current_consumed >= 0 else None
    f["energy_wh"] = (msg.energy_consumed * 100.0 / 3600.0 if msg.energy_consumed >= 0
                      else None)
    if msg.battery_remaining >= 0:
        f["battery_pct"] = msg.battery_remaining
    f["battery_charge_state"] = getattr(msg, "charge_state", None)


def _gps(f: Fields, msg: MavMessage) -> None:
    f["gps_fix_type"] = msg.fix_type
    f["gps_sats"] = msg.satellites_visible if msg.satellites_visible != 255 else None


def _ekf(f: Fields, msg: MavMessage) -> None:
    f["ekf_flags"] = msg.flags


def _home(f: Fields, msg: MavMessage) -> None:
    f["home_lat_deg"] = msg.latitude / 1e7
    f["home_lon_deg"] = msg.longitude / 1e7
    f["home_alt_amsl_m"] = msg.altitude / 1000.0


def _mission(f: Fields, msg: MavMessage) -> None:
    f["mission_seq"] = msg.seq
    f["mission_total"] = getattr(msg, "total", None)
    f["mission_state"] = getattr(msg, "mission_state", None)


def _extended(f: Fields, msg: MavMessage) -> None:
    f["landed_state"] = msg.landed_state


def _fence(f: Fields, msg: MavMessage) -> None:
    f["fence_breached"] = bool(msg.breach_status)
    f["fence_breach_count"] = msg.breach_count
    f["fence_breach_type"] = msg.breach_type
