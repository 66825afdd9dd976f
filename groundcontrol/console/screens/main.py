"""The main screen: map, fleet, orders and event log, with the dispatcher's keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import DataTable

from groundcontrol.console.actions import ACTIONS, Target
from groundcontrol.console.buffer import Batch
from groundcontrol.console.model import MapView, OrderView, VehicleView
from groundcontrol.console.screens.detail import OrderDetailScreen, VehicleDetailScreen
from groundcontrol.console.widgets.alert_bar import AlertBar
from groundcontrol.console.widgets.events import EventLog
from groundcontrol.console.widgets.fleet import FleetTable
from groundcontrol.console.widgets.footer import FittedFooter
from groundcontrol.console.widgets.format import clock
from groundcontrol.console.widgets.header import ConsoleHeader
from groundcontrol.console.widgets.map import FleetMap
from groundcontrol.console.widgets.orders import OrdersTable

__all__ = ["FOOTER_RANKS", "MainScreen"]

FOOTER_RANKS: dict[str, int] = {
    "app.show_keys": 0,
    **{f"act('{name}')": n for n, name in enumerate(
        ("add_order", "launch", "pause", "resume", "abort", "rtl", "land", "cancel_order",
         "retry_order"), start=1)},
    "app.day_summary": 10,
    "act('plan')": 11,
    "command_palette": 12,
}
"""Which keys the footer keeps as it narrows (lowest first): at 80 columns the keys screen
and every action but Plan, whole; Day, Plan and the palette from 100 columns up. The keys
screen lists them all."""

MAP_LEGEND = "⌂depot ▒no-fly ↑drone ×drop-off"
HEADER_CHROME = 19
"""Header columns not for the subtitle: the icon, the padding, and " — " after the title."""


class MainScreen(Screen[None]):
    """Vehicle actions apply to the fleet panel's selected row, order actions to the orders
    panel's; the header's subtitle names both."""

    sub_title: Reactive[str | None] = Reactive(None, compute=False, repaint=False)
    """The header's subtitle (clock, pace, selection). Screen's own repaints the whole screen
    on every change, which with every cursor move and redraw made each frame a full one; the
    header watches it and repaints only its title."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(s.key, f"act('{s.name}')", s.label,
                  tooltip=f"{s.title}: {s.help}" + (" (asks first)" if s.dangerous else ""))
          for s in ACTIONS),
        Binding("question_mark", "app.show_keys", "Keys", tooltip="every key (this screen)"),
        Binding("y", "app.day_summary", "Day",
                tooltip="the day so far: each drone's sorties, km, Wh, deliveries on time, and "
                        "the fleet's totals (as drone-delivery report)"),
        Binding("enter,i", "details", "Details", show=False,
                tooltip="details of the selected vehicle or order"),
        Binding("1", "focus_panel('fleet')", "Fleet", show=False,
                tooltip="focus the fleet panel"),
        Binding("2", "focus_panel('orders')", "Orders", show=False,
                tooltip="focus the orders panel"),
        Binding("3", "focus_panel('events')", "Events", show=False,
                tooltip="focus the events panel"),
        Binding("4", "focus_panel('map')", "Map", show=False,
                tooltip="focus the map (its keys below)"),
        Binding("z", "zoom", "Zoom", show=False,
                tooltip="zoom the focused panel to the whole screen (again to restore)"),
        Binding("o", "sort_orders", "Sort orders", show=False,
                tooltip="sort the orders by id or by urgency (time left, then priority); "
                        "the title says which"),
        Binding("v", "app.operate", "Operate vehicle", show=False,
                tooltip="operate the selected vehicle: arm, disarm, mode, go-to, parameters, "
                        "upload and download its mission (refused under a delivery, except "
                        "reading)"),
        Binding("q", "app.request_quit", "Quit", show=False,
                tooltip="quit (asks first while drones are in the air)"),
    ]

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield AlertBar(id="alert-bar")
        with Container(id="panels"):
            with Container(id="map-panel", classes="panel"):
                yield FleetMap(id="map")
            with Container(id="fleet-panel", classes="panel"):
                yield FleetTable(id="fleet")
            with Container(id="orders-panel", classes="panel"):
                yield OrdersTable(id="orders")
            with Container(id="events-panel", classes="panel"):
                yield EventLog(id="events")
        yield FittedFooter(FOOTER_RANKS)

    def on_resize(self) -> None:
        # Wide terminals: the map gets the whole left side and the log the bottom row.
        self.set_class(self.size.width >= 140 and self.size.height >= 36, "-wide")
        self._show_selection()

    def on_mount(self) -> None:
        for panel, title in (
            ("#map-panel", "Map [4]"),
            ("#fleet-panel", "Fleet [1]"),
            ("#orders-panel", "Orders [2]"),
            ("#events-panel", "Events [3]"),
        ):
            self.query_one(panel).border_title = title
        self._title_orders()
        self.query_one("#map-panel").border_subtitle = MAP_LEGEND
        # The fleet shows the columns its width holds (z shows them all); orders scroll.
        self.query_one("#fleet-panel").border_subtitle = "⏎ details · z all columns"
        self.query_one("#orders-panel").border_subtitle = "⏎ details · z zoom · ←→ columns"
        # The footer is full at 80 columns: the way to every key is named here.
        self.query_one("#events-panel").border_subtitle = "? keys · q quit"
        self.fleet.focus()
        self._show_selection()

    @property
    def fleet(self) -> FleetTable:
        return self.query_one("#fleet", FleetTable)

    @property
    def orders(self) -> OrdersTable:
        return self.query_one("#orders", OrdersTable)

    @property
    def map(self) -> FleetMap:
        return self.query_one("#map", FleetMap)

    @property
    def events(self) -> EventLog:
        return self.query_one("#events", EventLog)

    def apply(
        self, batch: Batch, vehicles: dict[str, VehicleView], map_view: MapView | None
    ) -> None:
        """Show one drained batch; ``vehicles`` is the latest view of every vehicle."""
        if batch.vehicles:
            self.fleet.update_views(batch.vehicles)
            self.map.set_vehicles(vehicles)
        if batch.orders:
            self.orders.update_views(batch.orders)
            self.fleet.set_late_orders(o.id for o in self.orders.views.values()
                                       if not o.status.is_final and (o.time_left_s or 0) < 0)
            self.events.check_orders(batch.orders, getattr(self.app, "clock_s", None))
        if map_view is not None:
            self.map.set_map(map_view)
        if batch.events or batch.dropped_events:
            self.events.add_events(batch.events, batch.dropped_events)
        self._show_selection()

    def selected_vehicle(self) -> VehicleView | None:
        return self.fleet.selected_view

    def selected_order(self) -> OrderView | None:
        return self.orders.selected_view

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selection()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def _show_selection(self) -> None:
        vehicle, order = self.fleet.selected_key, self.orders.selected_key
        self.map.select(vehicle)
        title = getattr(self.app, "backend_title", "")
        now = getattr(self.app, "clock_s", None)
        time_now = clock(now) if now is not None else ""
        pace = getattr(self.app, "pace_text", lambda short=False: "")
        selection = f"▶ {vehicle or '-'} / {order or '-'}"
        # Narrow terminals: drop the asked speedup, then the fleet's name, not the clock.
        room = self.size.width - HEADER_CHROME - len(self.app.title)
        candidates = [(title, pace(), time_now, selection),
                      (title, pace(short=True), time_now, selection),
                      (pace(short=True), time_now, selection)]
        texts = [" · ".join(p for p in parts if p) for parts in candidates]
        self.sub_title = next((t for t in texts if len(t) <= room), texts[-1])

    def action_act(self, name: str) -> None:
        """Run an action on the selected vehicle or order (confirmation for dangerous ones)."""
        spec = next(s for s in ACTIONS if s.name == name)
        app = self.app
        if spec.target is Target.NONE:
            app.request_action(name, None)  # type: ignore[attr-defined]
            return
        if spec.name == "launch" and self.focused is self.fleet:
            # Launch from the fleet panel: put the selected order on the selected vehicle.
            vehicle = self.fleet.selected_key
            if vehicle is None:
                self.notify("No vehicle selected", severity="warning")
                return
            app.request_action(name, self.orders.selected_key, vehicle=vehicle)  # type: ignore[attr-defined]
            return
        key = self.fleet.selected_key if spec.target is Target.VEHICLE else self.orders.selected_key
        if key is None:
            self.notify(f"No {spec.target.value} selected", severity="warning")
            return
        app.request_action(name, key)  # type: ignore[attr-defined]

    def action_details(self) -> None:
        """Open the detail view of the selected row of the focused table (fleet by default)."""
        if self.focused is self.orders:
            order = self.orders.selected_view
            if order is not None:
                self.app.push_screen(OrderDetailScreen(order))
            return
        vehicle = self.fleet.selected_view
        if vehicle is not None:
            order = self.orders.views.get(vehicle.order_id or "")
            self.app.push_screen(VehicleDetailScreen(vehicle, order))

    def action_sort_orders(self) -> None:
        """Sort the orders by id or by urgency, in turn (``o``)."""
        self.orders.toggle_sort()
        self._title_orders()

    def _title_orders(self) -> None:
        self.query_one("#orders-panel").border_title = f"Orders [2] · {self.orders.sort_title} (o)"

    def action_focus_panel(self, name: str) -> None:
        self.query_one(f"#{name}").focus()

    def action_zoom(self) -> None:
        """Maximise the focused panel (or the map when nothing is focused); again to restore."""
        if self.maximized is not None:
            self.minimize()
            return
        self.maximize(self.focused or self.map)
