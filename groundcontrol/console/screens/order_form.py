"""The add-order form: validates what it can locally, then asks the backend, and shows why an
order cannot be flown when the backend refuses it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from groundcontrol.console.model import ActionResult

__all__ = ["MAX_PAYLOAD_KG", "OrderFormScreen", "OrderInput", "validate_order_form"]

MAX_PAYLOAD_KG = 50.0
"""Anything heavier is a typo, not a drone parcel; the backend checks the real vehicle limit."""

FIELDS = ("depot", "lat", "lon", "payload")


@dataclass(frozen=True, slots=True)
class OrderInput:
    depot_id: str
    lat: float
    lon: float
    payload_kg: float


def _number(text: str, name: str, low: float, high: float, errors: dict[str, str]) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        shown = text.strip()
        errors[name] = f"{name}: '{shown}' is not a number" if shown else f"{name}: required"
        return math.nan
    if not math.isfinite(value) or not low <= value <= high:
        errors[name] = f"{name}: {value:g} is outside {low:g}..{high:g}"
    return value


def validate_order_form(
    depot: str, lat: str, lon: str, payload: str, depots: Sequence[str]
) -> tuple[OrderInput | None, dict[str, str]]:
    """Check the form's text fields; return the input, or None and an error per bad field.

    >>> validate_order_form("D1", "-35.3", "149.1", "1.5", ["D1"])[0]
    OrderInput(depot_id='D1', lat=-35.3, lon=149.1, payload_kg=1.5)
    >>> validate_order_form("D9", "x", "149.1", "0", ["D1"])[1]["depot"]
    "depot: unknown depot 'D9' (known: D1)"
    """
    errors: dict[str, str] = {}
    depot_id = depot.strip()
    if not depot_id:
        errors["depot"] = "depot: required"
    elif depot_id not in depots:
        by_case = {d.lower(): d for d in depots}
        if depot_id.lower() in by_case:
            depot_id = by_case[depot_id.lower()]
        else:
            known = ", ".join(depots) or "none"
            errors["depot"] = f"depot: unknown depot '{depot_id}' (known: {known})"
    lat_v = _number(lat, "lat", -90.0, 90.0, errors)
    lon_v = _number(lon, "lon", -180.0, 180.0, errors)
    payload_v = _number(payload, "payload", 0.0, MAX_PAYLOAD_KG, errors)
    if "payload" not in errors and payload_v <= 0.0:
        errors["payload"] = "payload: must be more than 0 kg"
    if errors:
        return None, errors
    return OrderInput(depot_id, lat_v, lon_v, payload_v), errors


class OrderFormScreen(ModalScreen[ActionResult | None]):
    """Dismisses with the backend's accepting ``ActionResult``, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Submit"),
    ]

    def __init__(
        self,
        depots: Sequence[str],
        submit: Callable[[str, float, float, float], ActionResult],
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

    def compose(self) -> ComposeResult:
        with Vertical(id="order-form"):
            yield Label("New order", classes="detail-title")
            for name, label, placeholder in (
                ("depot", "Depot", ", ".join(self.depots[:4])),
                ("lat", "Latitude", "-35.2809"),
                ("lon", "Longitude", "149.1300"),
                ("payload", "Payload kg", "1.5"),
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
        depot, lat, lon, payload = (self.field_text(n) for n in FIELDS)
        order, errors = validate_order_form(depot, lat, lon, payload, self.depots)
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
        result = self._submit(order.depot_id, order.lat, order.lon, order.payload_kg)
        self.app.call_from_thread(self._show_result, result)

    def _show_result(self, result: ActionResult) -> None:
        self.busy = False
        self.last_result = result
        if result.ok:
            self.dismiss(result)
            return
        reasons = "\n".join(f"• {r}" for r in result.reasons)
        self._set_status(f"Cannot be flown:\n{reasons}", refused=True)

    def _set_status(self, text: str, refused: bool = False) -> None:
        self.status_message = text
        status = self.query_one("#form-status", Static)
        status.set_class(refused, "refused")
        status.update(text)
        status.display = bool(text)
