"""The keys screen (``?`` or F1): every key of the console, in one list."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from groundcontrol.console.actions import ACTIONS

__all__ = ["HelpScreen", "help_lines"]

GENERAL_KEYS: tuple[tuple[str, str], ...] = (
    ("1 2 3 4", "focus the fleet, orders, events or map panel"),
    ("↑ ↓ ← →", "move in a table (left/right scroll its hidden columns)"),
    ("enter, i", "details of the selected vehicle or order"),
    ("v", "operate the selected vehicle: arm, disarm, mode, go-to, parameters, upload and "
          "download its mission (refused under a delivery, except reading)"),
    ("z", "zoom the focused panel (again to restore)"),
    ("o", "sort the orders by id or by urgency (time left, then priority); the title says which"),
    ("f", "filter the events: one vehicle (the selected one first), a minimum severity"),
    ("b", "show or hide the autopilots' boot and on-the-pad texts in the events"),
    ("k", "acknowledge the alerts (the bar under the header clears until the next one)"),
    ("ctrl+p", "command palette: every action by name"),
    ("? , F1", "this screen"),
    ("q, ctrl+q", "quit (asks first while drones are in the air)"),
)


def help_lines() -> list[tuple[str, str]]:
    """(key, what it does) for every key: the actions on the selection, then the rest."""
    actions = [(s.key, f"{s.title}: {s.help}" + (" (asks first)" if s.dangerous else ""))
               for s in ACTIONS]
    return [*actions, *GENERAL_KEYS]


class HelpScreen(ModalScreen[None]):
    """Lists the keys; escape, q, ? or F1 close it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()  # wraps under itself on narrow terminals
        for key, text in help_lines():
            table.add_row(key, text)
        with VerticalScroll(id="help-box"):
            yield Label("Keys", classes="detail-title")
            yield Static(table, id="help-keys")
            yield Label("escape closes this screen", classes="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)
