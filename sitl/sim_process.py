"""The built-in simulator's fleet in a child process, for the demo and the console.

``SimFleet`` steps its vehicles on a thread. In the process of a ground station that follows
them (the demo, ``console --sim``) the two share one interpreter lock, so the simulator and
the ground station together never get more than one core: the demo's nine drones ran at
16-34x of the 40x asked on two cores, and a hundred at about 1x of 10x. ``SimFleetProcess``
runs the same ``SimFleet`` in a child process and offers what a fleet controller uses of it:
the vehicles' connection strings, the simulated clock, a depot's battery swap or charge, the
child's CPU time (for benchmarks), and stop. The vehicles are the same, on the same TCP ports
and wire; only the process differs.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from .sim.server import SimFleet, SimulatorError

__all__ = ["SimFleetProcess", "set_pack_charge"]

START_TIMEOUT_S = 120.0
"""A spawned interpreter imports pymavlink, numpy and shapely first, and a hundred vehicles
open their ports: a minute is not unusual on a busy machine."""
CLOCK_PERIOD_S = 0.005
"""How often the child publishes its simulated clock (wall seconds)."""
ANSWER_TIMEOUT_S = 30.0


def set_pack_charge(fleet: SimFleet, index: int, fraction: float, capacity_wh: float) -> None:
    """Set vehicle ``index``'s pack to ``fraction`` of its charge (a swap or a charge at the
    depot), between the simulator thread's steps."""
    vehicle = fleet.vehicle(index)

    def set_charge() -> None:
        pack = vehicle.battery
        pack.consumed_mah = pack.capacity_mah * (1.0 - fraction)
        pack.consumed_wh = capacity_wh * (1.0 - fraction)

    fleet.call(set_charge)


def _serve(kwargs: dict[str, Any], conn: Connection, clock: Synchronized) -> None:
    try:
        fleet = SimFleet(**kwargs).start()
    except Exception as exc:  # reported to the parent, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        conn.send(("ready", fleet.endpoints))
        while True:
            clock.value = fleet.sim_time_s
            if fleet.error is not None:
                conn.send(("error", f"the simulator failed: {fleet.error}"))
                return
            if not conn.poll(CLOCK_PERIOD_S):
                continue
            request = conn.recv()
            if request[0] == "stop":
                return
            if request[0] == "charge":
                set_pack_charge(fleet, *request[1:])
                conn.send(("done", None))
            elif request[0] == "cpu":
                conn.send(("cpu", time.process_time()))
    except (EOFError, BrokenPipeError):
        return  # the parent is gone
    finally:
        fleet.stop()


class SimFleetProcess:
    """A ``SimFleet`` (same arguments) run by a child process; see the module.

    Raises (``start``, ``set_charge``):
        SimulatorError: the child did not start, failed, or did not answer in time.
    """

    def __init__(self, **kwargs: Any) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._clock = ctx.Value("d", 0.0, lock=False)
        self._process = ctx.Process(target=_serve, args=(kwargs, child, self._clock),
                                    name="built-in simulator", daemon=True)
        self._lock = threading.Lock()
        self._endpoints: list[str] = []

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    @property
    def sim_time_s(self) -> float:
        """Simulated seconds since the fleet started (published every few milliseconds)."""
        return float(self._clock.value)

    @property
    def error(self) -> str | None:
        """Why the child stopped, None while it runs."""
        if self._process.is_alive() or self._process.exitcode is None:
            return None
        return f"the simulator process exited ({self._process.exitcode})"

    def start(self) -> SimFleetProcess:
        self._process.start()
        kind, value = self._answer(START_TIMEOUT_S, "start")
        if kind != "ready":
            self.stop()
            raise SimulatorError(str(value))
        self._endpoints = list(value)
        return self

    def set_charge(self, index: int, fraction: float, capacity_wh: float) -> None:
        """``set_pack_charge`` on the child's fleet; returns once it is done."""
        with self._lock:
            self._conn.send(("charge", index, fraction, capacity_wh))
            kind, value = self._answer(ANSWER_TIMEOUT_S, "set a pack's charge")
        if kind != "done":
            raise SimulatorError(str(value))

    def cpu_s(self) -> float:
        """CPU seconds the child process has used (all its threads): the simulator's cost,
        apart from the ground station's."""
        with self._lock:
            self._conn.send(("cpu",))
            kind, value = self._answer(ANSWER_TIMEOUT_S, "tell its CPU time")
        if kind != "cpu":
            raise SimulatorError(str(value))
        return float(value)

    def stop(self) -> None:
        with self._lock, contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(("stop",))
        self._process.join(timeout=10.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5.0)

    def __enter__(self) -> SimFleetProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, timeout_s: float, what: str) -> tuple[str, Any]:
        if not self._conn.poll(timeout_s):
            raise SimulatorError(f"the simulator process did not {what} within {timeout_s:g} s")
        try:
            answer: tuple[str, Any] = self._conn.recv()
        except EOFError:
            self._process.join(timeout=5.0)
            raise SimulatorError(f"the simulator process exited "
                                 f"({self._process.exitcode}) before it could {what}") from None
        return answer
