"""TCP endpoints and the in-process fleet: one background thread runs every vehicle in
simulated time and serves one TCP port per vehicle.

Like ArduPilot SITL's serial0 (``tcp:0`` with wait): a vehicle boots when its first client
connects, serves ONE client at a time (a second connection waits in the listen backlog until
the first closes), keeps flying when its client goes away, and a reboot command drops the
client and boots again on the next connection.

Like SITL's serial1, each vehicle also listens on port + 2 (``serial1=True``): a second MAVLink
channel, one client at a time, live once the vehicle has booted. It matters for signing:
ArduPilot accepts unsigned messages on SERIAL0 always, on SERIAL1 only while signing is off.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitl.airframe import Airframe

from .battery import PowerModel
from .params import load_parm_file
from .state import Home, Timeline
from .vehicle import SimVehicle

__all__ = ["SimFleet", "SimulatorError"]

STEP_S = 0.02
MAX_STEPS_PER_SERVICE = 10
REBOOT_DELAY_S = 0.2
MIN_WAIT_S = 0.004
"""Sped up, the thread sleeps at least this long (wall) between services, so several steps
run per wake-up (at 10x: two or three) instead of one."""


class SimulatorError(RuntimeError):
    """The simulator thread failed or a wait on it timed out."""


@dataclass
class _Endpoint:
    vehicle: SimVehicle
    listener: socket.socket
    port: int
    client: socket.socket | None = None
    blackout_until_s: float = 0.0
    pending_out: bytearray = field(default_factory=bytearray)
    channel: int = 0
    """The vehicle's MAVLink channel this port serves (0: SERIAL0, 1: SERIAL1)."""


