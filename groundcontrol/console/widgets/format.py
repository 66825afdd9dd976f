"""Formatting of view values into short, coloured table cells."""

from __future__ import annotations

import math

from rich.text import Text

from groundcontrol.console.health import (
    BATTERY_LOW_PCT,
    LINK_BAD_PCT,
    LINK_LOST_S,
    LINK_POOR_PCT,
    LINK_STALE_S,
    VehicleAlert,
)
from groundcontrol.console.model import (
    EkfHealth,
    OrderStatus,
    Severity,
    VehicleState,
    VehicleView,
)

__all__ = [
    "ALERT_STYLES",
    "BATTERY_LOW_PCT",
    "LINK_STALE_S",
    "ORDER_STYLES",
    "SEVERITY_STYLES",
    "STATE_STYLES",
    "alert_cell",
    "battery_cell",
    "battery_left_cell",
    "clock",
    "duration",
    "ekf_cell",
    "eta_text",
    "gps_cell",
    "gps_text",
    "link_cell",
    "mode_short",
    "number",
    "state_cell",
]

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
    """``LOST``; the silence's age once stale; else the messages received (``98%``), yellow
    when poor and red when bad; the age when the share is not known."""
    if v.state is VehicleState.LINK_LOST:
        return Text("LOST", style="bold red")
    age = v.link_age_s
    pct = v.link_pct
    if pct is not None and (age is None or age <= LINK_STALE_S):
        style = "bold red" if pct < LINK_BAD_PCT else "yellow" if pct < LINK_POOR_PCT else ""
        return Text(f"{pct:.0f}%", style=style, justify="right")
    if age is None:
        return Text("--", style="grey50")
    style = "bold red" if age > LINK_LOST_S else "yellow" if age > LINK_STALE_S else ""
    return Text(f"{age:.1f}s", style=style, justify="right")


def number(value: float | None, fmt: str) -> Text:
    if value is None or not math.isfinite(value):
        return Text("--", style="grey50", justify="right")
    return Text(format(value, fmt), justify="right")


_MODE_SHORT = {
    "STABILIZE": "STAB", "ALT_HOLD": "AHLD", "GUIDED": "GUID", "LOITER": "LOIT",
    "CIRCLE": "CIRC", "DRIFT": "DRFT", "SPORT": "SPRT", "AUTOTUNE": "ATUN", "POSHOLD": "PHLD",
    "BRAKE": "BRAK", "THROW": "THRW", "AVOID_ADSB": "AVOI", "GUIDED_NOGPS": "GNGP",
    "SMART_RTL": "SRTL", "FLOWHOLD": "FHLD", "FOLLOW": "FOLL", "ZIGZAG": "ZIGZ",
    "SYSTEMID": "SYID", "AUTOROTATE": "AROT", "AUTO_RTL": "ARTL", "TURTLE": "TRTL",
    "UNKNOWN": "?",
}


def mode_short(mode: str) -> str:
    """A flight mode in at most four letters, whole rather than cut (``STABIL``).

    >>> mode_short("STABILIZE"), mode_short("AUTO"), mode_short("SMART_RTL"), mode_short("")
    ('STAB', 'AUTO', 'SRTL', '-')
    """
    if not mode:
        return "-"
    return _MODE_SHORT.get(mode.upper(), mode[:4])


_FIX_NAMES = {0: "none", 1: "none", 2: "2D", 3: "3D", 4: "DGPS", 5: "RTKf", 6: "RTK",
              7: "static", 8: "PPP"}


def gps_text(fix_type: int | None, sats: int | None) -> str:
    """GPS fix and satellites in a few letters.

    >>> gps_text(3, 12), gps_text(6, 20), gps_text(0, None), gps_text(None, None)
    ('3D 12', 'RTK 20', 'none', '--')
    """
    if fix_type is None:
        return "--"
    name = _FIX_NAMES.get(fix_type, f"fix{fix_type}")
    return name if fix_type < 2 or sats is None else f"{name} {sats}"


def gps_cell(v: VehicleView) -> Text:
    """Red without a 3D fix, yellow with fewer than six satellites."""
    if v.gps_fix_type is None:
        return Text("--", style="grey50")
    weak = v.gps_sats is not None and v.gps_sats < 6
    style = "bold red" if v.gps_fix_type < 3 else "yellow" if weak else ""
    return Text(gps_text(v.gps_fix_type, v.gps_sats), style=style)


_EKF_CELLS = {EkfHealth.OK: ("ok", ""), EkfHealth.DEGRADED: ("deg", "yellow"),
              EkfHealth.BAD: ("BAD", "bold red")}


def ekf_cell(ekf: EkfHealth | None, short: bool = True) -> Text:
    """``ok`` / ``deg`` / ``BAD`` (the whole word when not ``short``)."""
    if ekf is None:
        return Text("--", style="grey50")
    text, style = _EKF_CELLS[ekf]
    return Text(text if short else ekf.value, style=style)


def battery_left_cell(v: VehicleView) -> Text:
    """Flying time the battery has left; red when it is less than the time to the next
    milestone (the drone will not get there on this battery)."""
    left = v.battery_left_s
    if left is None:
        return Text("--", style="grey50", justify="right")
    short = v.eta_s is not None and left < v.eta_s
    return Text(duration(left), style="bold red" if short else "", justify="right")


ALERT_STYLES: dict[Severity, str] = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


def alert_cell(alerts: tuple[VehicleAlert, ...]) -> Text:
    """The first (worst) alert, with ``+N`` for the others."""
    if not alerts:
        return Text("")
    more = f"+{len(alerts) - 1}" if len(alerts) > 1 else ""
    return Text(alerts[0].text + more, style=ALERT_STYLES.get(alerts[0].severity, ""))
