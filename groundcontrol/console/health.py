"""A vehicle's health as the console judges it: EKF state, battery time left and alerts.

``ekf_health``, ``battery_left_s`` and ``LinkQuality`` turn telemetry into the facts a
``VehicleView`` carries (a backend calls them); ``vehicle_alerts`` reads a view and says what
needs the dispatcher now: link lost or weak (messages lost), fence breach, EKF bad in the
air, low battery, a late order, and a drone left idle on a low battery ("charge me").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.console.model import EkfHealth, Severity, VehicleState, VehicleView
from groundcontrol.mavlink.vehicle import ekf_ready

__all__ = [
    "BATTERY_LOW_PCT",
    "LINK_BAD_PCT",
    "LINK_LOST_S",
    "LINK_POOR_PCT",
    "LINK_STALE_S",
    "MIN_DRAW_W",
    "AlertKind",
    "EnergyRate",
    "LinkQuality",
    "VehicleAlert",
    "battery_left_s",
    "ekf_health",
    "vehicle_alerts",
]

BATTERY_LOW_PCT = 30.0
"""Below this a flying drone's battery is low (an error below half of it) and an idle one
should be charged before it is given an order."""
LINK_STALE_S = 2.0
"""A link silent for longer than this is stale."""
LINK_LOST_S = 5 * LINK_STALE_S
"""A link silent for longer than this is lost, whatever the fleet has decided yet."""
LINK_POOR_PCT = 90.0
"""Below this share of messages received the link is poor (a warning)."""
LINK_BAD_PCT = 70.0
"""Below this it is bad (an error): telemetry and commands are getting through in patches."""
LINK_WINDOW_S = 10.0
"""Seconds of messages the link quality is taken over."""
LINK_MIN_MESSAGES = 20
"""No link quality is shown before this many messages were sent in the window."""
MIN_DRAW_W = 20.0
"""Below this draw the vehicle is not flying (avionics only): no time left is promised."""

_EKF_BAD = mavlink.EKF_CONST_POS_MODE | mavlink.EKF_UNINITIALIZED | mavlink.EKF_GPS_GLITCHING
_AIRBORNE = frozenset({
    VehicleState.PREFLIGHT, VehicleState.UPLOADING, VehicleState.EN_ROUTE,
    VehicleState.PAUSED, VehicleState.DELIVERING, VehicleState.RETURNING,
})
"""States in which the drone flies or is about to."""
_PARKED = frozenset({VehicleState.IDLE, VehicleState.LANDED})


def ekf_health(flags: int | None) -> EkfHealth | None:
    """Fold EKF_STATUS_REPORT flags into ok / degraded / bad (None: not reported yet).

    >>> ekf_health(0x33f), ekf_health(0x0f), ekf_health(0xa7), ekf_health(None)
    (<EkfHealth.OK: 'ok'>, <EkfHealth.DEGRADED: 'degraded'>, <EkfHealth.BAD: 'bad'>, None)
    """
    if flags is None:
        return None
    if flags & _EKF_BAD or not flags & mavlink.EKF_ATTITUDE:
        return EkfHealth.BAD
    return EkfHealth.OK if ekf_ready(flags) else EkfHealth.DEGRADED


def battery_left_s(
    battery_pct: float | None,
    capacity_wh: float | None,
    draw_w: float | None,
    energy_wh: float | None = None,
) -> float | None:
    """Seconds the battery lasts at ``draw_w``; None when unknown or not flying.

    The energy left is the capacity times the charge left; without a capacity it is
    extrapolated from the energy drawn so far (``energy_wh`` drew ``100 - pct`` percent).

    >>> battery_left_s(50.0, 400.0, 400.0)
    1800.0
    >>> battery_left_s(75.0, None, 300.0, energy_wh=50.0)
    1800.0
    >>> battery_left_s(80.0, 400.0, 5.0) is None
    True
    """
    if battery_pct is None or draw_w is None or draw_w < MIN_DRAW_W:
        return None
    if capacity_wh is not None and capacity_wh > 0:
        left_wh = capacity_wh * battery_pct / 100.0
    elif energy_wh is not None and energy_wh > 0 and battery_pct < 100.0:
        left_wh = energy_wh * battery_pct / (100.0 - battery_pct)
    else:
        return None
    return max(0.0, left_wh * 3600.0 / draw_w)


class EnergyRate:
    """The power drawn, from the energy counter's rise between two reports (for vehicles
    that report energy but no current)."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        """Seconds between the two samples the rate is taken over."""
        self._base: tuple[float, float] | None = None
        self._rate_w: float | None = None

    def update(self, time_s: float, energy_wh: float | None) -> float | None:
        """Feed the counter at ``time_s`` (seconds); the latest rate in watts, if any.

        >>> rate = EnergyRate(window_s=10.0)
        >>> rate.update(0.0, 1.0), rate.update(10.0, 2.0)
        (None, 360.0)
        """
        if energy_wh is None:
            return self._rate_w
        if self._base is None or energy_wh < self._base[1] or time_s < self._base[0]:
            self._base = (time_s, energy_wh)  # first sample, or a new battery
            return self._rate_w
        dt = time_s - self._base[0]
        if dt >= self.window_s:
            self._rate_w = (energy_wh - self._base[1]) * 3600.0 / dt
            self._base = (time_s, energy_wh)
        return self._rate_w


class LinkQuality:
    """Messages received of those sent, in percent, over the last ``window_s`` seconds, from
    the tracker's cumulative counters (``VehicleState.link_received`` and ``link_lost``)."""

    def __init__(self, window_s: float = LINK_WINDOW_S,
                 min_messages: int = LINK_MIN_MESSAGES) -> None:
        self.window_s = window_s
        self.min_messages = min_messages
        self._samples: deque[tuple[float, int, int]] = deque()

    def update(self, time_s: float, received: int, lost: int) -> float | None:
        """Feed the counters at ``time_s`` (seconds); the quality now, None until the window
        holds ``min_messages``.

        >>> q = LinkQuality(window_s=10.0, min_messages=10)
        >>> q.update(0.0, 0, 0), q.update(5.0, 95, 5)
        (None, 95.0)
        """
        samples = self._samples
        if samples and (received < samples[-1][1] or time_s < samples[-1][0]):
            samples.clear()  # a new tracker (a reconnect, a reboot): count again
        samples.append((time_s, received, lost))
        while len(samples) > 1 and samples[1][0] <= time_s - self.window_s:
            samples.popleft()  # the newest sample at or before the window's start is the base
        _, rx0, lost0 = samples[0]
        got, missed = received - rx0, lost - lost0
        if got + missed < self.min_messages:
            return None
        return 100.0 * got / (got + missed)


