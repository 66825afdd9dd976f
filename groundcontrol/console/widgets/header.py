"""The console's header: Textual's ``Header`` whose title changes without a re-layout.

The subtitle carries the scenario clock and the selection, so it changes with every redraw
and every cursor move. Textual's ``HeaderTitle`` asks for a layout of the whole screen on
each change (its width might change; it cannot: it is ``width: 100%``), and with 200 vehicles
in the fleet table that layout was most of a key press's time on screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.visual import VisualType
from textual.widgets import Header
from textual.widgets._header import HeaderClockSpace, HeaderIcon, HeaderTitle

__all__ = ["ConsoleHeader"]


class _FixedWidthTitle(HeaderTitle):
    """A header title that repaints in place: its width is the header's, whatever the text."""

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        super().update(content, layout=False)


class ConsoleHeader(Header):
    """``Header`` (icon, title and subtitle, no clock) with a title that never re-lays out."""

    def compose(self) -> ComposeResult:
        yield HeaderIcon().data_bind(Header.icon)
        yield _FixedWidthTitle()
        yield HeaderClockSpace()
