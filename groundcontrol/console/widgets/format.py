"""Formatting of view values into short, coloured table cells."""

from __future__ import annotations

import math

from rich.text import Text

from groundcontrol.console.model import OrderStatus, Severity, VehicleState, VehicleView

__all__ = [
    "BATTERY_LOW_PCT",
    "LINK_STALE_S",
    "ORDER_STYLES",
    "SEVERITY_STYLES",
    "STATE_STYLES",
    "battery_cell",
    "clock",
    "duration",
    "eta_text",
    "link_cell",
    "number",
    "state_cell",
]

BATTERY_LOW_PCT = 30.0
"""Below this the battery cell turns yellow; below half of it, red."""
LINK_STALE_S = 2.0
"""A link silent for longer than this is shown yellow; five times longer, red."""

SEVERITY_STYLES: dict[Severity, str] = {
    Severity.DEBUG: "grey50",
    Severity.INFO: "",
    Severity.NOTICE: "cyan",
    Severity.WARNING: "yellow",
    Severity.ERROR: "bold red",
}

STATE_STYLES: dict[VehicleState, str] = {
    VehicleState.IDLE: "green",
    VehicleState.PREFLIGHT: "bright_blue",
    VehicleState.UPLOADING: "bright_blue",
    VehicleState.EN_ROUTE: "bright_cyan",
    VehicleState.PAUSED: "bold yellow",
    VehicleState.DELIVERING: "bright_magenta",
    VehicleState.RETURNING: "yellow",
    VehicleState.LANDED: "green",
    VehicleState.CHARGING: "dark_sea_green4",
    VehicleState.FAULT: "bold bright_red",
    VehicleState.LINK_LOST: "bold red",
}

ORDER_STYLES: dict[OrderStatus, str] = {
    OrderStatus.NEW: "white",
    OrderStatus.INFEASIBLE: "red",
    OrderStatus.PLANNED: "bright_blue",
    OrderStatus.ASSIGNED: "blue",
    OrderStatus.IN_FLIGHT: "bright_cyan",
    OrderStatus.DELIVERED: "green",
    OrderStatus.FAILED: "bold red",
    OrderStatus.CANCELLED: "grey50",
}


def clock(time_s: float | None) -> str:
    """Seconds on the scenario clock as HH:MM:SS of the day.

    >>> clock(3725.2), clock(None)
    ('01:02:05', '--')
    """
    if time_s is None or not math.isfinite(time_s):
        return "--"
    t = int(time_s) % 86_400
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def duration(seconds: float | None) -> str:
    """A short signed duration: 42s, 3m05, 1h02, -4m10.

    >>> duration(42), duration(185), duration(-250), duration(3720), duration(None)
    ('42s', '3m05', '-4m10', '1h02', '--')
    """
    if seconds is None or not math.isfinite(seconds):
        return "--"
    sign = "-" if seconds < 0 else ""
    s = round(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m{s % 60:02d}"
    return f"{sign}{s // 3600}h{s % 3600 // 60:02d}"


def eta_text(v: VehicleView) -> str:
    """The ETA cell: ``held`` while paused (no time can be promised), else the duration."""
    return "held" if v.state is VehicleState.PAUSED else duration(v.eta_s)


def state_cell(v: VehicleView) -> Text:
    return Text(v.state.value, style=STATE_STYLES.get(v.state, ""))


def battery_cell(pct: float | None) -> Text:
    if pct is None:
        return Text("--", style="grey50")
    style = ""
    if pct < BATTERY_LOW_PCT / 2:
        style = "bold red"
    elif pct < BATTERY_LOW_PCT:
        style = "yellow"
    return Text(f"{pct:3.0f}%", style=style, justify="right")


def link_cell(v: VehicleView) -> Text:
    if v.state is VehicleState.LINK_LOST:
        return Text("LOST", style="bold red")
    age = v.link_age_s
    if age is None:
        return Text("--", style="grey50")
    style = "bold red" if age > 5 * LINK_STALE_S else "yellow" if age > LINK_STALE_S else ""
    return Text(f"{age:.1f}s", style=style, justify="right")


def number(value: float | None, fmt: str) -> Text:
    if value is None or not math.isfinite(value):
        return Text("--", style="grey50", justify="right")
    return Text(format(value, fmt), justify="right")
