"""Telemetry streams: ArduPilot's REQUEST_DATA_STREAM groups and SET_MESSAGE_INTERVAL overrides.

Nothing streams until asked (after boot and after every reboot), as on the recorded SITL. Which
message goes out when is decided here; telemetry.py builds each message from the vehicle.
"""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["STREAM_GROUPS", "Streams"]

M = mavlink

STREAM_GROUPS: dict[int, tuple[int, ...]] = {
    M.MAV_DATA_STREAM_RAW_SENSORS: (M.MAVLINK_MSG_ID_RAW_IMU, M.MAVLINK_MSG_ID_SCALED_PRESSURE),
    M.MAV_DATA_STREAM_EXTENDED_STATUS: (
        M.MAVLINK_MSG_ID_SYS_STATUS, M.MAVLINK_MSG_ID_POWER_STATUS, M.MAVLINK_MSG_ID_MEMINFO,
        M.MAVLINK_MSG_ID_MISSION_CURRENT, M.MAVLINK_MSG_ID_GPS_RAW_INT,
        M.MAVLINK_MSG_ID_NAV_CONTROLLER_OUTPUT, M.MAVLINK_MSG_ID_FENCE_STATUS,
        M.MAVLINK_MSG_ID_POSITION_TARGET_GLOBAL_INT, M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE),
    M.MAV_DATA_STREAM_RC_CHANNELS: (M.MAVLINK_MSG_ID_SERVO_OUTPUT_RAW,
                                    M.MAVLINK_MSG_ID_RC_CHANNELS),
    M.MAV_DATA_STREAM_POSITION: (M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT,
                                 M.MAVLINK_MSG_ID_LOCAL_POSITION_NED),
    M.MAV_DATA_STREAM_EXTRA1: (M.MAVLINK_MSG_ID_ATTITUDE,),
    M.MAV_DATA_STREAM_EXTRA2: (M.MAVLINK_MSG_ID_VFR_HUD,),
    M.MAV_DATA_STREAM_EXTRA3: (
        M.MAVLINK_MSG_ID_SYSTEM_TIME, M.MAVLINK_MSG_ID_WIND, M.MAVLINK_MSG_ID_BATTERY_STATUS,
        M.MAVLINK_MSG_ID_EKF_STATUS_REPORT, M.MAVLINK_MSG_ID_VIBRATION,
        M.MAVLINK_MSG_ID_WINCH_STATUS),
}


class Streams:
    """Per-message intervals in sim seconds: stream group rates plus per-message overrides."""

    def __init__(self) -> None:
        self._group_rate_hz: dict[int, float] = {}
        self._override_s: dict[int, float] = {}
        self._next_due: dict[int, float] = {}
        self._active: dict[int, float] = {}
        """Cached finite intervals by message id (recomputed when a rate changes)."""
        self._next_any_s = -math.inf
        """The earliest due time of any active message: before it, ``due`` has nothing."""

    def request_data_stream(self, stream_id: int, rate_hz: int, start: int) -> None:
        groups = list(STREAM_GROUPS) if stream_id == M.MAV_DATA_STREAM_ALL else [stream_id]
        for group in groups:
            if group in STREAM_GROUPS:
                self._group_rate_hz[group] = float(rate_hz) if start and rate_hz > 0 else 0.0
        self._recompute()

    def set_interval(self, msgid: int, interval_us: float) -> None:
        """SET_MESSAGE_INTERVAL: -1 stops, 0 restores the stream rate, >0 overrides."""
        if interval_us == 0:
            self._override_s.pop(msgid, None)
        elif interval_us < 0:
            self._override_s[msgid] = math.inf
        else:
            self._override_s[msgid] = interval_us / 1e6
        self._recompute()

    def _recompute(self) -> None:
        ids = set(self._override_s)
        for ids_in_group in STREAM_GROUPS.values():
            ids.update(ids_in_group)
        self._active = {}
        self._next_any_s = -math.inf
        for msgid in sorted(ids):
            interval = self.interval_s(msgid)
            if math.isinf(interval):
                self._next_due.pop(msgid, None)
            else:
                self._active[msgid] = interval

    def interval_s(self, msgid: int) -> float:
        if msgid in self._override_s:
            return self._override_s[msgid]
        rate = 0.0
        for group, ids in STREAM_GROUPS.items():
            if msgid in ids:
                rate = max(rate, self._group_rate_hz.get(group, 0.0))
        return 1.0 / rate if rate > 0 else math.inf

    def interval_us(self, msgid: int) -> int:
        interval = self.interval_s(msgid)
        return -1 if math.isinf(interval) else round(interval * 1e6)

    @property
    def next_due_s(self) -> float:
        """Before this time ``due`` returns nothing (-inf: call it to know)."""
        return self._next_any_s

    @property
    def any_active(self) -> bool:
        return bool(self._active)

    def due(self, now_s: float) -> list[int]:
        """Message ids to send now (each at most once per call)."""
        if now_s < self._next_any_s:  # most steps: nothing due, no per-message scan
            return []
        out = []
        next_any = math.inf
        next_due = self._next_due
        for msgid, interval in self._active.items():
            due = next_due.get(msgid)
            if due is None or now_s >= due:
                out.append(msgid)
                base = now_s if due is None or now_s - due > interval else due
                due = next_due[msgid] = base + interval
            next_any = min(next_any, due)
        self._next_any_s = next_any
        return out
