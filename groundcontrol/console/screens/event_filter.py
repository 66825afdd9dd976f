"""The event filter (``f``): one vehicle or all, a minimum severity, boot chatter shown or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, OptionList, RadioButton, RadioSet

from groundcontrol.console.event_filter import EventFilter
from groundcontrol.console.model import Severity

__all__ = ["ALL_VEHICLES", "EventFilterScreen"]

ALL_VEHICLES = "all vehicles"
"""The vehicle list's first choice: no vehicle filter."""
SEVERITIES: tuple[Severity, ...] = (Severity.DEBUG, Severity.INFO, Severity.NOTICE,
                                    Severity.WARNING, Severity.ERROR)


class EventFilterScreen(ModalScreen[EventFilter | None]):
    """Dismisses with the new filter (enter, Apply), the default one (Clear, ``c``) or None
    (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply", show=False),
        Binding("c", "clear", "Clear", show=False),
    ]

    def __init__(self, current: EventFilter, vehicles: Sequence[str],
                 selected: str | None = None) -> None:
        """``selected``: the fleet table's vehicle, offered first when no vehicle is chosen."""
        super().__init__()
        self.current = current
        self.vehicles = [ALL_VEHICLES, *vehicles]
        preferred = current.vehicle or selected
        self._start = self.vehicles.index(preferred) if preferred in self.vehicles else 0

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-box"):
            yield Label("Events: filter  (enter apply · c clear · escape cancel)",
                        classes="detail-title")
            with Horizontal(id="filter-columns"):
                yield OptionList(*self.vehicles, id="filter-vehicle")
                with Vertical(id="filter-right"):
                    with RadioSet(id="filter-severity"):
                        for s in SEVERITIES:
                            yield RadioButton(f"≥ {s.value}", value=s is self.current.min_severity)
                    yield Checkbox("boot chatter", self.current.show_chatter, id="filter-boot")
            with Horizontal(id="form-buttons"):
                yield Button("Clear", id="filter-clear")
                yield Button("Apply", id="filter-apply", variant="primary")

    def on_mount(self) -> None:
        options = self.query_one("#filter-vehicle", OptionList)
        options.highlighted = self._start
        options.focus()

    def chosen(self) -> EventFilter:
        """The filter the screen shows now."""
        index = self.query_one("#filter-vehicle", OptionList).highlighted or 0
        pressed = self.query_one("#filter-severity", RadioSet).pressed_index
        return EventFilter(
            vehicle=None if index == 0 else self.vehicles[index],
            min_severity=SEVERITIES[pressed] if pressed >= 0 else Severity.DEBUG,
            show_chatter=self.query_one("#filter-boot", Checkbox).value,
        )

    def on_option_list_option_selected(self, _: OptionList.OptionSelected) -> None:
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "filter-clear":
            self.action_clear()
        else:
            self.action_apply()

    def action_apply(self) -> None:
        self.dismiss(self.chosen())

    def action_clear(self) -> None:
        self.dismiss(EventFilter())

    def action_cancel(self) -> None:
        self.dismiss(None)
