"""The orders panel: the queue with status, payload, destination, promise and time left."""

from __future__ import annotations

from rich.text import Text

from groundcontrol.console.model import OrderView
from groundcontrol.console.widgets.format import ORDER_STYLES, clock, duration
from groundcontrol.console.widgets.tables import ViewTable

__all__ = ["ORDER_COLUMNS", "OrdersTable", "order_cells"]

ORDER_COLUMNS = (
    ("id", "Order"),
    ("status", "Status"),
    ("left", "Left"),
    ("kg", "kg"),
    ("vehicle", "Vehicle"),
    ("reason", "Reason"),
    ("promised", "Promised"),
    ("depot", "Depot"),
    ("dest", "Destination"),
)


def order_cells(o: OrderView) -> tuple[Text, ...]:
    left = Text(duration(o.time_left_s), justify="right")
    if o.time_left_s is not None and not o.status.is_final:
        left.stylize("bold red" if o.time_left_s < 0 else "yellow" if o.time_left_s < 300 else "")
    reason = o.reason if len(o.reason) <= 40 else o.reason[:39] + "…"
    return (
        Text(o.id, style="bold"),
        Text(o.status.value, style=ORDER_STYLES.get(o.status, "")),
        left,
        Text(f"{o.payload_kg:.1f}", justify="right"),
        Text(o.vehicle or "-"),
        Text(reason, style="red" if o.reason else ""),
        Text(clock(o.promised_s)),
        Text(o.depot_id),
        Text(f"{o.destination.lat:.4f},{o.destination.lon:.4f}"),
    )


class OrdersTable(ViewTable[OrderView]):
    """Orders panel; the row under the cursor is the target of order actions."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(ORDER_COLUMNS, key=lambda o: o.id, cells=order_cells, id=id)
