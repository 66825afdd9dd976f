"""A minimal pymavlink GCS for the simulator tests (dialect only, no mavutil), plus the
recordings loader. Imported by the other test_sim_* files; its own tests check the basics."""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sitl.sim import Home, SimFleet

M = mavlink
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ardupilot-copter"
if not REFERENCE.exists():
    REFERENCE = Path("/work/shared/reference/ardupilot-copter")
CMAC = Home(-35.363261, 149.165230, 584.09, 353.0)
SPEEDUP = 60.0

__all__ = ["CMAC", "REFERENCE", "SPEEDUP", "SimClient", "fleet_and_client", "load_recording"]


class _Writer:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)


class SimClient:
    """A GCS on one TCP endpoint: a reader thread stores every message with its sim time."""

    def __init__(self, fleet: SimFleet, index: int = 0, sysid: int = 255, compid: int = 190,
                 heartbeat: bool = True) -> None:
        self.fleet = fleet
        self.sock = socket.create_connection(("127.0.0.1", fleet.ports[index]), timeout=5.0)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.mav = M.MAVLink(_Writer(self.sock), srcSystem=sysid, srcComponent=compid)
        self.target = index + 1
        self.messages: list[Any] = []
        self.raw_prefix = bytearray()
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self.heartbeat_enabled = heartbeat
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._hb = threading.Thread(target=self._hb_loop, daemon=True)
        self._hb.start()

    def _read_loop(self) -> None:
        parser = M.MAVLink(None)
        parser.robust_parsing = True
        while not self._closed.is_set():
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            if not self.messages and len(self.raw_prefix) < 4096:
                self.raw_prefix += data
            msgs = parser.parse_buffer(data) or []
            with self._cond:
                for msg in msgs:
                    msg.sim_t = self.fleet.sim_time_s
                    self.messages.append(msg)
                self._cond.notify_all()
        self._closed.set()
        with self._cond:
            self._cond.notify_all()

    def _hb_loop(self) -> None:
        while not self._closed.is_set():
            if self.heartbeat_enabled:
                try:
                    self.send(M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID,
                                                          0, 0, 0, 3))
                except OSError:
                    return
            time.sleep(1.0 / self.fleet.speedup)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, msg: Any) -> None:
        with self._cond:
            self.mav.send(msg)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.close()

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def wait(self, pred: Callable[[Any], bool], since: int | None = None,
             sim_timeout_s: float = 30.0) -> Any:
        """The first message from index ``since`` matching pred; AssertionError on timeout."""
        return self.wait_at(pred, since, sim_timeout_s)[1]

    def wait_at(self, pred: Callable[[Any], bool], since: int | None = None,
                sim_timeout_s: float = 30.0) -> tuple[int, Any]:
        """(index, message) of the first message from ``since`` matching pred."""
        start = self.mark() if since is None else since
        deadline = time.monotonic() + sim_timeout_s / self.fleet.speedup + 5.0
        i = start
        with self._cond:
            while True:
                while i < len(self.messages):
                    if pred(self.messages[i]):
                        return i, self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self._closed.is_set():
                    raise AssertionError(f"no matching message within {sim_timeout_s} sim s")
                self._cond.wait(min(left, 0.05))

    def wait_type(self, kind: str, since: int | None = None, sim_timeout_s: float = 30.0,
                  **fields: Any) -> Any:
        def pred(m: Any) -> bool:
            return m.get_type() == kind and all(getattr(m, k) == val for k, val in fields.items())
        return self.wait(pred, since, sim_timeout_s)

    def texts(self, since: int = 0) -> list[str]:
        with self._cond:
            return [m.text for m in self.messages[since:] if m.get_type() == "STATUSTEXT"]

    def of_type(self, kind: str, since: int = 0) -> list[Any]:
        with self._cond:
            return [m for m in self.messages[since:] if m.get_type() == kind]

    def command(self, cmd: int, *params: float, sim_timeout_s: float = 10.0) -> int:
        """COMMAND_LONG and its COMMAND_ACK result."""
        p = list(params) + [0.0] * (7 - len(params))
        since = self.mark()
        self.send(M.MAVLink_command_long_message(self.target, 1, cmd, 0, *p))
        ack = self.wait(lambda m: m.get_type() == "COMMAND_ACK" and m.command == cmd, since,
                        sim_timeout_s)
        return int(ack.result)

    def set_param(self, name: str, value: float) -> Any:
        since = self.mark()
        self.send(M.MAVLink_param_set_message(self.target, 1, name.encode(), value,
                                              M.MAV_PARAM_TYPE_REAL32))
        return self.wait(lambda m: m.get_type() == "PARAM_VALUE" and m.param_id == name, since)

    def request_streams(self, rate_hz: int = 4) -> None:
        self.send(M.MAVLink_request_data_stream_message(self.target, 1, 0, rate_hz, 1))

    def wait_ready(self) -> None:
        """Until the EKF uses GPS (the recorded ~42 s)."""
        self.wait(lambda m: m.get_type() == "STATUSTEXT" and m.text == "EKF3 IMU0 is using GPS",
                  since=0, sim_timeout_s=80.0)

    def upload(self, items: list[Any], mission_type: int = 0) -> int:
        """Upload MISSION_ITEM_INTs answering each MISSION_REQUEST; returns the final ack."""
        since = self.mark()
        self.send(M.MAVLink_mission_count_message(self.target, 1, len(items), mission_type))
        while True:
            index, msg = self.wait_at(lambda m: m.get_type() in ("MISSION_REQUEST", "MISSION_ACK")
                                      and m.mission_type == mission_type, since)
            since = index + 1
            if msg.get_type() == "MISSION_ACK":
                return int(msg.type)
            item = items[msg.seq]
            self.send(item)

    def mode(self) -> int:
        hb = [m for m in self.of_type("HEARTBEAT") if m.get_srcSystem() == self.target]
        return int(hb[-1].custom_mode) if hb else -1


