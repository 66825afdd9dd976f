"""A scripted fake ArduCopter built from the recordings of real ArduCopter 4.7 SITL.

* ``load(name)`` reads ``/work/shared/reference/ardupilot-copter/NAME.jsonl`` (or
  ``$DRONE_REFERENCE_DIR``) and ``build_message`` turns a record back into a pymavlink message.
* ``FakeVehicle`` answers the ground station the way the recordings show: the mission protocol
  (MISSION_REQUEST, never _INT, for uploads; INVALID_SEQUENCE that is not final; a re-request
  every second and OPERATION_CANCELLED after 8 s of silence; seq 0 replaced by home; frames
  6->3 and 2->0 and NAV_LAND param4 0->1 on download; legacy MISSION_REQUEST answered with
  MISSION_ITEM plus the warning text), COMMAND_LONGs answered with the COMMAND_ACK and the
  STATUSTEXTs recorded for that command (ACK first, texts after), and parameters (read by name
  echoes index 65535; unknown names get no answer).  ``tests/groundcontrol/test_replay*.py``
  checks the fake against the recordings so the tests built on it test real behaviour.
* ``MemoryChannel`` connects a fake to the ground-control code without sockets;
  ``LossyChannel`` drops, duplicates and reorders messages both ways; ``FakeServer`` serves
  fakes on a real TCP port (boot text first, as ArduPilot does).
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.mavlink.messages import Inbox, MavMessage, MessageCallback, MessageHub, Predicate


def _reference_dir() -> Path:
    """$DRONE_REFERENCE_DIR, else shared/ beside the checkout (as CI lays it out), else /work."""
    if "DRONE_REFERENCE_DIR" in os.environ:
        return Path(os.environ["DRONE_REFERENCE_DIR"])
    beside = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ardupilot-copter"
    return beside if beside.is_dir() else Path("/work/shared/reference/ardupilot-copter")


REFERENCE_DIR = _reference_dir()
BOOT_TEXT = b"\n\nInit ArduCopter V4.7.0-dev (90700977)\n\nFree RAM: 524288\nBooting 0/0\n"
HOME = (-35.363261, 149.165230, 584.09)


@dataclass(frozen=True, slots=True)
class Record:
    t: float
    wall: float
    dir: str
    type: str
    sysid: int
    compid: int
    fields: dict[str, Any]


def load(name: str) -> list[Record]:
    """The records of one recording (notes included, ``dir == "note"``)."""
    path = REFERENCE_DIR / f"{name}.jsonl"
    out = []
    with path.open() as fh:
        for line in fh:
            d = json.loads(line)
            fields = d.get("fields", {"text": d.get("text", "")})  # notes carry only text
            out.append(Record(d["t"], d["wall"], d["dir"], d["type"], d.get("sysid", 0),
                              d.get("compid", 0), fields))
    return out


def _number(value: Any) -> Any:
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return value


def build_message(mtype: str, fields: dict[str, Any]) -> MavMessage:
    """A pymavlink message of type ``mtype`` from recorded ``fields`` (missing -> zero)."""
    cls = getattr(mavlink, f"MAVLink_{mtype.lower()}_message")
    lengths = dict(zip(cls.ordered_fieldnames, cls.array_lengths, strict=True))
    args = []
    for name, ftype in zip(cls.fieldnames, cls.fieldtypes, strict=True):
        value = _number(fields.get(name))
        if isinstance(value, list):
            value = [_number(v) for v in value]
        if ftype == "char":
            value = (value or "").encode() if not isinstance(value, bytes) else value
        elif value is None:
            value = [0] * lengths[name] if lengths.get(name) else 0
        args.append(value)
    return cls(*args)


def encode(msg: MavMessage, sysid: int, compid: int) -> bytes:
    return bytes(msg.pack(mavlink.MAVLink(None, srcSystem=sysid, srcComponent=compid)))


# -- command answers taken from the recordings ---------------------------------------------

@dataclass
class RecordedAnswer:
    ack_result: int
    texts: list[tuple[int, str]] = field(default_factory=list)
    extra: list[Record] = field(default_factory=list)


def recorded_answers(records: Iterable[Record]) -> dict[int, list[RecordedAnswer]]:
    """Per command id, the recorded COMMAND_ACK result and the STATUSTEXTs that followed it."""
    answers: dict[int, list[RecordedAnswer]] = {}
    current: RecordedAnswer | None = None
    pending: dict[int, int] = {}
    for r in records:
        if r.dir == "gcs>veh" and r.type == "COMMAND_LONG":
            pending[r.fields["command"]] = pending.get(r.fields["command"], 0) + 1
            current = None
        elif r.dir == "gcs>veh":
            current = None
        elif r.dir == "veh>gcs" and r.type == "COMMAND_ACK" and pending.get(r.fields["command"]):
            pending[r.fields["command"]] -= 1
            current = RecordedAnswer(r.fields["result"])
            answers.setdefault(r.fields["command"], []).append(current)
        elif (r.dir == "veh>gcs" and r.type == "STATUSTEXT" and current is not None
              and (r.fields["severity"] <= mavlink.MAV_SEVERITY_CRITICAL or current.texts)):
            current.texts.append((r.fields["severity"], r.fields["text"]))
    return answers


ARDUCOPTER_DEFAULTS: dict[str, tuple[float, int]] = {
    "WINCH_TYPE": (0.0, mavlink.MAV_PARAM_TYPE_INT8),
}
"""Parameters ArduCopter has that the recordings never read (its defaults), so the fake
answers them as the vehicle would instead of staying silent."""


def recorded_params(records: Iterable[Record]) -> dict[str, tuple[float, int]]:
    """Every parameter value seen in a recording: name -> (value, MAV_PARAM_TYPE)."""
    out = {}
    for r in records:
        if r.dir == "veh>gcs" and r.type == "PARAM_VALUE":
            out[r.fields["param_id"]] = (r.fields["param_value"], r.fields["param_type"])
    return out


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


# -- channels ------------------------------------------------------------------------------

class MemoryChannel:
    """A ``VehicleChannel`` wired to a ``FakeVehicle`` through real MAVLink encoding.

    A worker thread plays the vehicle: it takes the GCS's messages, runs the fake's timers and
    delivers the fake's messages to subscribers, as a link's reader thread would.
    """

    def __init__(self, fake: FakeVehicle) -> None:
        self.fake = fake
        self.hub = MessageHub()
        self._gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
        self._veh = mavlink.MAVLink(None, srcSystem=fake.sysid, srcComponent=1)
        self._parser = mavlink.MAVLink(None)
        self._inbound: deque[bytes] = deque()
        self._outbound: deque[MavMessage] = deque()
        fake.out = self._outbound.append
        self.sent: list[MavMessage] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake vehicle")
        self._thread.start()

    @property
    def sysid(self) -> int:
        return self.fake.sysid

    @property
    def compid(self) -> int:
        return 1

    def send(self, msg: MavMessage) -> None:
        self.sent.append(msg)
        self._inbound.append(bytes(msg.pack(self._gcs)))
        self._wake.set()

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        return self.hub.subscribe(callback)

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        return self.hub.inbox(types, predicate)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.01)
            self._wake.clear()
            while self._inbound:
                for msg in self._parser.parse_buffer(self._inbound.popleft()) or []:
                    self.fake.handle(msg)
            self.fake.tick()
            while self._outbound:
                raw = bytes(self._outbound.popleft().pack(self._veh))
                for msg in self._parser.parse_buffer(raw) or []:
                    self.hub.dispatch(msg)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.hub.close()


class LossyChannel:
    """Wraps a channel: drops, duplicates and reorders messages in both directions."""

    def __init__(self, inner: Any, drop: float = 0.2, duplicate: float = 0.1,
                 reorder: float = 0.1, seed: int = 1) -> None:
        self.inner = inner
        self.drop, self.duplicate, self.reorder = drop, duplicate, reorder
        self.rng = random.Random(seed)
        self.hub = MessageHub()
        self._held_out: MavMessage | None = None
        self._held_in: MavMessage | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        inner.subscribe(self._incoming)

    @property
    def sysid(self) -> int:
        return int(self.inner.sysid)

    @property
    def compid(self) -> int:
        return int(self.inner.compid)

    def _mangle(self, msg: MavMessage, held: MavMessage | None) -> tuple[list[Any], Any]:
        """Messages to pass on now and the one to hold back (reordering)."""
        with self._lock:
            r = self.rng.random()
            if r < self.drop:
                self.dropped += 1
                return [], held
            out = [msg, msg] if r < self.drop + self.duplicate else [msg]
            if held is None and self.rng.random() < self.reorder:
                return out[1:], msg  # hold it back until the next one passes
            return ([*out, held] if held is not None else out), None

    def send(self, msg: MavMessage) -> None:
        out, self._held_out = self._mangle(msg, self._held_out)
        for m in out:
            self.inner.send(m)

    def _incoming(self, msg: MavMessage) -> None:
        out, self._held_in = self._mangle(msg, self._held_in)
        for m in out:
            self.hub.dispatch(m)

    def subscribe(self, callback: MessageCallback) -> Callable[[], None]:
        return self.hub.subscribe(callback)

    def inbox(
        self, types: Collection[str] | None = None, predicate: Predicate | None = None
    ) -> Inbox:
        return self.hub.inbox(types, predicate)


# -- a TCP server of fakes -----------------------------------------------------------------

class FakeServer:
    """Serves fake vehicles on a real TCP port (all on one stream, routed by sysid).

    Like ArduPilot SITL it writes boot text before MAVLink, and ``drop_client()`` closes the
    connection as a reboot does. ``extra`` messages can be pushed with ``push``.
    """

    def __init__(self, fakes: Iterable[FakeVehicle], port: int = 0,
                 boot_text: bytes = BOOT_TEXT) -> None:
        self.fakes = {f.sysid: f for f in fakes}
        self.boot_text = boot_text
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", port))
        self._listen.listen(4)
        self._listen.settimeout(0.05)
        self.port = self._listen.getsockname()[1]
        self.url = f"tcp:127.0.0.1:{self.port}"
        self._client: socket.socket | None = None
        self._queue: deque[tuple[int, MavMessage]] = deque()
        self._raw: deque[bytes] = deque()
        self._encoders = {s: mavlink.MAVLink(None, srcSystem=s, srcComponent=1)
                          for s in self.fakes}
        self._parser = mavlink.MAVLink(None)
        self._parser.robust_parsing = True
        self.connections = 0
        self.received: list[MavMessage] = []
        for sysid, fake in self.fakes.items():
            fake.out = lambda msg, s=sysid: self._queue.append((s, msg))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake server")
        self._thread.start()

    def push(self, sysid: int, msg: MavMessage) -> None:
        self._queue.append((sysid, msg))

    def push_raw(self, data: bytes) -> None:
        self._raw.append(data)

    def drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._client is None:
                self._accept()
                continue
            try:
                self._pump(self._client)
            except OSError:
                self.drop_client()

    def _accept(self) -> None:
        try:
            client, _ = self._listen.accept()
        except (TimeoutError, OSError):
            return
        client.settimeout(0.01)
        client.sendall(self.boot_text)
        self.connections += 1
        self._client = client

    def _pump(self, client: socket.socket) -> None:
        try:
            data = client.recv(4096)
            if not data:
                raise OSError("client closed")
            for msg in self._parser.parse_buffer(data) or []:
                if msg.get_type() == "BAD_DATA":
                    continue
                self.received.append(msg)
                target = getattr(msg, "target_system", 0)
                for sysid, fake in self.fakes.items():
                    if target in (0, sysid):
                        fake.handle(msg)
        except TimeoutError:
            pass
        for fake in self.fakes.values():
            fake.tick()
        out = bytearray()
        while self._raw:
            out += self._raw.popleft()
        while self._queue:
            sysid, msg = self._queue.popleft()
            out += msg.pack(self._encoders[sysid])
        if out:
            client.sendall(bytes(out))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.drop_client()
        self._listen.close()


def play(records: Iterable[Record], out: Callable[[MavMessage], None],
         types: Collection[str] | None = None) -> int:
    """Feed every recorded vehicle message (optionally only ``types``) to ``out``."""
    n = 0
    for r in records:
        if r.dir != "veh>gcs" or r.type == "BAD_DATA" or (types and r.type not in types):
            continue
        msg = build_message(r.type, r.fields)
        msg._header = mavlink.MAVLink_header(msg.id, srcSystem=r.sysid, srcComponent=r.compid)
        out(msg)
        n += 1
    return n


__all__ = [
    "HOME", "FakeServer", "FakeVehicle", "LossyChannel", "MemoryChannel", "Record",
    "build_message", "encode", "load", "play", "recorded_answers", "recorded_params",
]


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


__all__ += ["FlightReplayFake"]
