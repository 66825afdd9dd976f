"""The fleet panel: one row per vehicle."""

from __future__ import annotations

from rich.text import Text

from groundcontrol.console.model import VehicleView
from groundcontrol.console.widgets.format import (
    battery_cell,
    eta_text,
    link_cell,
    number,
    state_cell,
)
from groundcontrol.console.widgets.tables import ViewTable

__all__ = ["FLEET_COLUMNS", "FleetTable", "fleet_cells"]

# Most useful first: in an 80-column terminal only the first few columns are visible.
FLEET_COLUMNS = (
    ("name", "Vehicle"),
    ("state", "State"),
    ("bat", "Bat"),
    ("order", "Order"),
    ("eta", "ETA"),
    ("alt", "Alt m"),
    ("gs", "m/s"),
    ("hdg", "Hdg"),
    ("mode", "Mode"),
    ("armed", "Arm"),
    ("link", "Link"),
    ("sysid", "ID"),
)


def fleet_cells(v: VehicleView) -> tuple[Text, ...]:
    return (
        Text(v.name, style="bold"),
        state_cell(v),
        battery_cell(v.battery_pct),
        Text(v.order_id or "-"),
        Text(eta_text(v), justify="right"),
        number(v.alt_m, ".0f"),
        number(v.ground_speed_ms, ".1f"),
        number(v.heading_deg, "03.0f"),
        Text(v.mode or "-"),
        Text("ARM", style="bold yellow") if v.armed else Text("-", style="grey50"),
        link_cell(v),
        Text(str(v.sysid), justify="right"),
    )


class FleetTable(ViewTable[VehicleView]):
    """Fleet panel; the row under the cursor is the target of vehicle actions."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(FLEET_COLUMNS, key=lambda v: v.name, cells=fleet_cells, id=id)
