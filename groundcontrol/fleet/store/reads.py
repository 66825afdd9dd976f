"""The store's reads in SQL, shared by both databases: orders (a site's store sees only its
depots'), the event log, vehicle snapshots, settings as the book and each site keep them, and
the state a restart rebuilds the dispatcher from. ``ops`` holds the changes.

Each function runs on the caller's connection, under its lock and error mapping (``Store``);
the restart's reads inside one read-only transaction, so they see one moment.
"""

from __future__ import annotations

from groundcontrol.fleet.store.dialect import Connection
from groundcontrol.fleet.store.model import (
    OrderState,
    StoredEvent,
    StoredOrder,
    StoredState,
    StoreError,
    VehicleSnapshot,
)
from groundcontrol.fleet.store.ops import ORDER_COLUMNS, stored_order
from planner.dispatch_codec import decode

__all__ = [
    "Scope", "cancel_requests", "depot_scope", "events_after", "last_time_s", "one_order",
    "restart_state", "site_scope", "site_settings", "snapshots_after", "stored_orders",
]

Scope = tuple[str, tuple[str, ...]]
"""An SQL condition and its arguments."""


def depot_scope(depots: tuple[str, ...] | None, alias: str = "") -> Scope:
    """SQL condition (and its arguments) keeping a site's store to its depots' orders.

    >>> depot_scope(("GRE", "MIT"), "o.")
    ('o.depot_id IN (?, ?)', ('GRE', 'MIT'))
    """
    if depots is None:
        return "1 = 1", ()
    return (f"{alias}depot_id IN ({', '.join('?' * len(depots))})", depots)


def site_scope(site: str | None) -> Scope:
    """SQL condition (and its arguments) keeping to the events a site logged itself.

    >>> site_scope(None), site_scope("GRE,MIT")
    (('1 = 1', ()), ('site = ?', ('GRE,MIT',)))
    """
    return ("1 = 1", ()) if site is None else ("site = ?", (site,))


def one_order(db: Connection, order_id: str) -> StoredOrder:
    """The stored order. Raises StoreError when there is none."""
    row = db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise StoreError(f"no order {order_id!r}")
    return stored_order(row)


def stored_orders(db: Connection, depots: tuple[str, ...] | None,
                  state: OrderState | None = None) -> list[StoredOrder]:
    """The orders of ``depots`` (None: all), or those in one state, by creation time then id."""
    scope, args = depot_scope(depots)
    query = f"SELECT {ORDER_COLUMNS} FROM orders WHERE {scope}"
    if state is not None:
        query, args = query + " AND state = ?", (*args, state.value)
    rows = db.execute(query + " ORDER BY created_s, id", args).fetchall()
    return [stored_order(r) for r in rows]


def cancel_requests(db: Connection, depots: tuple[str, ...] | None) -> list[str]:
    """Ids of the orders whose cancellation the dispatcher has yet to answer, oldest first."""
    scope, args = depot_scope(depots)
    rows = db.execute(
        f"SELECT id FROM orders WHERE cancel_requested = 1 AND state IN "
        f"('planned', 'assigned') AND {scope} ORDER BY updated_s, id", args).fetchall()
    return [r[0] for r in rows]


def events_after(db: Connection, since_seq: int) -> list[StoredEvent]:
    """The event log after ``since_seq``, oldest first."""
    rows = db.execute(
        "SELECT seq, t_s, kind, order_id, drone_id, data FROM events WHERE seq > ? "
        "ORDER BY seq", (since_seq,)).fetchall()
    return [StoredEvent(*r) for r in rows]


def snapshots_after(db: Connection, since_id: int) -> list[tuple[int, VehicleSnapshot]]:
    """Every vehicle snapshot after row ``since_id``, oldest row first, with its row id."""
    rows = db.execute(
        "SELECT id, drone_id, t_s, status, battery_wh, lat, lon, alt_m FROM "
        "vehicle_snapshots WHERE id > ? ORDER BY id", (since_id,)).fetchall()
    return [(int(r[0]), VehicleSnapshot(*r[1:])) for r in rows]


def site_settings(db: Connection, name: str) -> dict[str | None, str]:
    """A setting as the book (key None) and each site that keeps its own (key: the site)."""
    rows = db.execute("SELECT key, value FROM meta WHERE key = ? OR (key LIKE 'site:%' "
                      "AND key LIKE ?) ORDER BY key",
                      (f"setting:{name}", f"%:setting:{name}")).fetchall()
    book, suffix = f"setting:{name}", f":setting:{name}"
    out: dict[str | None, str] = {}
    for key, value in rows:
        if key == book:
            out[None] = str(value)
        elif str(key).endswith(suffix):  # LIKE's ``_`` matches any one character
            out[str(key)[len("site:"):-len(suffix)]] = str(value)
    return out


def last_time_s(db: Connection, site: str | None) -> float | None:
    """The latest scenario time ``site`` logged anything at, None when it logged nothing."""
    where, args = site_scope(site)
    row = db.execute(f"SELECT MAX(t_s) FROM events WHERE {where}", args).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def restart_state(db: Connection, site: str | None,
                  depots: tuple[str, ...] | None) -> StoredState:
    """Everything needed to rebuild the dispatcher after a restart; run it in a snapshot."""
    where, where_args = site_scope(site)
    scope, args = depot_scope(depots, "o.")
    logged = db.execute("SELECT t_s, kind, data FROM events WHERE kind IN "
                        f"('dispatch', 'decision') AND {where} ORDER BY seq",
                        where_args).fetchall()
    active = db.execute("SELECT a.sortie FROM assignments a JOIN orders o ON "
                        f"o.id = a.order_id WHERE a.active = 1 AND {scope} "
                        "ORDER BY a.id", args).fetchall()
    flying = db.execute("SELECT f.order_id FROM flights f JOIN orders o ON "
                        f"o.id = f.order_id WHERE f.outcome IS NULL AND {scope} "
                        "ORDER BY f.id", args).fetchall()
    vehicles = db.execute(
        "SELECT drone_id, t_s, status, battery_wh, lat, lon, alt_m FROM "
        "vehicle_snapshots v WHERE id = (SELECT MAX(id) FROM vehicle_snapshots w "
        "WHERE w.drone_id = v.drone_id) ORDER BY drone_id").fetchall()
    return StoredState(
        orders=tuple(stored_orders(db, depots)),
        dispatch_events=tuple((t, decode(d)) for t, k, d in logged if k == "dispatch"),
        decisions=tuple((t, decode(d)) for t, k, d in logged if k == "decision"),
        active=tuple(decode(r[0]) for r in active),
        in_flight=tuple(r[0] for r in flying),
        vehicles=tuple(VehicleSnapshot(*r) for r in vehicles),
    )
