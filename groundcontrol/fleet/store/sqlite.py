"""Durable state of a dispatch day: an embedded SQLite database (WAL, foreign keys) by
default, or a PostgreSQL database given as a ``postgresql://`` URL (``postgres``), which
several sites can share (see Sites below). The controller and the commands do not care which.

Tables: orders (with their state), plans, assignments, flights, vehicle snapshots, and an
append-only event log. Every state change is one transaction. Order states move only along
``TRANSITIONS``; a trigger in the database enforces it too, so no code path (or second
process) can deliver an order twice or bring back a cancelled one.

Restart: the dispatcher is deterministic, so the store keeps the events it was given (kind
``dispatch``, with their time) and ``load_state()`` hands them back in order; replaying them
into a fresh ``Dispatcher`` (``replay``) rebuilds its state exactly, and the replayed decisions
are checked against the recorded ones. Reality then catches up through new events (the
vehicles' re-synced state).

Sites (PostgreSQL only): a store opened with ``depots=`` is one site's view of a shared
order book. It sees and dispatches only the orders of its depots, replays only the dispatcher
inputs it logged itself (events carry the site), and keeps its own settings (read through to
the book's when it has none). The site's owner lease (``owner.own_store``) makes it the only
process dispatching those depots, so no order is assigned by two sites.

Thread safety: one connection guarded by a lock; every public method is atomic.

The values and errors live in ``groundcontrol.fleet.store.model`` and the schema in
``groundcontrol.fleet.store.schema``; this module re-exports them, so import from here. The
SQL of each change is in ``ops`` and of each read in ``reads``, both shared by both databases;
``dialect`` holds what differs. Opening (and creating) a store file is ``sqlite_file``'s, as
opening a PostgreSQL store is ``postgres``'s.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from groundcontrol.fleet.store import reads
from groundcontrol.fleet.store.dialect import SQLITE, Connection, Dialect, first_line, is_url
from groundcontrol.fleet.store.model import (
    TRANSITIONS,
    DuplicateOrder,
    IllegalTransition,
    OrderState,
    ReplayMismatch,
    StoredEvent,
    StoredOrder,
    StoredState,
    StoreError,
    StoreFault,
    VehicleSnapshot,
)
from groundcontrol.fleet.store.ops import (
    Tx,
    apply,
    insert_order,
    log,
    order_of,
    set_state,
    state_of,
    state_or_none,
)
from groundcontrol.fleet.store.schema import SCHEMA_VERSION
from groundcontrol.fleet.store.sqlite_file import open_sqlite
from planner.dispatch import Dispatcher
from planner.dispatch_codec import encode
from planner.dispatch_model import (
    Decision,
    Event,
    OrderCancelled,
    OrderPlaced,
)
from planner.errors import InvalidInput
from planner.model import Order

__all__ = [
    "SCHEMA_VERSION",
    "TRANSITIONS",
    "DuplicateOrder",
    "IllegalTransition",
    "OrderState",
    "ReplayMismatch",
    "Store",
    "StoreError",
    "StoreFault",
    "StoredEvent",
    "StoredOrder",
    "StoredState",
    "VehicleSnapshot",
    "replay",
    "site_name",
]


def site_name(depots: Iterable[str]) -> str:
    """The name a site's events and settings are kept under: its depots, sorted.

    >>> site_name(["MIT", "GRE"])
    'GRE,MIT'
    """
    return ",".join(sorted(set(depots)))


class Store:
    """The dispatch database. Open with ``Store.open(path)``; use as a context manager.

    Every database error under a call is mapped at this boundary: a constraint the
    database refuses is a ``StoreError`` (nothing recorded), anything else (corrupted,
    read-only, locked, disk full, connection lost) a ``StoreFault``, both naming the store.
    """

    def __init__(self, conn: Connection, path: Path | str, dialect: Dialect = SQLITE,
                 depots: Iterable[str] | None = None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        """The file, or for PostgreSQL the URL without its password."""
        self.dialect = dialect
        self.depots: tuple[str, ...] | None = (
            None if depots is None else tuple(sorted(set(depots))))
        """The site's depots (None: the whole store)."""
        self.site = None if depots is None else site_name(depots)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, timeout_s: float = 10.0,
             depots: Iterable[str] | None = None) -> Store:
        """Open the database at ``path`` in WAL mode; create it when missing and ``create``.

        ``path`` may be a ``postgresql://user@host:port/db`` URL instead: the store is then
        that database's (created in it when it has no tables and ``create``), and
        ``depots`` makes it one site's view (see the module's Sites).

        A new store is built under a temporary name and linked into place whole, so a store
        file is never seen half made: an existing file that is empty (0 bytes), not SQLite,
        or SQLite without the store's tables is refused, never initialised over.

        Raises:
            StoreError: no such store (``create=False``), not a store, a newer schema, a file
                or folder that cannot be opened (read-only, missing folder, corrupted).
        """
        if is_url(path):
            from groundcontrol.fleet.store.postgres import open_postgres

            pg, where, dialect = open_postgres(str(path), create=create, timeout_s=timeout_s)
            return cls(pg, where, dialect, depots)
        if depots is not None:
            raise StoreError(f"{path}: sites (one dispatcher per depot on a shared order "
                             "book) need a PostgreSQL store: give --store postgresql://...")
        path = Path(path)
        return cls(open_sqlite(path, create=create, timeout_s=timeout_s), path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode (``wal``); ``postgresql`` for a PostgreSQL store."""
        if self.dialect is not SQLITE:
            return self.dialect.name
        with self._read() as db:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def schema_version(self) -> int:
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            return int(row[0])

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Map driver errors (and values the database cannot hold) to the store's errors."""
        try:
            yield
        except self.dialect.too_large as exc:  # an integer beyond 64 bits
            raise StoreError(f"{self.path}: a value too large for the database: {exc}"
                             ) from exc
        except self.dialect.refused as exc:  # a constraint or trigger: nothing was written
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"{self.path}: the database refused the change: {text}") from exc
        except self.dialect.failed as exc:
            hint = self.dialect.hint(exc)
            raise StoreFault(self.path, what, f"{first_line(exc)}{hint}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """The connection for reading, under the lock, with errors mapped."""
        with self._lock, self._guard("read"):
            yield self._conn

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """Several reads that see one state of the database (a read-only transaction)."""
        with self._lock, self._guard("read"):
            self._conn.execute(self.dialect.begin_snapshot)
            try:
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        """One transaction: BEGIN (IMMEDIATE on SQLite), then COMMIT, or ROLLBACK on any
        error."""
        with self._lock, self._guard("write"):
            self._conn.execute(self.dialect.begin_write)
            try:
                yield Tx(self._conn, self.site)
            except BaseException:
                if self._conn.in_transaction:  # SQLite rolls back by itself on some errors
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def set_setting(self, name: str, value: str, now_s: float) -> None:
        """Keep a setting the restart needs (scenario, depot models, seed), logged; a site's
        store keeps its own."""
        with self._tx() as db:
            db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                       "value = excluded.value", (self._setting_key(name), value))
            log(db, now_s, "setting", None, None, {"name": name, "value": value})

    def setting(self, name: str) -> str | None:
        """A setting (a site's own, else the whole book's), or None."""
        keys = [self._setting_key(name), f"setting:{name}"]
        with self._read() as db:
            for key in dict.fromkeys(keys):
                row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    return str(row[0])
        return None

    def _setting_key(self, name: str) -> str:
        return f"setting:{name}" if self.site is None else f"site:{self.site}:setting:{name}"

    # ------------------------------------------------------------------------------ orders

    def add_orders(self, orders: Sequence[Order], now_s: float, source: str = "") -> None:
        """Store new orders, all or none (one transaction for the batch).

        Raises:
            DuplicateOrder: an id already stored or twice in the batch (nothing is stored).
        """
        with self._tx() as db:
            for order in orders:
                try:
                    db.execute(
                        "INSERT INTO orders (id, depot_id, lat, lon, payload_kg, created_s, due_s,"
                        " priority, source, updated_s) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (order.id, order.depot_id, order.dropoff.lat, order.dropoff.lon,
                         order.payload_kg, order.created_s, order.due_s, order.priority, source,
                         now_s))
                except self.dialect.refused as exc:
                    if isinstance(exc, self.dialect.too_large):
                        raise  # named as such by _guard
                    if self.dialect.is_unique_violation(exc):
                        raise DuplicateOrder(order.id) from None
                    raise StoreError(f"order {order.id!r}: {first_line(exc)}") from None
                log(db, now_s, "intake", order.id, None, {"source": source})

    def order(self, order_id: str) -> StoredOrder:
        """The stored order. Raises StoreError when there is none."""
        with self._read() as db:
            return reads.one_order(db, order_id)

    def orders(self, state: OrderState | None = None) -> list[StoredOrder]:
        """All orders (or those in one state), by creation time then id; a site's store: its
        depots' orders."""
        with self._read() as db:
            return reads.stored_orders(db, self.depots, state)

    def request_cancel(self, order_id: str, now_s: float) -> OrderState:
        """Cancel an order: at once if the dispatcher has not seen it, else ask the dispatcher.

        Returns:
            The state after the call (cancelled, or unchanged with the request recorded).

        Raises:
            StoreError: no such order; IllegalTransition: it is already final or in flight.
        """
        with self._tx() as db:
            state = state_of(db, order_id)
            if state is OrderState.NEW:
                set_state(db, order_id, state, OrderState.CANCELLED, now_s, "cancelled")
                return OrderState.CANCELLED
            if state not in (OrderState.PLANNED, OrderState.ASSIGNED):
                raise IllegalTransition(order_id, state.value, OrderState.CANCELLED.value)
            db.execute("UPDATE orders SET cancel_requested = 1, updated_s = ? WHERE id = ?",
                       (now_s, order_id))
            log(db, now_s, "intake", order_id, None, {"cancel_requested": True})
            return state

    def undispatched(self) -> list[Event]:
        """Inputs the dispatcher has not had yet: new orders and requested cancellations."""
        out: list[Event] = []
        for stored in self.orders(OrderState.NEW):
            out.append(OrderPlaced(stored.order))
        with self._read() as db:
            out.extend(OrderCancelled(oid) for oid in reads.cancel_requests(db, self.depots))
        return out

    # -------------------------------------------------------------------------- dispatch

    def record_dispatch(self, event: Event, now_s: float, decisions: Iterable[Decision]) -> None:
        """Record one dispatcher step atomically: its input and what it decided.

        A new order not yet stored is stored first (the bench and tests feed the dispatcher
        directly).

        Raises:
            StoreError: a decision the stored states do not allow (say the order was
                cancelled from the command line between ``undispatched()`` and this call).
                Nothing is recorded; the dispatcher in memory is then ahead of the store, so
                rebuild it with ``replay(load_state(), fresh_dispatcher)`` and carry on.
        """
        with self._tx() as db:
            if isinstance(event, OrderPlaced) and state_or_none(db, event.order.id) is None:
                insert_order(db, event.order, now_s)
            log(db, now_s, "dispatch", order_of(event), getattr(event, "drone_id", None),
                 encode(event))
            for decision in decisions:
                apply(db, decision, now_s)
                log(db, now_s, "decision", decision.order_id,
                     getattr(decision, "drone_id", None), encode(decision))

    # --------------------------------------------------------------------------- flights

    def start_flight(self, order_id: str, drone_id: str, now_s: float) -> None:
        """The assigned drone took off with the order (assigned -> in_flight)."""
        with self._tx() as db:
            state = state_of(db, order_id)
            if state is not OrderState.ASSIGNED:
                raise IllegalTransition(order_id, state.value, OrderState.IN_FLIGHT.value)
            row = db.execute("SELECT id, drone_id FROM assignments WHERE order_id = ? AND "
                             "active = 1", (order_id,)).fetchone()
            if row is None or row[1] != drone_id:
                raise StoreError(f"order {order_id!r} is not assigned to drone {drone_id!r}")
            set_state(db, order_id, state, OrderState.IN_FLIGHT, now_s, "launched")
            db.execute("INSERT INTO flights (order_id, drone_id, assignment_id, launched_s) "
                       "VALUES (?,?,?,?)", (order_id, drone_id, row[0], now_s))
            log(db, now_s, "flight", order_id, drone_id, {"launched": True})

    def end_flight(self, order_id: str, outcome: str, now_s: float,
                   record: Mapping[str, object] | None = None) -> None:
        """The flight ended: ``delivered``, ``failed``, or ``aborted`` (parcel back, re-queued).

        ``record`` (planned against flown, ``FlightRecord.as_dict()``) is kept in the flight's
        event; ``flight_records()`` reads it back.

        Raises:
            IllegalTransition: the order is not in flight (e.g. already delivered).
        """
        target = {"delivered": OrderState.DELIVERED, "failed": OrderState.FAILED,
                  "aborted": OrderState.PLANNED}.get(outcome)
        if target is None:
            raise StoreError(f"outcome must be delivered, failed or aborted, got {outcome!r}")
        with self._tx() as db:
            state = state_of(db, order_id)
            if state is not OrderState.IN_FLIGHT:
                raise IllegalTransition(order_id, state.value, target.value)
            set_state(db, order_id, state, target, now_s, outcome)
            db.execute("UPDATE flights SET outcome = ?, ended_s = ? WHERE order_id = ? AND "
                       "outcome IS NULL", (outcome, now_s, order_id))
            db.execute("UPDATE assignments SET active = 0, ended_s = ?, end_reason = ? "
                       "WHERE order_id = ? AND active = 1", (now_s, outcome, order_id))
            data: dict[str, object] = {"outcome": outcome}
            if record is not None:
                data["record"] = dict(record)
            log(db, now_s, "flight", order_id, None, data)

    def flight_records(self) -> list[tuple[str, dict[str, object]]]:
        """(order id, planned-against-flown record) of every ended flight that has one."""
        out = []
        for event in self.events():
            if event.kind != "flight":
                continue
            data = json.loads(event.data)
            if isinstance(data, dict) and isinstance(data.get("record"), dict):
                out.append((event.order_id or "", data["record"]))
        return out

    def record_vehicle(self, snapshot: VehicleSnapshot) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO vehicle_snapshots (drone_id, t_s, status, battery_wh, lat, "
                       "lon, alt_m) VALUES (?,?,?,?,?,?,?)",
                       (snapshot.drone_id, snapshot.t_s, snapshot.status, snapshot.battery_wh,
                        snapshot.lat, snapshot.lon, snapshot.alt_m))

    # --------------------------------------------------------------------------- reading

    def events(self, since_seq: int = 0) -> list[StoredEvent]:
        """The event log after ``since_seq``, oldest first."""
        with self._read() as db:
            return reads.events_after(db, since_seq)

    def vehicle_snapshots(self, since_id: int = 0) -> list[tuple[int, VehicleSnapshot]]:
        """Every vehicle snapshot kept after row ``since_id``, oldest row first, each with its
        row id (a watcher polls on from the last id it saw). Vehicles are not a site's: a
        site's store reads the whole book's too."""
        with self._read() as db:
            return reads.snapshots_after(db, since_id)

    def site_settings(self, name: str) -> dict[str | None, str]:
        """A setting as the book (key None) and each site that keeps its own (key: the
        site's name, ``site_name``) have it: a watcher of the whole book finds the scenario a
        site recorded for itself."""
        with self._read() as db:
            return reads.site_settings(db, name)

    def last_time_s(self) -> float | None:
        """The latest scenario time this site logged anything at (a dispatcher step, a flight
        launched or ended, a fleet event), None for an empty store: a resumed run's clock
        starts there, never before a flight it already launched."""
        with self._snapshot() as db:
            return reads.last_time_s(db, self.site)

    def load_state(self) -> StoredState:
        """Everything needed to rebuild the dispatcher after a restart (see ``replay``)."""
        with self._snapshot() as db:  # the tables as one moment left them
            return reads.restart_state(db, self.site, self.depots)


def replay(state: StoredState, dispatcher: Dispatcher) -> Dispatcher:
    """Feed the stored inputs to a fresh dispatcher built like the original one.

    Raises:
        ReplayMismatch: the replayed decisions differ from the recorded ones (a different
            fleet, depot model, planner or seed than the one that wrote the store).
    """
    replayed: list[tuple[float, Decision]] = []
    for t_s, event in state.dispatch_events:
        try:
            replayed.extend((t_s, d) for d in dispatcher.handle(event, t_s))
        except InvalidInput as exc:
            raise ReplayMismatch(f"replay differs from the record: {exc}") from exc
    if replayed != list(state.decisions):
        first = next((i for i, (a, b) in enumerate(zip(replayed, state.decisions, strict=False))
                      if a != b), min(len(replayed), len(state.decisions)))
        raise ReplayMismatch(f"replay differs from the record at decision {first} "
                             f"({len(replayed)} replayed, {len(state.decisions)} recorded)")
    return dispatcher
