"""The orders panel: the queue with status, time left, due and expected drop-off as clock times,
priority, payload and destination; sorted by id or by urgency."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rich.text import Text

from groundcontrol.console.model import OrderView
from groundcontrol.console.widgets.format import ORDER_STYLES, duration
from groundcontrol.console.widgets.tables import ViewTable
from groundcontrol.fleet.report import clock as _report_clock

__all__ = ["ORDER_COLUMNS", "SORTS", "OrdersTable", "by_id", "by_urgency", "hhmm",
           "natural", "order_cells"]

ORDER_COLUMNS = (
    ("id", "Order"),
    ("status", "Status"),
    ("left", "Left"),
    ("due", "Due"),
    ("kg", "kg"),
    ("eta", "ETA"),
    ("priority", "Pri"),
    ("vehicle", "Vehicle"),
    ("reason", "Reason"),
    ("placed", "Placed"),
    ("depot", "Depot"),
    ("dest", "Destination"),
)
SORTS = ("id", "urgency")
"""The orders panel's sort orders, in the order its key cycles through them."""


def hhmm(time_s: float | None) -> str:
    """A scenario time (seconds since midnight) as the clock time HH:MM; -- when unknown.

    >>> hhmm(13 * 3600 + 5 * 60 + 59), hhmm(None)
    ('13:05', '--')
    """
    if time_s is None or not math.isfinite(time_s):
        return "--"
    return _report_clock(time_s)


_Natural = tuple[tuple[int, int, str], ...]


def natural(text: str) -> _Natural:
    """A sort key that reads the numbers in a text as numbers.

    >>> sorted(["O10", "O2", "C001"], key=natural)
    ['C001', 'O2', 'O10']
    """
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                 for p in re.split(r"([0-9]+)", text) if p)


def by_id(o: OrderView) -> _Natural:
    """Ids in natural order: O2 before O10."""
    return natural(o.id)


def by_urgency(o: OrderView) -> tuple[bool, float, int, _Natural]:
    """Open orders first, the least time left (the earliest due) first, then the higher
    priority; finished orders last, by id."""
    if o.status.is_final:
        return (True, math.inf, 0, natural(o.id))
    due = math.inf if o.promised_s is None else o.promised_s
    return (False, due, -o.priority, natural(o.id))


def order_cells(o: OrderView) -> tuple[Text, ...]:
    open_ = not o.status.is_final
    left = Text(duration(o.time_left_s), justify="right")
    if o.time_left_s is not None and open_:
        left.stylize("bold red" if o.time_left_s < 0 else "yellow" if o.time_left_s < 300 else "")
    late = open_ and o.eta_s is not None and o.promised_s is not None and o.eta_s > o.promised_s
    reason = o.reason if len(o.reason) <= 40 else o.reason[:39] + "…"
    return (
        Text(o.id, style="bold"),
        Text(o.status.value, style=ORDER_STYLES.get(o.status, "")),
        left,
        Text(hhmm(o.promised_s)),
        Text(f"{o.payload_kg:.1f}", justify="right"),
        Text(hhmm(o.eta_s), style="bold red" if late else ""),
        Text(str(o.priority), justify="right", style="bold" if o.priority > 0 else "grey50"),
        Text(o.vehicle or "-"),
        Text(reason, style="red" if o.reason else ""),
        Text(hhmm(o.created_s)),
        Text(o.depot_id),
        Text(f"{o.destination.lat:.4f},{o.destination.lon:.4f}"),
    )


class OrdersTable(ViewTable[OrderView]):
    """Orders panel; the row under the cursor is the target of order actions. Rows stay in
    the ``sort_by`` order as views arrive; the cursor stays on its order when they move."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(ORDER_COLUMNS, key=lambda o: o.id, cells=order_cells, id=id)
        self.sort_by = SORTS[0]

    @property
    def sort_title(self) -> str:
        """What the panel's title says of the order: ``by id``, ``by urgency``."""
        return f"by {self.sort_by}"

    def update_views(self, views: Sequence[OrderView]) -> None:
        super().update_views(views)
        self._keep_sorted()

    def toggle_sort(self) -> str:
        """The next sort order; returns its name."""
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self._keep_sorted()
        return self.sort_by

    def _keep_sorted(self) -> None:
        key = by_urgency if self.sort_by == "urgency" else by_id
        wanted = [o.id for o in sorted(self.views.values(), key=key)]
        if [row.key.value for row in self.ordered_rows] == wanted:
            return  # the usual flush: nothing moved, nothing to redraw
        selected = self.selected_key
        rank = {order_id: i for i, order_id in enumerate(wanted)}
        self.sort("id", key=lambda cell: rank[cell.plain])
        if selected is not None:
            self.move_cursor(row=self.get_row_index(selected))
