"""The add-order form: validates what it can locally (``order_input``), then asks the backend;
shows why an order cannot be flown when the backend refuses it, and when only its due time is
out of reach, offers the later promise the backend can keep (y accepts, escape edits)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from groundcontrol.console.model import ActionResult
from groundcontrol.console.order_input import MAX_PAYLOAD_KG, OrderInput, validate_order_form
from groundcontrol.console.screens.offer import OfferScreen
from groundcontrol.fleet.report import clock as hhmm

__all__ = ["MAX_PAYLOAD_KG", "OrderFormScreen", "OrderInput", "SubmitFn", "validate_order_form"]

FIELDS = ("depot", "lat", "lon", "payload", "due", "priority")
SubmitFn = Callable[..., ActionResult]
"""``ConsoleBackend.add_order``: (depot_id, lat, lon, payload_kg, due_s=, priority=)."""


class OrderFormScreen(ModalScreen[ActionResult | None]):
    """Dismisses with the backend's accepting ``ActionResult``, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Submit"),
    ]

    def __init__(
        self,
        depots: Sequence[str],
        submit: SubmitFn,
        default_depot: str = "",
    ) -> None:
        super().__init__()
        self.depots = tuple(depots)
        self._submit = submit
        self._default_depot = default_depot or (self.depots[0] if self.depots else "")
        self.busy = False
        self.last_result: ActionResult | None = None
        self.errors: dict[str, str] = {}
        """The field errors shown after the last submit."""
        self.status_message = ""
        self.offer: OfferScreen | None = None
        """The later promise on offer, while it is asked."""

    def compose(self) -> ComposeResult:
        with Vertical(id="order-form"):
            yield Label("New order", classes="detail-title")
            for name, label, placeholder in (
                ("depot", "Depot", ", ".join(self.depots[:4])),
                ("lat", "Latitude", "-35.2809"),
                ("lon", "Longitude", "149.1300"),
                ("payload", "Payload kg", "1.5"),
                ("due", "Due", "HH:MM or +min (blank: the promise)"),
                ("priority", "Priority", "0 (higher goes first)"),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(
                        value=self._default_depot if name == "depot" else "",
                        placeholder=placeholder,
                        id=f"f-{name}",
                        suggester=SuggestFromList(self.depots, case_sensitive=False)
                        if name == "depot"
                        else None,
                    )
                yield Static("", id=f"e-{name}", classes="form-error")
            yield Static("", id="form-status")
            with Horizontal(id="form-buttons"):
                yield Button("Add order (^s)", variant="primary", id="submit", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-lat" if self._default_depot else "#f-depot", Input).focus()

    def field_text(self, name: str) -> str:
        return self.query_one(f"#f-{name}", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = list(FIELDS)
        name = (event.input.id or "f-").removeprefix("f-")
        if name in order and order.index(name) < len(order) - 1:
            self.query_one(f"#f-{order[order.index(name) + 1]}", Input).focus()
        else:
            self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if self.busy:
            return
        depot, lat, lon, payload, due, priority = (self.field_text(n) for n in FIELDS)
        now = getattr(self.app, "clock_s", None) or 0.0
        order, errors = validate_order_form(depot, lat, lon, payload, self.depots, due,
                                            priority, now)
        self.errors = errors
        for name in FIELDS:
            error = self.query_one(f"#e-{name}", Static)
            error.update(errors.get(name, ""))
            error.display = name in errors
        if order is None:
            self._set_status("")
            return
        self.busy = True
        self._set_status("Checking with the planner…")
        self._ask_backend(order)

    @work(thread=True, exclusive=True, group="order-form")
    def _ask_backend(self, order: OrderInput) -> None:
        # The backend may plan the order (route search, energy) or talk to vehicles: off the loop.
        result = self._submit(order.depot_id, order.lat, order.lon, order.payload_kg,
                              due_s=order.due_s, priority=order.priority)
        self.app.call_from_thread(self._show_result, result, order)

    def _show_result(self, result: ActionResult, order: OrderInput) -> None:
        self.busy = False
        self.last_result = result
        if result.ok:
            self.dismiss(result)
            return
        reasons = "\n".join(f"• {r}" for r in result.reasons)
        if result.offer_due_s is None:
            self._set_status(f"Cannot be flown:\n{reasons}", refused=True)
            return
        self._set_status(f"Not by the due time:\n{reasons}", refused=True)
        self._offer(order, result.offer_due_s, "; ".join(result.reasons))

    def _offer(self, order: OrderInput, due_s: float, why: str) -> None:
        """Ask whether the later promise will do; yes places the order with it."""
        def answered(yes: bool | None) -> None:
            self.offer = None
            if yes:
                self.query_one("#f-due", Input).value = hhmm(due_s)
                self.busy = True
                self._set_status(f"Placing it due {hhmm(due_s)}…")
                self._ask_backend(replace(order, due_s=due_s))

        self.offer = OfferScreen(f"Can be there by {hhmm(due_s)}: accept? (y/Esc)", why)
        self.app.push_screen(self.offer, answered)

    def _set_status(self, text: str, refused: bool = False) -> None:
        self.status_message = text
        status = self.query_one("#form-status", Static)
        status.set_class(refused, "refused")
        status.update(text)
        status.display = bool(text)
