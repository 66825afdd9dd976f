"""The day screen (``y``): each drone's day and the fleet's totals, live.

The same figures as ``drone-delivery report`` and the console's quit (``fleet.report``): per
drone the sorties flown, deliveries, deliveries on time, route km and Wh used. The backend
builds the report in a worker thread (``DayReporter``: it reads the store) every
``REFRESH_S`` wall seconds while the screen is open; a backend without a store says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from groundcontrol.fleet.report import DayReport, DroneDay, clock, fleet_day, printable

__all__ = ["NO_REPORT", "REFRESH_S", "DaySummaryScreen", "day_rows", "day_title"]

REFRESH_S = 2.0
"""Wall seconds between two readings of the day while the screen is open."""
NO_REPORT = "no day to report here: this console has no dispatch store behind it"
COLUMNS = ("Drone", "Sorties", "Delivered", "On time", "km", "Wh used")


def day_rows(report: DayReport) -> list[tuple[str, ...]]:
    """One row per drone, then the fleet's totals (``fleet``).

    >>> day = DroneDay("mit-q1", 3, 2, 1, 4.25, 120.5, 3)
    >>> day_rows(DayReport("s", None, (), (), (day,)))[-1]
    ('fleet', '3', '2', '1/2', '4.2', '120')
    """
    def row(d: DroneDay) -> tuple[str, ...]:
        return (printable(d.drone_id), str(d.sorties), str(d.delivered),
                f"{d.on_time}/{d.delivered}", f"{d.km:.1f}", f"{d.used_wh:.0f}")

    return [row(d) for d in report.drones] + [row(fleet_day(report))]


def day_title(report: DayReport, now_s: float | None) -> str:
    """The line above the table: the moment, the orders by state, flights and late ones."""
    states: dict[str, int] = {}
    for o in report.orders:
        # The store delivers an order at the landing; released, its drone returning, it is
        # dropped off (as the orders table says).
        state = "dropped_off" if o.state == "in_flight" and o.dropped_off_s is not None \
            else o.state
        states[state] = states.get(state, 0) + 1
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(states.items())) or "none"
    late = sum(1 for o in report.orders if o.late_by_s is not None and o.late_by_s > 0)
    flying = sum(1 for f in report.flights if f.ended_s is None)
    when = f"at {clock(now_s)} · " if now_s is not None else ""
    n, f = len(report.orders), len(report.flights)
    return (f"{when}{n} order{'s' * (n != 1)} ({counts}) · {f} flight{'s' * (f != 1)} "
            f"({flying} in the air) · {late} delivered late")


class DaySummaryScreen(ModalScreen[None]):
    """The day so far; escape, q or y close it.

    Args:
        fetch: the day now (called in a worker thread), None without a store.
        now: the console's clock (scenario seconds), for the title.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,y", "close", "Close")]

    def __init__(self, fetch: Callable[[], DayReport | None],
                 now: Callable[[], float | None] = lambda: None) -> None:
        super().__init__()
        self.fetch = fetch
        self.now = now
        self.report: DayReport | None = None
        self.readings = 0
        """How many times the day was read (tests wait on it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="day-box"):
            yield Label("The day so far", classes="detail-title")
            yield Static("reading the store…", id="day-title")
            yield DataTable(id="day-table", cursor_type="none", zebra_stripes=True)
            yield Label("as drone-delivery report prints it · escape closes", classes="help-hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for n, label in enumerate(COLUMNS):
            table.add_column(Text(label, justify="left" if n == 0 else "right"), key=label)
        self.refresh_day()
        self.set_interval(REFRESH_S, self.refresh_day)

    @work(thread=True, exclusive=True, group="day")
    def refresh_day(self) -> None:
        """Read the day off the event loop; ``show`` runs back on it."""
        try:
            report = self.fetch()
        except Exception as exc:  # a store that fails a read must not end the shift: say it
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.show, report)

    def _failed(self, why: str) -> None:
        self.readings += 1
        self.query_one("#day-title", Static).update(f"the day cannot be read: {why}")

    def show(self, report: DayReport | None) -> None:
        """Put ``report`` on screen (None: there is no store to read)."""
        self.readings += 1
        self.report = report
        title = self.query_one("#day-title", Static)
        table = self.query_one(DataTable)
        if report is None:
            title.update(NO_REPORT)
            table.display = False
            return
        title.update(day_title(report, self.now()))
        table.clear()
        rows = day_rows(report)
        for n, row in enumerate(rows):
            cells = [Text(c, justify="left" if i == 0 else "right") for i, c in enumerate(row)]
            if n == len(rows) - 1:
                for cell in cells:
                    cell.stylize("bold")
            table.add_row(*cells, key=row[0] if n < len(rows) - 1 else "fleet total")

    def action_close(self) -> None:
        self.dismiss(None)
