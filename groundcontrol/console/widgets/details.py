"""Detail panels: an order's plan and mission items; a vehicle's live state and mission progress."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from groundcontrol.console.health import vehicle_alerts
from groundcontrol.console.model import MissionItemView, OrderView, VehicleView
from groundcontrol.console.widgets.format import (
    ALERT_STYLES,
    ORDER_STYLES,
    battery_cell,
    battery_left_cell,
    clock,
    duration,
    ekf_cell,
    eta_text,
    gps_cell,
    link_cell,
    state_cell,
)

__all__ = [
    "MissionTable",
    "OrderDetail",
    "VehicleDetail",
    "order_summary",
    "vehicle_health",
    "vehicle_summary",
]


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    return grid


def _left(text: Text) -> Text:
    text.justify = "left"
    return text


def order_summary(o: OrderView) -> Table:
    """Key facts of an order (left) and of its plan (right)."""
    facts = _grid()
    facts.add_row("Order", Text(o.id))
    facts.add_row("Status", Text(o.status.value, style=ORDER_STYLES.get(o.status, "")))
    facts.add_row("Depot", o.depot_id)
    facts.add_row("Destination", f"{o.destination.lat:.6f}, {o.destination.lon:.6f}")
    facts.add_row("Payload", f"{o.payload_kg:.2f} kg")
    facts.add_row("Promised", f"{clock(o.promised_s)}  (left {duration(o.time_left_s)})")
    facts.add_row("Vehicle", o.vehicle or "-")
    plan = _grid()
    p = o.plan
    if p is None:
        plan.add_row("Plan", Text("not planned", style="grey50"))
    else:
        plan.add_row("Distance", f"{p.distance_m / 1000:.2f} km")
        plan.add_row("Energy", f"{p.energy_wh:.1f} Wh")
        reserve_style = "red" if p.reserve_left_wh < 0 else ""
        plan.add_row("Reserve left", Text(f"{p.reserve_left_wh:.1f} Wh", style=reserve_style))
        plan.add_row("Flight time", duration(p.flight_time_s))
        plan.add_row("Cruise alt", f"{p.cruise_alt_m:.0f} m")
        if p.vehicle_profile:
            plan.add_row("Profile", p.vehicle_profile)
    both = Table.grid(padding=(0, 4))
    both.add_row(facts, plan)
    if o.reason:
        both.add_row(Text(f"Reason: {o.reason}", style="red"), "")
    return both


def vehicle_summary(v: VehicleView, order: OrderView | None = None) -> Table:
    """A vehicle's state and flight (left) and its health (right); ``order`` is the one it
    flies, for lateness."""
    grid = _grid()
    grid.add_row("Vehicle", f"{v.name}  (sysid {v.sysid})")
    grid.add_row("State", state_cell(v))
    if v.fault:
        grid.add_row("Fault", Text(v.fault, style="bold red"))
    grid.add_row("Mode", f"{v.mode or '-'}  {'ARMED' if v.armed else 'disarmed'}")
    alt = "--" if v.alt_m is None else f"{v.alt_m:.1f} m"
    gs = "--" if v.ground_speed_ms is None else f"{v.ground_speed_ms:.1f} m/s"
    hdg = "--" if v.heading_deg is None else f"{v.heading_deg:03.0f}°"
    grid.add_row("Alt / speed / hdg", f"{alt} / {gs} / {hdg}")
    pos = "--" if v.position is None else f"{v.position.lat:.6f}, {v.position.lon:.6f}"
    grid.add_row("Position", pos)
    grid.add_row("Order", v.order_id or "-")
    grid.add_row("ETA", eta_text(v))
    both = Table.grid(padding=(0, 4))
    both.add_row(grid, vehicle_health(v, order))
    return both


def _late(order: OrderView | None) -> tuple[str, ...]:
    if order is None or order.status.is_final or order.time_left_s is None:
        return ()
    return (order.id,) if order.time_left_s < 0 else ()


def _unit(value: float | None, fmt: str, unit: str) -> str:
    return "--" if value is None else f"{value:{fmt}} {unit}"


def vehicle_health(v: VehicleView, order: OrderView | None = None) -> Table:
    """Alerts, GPS, EKF, battery (charge, volts, amps, energy used, time left), link, fence."""
    grid = _grid()
    alerts = vehicle_alerts(v, _late(order))
    shown = Text(", ").join(
        Text(a.text, style=ALERT_STYLES.get(a.severity, "")) for a in alerts
    ) if alerts else Text("none", style="green")
    grid.add_row("Alerts", shown)
    gps = gps_cell(v)
    gps.append("" if v.gps_fix_type is None or v.gps_sats is None else " sats")
    grid.add_row("GPS", gps)
    grid.add_row("EKF", ekf_cell(v.ekf, short=False))
    battery = _left(battery_cell(v.battery_pct))
    battery.append(f"  {_unit(v.voltage_v, '.1f', 'V')}  {_unit(v.current_a, '.1f', 'A')}")
    grid.add_row("Battery", battery)
    grid.add_row("Energy used", _unit(v.energy_wh, ".1f", "Wh"))
    grid.add_row("Time left", _left(battery_left_cell(v)))
    grid.add_row("Link age", _left(link_cell(v)))
    grid.add_row("Fence", Text("BREACHED", style="bold red") if v.fence_breached else "inside")
    return grid


class OrderDetail(Vertical):
    """An order's summary and its mission items."""

    def __init__(self, order: OrderView, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.order = order

    def compose(self) -> ComposeResult:
        yield Static(order_summary(self.order), id="order-summary")
        yield MissionTable(id="mission-items")

    def on_mount(self) -> None:
        self.update_order(self.order)

    def update_order(self, order: OrderView) -> None:
        self.order = order
        self.query_one("#order-summary", Static).update(order_summary(order))
        self.query_one(MissionTable).show(order.plan.items if order.plan is not None else ())


class MissionTable(DataTable[str]):
    """Mission items; ``show`` marks the current item (MISSION_CURRENT) and keeps it in view."""

    MARK = "▶"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.items: tuple[MissionItemView, ...] = ()
        self.current: int | None = None

    def on_mount(self) -> None:
        self.add_column(" ", key="mark")
        for label in ("#", "Command", "Lat", "Lon", "Alt m", "Note"):
            self.add_column(label, key=label)

    def show(self, items: Sequence[MissionItemView], current: int | None = None) -> None:
        items = tuple(items)
        if items != self.items:
            self.clear()
            self.items, self.current = items, None
            for item in items:
                self.add_row("", *_item_cells(item), key=str(item.seq))
        self.display = bool(items)
        if current == self.current:
            return
        seqs = {item.seq for item in items}
        if self.current in seqs:
            self.update_cell(str(self.current), "mark", "")
        self.current = current if current in seqs else None
        if self.current is not None:
            self.update_cell(str(self.current), "mark", self.MARK)
            self.move_cursor(row=self.get_row_index(str(self.current)))


def _item_cells(item: MissionItemView) -> tuple[str, ...]:
    return (
        str(item.seq),
        item.command,
        "" if item.lat is None else f"{item.lat:.6f}",
        "" if item.lon is None else f"{item.lon:.6f}",
        "" if item.alt_m is None else f"{item.alt_m:.0f}",
        item.note,
    )


class VehicleDetail(Vertical):
    """A vehicle's live state, its mission progress bar and its order's mission items with the
    current one marked."""

    def __init__(
        self, vehicle: VehicleView, order: OrderView | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.vehicle = vehicle
        self.order = order

    def compose(self) -> ComposeResult:
        yield Static(vehicle_summary(self.vehicle, self.order), id="vehicle-summary")
        yield Static("", id="mission-label")
        yield ProgressBar(total=None, show_eta=False, id="mission-progress")
        yield MissionTable(id="vehicle-mission")

    def on_mount(self) -> None:
        self.update_vehicle(self.vehicle, self.order)

    def update_vehicle(self, v: VehicleView, order: OrderView | None = None) -> None:
        self.vehicle, self.order = v, order
        self.query_one("#vehicle-summary", Static).update(vehicle_summary(v, order))
        items = order.plan.items if order is not None and order.plan is not None else ()
        self.query_one(MissionTable).show(items, v.mission_seq)
        bar = self.query_one("#mission-progress", ProgressBar)
        label = self.query_one("#mission-label", Static)
        if v.mission_seq is None or v.mission_count is None or v.mission_count <= 1:
            label.update("Mission: none loaded")
            bar.update(total=None, progress=0)
            return
        # Seq 0 is home; progress counts the items after it.
        total = max(v.mission_count - 1, 1)
        done = min(max(v.mission_seq, 0), total)
        label.update(f"Mission: item {v.mission_seq} of {v.mission_count - 1}")
        bar.update(total=total, progress=done)
