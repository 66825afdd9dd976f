"""The dispatch store's values and errors: order states, their allowed changes, stored rows.

``groundcontrol.fleet.store.sqlite`` re-exports all of these; import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from planner.dispatch_model import Decision, Event, Sortie
from planner.model import Order

__all__ = [
    "TRANSITIONS",
    "DuplicateOrder",
    "IllegalTransition",
    "OrderState",
    "ReplayMismatch",
    "StoreError",
    "StoreFault",
    "StoredEvent",
    "StoredOrder",
    "StoredState",
    "VehicleSnapshot",
]


class OrderState(Enum):
    """Where an order is in its life; see ``TRANSITIONS`` for the allowed changes."""

    NEW = "new"
    """Stored, not yet seen by the dispatcher."""
    INFEASIBLE = "infeasible"
    """Rejected by the dispatcher, with reasons."""
    PLANNED = "planned"
    """Accepted, waiting for a drone."""
    ASSIGNED = "assigned"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


_S = OrderState
TRANSITIONS: frozenset[tuple[OrderState, OrderState]] = frozenset({
    (_S.NEW, _S.INFEASIBLE), (_S.NEW, _S.PLANNED), (_S.NEW, _S.CANCELLED),
    (_S.PLANNED, _S.ASSIGNED), (_S.PLANNED, _S.CANCELLED), (_S.PLANNED, _S.FAILED),
    (_S.ASSIGNED, _S.PLANNED), (_S.ASSIGNED, _S.IN_FLIGHT), (_S.ASSIGNED, _S.CANCELLED),
    (_S.ASSIGNED, _S.FAILED),
    (_S.IN_FLIGHT, _S.DELIVERED), (_S.IN_FLIGHT, _S.FAILED),
    (_S.IN_FLIGHT, _S.PLANNED),  # aborted with the parcel on board: it flies again
})
"""Allowed order state changes; delivered, failed, infeasible and cancelled are final."""


class StoreError(ValueError):
    """Root of the store's errors (a ValueError: the CLI reports it as bad input)."""


class StoreFault(ValueError):
    """The database failed under a call: corrupted, read-only, locked too long, disk full.

    Deliberately not a ``StoreError``: callers take a ``StoreError`` as the store refusing
    one change (nothing recorded) and carry on, while a failing database must stop whoever
    drives flights from it. A ``ValueError`` so the CLI reports it in one line.
    """

    def __init__(self, path: object, what: str, problem: str) -> None:
        self.path, self.what, self.problem = str(path), what, problem
        super().__init__(f"{path}: the dispatch store failed to {what}: {problem}")


class DuplicateOrder(StoreError):
    """An order id that is already stored (or twice in one batch)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id!r} is already stored")


class IllegalTransition(StoreError):
    """An order state change that ``TRANSITIONS`` does not allow."""

    def __init__(self, order_id: str, from_state: str, to_state: str) -> None:
        self.order_id, self.from_state, self.to_state = order_id, from_state, to_state
        super().__init__(f"order {order_id!r}: cannot go from {from_state} to {to_state}")


class ReplayMismatch(StoreError):
    """Replaying the stored events gave other decisions than the ones recorded."""


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order with its state, the reasons it was rejected, and a pending cancel request."""

    order: Order
    state: OrderState
    reasons: tuple[str, ...] = ()
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One line of the event log."""

    seq: int
    t_s: float
    kind: str
    """``dispatch`` (an input of the dispatcher), ``decision``, ``order`` (a state change),
    ``flight``, ``intake``."""
    order_id: str | None
    drone_id: str | None
    data: str


@dataclass(frozen=True, slots=True)
class VehicleSnapshot:
    """A vehicle's state as last seen by the ground station."""

    drone_id: str
    t_s: float
    status: str
    battery_wh: float | None = None
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None


@dataclass(frozen=True, slots=True)
class StoredState:
    """What ``load_state`` gives back: enough to rebuild the dispatcher and re-sync vehicles."""

    orders: tuple[StoredOrder, ...]
    dispatch_events: tuple[tuple[float, Event], ...]
    """The dispatcher's inputs in order, with the time each was handled."""
    decisions: tuple[tuple[float, Decision], ...]
    """The recorded decisions, in order (to check a replay)."""
    active: tuple[Sortie, ...]
    """The sortie of every order in state assigned or in_flight."""
    in_flight: tuple[str, ...]
    """Order ids with an open flight."""
    vehicles: tuple[VehicleSnapshot, ...]
    """The latest snapshot of each vehicle."""
