"""Messages that carry work results from other threads back to the console's event loop."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from groundcontrol.console.model import ActionResult

__all__ = ["ActionFinished", "UpdatesPending"]


@dataclass
class UpdatesPending(Message):
    """The update buffer went from empty to non-empty; drain it (throttled) on the UI thread."""


@dataclass
class ActionFinished(Message):
    """A backend action called from a worker thread has returned."""

    action: str
    """The action's name: add_order, plan, launch, pause, resume, rtl, land, abort, cancel."""
    target: str
    """The vehicle or order it was applied to (empty for add_order)."""
    result: ActionResult
