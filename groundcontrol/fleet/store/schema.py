"""The dispatch store's SQLite schema, and creating or checking it when a database opens.

The order state guard is a trigger over the ``order_transitions`` table, which is filled from
``TRANSITIONS``, so the database itself refuses an illegal state change from any process.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from groundcontrol.fleet.store.model import TRANSITIONS, StoreError

__all__ = ["SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE order_transitions (from_state TEXT NOT NULL, to_state TEXT NOT NULL,
    PRIMARY KEY (from_state, to_state));
CREATE TABLE orders (
    id TEXT PRIMARY KEY, depot_id TEXT NOT NULL,
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    payload_kg REAL NOT NULL CHECK (payload_kg > 0), created_s REAL NOT NULL, due_s REAL,
    priority INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'new',
    reasons TEXT NOT NULL DEFAULT '[]', cancel_requested INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '', updated_s REAL NOT NULL);
CREATE TRIGGER order_state_guard BEFORE UPDATE OF state ON orders
    WHEN NEW.state <> OLD.state AND NOT EXISTS (SELECT 1 FROM order_transitions
        WHERE from_state = OLD.state AND to_state = NEW.state)
    BEGIN SELECT RAISE(ABORT, 'illegal order state transition'); END;
CREATE TABLE plans (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),
    profile_name TEXT NOT NULL, battery_wh REAL NOT NULL, plan TEXT NOT NULL,
    created_s REAL NOT NULL);
CREATE TABLE assignments (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),
    drone_id TEXT NOT NULL, plan_id INTEGER NOT NULL REFERENCES plans(id),
    launch_at_s REAL NOT NULL, eta_dropoff_s REAL NOT NULL, due_s REAL NOT NULL,
    sortie TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_s REAL NOT NULL,
    ended_s REAL, end_reason TEXT);
CREATE UNIQUE INDEX one_active_assignment ON assignments(order_id) WHERE active = 1;
CREATE TABLE flights (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),
    drone_id TEXT NOT NULL, assignment_id INTEGER REFERENCES assignments(id),
    launched_s REAL NOT NULL, ended_s REAL,
    outcome TEXT CHECK (outcome IN ('delivered', 'failed', 'aborted')));
CREATE UNIQUE INDEX one_delivery ON flights(order_id) WHERE outcome = 'delivered';
CREATE UNIQUE INDEX one_open_flight ON flights(order_id) WHERE outcome IS NULL;
CREATE TABLE vehicle_snapshots (id INTEGER PRIMARY KEY, drone_id TEXT NOT NULL,
    t_s REAL NOT NULL, status TEXT NOT NULL, battery_wh REAL, lat REAL, lon REAL, alt_m REAL);
CREATE INDEX snapshots_by_drone ON vehicle_snapshots(drone_id, t_s);
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, t_s REAL NOT NULL,
    kind TEXT NOT NULL, order_id TEXT, drone_id TEXT, data TEXT NOT NULL,
    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE INDEX events_by_order ON events(order_id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""


def migrate(db: sqlite3.Connection, path: Path, *, new: bool = False) -> None:
    """Create the schema in a database being created (``new``), or check an existing one.

    Call inside a transaction (``Store`` does, with ``BEGIN IMMEDIATE``). Only a database
    the store is creating gets the schema: an existing file without it is refused, not
    filled in (another application's database, or a truncated store).

    Raises:
        StoreError: not a dispatch store, or one written by a newer schema version.
    """
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if exists:
        _check_version(db, path)
        return
    if not new:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name LIMIT 6").fetchall()]
        held = (f"it holds other tables: {', '.join(map(repr, tables[:5]))}"
                f"{', ...' if len(tables) > 5 else ''}" if tables
                else "an SQLite database without the store's tables")
        raise StoreError(f"{path}: not a drone-delivery store ({held}); give the path of a "
                         "store, or a new path to create one")
    for statement in _statements(_SCHEMA):
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    db.executemany("INSERT INTO order_transitions VALUES (?, ?)",
                   [(a.value, b.value) for a, b in sorted(TRANSITIONS, key=str)])


def _check_version(db: sqlite3.Connection, path: Path) -> None:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    try:
        version = int(row[0]) if row is not None else None
    except (TypeError, ValueError):
        version = None
    if version is None:
        raise StoreError(f"{path}: not a drone-delivery store (its meta table has no schema "
                         "version)")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema {version} is newer than "
                         f"{SCHEMA_VERSION}; upgrade drone-delivery")


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (triggers hold ``;`` inside BEGIN ... END)."""
    out, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    return out
