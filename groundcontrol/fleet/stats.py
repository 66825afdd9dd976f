"""The end-of-run summary: delivered, infeasible by reason, failed, mean delivery time, on time.

Counts come from the store (the truth after any restart); drop-off times from the controller
when it saw the release, else the time the store recorded the delivery (the landing).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from groundcontrol.fleet.store.sqlite import OrderState, Store
from planner.model import Infeasibility
from planner.scenario import Scenario

__all__ = ["FleetSummary", "store_note", "summarize"]


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """How a run went. Times in seconds."""

    orders: int
    delivered: int
    infeasible: int
    failed: int
    cancelled: int
    open: int
    """Orders not final (new, planned, assigned, in flight)."""
    infeasible_by_reason: Mapping[str, int] = field(default_factory=dict)
    failed_reasons: tuple[str, ...] = ()
    mean_delivery_s: float | None = None
    """Mean time from order to drop-off over the delivered orders."""
    on_time: int = 0
    """Delivered orders dropped off by their due time."""
    dropped_off: int = 0
    """Open orders whose parcel was released, their drone not landed yet (the store
    delivers an order at the landing)."""

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.delivered if self.delivered else None

    def lines(self) -> list[str]:
        """The summary as the demo prints it."""
        mean = "-" if self.mean_delivery_s is None else f"{self.mean_delivery_s / 60:.1f} min"
        rate = "-" if self.on_time_rate is None else f"{100 * self.on_time_rate:.0f} %"
        out = [f"orders {self.orders}: delivered {self.delivered}, infeasible "
               f"{self.infeasible}, failed {self.failed}, cancelled {self.cancelled}, open "
               f"{self.open}" + (f" ({self.dropped_off} of them dropped off, their drones "
                                 f"on the way back)" if self.dropped_off else ""),
               f"mean delivery time {mean}, on time {self.on_time}/{self.delivered} ({rate})"]
        out += [f"  infeasible: {rule}: {n}" for rule, n in
                sorted(self.infeasible_by_reason.items())]
        out += [f"  failed: {reason}" for reason in self.failed_reasons]
        return out


def _transitions(store: Store) -> tuple[dict[str, float], dict[str, str]]:
    """When each order was recorded delivered, and why each failed, from the event log."""
    times: dict[str, float] = {}
    why: dict[str, str] = {}
    for event in store.events():
        if event.kind != "order" or event.order_id is None:
            continue
        data = json.loads(event.data)
        if data.get("to") == OrderState.DELIVERED.value:
            times[event.order_id] = event.t_s
        elif data.get("to") == OrderState.FAILED.value:
            why[event.order_id] = str(data.get("why", ""))
    return times, why


def summarize(store: Store, scenario: Scenario, delivered_at: Mapping[str, float],
              rejected: Mapping[str, tuple[Infeasibility, ...]]) -> FleetSummary:
    """Summarise the store's orders (``delivered_at`` and ``rejected`` add detail)."""
    stored = store.orders()
    by_state = Counter(s.state for s in stored)
    landed, why = _transitions(store)
    reasons: Counter[str] = Counter()
    failed: list[str] = []
    for s in stored:
        if s.state is OrderState.INFEASIBLE:
            rules = {r.rule.value for r in rejected.get(s.order.id, ())}
            reasons.update(rules or {s.reasons[0] if s.reasons else "unknown"})
        elif s.state is OrderState.FAILED:
            failed.append(f"{s.order.id}: {why.get(s.order.id) or 'see the event log'}")
    waits, on_time = [], 0
    for s in stored:
        if s.state is not OrderState.DELIVERED:
            continue
        at = delivered_at.get(s.order.id, landed.get(s.order.id))
        if at is None:
            continue
        waits.append(at - s.order.created_s)
        on_time += at <= scenario.due_s(s.order)
    open_states = (OrderState.NEW, OrderState.PLANNED, OrderState.ASSIGNED, OrderState.IN_FLIGHT)
    return FleetSummary(
        orders=len(stored), delivered=by_state[OrderState.DELIVERED],
        infeasible=by_state[OrderState.INFEASIBLE], failed=by_state[OrderState.FAILED],
        cancelled=by_state[OrderState.CANCELLED],
        open=sum(by_state[s] for s in open_states), infeasible_by_reason=dict(reasons),
        failed_reasons=tuple(failed),
        mean_delivery_s=sum(waits) / len(waits) if waits else None, on_time=on_time,
        dropped_off=sum(s.state is OrderState.IN_FLIGHT and s.order.id in delivered_at
                        for s in stored))


def store_note(store: str | Path | None) -> str:
    """Where a day's store is, said when a run, console or demo ends.

    >>> store_note(None)
    'store: temporary, deleted on exit (give --store PATH to keep a day)'
    >>> store_note("c.db")
    'store: c.db (the same command resumes the day; drone-delivery report --store c.db)'
    """
    if store is None:
        return "store: temporary, deleted on exit (give --store PATH to keep a day)"
    return (f"store: {store} (the same command resumes the day; drone-delivery report "
            f"--store {store})")