class SimFleet:
    """Several simulated ArduCopters on TCP ports, stepped by one background thread.

    Args:
        homes: start location per vehicle (Home or (lat, lon, alt_m[, heading_deg])).
        speedup: simulated seconds per wall-clock second.
        params_files: ArduPilot ``.parm`` files applied in order at first boot (like --defaults).
        params: extra parameter values applied after the files.
        base_port: vehicle i listens on base_port + 10*i; 0 picks free ephemeral ports.
        host: address to listen on.
        wind: (speed_ms, from_deg) for every vehicle (SIM_WIND_SPD / SIM_WIND_DIR).
        timeline: boot timeline (defaults to the recorded SITL timings).
        power: the simulator's power model (default: the airframe's, else the SITL quad's).
        sysid_base: vehicle i gets MAV_SYSID sysid_base + i.
        base_files: base defaults (e.g. copter.parm), applied before the airframe's
            parameters; ``params_files`` come after them, as in SITL's ``--defaults``.
        airframes: one airframe for every vehicle or one per home (``sitl.airframe``): the
            aircraft ArduPilot SITL would fly with ``--model quad:FILE.json``.
        serial1: also serve each vehicle's SERIAL1 on its port + 2 (an ephemeral port when
            ``base_port`` is 0), as SITL does.
    """

    def __init__(self, homes: Sequence[Home | Sequence[float]], speedup: float = 1.0,
                 params_files: Sequence[str | Path] = (), params: dict[str, float] | None = None,
                 base_port: int = 5760, host: str = "127.0.0.1",
                 wind: tuple[float, float] | None = None, timeline: Timeline | None = None,
                 power: PowerModel | None = None, sysid_base: int = 1,
                 base_files: Sequence[str | Path] = (),
                 airframes: Sequence[Airframe | None] | Airframe | None = None,
                 serial1: bool = True) -> None:
        if speedup <= 0:
            raise ValueError(f"speedup must be positive, got {speedup}")
        frames = _per_vehicle(airframes, len(homes))
        base: dict[str, float] = {}
        for path in base_files:
            base.update(load_parm_file(path))
        overrides: dict[str, float] = {}
        for path in params_files:
            overrides.update(load_parm_file(path))
        overrides.update(params or {})
        if wind is not None:
            overrides["SIM_WIND_SPD"], overrides["SIM_WIND_DIR"] = wind
        self.speedup = float(speedup)
        self.host = host
        self.lock = threading.RLock()
        self.sim_time_s = 0.0
        self._endpoints: list[_Endpoint] = []
        self._serial1: list[_Endpoint] = []
        self._sel = selectors.DefaultSelector()
        for i, home in enumerate(homes):
            h = home if isinstance(home, Home) else Home(*[float(x) for x in home])
            # As SITL's --defaults: base, the airframe's parameters, then the rest.
            frame = frames[i]
            vehicle_params = {**base, **(load_parm_file(frame.parm_path) if frame else {}),
                              **overrides, "MAV_SYSID": sysid_base + i}
            vehicle = SimVehicle(h, sysid=sysid_base + i, params=vehicle_params, power=power,
                                 timeline=timeline, airframe=frame)
            port = 0 if base_port == 0 else base_port + 10 * i
            self._endpoints.append(self._listen(vehicle, i, port, channel=0))
            if serial1:
                port1 = 0 if base_port == 0 else port + 2
                self._serial1.append(self._listen(vehicle, i, port1, channel=1))
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._reanchor = False
        """Set by ``set_speedup``: the thread measures the new pace from now."""
        self.error: BaseException | None = None

    def _listen(self, vehicle: SimVehicle, index: int, port: int, channel: int) -> _Endpoint:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, port))
        except OSError as exc:
            listener.close()
            self._close_listeners()
            raise SimulatorError(f"vehicle {index}: cannot listen on {self.host}:{port}: "
                                 f"{exc.strerror}") from exc
        listener.listen(4)
        listener.setblocking(False)
        ep = _Endpoint(vehicle, listener, listener.getsockname()[1], channel=channel)
        self._sel.register(listener, selectors.EVENT_READ, ("accept", ep))
        return ep

    def _all_endpoints(self) -> list[_Endpoint]:
        return self._endpoints + self._serial1

    def _close_listeners(self) -> None:
        for ep in self._all_endpoints():
            ep.listener.close()
        self._sel.close()

    # ---- public API --------------------------------------------------------------------
    @property
    def endpoints(self) -> list[str]:
        """Connection strings, e.g. ``tcp:127.0.0.1:5760``, one per vehicle."""
        return [f"tcp:{self.host}:{ep.port}" for ep in self._endpoints]

    @property
    def ports(self) -> list[int]:
        return [ep.port for ep in self._endpoints]

    @property
    def serial1_endpoints(self) -> list[str]:
        """Each vehicle's SERIAL1 (``tcp:HOST:PORT+2``); empty when built without it."""
        return [f"tcp:{self.host}:{ep.port}" for ep in self._serial1]

    def vehicle(self, index: int) -> SimVehicle:
        """The vehicle object (read it under ``fleet.lock`` for a consistent view)."""
        return self._endpoints[index].vehicle

    def __len__(self) -> int:
        return len(self._endpoints)

    def start(self) -> SimFleet:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sim-fleet", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close every socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        for ep in self._all_endpoints():
            self._drop_client(ep)
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(ep.listener)
            ep.listener.close()
        self._sel.close()

    def set_speedup(self, speedup: float) -> None:
        """Run at ``speedup`` from now on (simulated seconds per wall second)."""
        if speedup <= 0:
            raise ValueError(f"speedup must be positive, got {speedup}")
        with self.lock:
            self.speedup = float(speedup)
            self._reanchor = True

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_sim(self, seconds: float, timeout_s: float = 60.0) -> None:
        """Block until ``seconds`` of simulated time have passed (raises SimulatorError)."""
        target = self.sim_time_s + seconds
        deadline = time.monotonic() + timeout_s
        while self.sim_time_s < target:
            if self.error is not None:
                raise SimulatorError(f"simulator thread failed: {self.error!r}") from self.error
            if time.monotonic() > deadline:
                raise SimulatorError(f"simulated time did not reach {target:.1f} s")
            time.sleep(0.002)

    # ---- fault injection ------------------------------------------------------------------
    def set_wind(self, index: int, speed_ms: float, from_deg: float) -> None:
        with self.lock:
            v = self.vehicle(index)
            v.params.set("SIM_WIND_SPD", speed_ms)
            v.params.set("SIM_WIND_DIR", from_deg)

    def drain_battery(self, index: int, mah: float) -> None:
        with self.lock:
            self.vehicle(index).battery.drain_mah(mah)

    def set_payload(self, index: int, kg: float) -> None:
        """Load a parcel of ``kg`` (dropped by the gripper's release): more power in flight."""
        if kg < 0:
            raise ValueError(f"payload must not be negative, got {kg}")
        with self.lock:
            self.vehicle(index).payload_kg = kg

    def kill_link(self, index: int) -> None:
        """Close the vehicle's TCP client (the GCS sees the connection drop)."""
        with self.lock:
            self._drop_client(self._endpoints[index])

    def blackout(self, index: int, sim_seconds: float) -> None:
        """Silently lose all traffic both ways for sim_seconds (the TCP link stays up)."""
        with self.lock:
            self._endpoints[index].blackout_until_s = self.sim_time_s + sim_seconds

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run fn under the fleet lock (consistent access to vehicle state)."""
        with self.lock:
            return fn()

    # ---- thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # surfaced to tests through .error / wait_sim
            self.error = exc
            raise

    def _loop(self) -> None:
        t0 = time.perf_counter()
        sim0 = 0.0
        while not self._stop.is_set():
            if self._reanchor:
                self._reanchor = False
                t0, sim0 = time.perf_counter(), self.sim_time_s
            target = sim0 + (time.perf_counter() - t0) * self.speedup
            steps = 0
            while self.sim_time_s + STEP_S <= target and steps < MAX_STEPS_PER_SERVICE:
                with self.lock:
                    self._step_all()
                steps += 1
            if steps:
                # One send per client for the steps just run, not one per step: the same
                # bytes in the same order, at most MAX_STEPS_PER_SERVICE steps later.
                with self.lock:
                    self._flush_all()
            if steps == MAX_STEPS_PER_SERVICE and target - self.sim_time_s > 1.0 * self.speedup:
                # Falling behind by more than a second of wall time: run slower than asked.
                t0, sim0 = time.perf_counter(), self.sim_time_s
            wait = max(0.0, (self.sim_time_s + STEP_S - target) / self.speedup)
            if 0.0 < wait < MIN_WAIT_S and self.speedup > 1.0:
                wait = MIN_WAIT_S  # wake less often; the next service runs the steps due
            self._service(min(wait, 0.05))

    def _step_all(self) -> None:
        self.sim_time_s += STEP_S
        for ep in self._endpoints:
            ep.vehicle.step(STEP_S)
        for ep in self._endpoints:
            if ep.vehicle.reboot_requested:
                # A rebooting ArduPilot closes every port, not just the one that asked,
                # after sending what it had queued (the command's ACK).
                for other in self._all_endpoints():
                    if other.vehicle is ep.vehicle:
                        self._flush(other)
                        self._drop_client(other)
                ep.vehicle.reboot()

    def _flush_all(self) -> None:
        for ep in self._endpoints:
            self._flush(ep)
        for ep in self._serial1:
            if ep.client is not None:  # no client: nothing is queued on that channel
                self._flush(ep)

    def _service(self, timeout: float) -> None:
        for key, _ in self._sel.select(timeout):
            kind, ep = key.data
            with self.lock:
                if kind == "accept":
                    self._accept(ep)
                else:
                    self._read(ep)

    def _accept(self, ep: _Endpoint) -> None:
        if ep.client is not None:
            return
        try:
            client, _ = ep.listener.accept()
        except BlockingIOError:
            return
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ep.client = client
        ep.pending_out.clear()
        # One client at a time: stop accepting until this one goes away.
        self._sel.unregister(ep.listener)
        self._sel.register(client, selectors.EVENT_READ, ("read", ep))
        ep.vehicle.open_channel(ep.channel)
        if not ep.vehicle.booted and ep.channel == 0:  # SITL boots once SERIAL0 connects
            ep.vehicle.boot()
        self._flush(ep)

    def _read(self, ep: _Endpoint) -> None:
        if ep.client is None:
            return
        try:
            data = ep.client.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_client(ep)
            return
        if self.sim_time_s < ep.blackout_until_s:
            return
        ep.vehicle.receive_bytes(data, ep.channel)
        self._flush(ep)

    def _flush(self, ep: _Endpoint) -> None:
        data = ep.vehicle.take_output(ep.channel)
        if ep.client is None or self.sim_time_s < ep.blackout_until_s:
            return
        ep.pending_out += data
        if not ep.pending_out:
            return
        try:
            sent = ep.client.send(ep.pending_out)
            del ep.pending_out[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop_client(ep)
            return
        if len(ep.pending_out) > 4_000_000:
            # A client that never reads: drop what it missed, as a serial link would.
            ep.pending_out.clear()

    def _drop_client(self, ep: _Endpoint) -> None:
        if ep.client is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(ep.client)
        with contextlib.suppress(OSError):
            ep.client.close()
        ep.client = None
        ep.pending_out.clear()
        ep.vehicle.close_channel(ep.channel)
        if not self._stop.is_set():
            self._sel.register(ep.listener, selectors.EVENT_READ, ("accept", ep))


def _per_vehicle(airframes: Sequence[Airframe | None] | Airframe | None,
                 count: int) -> list[Airframe | None]:
    if airframes is None or isinstance(airframes, Airframe):
        return [airframes] * count
    frames = list(airframes)
    if len(frames) != count:
        raise ValueError(f"{len(frames)} airframes for {count} vehicles")
    return frames
