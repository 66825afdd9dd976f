"""What the event log shows: repeats collapsed, autopilot chatter hidden, a dispatcher's filter.

Pure values and rules (no Textual), used by ``widgets/events.py``:

* ``is_chatter``: the texts ArduCopter sends while it boots and sits on the pad (sensor and EKF
  start-up, the version banner it repeats on every parameter download, PreArm reasons repeated
  every 30 s). The list is what ArduCopter 4.7 SITL sends (``../shared/reference/
  ardupilot-copter/``, copied by ``sitl/sim/boot.py``) plus the banner lines a real board adds.
* ``Collapser``: the same source and text again within ``REPEAT_WINDOW_S`` is a repeat, shown
  once with a count. ArduCopter itself sends ``Mission: 1 Takeoff`` twice within a millisecond on
  MISSION_START (``delivery_flight.txt`` lines 524-525), and the built-in simulator copies it.
* ``EventFilter``: one vehicle or all, a minimum severity, chatter shown or not.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from groundcontrol.console.model import EventView, OrderView, Severity
from groundcontrol.console.widgets.format import clock

__all__ = [
    "CHATTER_PATTERNS",
    "REPEAT_WINDOW_S",
    "SEVERITY_RANK",
    "Collapser",
    "EventFilter",
    "LogEntry",
    "is_alert",
    "is_chatter",
    "late_order_events",
]

SEVERITY_RANK: dict[Severity, int] = {s: i for i, s in enumerate(Severity)}
"""Debug 0 .. error 4: the order a minimum severity is compared in."""

REPEAT_WINDOW_S = 2.0
"""Scenario seconds: the same source and text again within this (of its last time) is a repeat."""
PAD_REPEAT_WINDOW_S = 65.0
"""Scenario seconds within which a routine text (not an alert) that is among its source's last
few lines is a repeat too: PreArm reasons come back every 30 s, in groups of one to three."""
PAD_REPEAT_DEPTH = 4
"""How many of a source's latest distinct lines a routine repeat is looked for in."""

CHATTER_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    r"^Ardu\w+ V\d",                 # ArduCopter V4.7.0-dev (90700977): banner
    r"^[0-9a-f]{32}$",              # the board's unique id, sent with the banner
    r"^Frame: ",                    # Frame: QUAD/X
    r"^RCOut: ",
    r"^RCInput: ",
    r"^RC\d+: ",                    # RC7: SaveWaypoint LOW
    r"^IMU\d+: ",                   # IMU0: fast sampling enabled 8.0kHz/1.0kHz
    r"^ChibiOS: ", r"^fmuv\d", r"^Param space used", r"^Init Ardu", r"^Free RAM",
    r"^Calibrating barometer", r"^Barometer \d+ calibration complete",
    r"^ArduPilot Ready", r"^AHRS: \w+ active",
    r"^EKF\d IMU\d+ (initialised|origin set|is using GPS|tilt alignment complete)",
    r"^EKF\d IMU\d+ MAG\d+ (initial|in-flight) yaw alignment complete",
    r"^GPS \d+: (probing for|detected) ", r"^u-blox \d+ ",
    r"^Field Elevation Set",
    r"^Gripper load grabb(ing|ed)",  # the parcel loaded on the pad
    r"^PreArm: ",                   # repeated every 30 s while disarmed; an arm refusal is "Arm: "
    r"^SIM Hit ground",             # SITL's own physics
))
"""Autopilot texts hidden unless the dispatcher asks for them (``b``)."""

_CONSOLE_SOURCES = frozenset({"dispatch", "console", "planner", "fleet"})


def is_chatter(e: EventView) -> bool:
    """Boot and on-the-pad texts from a vehicle that need no action.

    >>> is_chatter(EventView(0.0, "S1", Severity.INFO, "EKF3 IMU0 initialised"))
    True
    >>> is_chatter(EventView(0.0, "S1", Severity.INFO, "Mission: 1 Takeoff"))
    False
    >>> is_chatter(EventView(0.0, "dispatch", Severity.INFO, "Frame: none"))
    False
    """
    if e.source in _CONSOLE_SOURCES:
        return False
    return any(p.match(e.text) for p in CHATTER_PATTERNS)


