"""The fleet panel: one row per vehicle, as many whole columns as the panel's width holds.

Each column has a rank; the table shows the lowest ranks that fit, in a fixed order, and
re-chooses on every resize (``z`` maximises the panel to show them all). The vehicle's name
stays put when the table scrolls. A vehicle that needs the dispatcher (``vehicle_alerts``)
gets a marker before its name, a tinted row and, where there is room, the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.timer import Timer

from groundcontrol.console.health import AlertKind, VehicleAlert, vehicle_alerts
from groundcontrol.console.model import Severity, VehicleView
from groundcontrol.console.widgets.format import (
    alert_cell,
    battery_cell,
    battery_left_cell,
    ekf_cell,
    eta_text,
    gps_cell,
    link_cell,
    mode_short,
    number,
    state_cell,
)
from groundcontrol.console.widgets.tables import ViewTable

__all__ = ["FLEET_COLUMNS", "FleetColumn", "FleetTable", "fit_columns", "fleet_cells"]

OFF_SCREEN_PER_REDRAW = 40
"""Rows out of sight brought up to date per redraw, besides every row in sight: a fleet of
200 redrawn whole five times a second kept the console's event loop from the keys (a redraw
of 30 ms, up to 200 ms). Each vehicle's alerts are taken from every update at once."""
CATCH_UP_S = 0.25
GAP = 1
"""Blank cells before each column (the table's own padding is off: it costs two)."""


@dataclass(frozen=True, slots=True)
class FleetColumn:
    """One column of the fleet table."""

    key: str
    label: str
    rank: int
    """The table narrows by dropping the highest ranks first; 0 is always shown."""
    width: int
    """Cells of the widest usual value (the column grows if a value needs more)."""
    right: bool = False
    """Right-justified (numbers)."""


# In the order shown. Ranks: 80 columns show 0-4, 120 up to 9, 200 up to 12 (demo names).
FLEET_COLUMNS = (
    FleetColumn("name", "Vehicle", 0, 3),
    FleetColumn("depot", "Depot", 1, 5),
    FleetColumn("state", "State", 1, 10),
    FleetColumn("alert", "Alert", 10, 9),
    FleetColumn("order", "Order", 11, 5),
    FleetColumn("bat", "Bat", 2, 4, right=True),
    FleetColumn("left", "Left", 12, 5, right=True),
    FleetColumn("volt", "Volt", 14, 4, right=True),
    FleetColumn("amp", "Amp", 15, 4, right=True),
    FleetColumn("mode", "Mode", 3, 4),
    FleetColumn("armed", "Arm", 5, 3),
    FleetColumn("eta", "ETA", 4, 5, right=True),
    FleetColumn("alt", "Alt", 8, 3, right=True),
    FleetColumn("gs", "m/s", 16, 4, right=True),
    FleetColumn("hdg", "Hdg", 17, 3, right=True),
    FleetColumn("gps", "GPS", 7, 5),
    FleetColumn("ekf", "EKF", 9, 3),
    FleetColumn("link", "Link", 6, 4, right=True),
    FleetColumn("sysid", "ID", 18, 2, right=True),
)
_BY_KEY = {c.key: c for c in FLEET_COLUMNS}
_ONLY_WHEN_SEEN = frozenset({"depot"})
"""Columns shown only once a vehicle has a value for them: a console on one site's fleet has
no use for its drones' depot, a watch of the whole book has (``console --watch``)."""

_MARKERS = {
    Severity.ERROR: ("!", "bold white on red"),
    Severity.WARNING: ("!", "bold black on yellow"),
}
_ROW_TINTS = {Severity.ERROR: Style(bgcolor="#4a1414"), Severity.WARNING: Style(bgcolor="#3d3510")}


def fleet_cells(v: VehicleView, alerts: tuple[VehicleAlert, ...] = ()) -> tuple[Text, ...]:
    """A vehicle's cells, one per ``FLEET_COLUMNS`` entry."""
    marker, marker_style = _MARKERS.get(alerts[0].severity, (" ", "")) if alerts else (" ", "")
    eta = Text(eta_text(v), justify="right")
    if any(a.kind is AlertKind.LATE for a in alerts):
        eta.stylize("bold red")
    return (
        Text.assemble((marker, marker_style), (v.name, "bold")),
        Text(v.depot),
        state_cell(v),
        alert_cell(alerts),
        Text(v.order_id or "-"),
        battery_cell(v.battery_pct),
        battery_left_cell(v),
        number(v.voltage_v, ".1f"),
        number(v.current_a, ".1f"),
        Text(mode_short(v.mode)),
        Text("ARM", style="bold yellow") if v.armed else Text("-", style="grey50"),
        eta,
        number(v.alt_m, ".0f"),
        number(v.ground_speed_ms, ".1f"),
        number(v.heading_deg, "03.0f"),
        gps_cell(v),
        ekf_cell(v.ekf),
        link_cell(v),
        Text(str(v.sysid), justify="right"),
    )


