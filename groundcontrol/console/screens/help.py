"""The keys screen (``?`` or F1): every key of the console, generated from the bindings.

The lists are read from the app's, the main screen's and the map's bindings (their tooltip is
the longer text), so a key added to the console is listed here without anyone remembering to;
only the keys Textual's own widgets bring (a table's cursor, the command palette) are written
here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from groundcontrol.console.screens.main import MainScreen
from groundcontrol.console.widgets.map import FleetMap

__all__ = ["HelpScreen", "Section", "help_lines", "help_sections", "key_text"]

Section = tuple[str, list[tuple[str, str]]]
"""A title and its (keys, what they do) lines."""

WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ ← →", "move in a table (left/right scroll its hidden columns)"),
    ("ctrl+p", "command palette: every action by name"),
    ("escape", "close a dialog or this screen"),
)
"""Keys of Textual's own widgets (no binding of ours to read them from)."""

_NAMES = {"question_mark": "?", "plus": "+", "equals_sign": "=", "minus": "-", "left": "←",
          "right": "→", "up": "↑", "down": "↓"}


def key_text(keys: str) -> str:
    """A binding's keys as the screen shows them.

    >>> key_text("plus,equals_sign"), key_text("left,shift+left"), key_text("f1")
    ('+, =', '←, shift+←', 'F1')
    """
    def one(key: str) -> str:
        *mods, last = key.split("+")
        name = _NAMES.get(last, last.upper() if last[:1] == "f" and last[1:].isdigit() else last)
        return "+".join([*mods, name])

    return ", ".join(one(k.strip()) for k in keys.split(","))


def _action(binding: Binding) -> str:
    """The action a binding runs wherever it is bound (``app.x`` and ``map('x')`` are x)."""
    action = binding.action.removeprefix("app.")
    if action.startswith("map('") and action.endswith("')"):
        return action[5:-2]
    return action


def _lines(bindings: Iterable[BindingType], into: dict[str, list[str]],
           texts: dict[str, str]) -> list[str]:
    """Fold bindings into ``into`` (keys per action) and ``texts``; the new actions, in order."""
    new = []
    for entry in bindings:
        if not isinstance(entry, Binding):
            continue
        action = _action(entry)
        if action not in into:
            into[action], texts[action] = [], entry.tooltip or entry.description
            new.append(action)
        for key in key_text(entry.key).split(", "):
            if key not in into[action]:
                into[action].append(key)
    return new


def help_sections(app_bindings: Sequence[BindingType]) -> list[Section]:
    """The keys screen's sections: the actions on the selection, the panels, the map, the rest.

    Args:
        app_bindings: the running app's ``BINDINGS`` (a replay adds its playback keys).
    """
    keys: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    screen = _lines(MainScreen.BINDINGS, keys, texts)
    map_keys = _lines(FleetMap.BINDINGS, keys, texts)
    rest = _lines(app_bindings, keys, texts)  # F1 and shift+arrows join their actions above

    def rows(actions: Iterable[str]) -> list[tuple[str, str]]:
        return [(", ".join(keys[a]), texts[a]) for a in actions]

    return [
        ("On the selected vehicle (fleet panel) or order (orders panel)",
         rows(a for a in screen if a.startswith("act("))),
        ("Panels and views", rows(a for a in screen if not a.startswith("act("))),
        ("Map (4 focuses it; shift+arrows pan it from any panel)", rows(map_keys)),
        ("Everywhere", rows(rest) + list(WIDGET_KEYS)),
    ]


def help_lines(app_bindings: Sequence[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) for every key, all sections in one list."""
    return [line for _, lines in help_sections(app_bindings) for line in lines]


class HelpScreen(ModalScreen[None]):
    """Lists the keys; escape, q, ? or F1 close it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        parts: list[Text | Table] = []
        sections = help_sections(type(self.app).BINDINGS)
        width = max(len(key) for _, lines in sections for key, _ in lines)
        for title, lines in sections:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold", no_wrap=True, min_width=width)
            table.add_column()  # wraps under itself on narrow terminals
            for key, text in lines:
                table.add_row(key, text)
            parts += [Text(title, style="underline"), table, Text("")]
        with VerticalScroll(id="help-box"):
            yield Label("Keys", classes="detail-title")
            yield Static(Group(*parts), id="help-keys")
            yield Label("escape closes this screen", classes="help-hint")

    def action_close(self) -> None:
        self.dismiss(None)
