"""The event log: STATUSTEXT, acknowledgements, failsafes and dispatcher decisions."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import RichLog

from groundcontrol.console.model import EventView, Severity
from groundcontrol.console.widgets.format import SEVERITY_STYLES, clock

__all__ = ["EventLog", "event_line"]

_SEVERITY_TAGS = {
    Severity.DEBUG: "",
    Severity.INFO: "",
    Severity.NOTICE: "",
    Severity.WARNING: "▲ ",
    Severity.ERROR: "✖ ",
}


def event_line(e: EventView) -> Text:
    """One log line: time, severity tag, source, text; coloured by severity."""
    style = SEVERITY_STYLES.get(e.severity, "")
    line = Text(clock(e.time_s), style="grey62")
    line.append(f" {e.source[:12]} ", style="bold")
    line.append(_SEVERITY_TAGS[e.severity] + e.text, style=style)
    return line


class EventLog(RichLog):
    """Bounded log (oldest lines fall off); keeps the plain lines for tests."""

    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None, max_lines: int = 2000) -> None:
        super().__init__(
            id=id, max_lines=max_lines, wrap=True, min_width=20, markup=False, highlight=False
        )
        self.lines_written: list[str] = []
        self._max = max_lines

    def add_events(self, events: Sequence[EventView], dropped: int = 0) -> None:
        if dropped:
            note = EventView(
                events[0].time_s if events else 0.0,
                "console",
                Severity.WARNING,
                f"{dropped} events dropped (log too fast to show)",
            )
            events = (note, *events)
        for e in events:
            line = event_line(e)
            self.write(line)
            self.lines_written.append(line.plain)
        del self.lines_written[: max(0, len(self.lines_written) - self._max)]