def item(seq: int, command: int, x: float = 0.0, y: float = 0.0, z: float = 0.0,
         frame: int = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, p1: float = 0.0, p2: float = 0.0,
         p3: float = 0.0, p4: float = 0.0, mission_type: int = 0, target: int = 1) -> Any:
    """A MISSION_ITEM_INT (degrees in, 1e7 integers out)."""
    return M.MAVLink_mission_item_int_message(target, 1, seq, frame, command, 0, 1, p1, p2, p3,
                                              p4, round(x * 1e7), round(y * 1e7), z, mission_type)


def offset(home: Home, north_m: float, east_m: float) -> tuple[float, float]:
    lat = home.lat + math.degrees(north_m / 6378137.0)
    lon = home.lon + math.degrees(east_m / (6378137.0 * math.cos(math.radians(home.lat))))
    return lat, lon


def load_recording(name: str) -> list[dict[str, Any]]:
    path = REFERENCE / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"recording {path} not available")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def fleet_and_client(**kwargs: Any) -> tuple[SimFleet, SimClient]:
    kwargs.setdefault("homes", [CMAC])
    kwargs.setdefault("speedup", SPEEDUP)
    kwargs.setdefault("base_port", 0)
    fleet = SimFleet(**kwargs).start()
    return fleet, SimClient(fleet)


__all__ += ["item", "offset"]


