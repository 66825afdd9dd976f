"""The alert bar: the newest warning or error, one line across the screen, until acknowledged."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from groundcontrol.console.model import EventView, Severity
from groundcontrol.console.widgets.format import clock

__all__ = ["ACK_KEY", "AlertBar", "alert_text"]

ACK_KEY = "k"
"""The key that acknowledges the alerts (bound in ``app.py``)."""


def alert_text(e: EventView, count: int = 1, more: int = 0, width: int | None = None) -> Text:
    """The bar's line: marker, time, source, text, repeats, how many more wait, the key; the
    event's text is cut to fit ``width`` so the rest stays in sight.

    >>> from groundcontrol.console.model import Severity
    >>> alert_text(EventView(3600.0, "S3", Severity.ERROR, "link lost"), 2, 1).plain
    '✖ 01:00:00 S3 link lost ×2  (+1 more) · k acknowledge'
    >>> alert_text(EventView(0.0, "S3", Severity.WARNING, "fence breached"), width=38).plain
    '▲ 00:00:00 S3 fence b… · k acknowledge'
    """
    marker = "✖" if e.severity is Severity.ERROR else "▲"
    head = f"{marker} {clock(e.time_s)} {e.source} "
    tail = (f" ×{count}" if count > 1 else "") + (f"  (+{more} more)" if more else "")
    hint = f" · {ACK_KEY} acknowledge"
    text = e.text
    if width is not None:
        room = max(8, width - len(head) - len(tail) - len(hint))
        text = text if len(text) <= room else text[: room - 1] + "…"
    line = Text(head, style="bold")
    line.append(text + tail)
    line.append(hint, style="italic")
    return line


class AlertBar(Static):
    """Hidden until ``show`` gets an alert; ``show(None)`` hides it again."""

    DEFAULT_CSS = """
    AlertBar {
        height: 1;
        width: 100%;
        display: none;
        padding: 0 1;
    }
    AlertBar.-shown { display: block; }
    AlertBar.-warning { background: $warning 80%; color: $text; }
    AlertBar.-error { background: $error; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.shown: EventView | None = None
        """The alert on the bar now (for tests)."""
        self._count = 1
        self._more = 0

    def show(self, alert: EventView | None, count: int = 1, more: int = 0) -> None:
        """Put ``alert`` on the bar (``more``: unacknowledged alerts besides it)."""
        self.shown, self._count, self._more = alert, count, more
        self.set_class(alert is not None, "-shown")
        self.set_class(alert is not None and alert.severity is Severity.ERROR, "-error")
        self.set_class(alert is not None and alert.severity is not Severity.ERROR, "-warning")
        self.refresh()

    def render(self) -> Text:
        if self.shown is None:
            return Text("")
        width = self.content_size.width or None
        return alert_text(self.shown, self._count, self._more, width)