def is_alert(e: EventView) -> bool:
    """A warning or an error that is not chatter: it stands out and goes to the alert bar."""
    return SEVERITY_RANK[e.severity] >= SEVERITY_RANK[Severity.WARNING] and not is_chatter(e)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which lines the log shows."""

    vehicle: str | None = None
    """Only lines from this source (a vehicle name); None: every source."""
    min_severity: Severity = Severity.DEBUG
    show_chatter: bool = False
    """Show the boot and on-the-pad texts (``is_chatter``)."""

    def accepts(self, e: EventView) -> bool:
        """True when the line passes every part of the filter."""
        if self.vehicle is not None and e.source != self.vehicle:
            return False
        if SEVERITY_RANK[e.severity] < SEVERITY_RANK[self.min_severity]:
            return False
        return self.show_chatter or not is_chatter(e)

    def describe(self) -> str:
        """The panel title's words for the filter ('' for the default).

        >>> EventFilter("S1", Severity.WARNING, True).describe()
        'S1 · ≥warning · +boot'
        """
        parts = []
        if self.vehicle is not None:
            parts.append(self.vehicle)
        if self.min_severity is not Severity.DEBUG:
            parts.append(f"≥{self.min_severity.value}")
        if self.show_chatter:
            parts.append("+boot")
        return " · ".join(parts)


@dataclass(slots=True)
class LogEntry:
    """One line of the log: an event and how many times it came (mutable: repeats add up)."""

    event: EventView
    count: int = 1
    last_s: float = field(default=0.0)
    """Scenario time of the latest repeat."""

    def __post_init__(self) -> None:
        self.last_s = self.event.time_s


class Collapser:
    """Finds the entry an event repeats, if any (see the module docstring for the rules)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], LogEntry] = {}
        self._recent: dict[str, deque[tuple[str, str]]] = {}

    def repeat_of(self, e: EventView) -> LogEntry | None:
        """The entry ``e`` repeats (its count and time moved on), else None (``add`` it)."""
        key = (e.source, e.text)
        entry = self._by_key.get(key)
        if entry is None:
            return None
        gap = e.time_s - entry.last_s
        recent = key in self._recent.get(e.source, ())
        routine = not is_alert(e) or is_chatter(e)
        if gap <= REPEAT_WINDOW_S or (routine and recent and gap <= PAD_REPEAT_WINDOW_S):
            entry.count += 1
            entry.last_s = max(entry.last_s, e.time_s)
            return entry
        return None

    def add(self, entry: LogEntry) -> None:
        """Remember a new entry as the latest of its source and text."""
        e = entry.event
        key = (e.source, e.text)
        self._by_key[key] = entry
        recent = self._recent.setdefault(e.source, deque(maxlen=PAD_REPEAT_DEPTH))
        if key in recent:
            recent.remove(key)
        recent.append(key)

    def forget(self, entry: LogEntry) -> None:
        """Drop an entry that fell off the log."""
        key = (entry.event.source, entry.event.text)
        if self._by_key.get(key) is entry:
            del self._by_key[key]


def late_order_events(orders: tuple[OrderView, ...], known: set[str],
                      now_s: float | None) -> list[EventView]:
    """A warning for each open order that has just gone past its promise (once per order;
    ``known`` holds the ids already reported and is updated)."""
    events = []
    for o in orders:
        if o.status.is_final or o.time_left_s is None or o.time_left_s >= 0 or o.id in known:
            continue
        known.add(o.id)
        due = clock(o.promised_s)
        at = now_s if now_s is not None else (o.promised_s or 0.0) - o.time_left_s
        events.append(EventView(at, "dispatch", Severity.WARNING,
                                f"{o.id} is late (promised {due}, {o.status.value})"))
    return events
