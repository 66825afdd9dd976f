"""The dispatch store as an SQLite file: opening one, and creating one whole.

A new store is built under a temporary name and linked into place whole, so a store file is
never seen half made: an existing file that is empty (0 bytes), not SQLite, or SQLite without
the store's tables is refused, never initialised over. The schema is checked before WAL mode
is set, so a foreign file stays as it was.

``open_sqlite`` is the SQLite side of ``Store.open``, as ``postgres.open_postgres`` is the
PostgreSQL one: it hands back a checked connection (foreign keys on, WAL).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

from groundcontrol.fleet.store.dialect import sqlite_hint
from groundcontrol.fleet.store.model import StoreError
from groundcontrol.fleet.store.schema import migrate

__all__ = ["open_sqlite"]


def open_sqlite(path: Path, *, create: bool, timeout_s: float) -> sqlite3.Connection:
    """Open the store file at ``path`` in WAL mode; create it when missing and ``create``.

    Raises:
        StoreError: no such store (``create=False``), not a store, a newer schema, a file or
            folder that cannot be opened (read-only, missing folder, corrupted).
    """
    try:
        size = path.stat().st_size if path.exists() else None
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the dispatch store: {exc.strerror}") from None
    if size is None:
        if not create:
            raise StoreError(f"{path}: no such dispatch store (`drone-delivery order add` "
                             "or `order import` creates one)")
        _create(path, timeout_s)
    elif path.is_dir():
        raise StoreError(f"{path}: is a folder, not a dispatch store")
    elif size == 0:
        raise StoreError(f"{path}: empty file (0 bytes), not a drone-delivery store (a "
                         "truncated copy?); restore it, or remove it to start a new store")
    try:
        conn = _connect(path, timeout_s, create=False)
        try:
            _migrate(conn, path, new=False)  # checks before WAL: a foreign file stays as it was
            conn.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            conn.close()
            raise
    except (sqlite3.Error, OSError) as exc:  # not a database, read-only, malformed, locked
        raise StoreError(f"{path}: cannot open the dispatch store: {exc}{sqlite_hint(exc)}"
                         ) from None
    return conn


def _migrate(conn: sqlite3.Connection, path: Path, *, new: bool) -> None:
    """Create the schema (``new``: BEGIN IMMEDIATE) or check it (a read)."""
    conn.execute("BEGIN IMMEDIATE" if new else "BEGIN")
    try:
        migrate(conn, path, new=new)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _connect(path: Path, timeout_s: float, *, create: bool) -> sqlite3.Connection:
    """A connection with foreign keys on; never creates a file unless ``create``, which also
    sets WAL mode (kept in the file; ``open_sqlite`` sets it on an existing store once it has
    checked the file is one)."""
    uri = f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if create:
            conn.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _create(path: Path, timeout_s: float) -> None:
    """Build a new store under a temporary name, then link it into place whole.

    Two processes creating one path at once both build one; the first link wins and the
    other opens it.

    Raises:
        StoreError: the folder is missing or not writable.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    try:
        conn = _connect(tmp, timeout_s, create=True)
        try:
            _migrate(conn, path, new=True)
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"{path}: cannot create the dispatch store: {exc}{sqlite_hint(exc)}"
                         ) from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
