"""A question with one key for yes: accept a later promise (y), abort a drone instead of
cancelling its order (a). Escape or n says no."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

__all__ = ["OfferScreen"]


class OfferScreen(ModalScreen[bool]):
    """Dismisses with True on ``key`` or the yes button; escape, n or the no button say no.
    'No' has focus, so a stray enter does not say yes."""

    DEFAULT_CSS = """
    OfferScreen {
        align: center middle;
        background: $background 60%;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,n", "answer(False)", "No")]

    def __init__(self, question: str, detail: str = "", *, key: str = "y",
                 yes: str = "Accept", id: str | None = None) -> None:
        super().__init__(id=id)
        self.question = question
        self.detail = detail
        self.key = key
        self.yes = yes

    def compose(self) -> ComposeResult:
        # The confirmation dialog's look (app.tcss): the same kind of question.
        with Vertical(id="confirm-box"):
            yield Label(self.question, id="confirm-question")
            if self.detail:
                yield Label(self.detail, id="confirm-detail")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} ({self.key})", variant="warning", id="yes",
                             compact=True)
                yield Button("No (esc)", variant="primary", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == self.key:
            event.stop()
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
