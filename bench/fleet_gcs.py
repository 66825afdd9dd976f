"""Fleet benchmark, ground-station section: one process following a city's fleet.

A generated day (``drone-delivery scenario generate``: ``--gcs-vehicles`` drones, default 200,
over 5 depots) gets one built-in simulated vehicle per drone at its depot, in a child process
at speedup 1 (``groundcontrol.fleet.setup.start_sim``, as ``console --sim`` starts them). This
process is the product's ground station for all of them: a ``FleetController`` (one TCP link
per vehicle, a ``VehicleTracker`` each, the fleet's streams at 2 Hz) with GLOBAL_POSITION_INT
asked at 4 Hz, ArduPilot's usual rates (position 4 Hz, the rest 1-2 Hz). Measured over a
window of wall seconds:

* follow only: messages received per second and this process's CPU (process time / wall
  time; 100 % is one core);
* with the dispatcher console (``ConsoleApp`` on the fleet, headless at 120x40, redrawing at
  its usual 5 Hz): the same, plus key-to-screen: a cursor key is sent to the fleet table
  every 0.2 s, and the time to the first frame the compositor produces with the cursor on the
  new row is taken, the frame's terminal output (``render_segments``) included, as a real
  terminal would need it.

The simulator's CPU (the child) is printed apart. Prints figures, asserts nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.cli.main import main as cli_main
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.intake import record_scenario
from groundcontrol.fleet.model import FleetConfig, ManualCrew, VehicleClock
from groundcontrol.fleet.setup import start_sim
from groundcontrol.fleet.store.sqlite import Store
from planner.load import load_scenario

__all__ = ["GcsFigures", "Row", "gcs_figures", "gcs_rows", "generate_city", "run"]

POSITION_INTERVAL_US = 250_000
"""GLOBAL_POSITION_INT at 4 Hz: the position stream a ground station's map asks for."""
KEY_PERIOD_S = 0.2


Row = tuple[str, str, str]
"""(section, measure, figure): a line of ``bench fleet``'s summary table."""


def generate_city(folder: Path, drones: int, depots: int = 5, orders: int | None = None,
                  hours: int | None = None) -> Path:
    """A generated day of ``drones`` drones over ``depots`` depots (``orders``, default two
    per drone; over ``hours`` of the "day" demand curve, default the generator's 4-hour
    lunch), written to ``folder`` as ``drone-delivery scenario generate`` writes it."""
    args = ["scenario", "generate", "--out", str(folder), "--force", "--depots", str(depots),
            "--drones", str(drones), "--orders", str(orders or 2 * drones)]
    if hours is not None:
        args += ["--hours", str(hours), "--demand", "day"]
    status = cli_main(args)
    if status != 0:
        raise RuntimeError(f"scenario generate failed ({status})")
    return folder


@dataclass(frozen=True, slots=True)
class GcsFigures:
    vehicles: int
    console: bool
    wall_s: float
    messages: int
    gcs_cpu_s: float
    sim_cpu_s: float
    heard: int
    """Vehicles whose HEARTBEAT the ground station has."""
    key_ms: tuple[float, ...] = ()
    """Key-to-screen times of the window's key presses, milliseconds."""
    redraws: int = 0

    @property
    def per_s(self) -> float:
        return self.messages / self.wall_s

    @property
    def core_pct(self) -> float:
        return 100.0 * self.gcs_cpu_s / self.wall_s

    def key_pct_ms(self, pct: float) -> float:
        keys = sorted(self.key_ms)
        return keys[min(len(keys) - 1, int(len(keys) * pct / 100.0))] if keys else float("nan")


def _controller(folder: Path, endpoints: list[str], store: Store) -> FleetController:
    scenario = load_scenario(folder)
    record_scenario(store, folder, 30.0, 0.0)
    holder: list[FleetController] = []
    clock = VehicleClock(lambda: list(holder[0].trackers.values()) if holder else [], 0.0,
                         fallback_speedup=1.0)
    controller = FleetController(
        scenario, store, {d.id: url for d, url in zip(scenario.fleet, endpoints, strict=True)},
        clock, config=FleetConfig(speedup=1.0, stream_rate_hz=2), crew=ManualCrew(),
        releases=())
    holder.append(controller)
    return controller


def _received(controller: FleetController) -> int:
    """Messages received from the fleet's vehicles so far."""
    return sum(t.snapshot().link_received for t in controller.trackers.values())


def _ask_position_4hz(controller: FleetController) -> None:
    for channel in controller.channels.values():
        channel.send(mavlink.MAVLink_command_long_message(
            channel.sysid, channel.compid, mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, 0,
            mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, POSITION_INTERVAL_US, 0, 0, 0, 0, 0))


