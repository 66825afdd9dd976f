"""The console's order dialogues beyond one backend call: retrying a refused order, accepting
a later promise, and cancelling an order whose drone is already in the air (its abort).

The backend is called in thread workers, as every action is (``ConsoleApp.perform``); the
answers come back as ``ActionFinished`` messages like any action's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

from textual.app import App

from groundcontrol.console.messages import ActionFinished
from groundcontrol.console.model import (
    ActionResult,
    ConsoleBackend,
    OrderChecker,
    OrderStatus,
    OrderView,
)
from groundcontrol.console.screens.offer import OfferScreen
from groundcontrol.console.widgets.orders import hhmm

__all__ = ["RETRYABLE", "OrderHost", "cancel_or_abort", "retry_order"]


class OrderHost(Protocol):
    """What the dialogues need of the app beyond Textual's ``App`` (``ConsoleApp``)."""

    @property
    def orders(self) -> Mapping[str, OrderView]: ...
    @property
    def clock_s(self) -> float | None: ...
    @property
    def backend(self) -> ConsoleBackend: ...
    @property
    def retried(self) -> dict[str, str]:
        """Each order placed again, and the new order's id."""
        ...
    def perform(self, name: str, target: str | None, vehicle: str | None = None) -> object: ...
    def select_order(self, order_id: str) -> None: ...


RETRYABLE = frozenset({OrderStatus.INFEASIBLE, OrderStatus.FAILED})
"""Orders a dispatcher can place again: refused, or failed in the air (a drone back in service
or a later promise may now fly them)."""
KEEP_DUE_S = 60.0
"""A retried order keeps its due time only if that is at least this far ahead."""


def retry_order(app: App[Any], order_id: str) -> None:
    """Place a refused or failed order again as a new order: the same parcel, drop-off and
    priority, due when it was if that is still ahead, else the fleet's promise from now.

    Refused in one line, with nothing placed: an order already placed again (retry the new
    one), and one the backend (an ``OrderChecker``) says still cannot be flown.
    """
    host = cast(OrderHost, app)
    order = host.orders.get(order_id)
    if order is None or order.status not in RETRYABLE:
        state = "unknown" if order is None else order.status.value
        app.notify(f"{order_id} is {state}: only a refused or failed order can be retried",
                   severity="warning")
        return
    again = host.retried.get(order_id)
    if again is not None:
        app.post_message(ActionFinished("retry_order", order_id, ActionResult.refused(
            f"already placed again as {again} (retry that one)", order_id=again)))
        return
    now = host.clock_s
    keep = order.promised_s is not None and now is not None and \
        order.promised_s > now + KEEP_DUE_S
    _place(app, order, order.promised_s if keep else None, check=True)


def _place(app: App[Any], order: OrderView, due_s: float | None, check: bool = False) -> None:
    def work() -> None:
        backend = cast(OrderHost, app).backend
        try:
            reasons = backend.check_order(order.depot_id, order.destination.lat,
                                          order.destination.lon, order.payload_kg) \
                if check and isinstance(backend, OrderChecker) else ()
            if reasons:
                more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
                result = ActionResult.refused(f"still cannot be flown: {reasons[0]}{more}")
            else:
                result = backend.add_order(order.depot_id, order.destination.lat,
                                           order.destination.lon, order.payload_kg,
                                           due_s=due_s, priority=order.priority)
        except Exception as exc:  # a backend bug must not end the shift: show it (as perform)
            result = ActionResult.refused(f"backend error: {type(exc).__name__}: {exc}")
        app.call_from_thread(_placed, app, order, result)

    app.run_worker(work, thread=True, group="actions")


def _placed(app: App[Any], order: OrderView, result: ActionResult) -> None:
    """The backend's answer to a retry: done, refused, or a later promise to accept."""
    offer = result.offer_due_s
    if result.ok or offer is None:
        app.post_message(ActionFinished("retry_order", order.id, result))
        if result.ok and result.order_id is not None:
            cast(OrderHost, app).retried[order.id] = result.order_id
            cast(OrderHost, app).select_order(result.order_id)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            _place(app, order, offer)
        else:
            app.post_message(ActionFinished("retry_order", order.id, result))

    question = f"{order.id} can be there by {hhmm(offer)}: accept? (y/Esc)"
    app.push_screen(OfferScreen(question, "; ".join(result.reasons)), answered)


def cancel_or_abort(app: App[Any], order_id: str) -> bool:
    """For an order in flight, ask to abort its drone instead of cancelling (the parcel is in
    the air: a cancel is refused); True when asked, False to cancel as usual."""
    host = cast(OrderHost, app)
    order = host.orders.get(order_id)
    if order is None or order.status is not OrderStatus.IN_FLIGHT or order.vehicle is None:
        return False
    vehicle = order.vehicle

    def answered(yes: bool | None) -> None:
        if yes:
            host.perform("abort", vehicle)

    detail = (f"{vehicle} abandons the mission and returns the way it came (SmartRTL); "
              f"the order fails and can be retried (e)")
    app.push_screen(OfferScreen(f"{order_id} in flight: abort the drone instead? (a/Esc)",
                                detail, key="a", yes="Abort"), answered)
    return True