# ---- tests of the basics ------------------------------------------------------------------
@pytest.mark.sim
def test_boot_text_then_heartbeats_and_nothing_else_unasked() -> None:
    fleet, gcs = fleet_and_client()
    try:
        gcs.wait_type("HEARTBEAT", since=0)
        fleet.wait_sim(4.0)
        assert bytes(gcs.raw_prefix).startswith(b"\n\nInit ArduCopter V4.7.0-dev")
        kinds = {m.get_type() for m in gcs.messages}
        assert kinds <= {"HEARTBEAT", "STATUSTEXT", "TIMESYNC", "PARAM_VALUE", "BAD_DATA"}
        hb = gcs.of_type("HEARTBEAT")
        assert hb[0].type == M.MAV_TYPE_QUADROTOR
        assert hb[0].autopilot == M.MAV_AUTOPILOT_ARDUPILOTMEGA
        assert hb[0].system_status == M.MAV_STATE_BOOT and hb[0].base_mode == 0x59
        assert hb[-1].system_status == M.MAV_STATE_STANDBY and hb[-1].base_mode == 0x51
        assert hb[0].get_srcSystem() == 1 and hb[0].get_srcComponent() == 1
        assert "ArduPilot Ready" in gcs.texts()
    finally:
        gcs.close()
        fleet.stop()


