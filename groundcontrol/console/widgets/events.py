"""The event log: STATUSTEXT, acknowledgements, failsafes and dispatcher decisions.

Every event is kept (up to ``max_lines``) as a ``LogEntry``; a repeat of the same source and
text adds to its entry's count instead of a new line (``event_filter.Collapser``). The log shows
the entries its ``EventFilter`` accepts: by default everything but the autopilot's boot and
on-the-pad chatter. Warnings and errors are marked, and the newest one not yet acknowledged goes
to the screen's ``AlertBar``. The panel's title names the filter and how many lines it hides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from groundcontrol.console.event_filter import (
    Collapser,
    EventFilter,
    LogEntry,
    is_alert,
    late_order_events,
)
from groundcontrol.console.model import EventView, OrderView, Severity
from groundcontrol.console.widgets.alert_bar import AlertBar
from groundcontrol.console.widgets.format import SEVERITY_STYLES, clock

__all__ = ["EventLog", "entry_line", "event_line"]

_MARKERS: dict[Severity, tuple[str, str]] = {
    Severity.WARNING: ("▲", "bold black on yellow"),
    Severity.ERROR: ("✖", "bold white on red"),
}
_TRIM_EVERY = 200
"""Entries dropped off the top before the drawn lines are rebuilt to drop theirs too."""


def entry_line(entry: LogEntry) -> Text:
    """One log line: time, source, alert marker, text and ``×N`` for repeats."""
    e = entry.event
    style = SEVERITY_STYLES.get(e.severity, "")
    line = Text(clock(e.time_s), style="grey62")
    line.append(f" {e.source[:12]} ", style="bold")
    marker = _MARKERS.get(e.severity)
    if marker is not None:
        line.append(marker[0], style=marker[1])
        line.append(" ")
    line.append(e.text, style=style)
    if entry.count > 1:
        line.append(f" ×{entry.count}", style="bold")
    return line


def event_line(e: EventView) -> Text:
    """One event as a log line (no repeats)."""
    return entry_line(LogEntry(e))


class EventLog(RichLog):
    """Bounded, collapsing, filtered log; ``lines_written`` are the shown lines as plain text."""

    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None, max_lines: int = 2000) -> None:
        super().__init__(id=id, max_lines=None, wrap=True, min_width=20, markup=False,
                         highlight=False)
        self.entries: deque[LogEntry] = deque()
        self._max = max_lines
        self.filter = EventFilter()
        self.hidden = 0
        """Entries the filter hides now."""
        self._collapser = Collapser()
        self._tail: LogEntry | None = None
        self._tail_strips = 0
        self._trimmed = 0
        self._alerts: list[LogEntry] = []
        """Alerts not yet acknowledged, oldest first."""
        self._late: set[str] = set()
        self._title_base: str | None = None
        self._drawn_width = 0
        """The width the shown lines were wrapped at."""

    # -- what is shown ---------------------------------------------------------------------------

    @property
    def lines_written(self) -> list[str]:
        """The shown lines as plain text, oldest first."""
        return [entry_line(x).plain for x in self.entries if self.filter.accepts(x.event)]

    @property
    def alert(self) -> LogEntry | None:
        """The newest alert not acknowledged yet."""
        return self._alerts[-1] if self._alerts else None

    def add_events(self, events: Sequence[EventView], dropped: int = 0) -> None:
        """Log a batch: repeats add to their entry, the rest become lines (shown if the
        filter accepts them); alerts go to the alert bar."""
        if dropped:
            note = EventView(events[0].time_s if events else 0.0, "console", Severity.WARNING,
                             f"{dropped} events dropped (log too fast to show)")
            events = (note, *events)
        redraw = False
        for e in events:
            redraw |= self._add(e)
        if redraw or self._trimmed >= _TRIM_EVERY:
            self._rebuild()
        self._show_status()

    def check_orders(self, orders: Iterable[OrderView], now_s: float | None) -> None:
        """Log (and alert) each open order the first time it is past its promise."""
        late = late_order_events(tuple(orders), self._late, now_s)
        if late:
            self.add_events(late)

    def set_filter(self, new: EventFilter) -> None:
        """Show what ``new`` accepts (redraws the log)."""
        self.filter = new
        self._rebuild()
        self._show_status()

    def acknowledge(self) -> int:
        """Clear the alert bar; returns how many alerts were acknowledged."""
        done = len(self._alerts)
        self._alerts.clear()
        self._show_status()
        return done

    # -- internals -------------------------------------------------------------------------------

    def _add(self, e: EventView) -> bool:
        """Take one event; True when a line above the last must be redrawn."""
        entry = self._collapser.repeat_of(e)
        if entry is not None:
            if is_alert(e):
                self._raise(entry)
            if not self.filter.accepts(e):
                return False
            if entry is self._tail:
                self._redraw_tail()
                return False
            return True
        entry = LogEntry(e)
        self._collapser.add(entry)
        self.entries.append(entry)
        if len(self.entries) > self._max:
            self._drop(self.entries.popleft())
        if is_alert(e):
            self._raise(entry)
        if self.filter.accepts(e):
            self._write(entry)
        else:
            self.hidden += 1
        return False

    def _drop(self, old: LogEntry) -> None:
        self._collapser.forget(old)
        if old in self._alerts:
            self._alerts.remove(old)
        if self.filter.accepts(old.event):
            self._trimmed += 1
        else:
            self.hidden -= 1

    def on_resize(self, event: Resize) -> None:
        # RichLog keeps a line at the width it was written: after a resize the log would
        # scroll sideways (narrower) or wrap short (wider). Wrap every line again.
        width, self._drawn_width = self._drawn_width, event.size.width
        if self._size_known and width and width != event.size.width:
            self._rebuild()

    def _raise(self, entry: LogEntry) -> None:
        if entry in self._alerts:
            self._alerts.remove(entry)
        self._alerts.append(entry)

    def _write(self, entry: LogEntry) -> None:
        before = len(self.lines)
        self.write(entry_line(entry))
        self._tail, self._tail_strips = entry, len(self.lines) - before

    def _redraw_tail(self) -> None:
        """Rewrite the last line in place (its count changed)."""
        if self._tail is None or not self._tail_strips:
            self._rebuild()  # not drawn yet (size unknown): the deferred writes are redone
            return
        del self.lines[-self._tail_strips:]
        self._line_cache.clear()
        self._write(self._tail)

    def _rebuild(self) -> None:
        """Redraw every shown line (after a filter change, or a repeat above the last line)."""
        self.clear()
        self._tail, self._tail_strips, self._trimmed, self.hidden = None, 0, 0, 0
        for entry in self.entries:
            if self.filter.accepts(entry.event):
                self._write(entry)
            else:
                self.hidden += 1

    def _show_status(self) -> None:
        """The panel title (filter, hidden lines) and the alert bar."""
        panel = self.parent
        if panel is not None and hasattr(panel, "border_title"):
            if self._title_base is None:
                self._title_base = str(panel.border_title or "Events")
            words = self.filter.describe()
            parts = [self._title_base, *([words] if words else []),
                     *([f"{self.hidden} hidden"] if self.hidden else [])]
            panel.border_title = " · ".join(parts)
        if not self.is_attached:
            return
        alert = self.alert
        for bar in self.screen.query(AlertBar):
            if alert is None:
                bar.show(None)
            else:
                bar.show(alert.event, alert.count, len(self._alerts) - 1)