def fit_columns(widths: Mapping[str, int], available: int) -> tuple[str, ...]:
    """The columns to show: by rank while they fit in ``available`` cells (``widths``
    include the gap), stopping at the first that does not; the name always. A column
    missing from ``widths`` is not shown (the depot, unless some vehicle has one).

    >>> widths = {c.key: c.width + GAP for c in FLEET_COLUMNS} | {"name": 8}  # "!mit-q1"
    >>> fit_columns({k: w for k, w in widths.items() if k != "depot"}, 37)
    ('name', 'state', 'bat', 'mode', 'eta')
    >>> fit_columns(widths, 37)  # a watch: the drones' depots before their ETA
    ('name', 'depot', 'state', 'bat', 'mode')
    >>> fit_columns(widths, 10)
    ('name',)
    """
    shown: list[str] = []
    used = 0
    for column in sorted(FLEET_COLUMNS, key=lambda c: c.rank):
        width = widths.get(column.key)
        if width is None:
            continue
        if shown and used + width > available:
            break
        shown.append(column.key)
        used += width
    return tuple(c.key for c in FLEET_COLUMNS if c.key in shown)


class FleetTable(ViewTable[VehicleView]):
    """Fleet panel; the row under the cursor is the target of vehicle actions."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            tuple((c.key, c.label) for c in FLEET_COLUMNS),
            key=lambda v: v.name,
            cells=self._cells_of,
            id=id,
            fixed_columns=1,
            cell_padding=0,
            cursor_background_priority="css",
        )
        self.alerts: dict[str, tuple[VehicleAlert, ...]] = {}
        """Each vehicle's alerts as its row shows them, worst first."""
        self._late: frozenset[str] = frozenset()
        self._seen: dict[str, int] = {}
        """The widest cell seen per column."""
        self._grew = False
        self._pending: dict[str, VehicleView] = {}
        """Views of rows out of sight not drawn yet, oldest first."""
        self._catch_up: Timer | None = None
        self.show_columns(fit_columns(self._widths_needed(), 38))

    def _cells_of(self, v: VehicleView) -> tuple[Text, ...]:
        alerts = vehicle_alerts(v, self._late)
        self.alerts[v.name] = alerts
        cells = fleet_cells(v, alerts)
        for column, cell in zip(FLEET_COLUMNS, cells, strict=True):
            if cell.cell_len > self._seen.get(column.key, 0):
                self._seen[column.key] = cell.cell_len
                self._grew = True
        return cells

    def _widths_needed(self) -> dict[str, int]:
        return {
            c.key: max(c.width, len(c.label), self._seen.get(c.key, 0)) + GAP
            for c in FLEET_COLUMNS
            if c.key not in _ONLY_WHEN_SEEN or self._seen.get(c.key)
        }

    def column_label(self, column_key: str, label: str) -> str | Text:
        if _BY_KEY[column_key].right:
            return Text(label, justify="right")
        return Text(" " * GAP + label)

    def shown_cell(self, column_key: str, cell: Text) -> Text:
        shown = cell.copy()
        if _BY_KEY[column_key].right:
            shown.justify = "right"  # the column is wider than the text: the gap on its left
        else:
            shown.pad_left(GAP)
        return shown

    def relayout(self) -> bool:
        """Choose the columns for the table's width now; True when they changed."""
        if self.size.width <= 0:
            return False
        widths = self._widths_needed()
        # One cell for the vertical scrollbar, shown or not: the columns do not jump with it.
        keys = fit_columns(widths, self.size.width - 1)
        return self.show_columns(keys, {k: widths[k] for k in keys})

    def on_resize(self, event: events.Resize) -> None:
        self.relayout()

    def update_views(self, views: Sequence[VehicleView]) -> None:
        for view in views:
            self._pending[view.name] = view
            self.alerts[view.name] = vehicle_alerts(view, self._late)
        super().update_views(self._due())
        if self._grew:
            self._grew = False
            self.relayout()
        if self._pending and self._catch_up is None:
            self._catch_up = self.set_timer(CATCH_UP_S, self._catch_up_rows, name="catch up")

    def _due(self) -> list[VehicleView]:
        """The pending views to draw now: new rows and rows in sight, then the oldest of the
        others up to ``OFF_SCREEN_PER_REDRAW``."""
        first = round(self.scroll_offset.y)
        last = first + self.size.height
        due: list[VehicleView] = []
        budget = OFF_SCREEN_PER_REDRAW
        for name in list(self._pending):
            in_sight = name not in self._shown or first <= self.get_row_index(name) <= last
            if in_sight or budget > 0:
                budget -= not in_sight
                due.append(self._pending.pop(name))
        return due

    def _catch_up_rows(self) -> None:
        self._catch_up = None
        if self._pending:
            self.update_views(())

    @property
    def pending_rows(self) -> int:
        """Rows out of sight whose latest view is not drawn yet."""
        return len(self._pending)

    def set_late_orders(self, order_ids: Iterable[str]) -> None:
        """The open orders past their promise: their vehicles' rows are flagged ``late``."""
        late = frozenset(order_ids)
        if late == self._late:
            return
        changed = late ^ self._late
        self._late = late
        self.update_views([v for v in self.views.values() if v.order_id in changed])

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        # DataTable has no per-row style of its own; this is where it stripes the rows.
        style = super()._get_row_style(row_index, base_style)
        if row_index < 0 or row_index >= self.row_count:
            return style
        key = self.ordered_rows[row_index].key.value
        alerts = self.alerts.get(key or "")
        return style + _ROW_TINTS[alerts[0].severity] if alerts else style
