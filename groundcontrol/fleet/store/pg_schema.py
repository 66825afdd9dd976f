"""The dispatch store's PostgreSQL schema: the SQLite one (``schema``) in PostgreSQL's words,
with the same state guard in the database (PL/pgSQL triggers), plus the site of each event.

Several ``run`` processes, one per site, share one PostgreSQL order book; each replays only
its own dispatcher's inputs, so an event carries the site that logged it (NULL: a store
driven whole, as an SQLite file always is).

Triggers raise SQLSTATE 23514 (check_violation), an integrity error like SQLite's
``RAISE(ABORT)`` in a trigger: the store reports the change refused and nothing written.
"""

from __future__ import annotations

from groundcontrol.fleet.store.dialect import PgConnection
from groundcontrol.fleet.store.model import TRANSITIONS, StoreError
from groundcontrol.fleet.store.schema import SCHEMA_VERSION

__all__ = ["migrate_pg"]

_CREATE_LOCK = 0x64_64_73_31  # "dds1": one creator at a time per database

_SCHEMA = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE order_transitions (from_state TEXT NOT NULL, to_state TEXT NOT NULL,
        PRIMARY KEY (from_state, to_state))""",
    """CREATE TABLE orders (
        id TEXT PRIMARY KEY, depot_id TEXT NOT NULL,
        lat DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
        lon DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
        payload_kg DOUBLE PRECISION NOT NULL CHECK (payload_kg > 0),
        created_s DOUBLE PRECISION NOT NULL, due_s DOUBLE PRECISION,
        priority BIGINT NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'new',
        reasons TEXT NOT NULL DEFAULT '[]', cancel_requested INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL DEFAULT '', updated_s DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX orders_by_depot ON orders(depot_id, state)",
    """CREATE FUNCTION order_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.state <> OLD.state AND NOT EXISTS (SELECT 1 FROM order_transitions
                WHERE from_state = OLD.state AND to_state = NEW.state) THEN
            RAISE EXCEPTION 'illegal order state transition' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER order_state_guard BEFORE UPDATE OF state ON orders
        FOR EACH ROW EXECUTE FUNCTION order_state_guard()""",
    """CREATE TABLE plans (id BIGSERIAL PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),
        profile_name TEXT NOT NULL, battery_wh DOUBLE PRECISION NOT NULL, plan TEXT NOT NULL,
        created_s DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE assignments (id BIGSERIAL PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES orders(id), drone_id TEXT NOT NULL,
        plan_id BIGINT NOT NULL REFERENCES plans(id), launch_at_s DOUBLE PRECISION NOT NULL,
        eta_dropoff_s DOUBLE PRECISION NOT NULL, due_s DOUBLE PRECISION NOT NULL,
        sortie TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
        created_s DOUBLE PRECISION NOT NULL, ended_s DOUBLE PRECISION, end_reason TEXT)""",
    "CREATE UNIQUE INDEX one_active_assignment ON assignments(order_id) WHERE active = 1",
    """CREATE TABLE flights (id BIGSERIAL PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),
        drone_id TEXT NOT NULL, assignment_id BIGINT REFERENCES assignments(id),
        launched_s DOUBLE PRECISION NOT NULL, ended_s DOUBLE PRECISION,
        outcome TEXT CHECK (outcome IN ('delivered', 'failed', 'aborted')))""",
    "CREATE UNIQUE INDEX one_delivery ON flights(order_id) WHERE outcome = 'delivered'",
    "CREATE UNIQUE INDEX one_open_flight ON flights(order_id) WHERE outcome IS NULL",
    """CREATE TABLE vehicle_snapshots (id BIGSERIAL PRIMARY KEY, drone_id TEXT NOT NULL,
        t_s DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, battery_wh DOUBLE PRECISION,
        lat DOUBLE PRECISION, lon DOUBLE PRECISION, alt_m DOUBLE PRECISION)""",
    "CREATE INDEX snapshots_by_drone ON vehicle_snapshots(drone_id, t_s)",
    """CREATE TABLE events (seq BIGSERIAL PRIMARY KEY, t_s DOUBLE PRECISION NOT NULL,
        kind TEXT NOT NULL, order_id TEXT, drone_id TEXT, data TEXT NOT NULL, site TEXT,
        recorded_at TEXT NOT NULL DEFAULT
            to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))""",
    "CREATE INDEX events_by_order ON events(order_id)",
    "CREATE INDEX events_by_site ON events(site, kind, seq)",
    """CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the event log is append-only' USING ERRCODE = 'check_violation';
    END $$""",
    """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    """CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()""",
]


def migrate_pg(db: PgConnection, where: str, *, create: bool) -> None:
    """Check the store's schema in a database, or create it in one without tables.

    Call inside a transaction. Creators take a transaction-scoped advisory lock first, so
    two processes creating one store at once make it once (the second finds it made).

    Raises:
        StoreError: no store there (``create`` false), a database holding other tables, or a
            store written by a newer schema version.
    """
    db.execute("SELECT pg_advisory_xact_lock(?)", (_CREATE_LOCK,))
    if db.execute("SELECT to_regclass('meta')").fetchone()[0] is not None:
        _check_version(db, where)
        return
    tables = [r[0] for r in db.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename "
        "LIMIT 6").fetchall()]
    if tables:
        held = ", ".join(map(repr, tables[:5])) + (", ..." if len(tables) > 5 else "")
        raise StoreError(f"{where}: not a drone-delivery store (the database holds other "
                         f"tables: {held}); give an empty database or a store's")
    if not create:
        raise StoreError(f"{where}: no dispatch store in this database (`drone-delivery order "
                         "add` or `order import` creates one)")
    for statement in _SCHEMA:
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    db.executemany("INSERT INTO order_transitions VALUES (?, ?)",
                   [(a.value, b.value) for a, b in sorted(TRANSITIONS, key=str)])


def _check_version(db: PgConnection, where: str) -> None:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    version = int(row[0]) if row is not None and str(row[0]).isdigit() else None
    if version is None:
        raise StoreError(f"{where}: not a drone-delivery store (its meta table has no schema "
                         "version)")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{where}: schema {version} is newer than {SCHEMA_VERSION}; upgrade "
                         "drone-delivery")