class Bench:
    """Lock-step GCS for a SimVehicle without sockets: deterministic and fast.

    Every step the vehicle's output is parsed into ``msgs`` (each tagged ``sim_t``); a GCS
    HEARTBEAT from 255/190 is injected every simulated second while ``heartbeat`` is set.
    """

    def __init__(self, params: dict[str, float] | None = None, home: Home = CMAC,
                 step_s: float = 0.02, streams_hz: int = 2, **kwargs: Any) -> None:
        from sitl.sim import SimVehicle

        self.v = SimVehicle(home, sysid=1, params=params, **kwargs)
        self.step_s = step_s
        self.gcs = M.MAVLink(None, srcSystem=255, srcComponent=190)
        self.parser = M.MAVLink(None)
        self.parser.robust_parsing = True
        self.msgs: list[Any] = []
        self.heartbeat = True
        self._next_hb = 0.0
        self.streams_hz = streams_hz
        self.v.boot()
        self._request_streams()

    def _request_streams(self) -> None:
        if self.streams_hz:
            self.send(M.MAVLink_request_data_stream_message(1, 1, 0, self.streams_hz, 1))

    @property
    def t(self) -> float:
        return self.v.sim_time_s

    def _collect(self) -> None:
        for msg in self.parser.parse_buffer(self.v.take_output()) or []:
            if msg.get_type() != "BAD_DATA":
                msg.sim_t = self.v.sim_time_s
                self.msgs.append(msg)

    def send(self, msg: Any) -> None:
        msg.pack(self.gcs)
        self.v.receive(msg)
        self._collect()

    def step(self, seconds: float = 0.0) -> None:
        end = self.t + seconds
        while True:
            if self.heartbeat and self.t >= self._next_hb:
                self._next_hb = self.t + 1.0
                self.send(M.MAVLink_heartbeat_message(M.MAV_TYPE_GCS, M.MAV_AUTOPILOT_INVALID,
                                                      0, 0, 0, 3))
            self.v.step(self.step_s)
            self._collect()
            if self.v.reboot_requested:
                self.v.reboot()
                self.parser = M.MAVLink(None)
                self.parser.robust_parsing = True
                self.v.boot()
                self._next_hb = 0.0
            if self.t >= end:
                return

    def until(self, pred: Callable[[], Any], timeout_s: float, what: str = "condition") -> Any:
        end = self.t + timeout_s
        while self.t < end:
            result = pred()
            if result:
                return result
            self.step(self.step_s)
        raise AssertionError(f"{what} not reached within {timeout_s} sim s (t={self.t:.1f})")

    def until_msg(self, kind: str, timeout_s: float, since: int | None = None,
                  pred: Callable[[Any], bool] = lambda m: True) -> Any:
        start = len(self.msgs) if since is None else since

        def find() -> Any:
            for m in self.msgs[start:]:
                if m.get_type() == kind and pred(m):
                    return m
            return None
        return self.until(find, timeout_s, f"{kind}")

    def until_text(self, text: str, timeout_s: float, since: int | None = None) -> Any:
        return self.until_msg("STATUSTEXT", timeout_s, since, lambda m: m.text == text)

    def command(self, cmd: int, *params: float) -> int:
        p = list(params) + [0.0] * (7 - len(params))
        since = len(self.msgs)
        self.send(M.MAVLink_command_long_message(1, 1, cmd, 0, *p))
        acks = [m for m in self.msgs[since:] if m.get_type() == "COMMAND_ACK" and m.command == cmd]
        assert acks, f"no COMMAND_ACK for {cmd}"
        return int(acks[0].result)

    def set_param(self, name: str, value: float) -> Any:
        since = len(self.msgs)
        self.send(M.MAVLink_param_set_message(1, 1, name.encode(), value,
                                              M.MAV_PARAM_TYPE_REAL32))
        values = [m for m in self.msgs[since:] if m.get_type() == "PARAM_VALUE"
                  and m.param_id == name]
        assert values, f"no PARAM_VALUE echo for {name}"
        return values[0]

    def upload(self, items: list[Any], mission_type: int = 0) -> int:
        since = len(self.msgs)
        self.send(M.MAVLink_mission_count_message(1, 1, len(items), mission_type))
        for _ in range(len(items) + 5):
            new = self.msgs[since:]
            since = len(self.msgs)
            for m in new:
                if m.get_type() == "MISSION_ACK" and m.mission_type == mission_type:
                    return int(m.type)
                if m.get_type() == "MISSION_REQUEST" and m.mission_type == mission_type:
                    self.send(items[m.seq])
        raise AssertionError("upload did not finish")

    def ready(self) -> None:
        self.until(self.v.ekf_ready, 60.0, "EKF using GPS")
        self.step(0.5)

    def texts(self, since: int = 0) -> list[str]:
        return [m.text for m in self.msgs[since:] if m.get_type() == "STATUSTEXT"]

    def reached(self, since: int = 0) -> list[int]:
        return [m.seq for m in self.msgs[since:] if m.get_type() == "MISSION_ITEM_REACHED"]

    def modes(self, since: int = 0) -> list[int]:
        out: list[int] = []
        for m in self.msgs[since:]:
            if m.get_type() == "HEARTBEAT" and (not out or out[-1] != m.custom_mode):
                out.append(int(m.custom_mode))
        return out

    def arm_and_start(self) -> None:
        assert self.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
        assert self.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
        self.step(0.5)
        assert self.command(M.MAV_CMD_MISSION_START) == 0

    def takeoff(self, alt_m: float) -> None:
        assert self.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
        assert self.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
        assert self.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m) == 0
        self.until(lambda: self.v.alt_rel_m() > alt_m - 0.5, 60.0, "takeoff altitude")


def recorded_upload(name: str, first_only: bool = True) -> list[Any]:
    """The MISSION_ITEM_INTs of the first mission upload in a recording."""
    items: list[Any] = []
    for rec in load_recording(name):
        if rec["dir"] == "gcs>veh" and rec["type"] == "MISSION_ITEM_INT" \
                and rec["fields"]["mission_type"] == 0:
            f = rec["fields"]
            if items and f["seq"] == 0 and first_only:
                break
            if f["seq"] == len(items):
                items.append(M.MAVLink_mission_item_int_message(
                    1, 1, f["seq"], f["frame"], f["command"], 0, f["autocontinue"],
                    f["param1"], f["param2"], f["param3"], f["param4"], f["x"], f["y"], f["z"],
                    0))
    return items


def recorded(name: str, kind: str, field: str | None = None) -> list[Any]:
    """Values of one field (or the records) of vehicle messages of a type in a recording."""
    out = []
    for rec in load_recording(name):
        if rec["dir"] == "veh>gcs" and rec["type"] == kind:
            out.append(rec["fields"][field] if field else rec)
    return out


__all__ += ["Bench", "recorded", "recorded_upload"]
