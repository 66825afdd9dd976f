"""The store's changes in SQL, shared by both databases: orders, state moves along
``TRANSITIONS`` (checked here and by the database's guard), dispatcher decisions carried into
the tables, and the event log. Each function runs inside the caller's transaction (``Tx``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from groundcontrol.fleet.store.dialect import Connection
from groundcontrol.fleet.store.model import (
    TRANSITIONS,
    IllegalTransition,
    OrderState,
    StoredOrder,
    StoreError,
)
from planner.dispatch_codec import encode
from planner.dispatch_model import (
    Assign,
    CancelAnswer,
    Decision,
    Event,
    Fail,
    OrderPlaced,
    Reject,
    Unassign,
)
from planner.model import LatLon, Order

__all__ = ["ORDER_COLUMNS", "Tx", "apply", "insert_order", "log", "order_of", "set_state",
           "state_of", "state_or_none", "stored_order"]


class Tx:
    """The connection inside one transaction, and the site whose events it logs (None: a
    store driven whole)."""

    def __init__(self, conn: Connection, site: str | None = None) -> None:
        self.conn, self.site = conn, site

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self.conn.execute(sql, parameters)


ORDER_COLUMNS = ("id, depot_id, lat, lon, payload_kg, created_s, due_s, priority, state, "
                  "reasons, cancel_requested")


def stored_order(row: tuple[Any, ...]) -> StoredOrder:
    oid, depot, lat, lon, payload, created, due, priority, state, reasons, cancel = row
    order = Order(oid, depot, LatLon(lat, lon), payload, created, due, priority)
    return StoredOrder(order, OrderState(state), tuple(json.loads(reasons)), bool(cancel))


def insert_order(db: Tx, order: Order, now_s: float) -> None:
    db.execute("INSERT INTO orders (id, depot_id, lat, lon, payload_kg, created_s, due_s, "
               "priority, source, updated_s) VALUES (?,?,?,?,?,?,?,?,'dispatch',?)",
               (order.id, order.depot_id, order.dropoff.lat, order.dropoff.lon,
                order.payload_kg, order.created_s, order.due_s, order.priority, now_s))


def log(db: Tx, t_s: float, kind: str, order_id: str | None,
         drone_id: str | None, data: object) -> None:
    text = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
    if db.site is None:
        db.execute("INSERT INTO events (t_s, kind, order_id, drone_id, data) VALUES "
                   "(?,?,?,?,?)", (t_s, kind, order_id, drone_id, text))
    else:  # only PostgreSQL stores have sites (and the column)
        db.execute("INSERT INTO events (t_s, kind, order_id, drone_id, data, site) VALUES "
                   "(?,?,?,?,?,?)", (t_s, kind, order_id, drone_id, text, db.site))


def state_or_none(db: Tx, order_id: str) -> OrderState | None:
    row = db.execute("SELECT state FROM orders WHERE id = ?", (order_id,)).fetchone()
    return None if row is None else OrderState(row[0])


def state_of(db: Tx, order_id: str) -> OrderState:
    state = state_or_none(db, order_id)
    if state is None:
        raise StoreError(f"no order {order_id!r}")
    return state


def set_state(db: Tx, order_id: str, old: OrderState, new: OrderState,
               now_s: float, why: str) -> None:
    """Move an order ``old -> new`` (checked here and by the database's trigger)."""
    if old is new:
        return
    if (old, new) not in TRANSITIONS:
        raise IllegalTransition(order_id, old.value, new.value)
    changed = db.execute("UPDATE orders SET state = ?, updated_s = ? WHERE id = ? AND "
                         "state = ?", (new.value, now_s, order_id, old.value)).rowcount
    if changed != 1:  # someone else moved it first
        raise IllegalTransition(order_id, old.value, new.value)
    log(db, now_s, "order", order_id, None, {"from": old.value, "to": new.value, "why": why})


def apply(db: Tx, decision: Decision, now_s: float) -> None:
    """Carry one decision into the tables."""
    oid = decision.order_id
    state = state_of(db, oid)
    if isinstance(decision, Reject):
        db.execute("UPDATE orders SET reasons = ? WHERE id = ?",
                   (json.dumps([str(r) for r in decision.reasons]), oid))
        set_state(db, oid, state, OrderState.INFEASIBLE, now_s, "rejected")
    elif isinstance(decision, Assign):
        _assign(db, decision, state, now_s)
    elif isinstance(decision, Unassign):
        _deactivate(db, oid, now_s, decision.reason)
        if state is OrderState.ASSIGNED:
            set_state(db, oid, state, OrderState.PLANNED, now_s, decision.reason)
    elif isinstance(decision, Fail):
        _deactivate(db, oid, now_s, decision.reason)
        db.execute("UPDATE flights SET outcome = 'failed', ended_s = ? WHERE order_id = ? AND "
                   "outcome IS NULL", (now_s, oid))
        set_state(db, oid, state, OrderState.FAILED, now_s, decision.reason)
    elif isinstance(decision, CancelAnswer):
        db.execute("UPDATE orders SET cancel_requested = 0 WHERE id = ?", (oid,))
        if decision.cancelled and state in (OrderState.PLANNED, OrderState.ASSIGNED):
            _deactivate(db, oid, now_s, "cancelled")
            set_state(db, oid, state, OrderState.CANCELLED, now_s, "cancelled")
    # SwapBattery changes no order state; the log line is the crew's instruction


def _assign(db: Tx, decision: Assign, state: OrderState, now_s: float) -> None:
    sortie = decision.sortie
    if state is OrderState.NEW:
        set_state(db, decision.order_id, state, OrderState.PLANNED, now_s, "accepted")
        state = OrderState.PLANNED
    _deactivate(db, decision.order_id, now_s, "superseded")
    plan_id = db.execute(
        "INSERT INTO plans (order_id, profile_name, battery_wh, plan, created_s) "
        "VALUES (?,?,?,?,?) RETURNING id", (decision.order_id, sortie.plan.profile_name,
                                            sortie.launch_wh, encode(sortie.plan), now_s)
    ).fetchone()[0]
    db.execute("INSERT INTO assignments (order_id, drone_id, plan_id, launch_at_s, "
               "eta_dropoff_s, due_s, sortie, created_s) VALUES (?,?,?,?,?,?,?,?)",
               (decision.order_id, decision.drone_id, plan_id, decision.launch_at_s,
                decision.eta_dropoff_s, decision.due_s, encode(sortie), now_s))
    set_state(db, decision.order_id, state, OrderState.ASSIGNED, now_s, "assigned")


def _deactivate(db: Tx, order_id: str, now_s: float, reason: str) -> None:
    db.execute("UPDATE assignments SET active = 0, ended_s = ?, end_reason = ? WHERE "
               "order_id = ? AND active = 1", (now_s, reason, order_id))


def order_of(event: Event) -> str | None:
    if isinstance(event, OrderPlaced):
        return event.order.id
    return getattr(event, "order_id", None)
