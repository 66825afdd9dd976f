"""The built-in simulator in a child process, for benchmarks that measure a ground station
beside it (or the simulator itself).

``SimChild(count, speedup)`` starts a ``SimFleet`` of ``count`` vehicles in a ``spawn``ed
process; ``sample()`` returns the child's CPU time and the fleet's simulated time, so the
parent's own CPU figures never include the simulator and the simulator's never include the
parent. ``profile=PATH`` runs the fleet's thread under cProfile and writes its stats there
when the child stops.
"""

from __future__ import annotations

import contextlib
import cProfile
import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

__all__ = ["HOME", "SPACING_DEG", "SimChild", "SimSample"]

HOME = (-35.363261, 149.165230, 584.0, 353.0)
"""Vehicle 0's start (lat, lon, alt_m, heading_deg): the SITL default at Canberra."""
SPACING_DEG = 0.0005
"""Vehicle i starts ``i * SPACING_DEG`` east of vehicle 0 (about 45 m apart)."""


@dataclass(frozen=True, slots=True)
class SimSample:
    """The child at one moment."""

    cpu_s: float
    """CPU seconds the child process has used (all its threads)."""
    sim_s: float
    """The fleet's simulated seconds since it started."""
    wall_s: float
    """The parent's ``perf_counter`` when the answer arrived."""


def _serve(count: int, speedup: float, params: dict[str, float], profile: str | None,
           conn: Connection) -> None:
    from sitl.sim import SimFleet

    homes = [(HOME[0], HOME[1] + SPACING_DEG * i, HOME[2], HOME[3]) for i in range(count)]
    profiler = cProfile.Profile() if profile else None

    class Fleet(SimFleet):
        def _run(self) -> None:
            if profiler is None:
                super()._run()
                return
            profiler.enable()
            try:
                super()._run()
            finally:
                profiler.disable()

    with Fleet(homes=homes, speedup=speedup, base_port=0, params=params) as fleet:
        conn.send(fleet.endpoints)
        while True:
            request = conn.recv()
            if request == "sample":
                conn.send((time.process_time(), fleet.sim_time_s, fleet.error is None))
            elif isinstance(request, tuple) and request[0] == "speedup":
                fleet.set_speedup(request[1])
                conn.send("ok")
            elif request == "stop":
                break
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    conn.send("stopped")


class SimChild:
    """``count`` simulated vehicles served by a child process.

    Args:
        count: vehicles (vehicle i on an ephemeral port, sysid i + 1).
        speedup: simulated seconds per wall second asked of the fleet.
        params: parameter values for every vehicle (after the defaults).
        profile: write the fleet thread's cProfile stats to this path at exit.
    """

    def __init__(self, count: int, speedup: float, params: dict[str, float] | None = None,
                 profile: str | Path | None = None) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(count, speedup, dict(params or {}),
                                 str(profile) if profile else None, child_conn),
            name="bench-sim", daemon=True)
        self.endpoints: list[str] = []

    def __enter__(self) -> SimChild:
        self._process.start()
        if not self._conn.poll(60.0):
            self._process.kill()
            raise RuntimeError("simulator child did not start within 60 s")
        try:
            self.endpoints = self._conn.recv()
        except EOFError:
            self._process.join(timeout=5.0)
            raise RuntimeError(f"simulator child exited ({self._process.exitcode}) before "
                               "reporting its ports; its traceback is above") from None
        return self

    def sample(self) -> SimSample:
        """The child's CPU and simulated time now (raises if its simulator thread failed)."""
        self._conn.send("sample")
        if not self._conn.poll(10.0):
            raise RuntimeError("simulator child did not answer within 10 s")
        cpu, sim, healthy = self._conn.recv()
        if not healthy:
            raise RuntimeError("the simulator thread in the child failed")
        return SimSample(float(cpu), float(sim), time.perf_counter())

    def set_speedup(self, speedup: float) -> None:
        """Run the fleet at ``speedup`` from now on."""
        self._conn.send(("speedup", float(speedup)))
        if not self._conn.poll(10.0):
            raise RuntimeError("simulator child did not answer within 10 s")
        self._conn.recv()

    def cpu_s(self) -> float:
        """CPU seconds the child has used (raises if its simulator thread failed)."""
        return self.sample().cpu_s

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(BrokenPipeError, EOFError, OSError):  # the child is gone
            self._conn.send("stop")
            if self._conn.poll(30.0):  # the profile is written before it answers
                self._conn.recv()
        self._process.join(timeout=10.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5.0)