class AlertKind(Enum):
    """What is wrong with a vehicle, as the fleet table's alert column says it."""

    LINK_LOST = "link lost"
    LINK_POOR = "weak link"
    FENCE = "fence"
    EKF_BAD = "EKF bad"
    BATTERY_LOW = "low bat"
    LATE = "late"
    CHARGE_ME = "charge me"


@dataclass(frozen=True, slots=True)
class VehicleAlert:
    """One reason a vehicle's row stands out."""

    kind: AlertKind
    severity: Severity
    """ERROR (red) or WARNING (yellow)."""

    @property
    def text(self) -> str:
        return self.kind.value


def vehicle_alerts(v: VehicleView, late_orders: Collection[str] = ()) -> tuple[VehicleAlert, ...]:
    """Everything that needs the dispatcher about ``v``, errors first.

    Args:
        v: the vehicle.
        late_orders: ids of the open orders past their promised time.

    >>> low = VehicleView("N1", 1, VehicleState.IDLE, battery_pct=12.0)
    >>> [a.text for a in vehicle_alerts(low)]
    ['charge me']
    """
    found: list[VehicleAlert] = []
    err, warn = Severity.ERROR, Severity.WARNING
    age = v.link_age_s
    if v.state is VehicleState.LINK_LOST or (age is not None and age > LINK_LOST_S):
        found.append(VehicleAlert(AlertKind.LINK_LOST, err))
    elif v.link_pct is not None and v.link_pct < LINK_POOR_PCT:
        found.append(VehicleAlert(AlertKind.LINK_POOR, err if v.link_pct < LINK_BAD_PCT else warn))
    if v.fence_breached:
        found.append(VehicleAlert(AlertKind.FENCE, err))
    if v.ekf is EkfHealth.BAD and v.state in _AIRBORNE:
        found.append(VehicleAlert(AlertKind.EKF_BAD, err))
    pct = v.battery_pct
    if pct is not None and pct < BATTERY_LOW_PCT:
        if v.state in _PARKED:
            found.append(VehicleAlert(AlertKind.CHARGE_ME, warn))
        elif v.state is not VehicleState.CHARGING:
            low = err if pct < BATTERY_LOW_PCT / 2 else warn
            found.append(VehicleAlert(AlertKind.BATTERY_LOW, low))
    if v.order_id is not None and v.order_id in late_orders:
        found.append(VehicleAlert(AlertKind.LATE, warn))
    return tuple(sorted(found, key=lambda a: a.severity is not err))