def gcs_figures(vehicles: int, window_s: float, console: bool, folder: Path) -> GcsFigures:
    """Follow ``vehicles`` simulated drones for ``window_s`` wall seconds (see the module)."""
    sim = start_sim(load_scenario(folder), folder, 1.0, process=True)
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                Store.open(Path(tmp) / "gcs.sqlite") as store:
            controller = _controller(folder, sim.endpoints, store)
            controller.start()
            try:
                _ask_position_4hz(controller)
                time.sleep(5.0)  # streams up to rate
                if console:
                    return asyncio.run(_with_console(controller, sim.cpu_s, vehicles, window_s))
                return _measure(controller, sim.cpu_s, vehicles, window_s,
                                lambda: time.sleep(window_s))
            finally:
                controller.stop()
    finally:
        sim.stop()


def _measure(controller: FleetController, sim_cpu: Callable[[], float], vehicles: int,
             window_s: float, wait: Callable[[], Any], console: bool = False) -> GcsFigures:
    r0, c0, s0, w0 = _received(controller), time.process_time(), sim_cpu(), time.perf_counter()
    wait()
    r1, c1, s1, w1 = _received(controller), time.process_time(), sim_cpu(), time.perf_counter()
    heard = sum(t.snapshot().heartbeats > 0 for t in controller.trackers.values())
    return GcsFigures(vehicles, console, w1 - w0, r1 - r0, c1 - c0, s1 - s0, heard)


async def _with_console(controller: FleetController, sim_cpu: Callable[[], float],
                        vehicles: int, window_s: float) -> GcsFigures:
    from textual import events
    from textual._compositor import CompositorUpdate

    from groundcontrol.console.app import ConsoleApp
    from groundcontrol.console.fleet_backend import FleetConsoleBackend

    app = ConsoleApp(FleetConsoleBackend(controller, "bench"))
    frames: list[tuple[float, int]] = []
    keys_ms: list[float] = []
    async with app.run_test(size=(120, 40)):
        table = app.main.fleet
        display = app._display

        def shown(screen: Any, renderable: Any) -> None:
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)  # what a terminal would be sent
            if renderable is not None:
                frames.append((time.perf_counter(), table.cursor_row))
            display(screen, renderable)

        app._display = shown  # type: ignore[method-assign]
        table.focus()
        await asyncio.sleep(3.0)
        r0, c0, s0 = _received(controller), time.process_time(), sim_cpu()
        w0 = time.perf_counter()
        flushes0 = app.flushes
        press = 0
        run = max(1, min(20, vehicles - 1))  # down then up, never past the table's ends
        while time.perf_counter() - w0 < window_s:
            before, start = table.cursor_row, len(frames)
            key = "down" if (press // run) % 2 == 0 else "up"
            sent = time.perf_counter()
            event = events.Key(key, None)
            event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(event)
            seen = None
            while seen is None and time.perf_counter() - sent < 10.0:
                await asyncio.sleep(0.002)
                seen = next((t for t, row in frames[start:] if row != before), None)
            keys_ms.append(1000.0 * ((seen or time.perf_counter()) - sent))
            press += 1
            await asyncio.sleep(KEY_PERIOD_S)
        r1, c1, s1 = _received(controller), time.process_time(), sim_cpu()
        w1 = time.perf_counter()
        heard = sum(t.snapshot().heartbeats > 0 for t in controller.trackers.values())
        return GcsFigures(vehicles, True, w1 - w0, r1 - r0, c1 - c0, s1 - s0, heard,
                          tuple(keys_ms), app.flushes - flushes0)


def print_gcs(f: GcsFigures) -> None:
    what = "with the console" if f.console else "following"
    line = (f"  {f.vehicles} vehicles {what} ({f.heard} heard): {f.per_s:,.0f} msg/s, "
            f"ground station {f.core_pct:.0f} % of one core, simulator child "
            f"{100.0 * f.sim_cpu_s / f.wall_s:.0f} %")
    if f.console:
        line += (f"; key-to-screen p50 {f.key_pct_ms(50):.0f} ms, p95 {f.key_pct_ms(95):.0f} ms "
                 f"(n={len(f.key_ms)}), {f.redraws / f.wall_s:.1f} redraws/s")
    print(line, flush=True)


def gcs_rows(f: GcsFigures) -> list[Row]:
    """Summary rows: (section, measure, figure)."""
    label = "ground station + console" if f.console else "ground station"
    rows = [(label, f"{f.vehicles} vehicles followed", f"{f.per_s:,.0f} msg/s"),
            (label, "CPU", f"{f.core_pct:.0f} % of one core")]
    if f.console:
        rows.append((label, "key-to-screen p95", f"{f.key_pct_ms(95):.0f} ms"))
    return rows


def run(vehicles: int, window_s: float) -> list[Row]:
    """Both measurements on one generated city; their summary rows."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-gcs-") as tmp:
        folder = generate_city(Path(tmp) / "city", vehicles)
        for console in (False, True):
            figures = gcs_figures(vehicles, window_s, console, folder)
            print_gcs(figures)
            rows += gcs_rows(figures)
    return rows
