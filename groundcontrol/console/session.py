"""One console session on a started fleet: run the app, then print how the day stands.

Shared by ``drone-delivery console`` and ``demo``: when the dispatcher quits, stdout gets the
fleet summary, the flights still in the air and where the store is (to resume the day).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.fleet_backend import FleetConsoleBackend
from groundcontrol.fleet.controller import FleetController
from groundcontrol.fleet.report import build_report, drone_lines
from groundcontrol.fleet.stats import FleetSummary, store_note

__all__ = ["SIM_QUIT_NOTE", "day_end_lines", "run_console"]

SIM_QUIT_NOTE = ("the built-in simulator stops with the console; the same command with "
                 "--store resumes the day and flies their orders again from the depot")
"""The quit dialog's note when the drones are simulated in this process."""


def day_end_lines(summary: FleetSummary, store_path: Path | None,
                  in_air: list[str] | None = None, drones: list[str] | None = None
                  ) -> list[str]:
    """The lines printed when the console quits.

    Args:
        summary: the fleet's summary at the quit.
        store_path: the store to resume from; None when it was temporary (deleted on exit).
        in_air: "drone (order)" for each flight still under way (", dropped off" once the
            release was seen: the store counts the delivery at the landing).
        drones: each drone's day as ``report`` prints it (``fleet.report.day_lines``).

    >>> s = FleetSummary(orders=3, delivered=1, infeasible=1, failed=0, cancelled=0, open=1)
    >>> day_end_lines(s, Path("c.db"), ["mit-q1 (CBR-007)"])[-2]
    'in the air at quit: mit-q1 (CBR-007)'
    """
    lines = list(summary.lines()) + list(drones or ())
    if in_air:
        lines.append(f"in the air at quit: {', '.join(in_air)}")
    lines.append(store_note(store_path))
    return lines


def run_console(controller: FleetController, title: str, store_path: Path | None, *,
                quit_note: str | None = None, out: TextIO | None = None) -> int:
    """Run the console on a started ``controller`` until the dispatcher quits; stop the
    controller; print ``day_end_lines`` to ``out`` (stdout). Returns the exit status (0)."""
    backend = (FleetConsoleBackend(controller, title) if quit_note is None
               else FleetConsoleBackend(controller, title, quit_note=quit_note))
    try:
        ConsoleApp(backend).run()
        in_air = sorted(
            f"{job.drone_id} ({job.order_id}"
            f"{', dropped off' if job.order_id in controller.delivered_at else ''})"
            for job in list(controller.jobs.values()) if job.took_off)
    finally:
        controller.stop()
    stream = sys.stdout if out is None else out
    drones = drone_lines(build_report(controller.store))
    print("\n".join(day_end_lines(controller.summary(), store_path, in_air, drones)),
          file=stream, flush=True)
    return 0
