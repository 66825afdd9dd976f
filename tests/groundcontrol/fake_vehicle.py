"""A scripted fake ArduCopter that answers the way the recordings (``recordings.py``) show.

``FakeVehicle`` answers the ground station as the recordings of real ArduCopter 4.7 SITL do: the
mission protocol (MISSION_REQUEST, never _INT, for uploads; INVALID_SEQUENCE that is not final; a
re-request every second and OPERATION_CANCELLED after 8 s of silence; seq 0 replaced by home;
frames 6->3 and 2->0 and NAV_LAND param4 0->1 on download; legacy MISSION_REQUEST answered with
MISSION_ITEM plus the warning text), COMMAND_LONGs answered with the COMMAND_ACK and the
STATUSTEXTs recorded for that command (ACK first, texts after), and parameters (read by name
echoes index 65535; unknown names get no answer). ``test_transfer.py`` and ``test_commands.py``
check the fake against the recordings so the tests built on it test real behaviour.
``FlightReplayFake`` flies by replaying a recorded flight. The links that connect a fake to
the ground-control code are in ``fake_links.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mavlink
from recordings import HOME, RecordedAnswer, build_message, load, recorded_answers, recorded_params

from groundcontrol.mavlink.messages import MavMessage

ARDUCOPTER_DEFAULTS: dict[str, tuple[float, int]] = {
    "WINCH_TYPE": (0.0, mavlink.MAV_PARAM_TYPE_INT8),
}
"""Parameters ArduCopter has that the recordings never read (its defaults), so the fake
answers them as the vehicle would instead of staying silent."""


# -- the fake vehicle ----------------------------------------------------------------------

_NO_POSITION_FRAME = {mavlink.MAV_FRAME_MISSION: mavlink.MAV_FRAME_GLOBAL}
_DOWNLOAD_FRAME = {
    mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT: mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT,
    mavlink.MAV_FRAME_GLOBAL_INT: mavlink.MAV_FRAME_GLOBAL,
    mavlink.MAV_FRAME_MISSION: mavlink.MAV_FRAME_GLOBAL,
}


@dataclass
class _Upload:
    mission_type: int
    count: int
    next_seq: int = 0
    last_receive_s: float = 0.0
    last_request_s: float = 0.0
    staged: list[MavMessage] = field(default_factory=list)


class FakeVehicle:
    """An ArduCopter stand-in answering as the recordings show (see the module docstring).

    ``clock`` gives the vehicle's time in seconds; ``time_scale`` (vehicle seconds per wall
    second) lets tests run the 1 s re-request and 8 s cancel timers faster.
    """

    def __init__(
        self,
        sysid: int = 1,
        *,
        answers: dict[int, list[RecordedAnswer]] | None = None,
        params: dict[str, tuple[float, int]] | None = None,
        has_home: bool = True,
        time_scale: float = 1.0,
    ) -> None:
        self.sysid = sysid
        self.time_scale = time_scale
        self._t0 = time.monotonic()
        self.answers = answers if answers is not None else {}
        self._answer_index: dict[int, int] = {}
        self.params = dict(params or {})
        self.home = HOME if has_home else (0.0, 0.0, 0.0)
        self.stored: dict[int, list[MavMessage]] = {0: [], 1: [], 2: []}
        self.upload: _Upload | None = None
        self.received: list[MavMessage] = []
        self.custom_mode = 0
        self.armed = False
        self.mission_seq = 0
        self.reject_mission_type: dict[int, int] = {}
        """mission_type -> MAV_MISSION_RESULT to end its uploads with (tests)."""
        self.out: Callable[[MavMessage], None] = lambda msg: None
        self.lock = threading.RLock()
        self._last_heartbeat_s = -1.0
        self.clock: Callable[[], float] | None = None
        """Overrides the vehicle clock (tests that step time by hand)."""
        self.reject_texts: list[str] = []
        self.request_int = False
        """Ask with MISSION_REQUEST_INT instead of ArduPilot's MISSION_REQUEST."""
        self.silent_types: set[str] = set()
        """GCS message types this vehicle ignores (a vehicle that never answers)."""

    def now(self) -> float:
        if self.clock is not None:
            return self.clock()
        return (time.monotonic() - self._t0) * self.time_scale

    # -- output helpers
    def emit(self, msg: MavMessage) -> None:
        self.out(msg)

    def text(self, severity: int, text: str) -> None:
        self.emit(mavlink.MAVLink_statustext_message(severity, text.encode(), 0, 0))

    def heartbeat(self) -> MavMessage:
        base = 0x59 | (mavlink.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
        status = mavlink.MAV_STATE_ACTIVE if self.armed else mavlink.MAV_STATE_STANDBY
        return mavlink.MAVLink_heartbeat_message(
            mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA, base,
            self.custom_mode, status, 3)

    def tick(self) -> None:
        """Run the timers: 1 Hz heartbeat, mission re-request (1 s) and cancel (8 s)."""
        with self.lock:
            now = self.now()
            if now - self._last_heartbeat_s >= 1.0:
                self._last_heartbeat_s = now
                self.emit(self.heartbeat())
            up = self.upload
            if up is None:
                return
            if now - up.last_receive_s > 8.0:
                self.upload = None
                self._ack(mavlink.MAV_MISSION_OPERATION_CANCELLED, up.mission_type)
                self.text(mavlink.MAV_SEVERITY_WARNING, "Mission upload timeout")
            elif now - up.last_request_s > 1.0:
                self._request(up)

    # -- input
    def handle(self, msg: MavMessage) -> None:
        with self.lock:
            self.received.append(msg)
            if msg.get_type() in self.silent_types:
                return
            handler = getattr(self, f"_on_{msg.get_type().lower()}", None)
            if handler is not None:
                handler(msg)

    def _ack(self, result: int, mission_type: int) -> None:
        self.emit(mavlink.MAVLink_mission_ack_message(255, 190, result, mission_type))

    def _request(self, up: _Upload) -> None:
        up.last_request_s = self.now()
        cls = (mavlink.MAVLink_mission_request_int_message if self.request_int
               else mavlink.MAVLink_mission_request_message)
        self.emit(cls(255, 190, up.next_seq, up.mission_type))

    def _on_mission_count(self, msg: MavMessage) -> None:
        mtype = getattr(msg, "mission_type", 0)
        if msg.count == 0:
            self.stored[mtype] = []
            self._complete(mtype)
            return
        if mtype == 0:  # the mission is truncated at once, items written as they arrive
            self.stored[0] = self.stored[0][: msg.count]
        now = self.now()
        self.upload = _Upload(mtype, msg.count, 0, now, now)
        self._request(self.upload)

    def _on_mission_item_int(self, msg: MavMessage) -> None:
        up = self.upload
        if up is None or msg.mission_type != up.mission_type:
            return
        if msg.seq != up.next_seq:
            self._ack(mavlink.MAV_MISSION_INVALID_SEQUENCE, up.mission_type)
            return
        if up.mission_type == 0:
            store = self.stored[0]
            if msg.seq < len(store):
                store[msg.seq] = msg
            else:
                store.append(msg)
        else:
            up.staged.append(msg)
        up.next_seq += 1
        up.last_receive_s = self.now()
        if up.next_seq >= up.count:
            self.upload = None
            if up.mission_type != 0 and up.mission_type not in self.reject_mission_type:
                self.stored[up.mission_type] = up.staged  # a rejected fence keeps the old one
            self._complete(up.mission_type)
        else:
            self._request(up)

    def _complete(self, mtype: int) -> None:
        result = self.reject_mission_type.get(mtype, mavlink.MAV_MISSION_ACCEPTED)
        self._ack(result, mtype)
        if result != mavlink.MAV_MISSION_ACCEPTED:
            for text in self.reject_texts:
                self.text(mavlink.MAV_SEVERITY_CRITICAL, text)
        if mtype == 0 and result == mavlink.MAV_MISSION_ACCEPTED:
            self.text(mavlink.MAV_SEVERITY_INFO, "Flight plan received")
            self.mission_seq = 0
            total = max(0, len(self.stored[0]) - 1)
            state = mavlink.MISSION_STATE_NOT_STARTED if total else mavlink.MISSION_STATE_NO_MISSION
            self.emit(mavlink.MAVLink_mission_current_message(0, total, state, 0))

    def _on_mission_clear_all(self, msg: MavMessage) -> None:
        self.stored[getattr(msg, "mission_type", 0)] = []
        self._ack(mavlink.MAV_MISSION_ACCEPTED, getattr(msg, "mission_type", 0))

    def _on_mission_request_list(self, msg: MavMessage) -> None:
        if self.upload is not None:
            self._ack(mavlink.MAV_MISSION_DENIED, msg.mission_type)
            return
        count = len(self.stored[msg.mission_type])
        self.emit(mavlink.MAVLink_mission_count_message(255, 190, count, msg.mission_type))

    def stored_item(self, mtype: int, seq: int) -> MavMessage | None:
        """The item as ArduPilot gives it back (home at seq 0, frames and params rewritten)."""
        items = self.stored[mtype]
        if seq >= len(items):
            return None
        src = items[seq]
        x, y, z, frame = src.x, src.y, src.z, src.frame
        p4 = src.param4
        if mtype == 0 and seq == 0:
            x, y, z = round(self.home[0] * 1e7), round(self.home[1] * 1e7), self.home[2]
            frame = mavlink.MAV_FRAME_GLOBAL
        elif mtype != 1:
            frame = _DOWNLOAD_FRAME.get(frame, frame)
        if mtype == 0 and src.command == mavlink.MAV_CMD_NAV_LAND and p4 == 0:
            p4 = 1.0
        return mavlink.MAVLink_mission_item_int_message(
            255, 190, seq, frame, src.command, 0, src.autocontinue if mtype == 0 else 0,
            src.param1, src.param2,
            src.param3, p4, x, y, z, mtype)

    def _on_mission_request_int(self, msg: MavMessage) -> None:
        item = self.stored_item(msg.mission_type, msg.seq)
        if item is None:
            self._ack(mavlink.MAV_MISSION_INVALID_SEQUENCE, msg.mission_type)
            return
        self.emit(item)

    def _on_mission_request(self, msg: MavMessage) -> None:
        item = self.stored_item(msg.mission_type, msg.seq)
        if item is None:
            self._ack(mavlink.MAV_MISSION_INVALID_SEQUENCE, msg.mission_type)
            return
        self.emit(mavlink.MAVLink_mission_item_message(
            255, 190, item.seq, item.frame, item.command, 0, item.autocontinue, item.param1,
            item.param2, item.param3, item.param4, item.x / 1e7, item.y / 1e7, item.z,
            item.mission_type))
        self.text(mavlink.MAV_SEVERITY_WARNING, "got MISSION_REQUEST; use MISSION_REQUEST_INT!")

    def _on_mission_set_current(self, msg: MavMessage) -> None:
        total = max(0, len(self.stored[0]) - 1)
        if msg.seq <= total:
            self.mission_seq = msg.seq
            self.emit(mavlink.MAVLink_mission_current_message(msg.seq, total, 2, 0))

    def _on_command_long(self, msg: MavMessage) -> None:
        recorded = self.answers.get(msg.command)
        if recorded:
            i = self._answer_index.get(msg.command, 0)
            self._answer_index[msg.command] = i + 1
            answer = recorded[min(i, len(recorded) - 1)]
            result, texts = answer.ack_result, answer.texts
        else:
            result, texts = mavlink.MAV_RESULT_ACCEPTED, []
        self.emit(mavlink.MAVLink_command_ack_message(msg.command, result, 0, 0, 255, 190))
        for severity, text in texts:
            self.text(severity, text)
        if result == mavlink.MAV_RESULT_ACCEPTED:
            self._apply_command(msg)

    def _apply_command(self, msg: MavMessage) -> None:
        if msg.command == mavlink.MAV_CMD_DO_SET_MODE:
            self.custom_mode = int(msg.param2)
        elif msg.command == mavlink.MAV_CMD_COMPONENT_ARM_DISARM:
            self.armed = msg.param1 == 1
            self.text(6, "Arming motors" if self.armed else "Disarming motors")
        else:
            return
        self.emit(self.heartbeat())

    def _on_param_request_read(self, msg: MavMessage) -> None:
        name = msg.param_id
        if name in self.params:  # unknown names get no answer at all
            value, ptype = self.params[name]
            self.emit(mavlink.MAVLink_param_value_message(
                name.encode(), value, ptype, len(self.params), 65535))

    def _on_param_set(self, msg: MavMessage) -> None:
        name = msg.param_id
        if name not in self.params:
            return
        ptype = self.params[name][1]
        value = float(msg.param_value)
        if ptype != mavlink.MAV_PARAM_TYPE_REAL32:
            value = float(int(value))
        self.params[name] = (value, ptype)
        self.emit(mavlink.MAVLink_param_value_message(
            name.encode(), value, ptype, len(self.params), 65535))


class FlightReplayFake(FakeVehicle):
    """A fake that *flies* by replaying a recorded flight once it gets MAV_CMD_MISSION_START.

    Before the start it repeats the vehicle's last recorded telemetry (ready to arm, home set,
    on the ground); GUIDED and ARM are answered as recorded; after MISSION_START every recorded
    vehicle message up to ``until_note`` is sent in the recorded order and timing (scaled by
    ``time_scale``), so a ground station follows the real ArduCopter flight.
    """

    _STATE_TYPES = ("SYS_STATUS", "EKF_STATUS_REPORT", "HOME_POSITION", "GPS_RAW_INT",
                    "EXTENDED_SYS_STATE", "GLOBAL_POSITION_INT", "BATTERY_STATUS", "VFR_HUD",
                    "MISSION_CURRENT")

    def __init__(self, name: str, until_note: str, *, time_scale: float = 50.0,
                 sysid: int = 1) -> None:
        records = load(name)
        start = next(r for r in records if r.dir == "gcs>veh" and r.type == "COMMAND_LONG"
                     and r.fields["command"] == mavlink.MAV_CMD_MISSION_START)
        end = next(r.t for r in records if r.dir == "note" and until_note in r.fields["text"])
        before = [r for r in records if r.t < start.t and r.dir == "veh>gcs"]
        super().__init__(sysid, answers=recorded_answers([r for r in records if r.t < start.t]),
                         params={**ARDUCOPTER_DEFAULTS, **recorded_params(records)},
                         time_scale=time_scale)
        self.state_msgs = {r.type: r for r in before if r.type in self._STATE_TYPES}
        self.script = [r for r in records if start.t < r.t < end and r.dir == "veh>gcs"
                       and r.type != "BAD_DATA"]
        self.start_t = start.t
        self._play_from: float | None = None
        self._next = 0
        self._last_state_s = -1.0

    def tick(self) -> None:
        with self.lock:
            if self._play_from is None:
                if self.now() - self._last_state_s >= 1.0:
                    self._last_state_s = self.now()
                    for r in self.state_msgs.values():
                        self.emit(build_message(r.type, r.fields))
                super().tick()
                return
            t_rec = self.start_t + (self.now() - self._play_from)
            while self._next < len(self.script) and self.script[self._next].t <= t_rec:
                r = self.script[self._next]
                self._next += 1
                if r.type == "HEARTBEAT":
                    self.custom_mode = r.fields["custom_mode"]
                    self.armed = bool(r.fields["base_mode"] & mavlink.MAV_MODE_FLAG_SAFETY_ARMED)
                self.emit(build_message(r.type, r.fields))
            if self._next >= len(self.script):
                super().tick()  # keep the link alive with heartbeats after the recording

    def _on_command_long(self, msg: MavMessage) -> None:
        if msg.command != mavlink.MAV_CMD_MISSION_START:
            super()._on_command_long(msg)
            return
        self.emit(mavlink.MAVLink_command_ack_message(msg.command, 0, 0, 0, 255, 190))
        self._play_from = self.now()


__all__ = ["ARDUCOPTER_DEFAULTS", "FakeVehicle", "FlightReplayFake"]
