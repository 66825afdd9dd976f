"""What differs between the store's two databases, SQLite and PostgreSQL, in one place.

The store's SQL is written once, with ``?`` parameters and standard SQL both databases run
(``INSERT ... ON CONFLICT ... DO UPDATE``, ``RETURNING``, partial unique indexes). A
``Dialect`` holds the rest: how a write transaction begins, which driver errors mean "the
database refused this change" (a constraint or the state guard) and which mean "the database
failed". ``PgConnection`` gives a psycopg connection the ``sqlite3`` calls the store makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "SQLITE", "Connection", "Cursor", "Dialect", "PgConnection", "first_line", "is_url", "pg_hint",
    "sqlite_hint", "store_location",
]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: object) -> bool:
    """Whether a ``--store`` value names a PostgreSQL database rather than a file.

    >>> is_url("postgresql://dispatch@db.local:5432/orders"), is_url("day.db")
    (True, False)
    """
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def store_location(text: str) -> str | Path:
    """``--store``'s value: a PostgreSQL URL kept as text, else a file path (argparse type;
    ``Path`` would fold the URL's ``//``)."""
    return text if is_url(text) else Path(text)


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The part of a ``sqlite3.Connection`` the store uses (``PgConnection`` provides it too)."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """One database's ways."""

    name: str
    begin_write: str
    """Starts a transaction that writes (SQLite takes its write lock at once)."""
    begin_snapshot: str
    """Starts a read-only transaction whose reads all see one state of the database."""
    refused: tuple[type[BaseException], ...]
    """Errors that mean the database refused the change: nothing was written."""
    failed: tuple[type[BaseException], ...]
    """Every other error of the driver: the database failed under the call."""
    unique: tuple[type[BaseException], ...] = ()
    """Unique-constraint violations, where the driver has a class for them."""
    too_large: tuple[type[BaseException], ...] = (OverflowError,)
    """A value beyond what the database's column holds (an integer past 64 bits)."""
    hint: Callable[[BaseException], str] = lambda exc: ""
    """What a failure of the database most likely means, as `` (hint)`` or ``""``."""

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self.unique) or "UNIQUE" in str(exc)


def sqlite_hint(exc: BaseException) -> str:
    """What an SQLite or OS error most likely means for a store file.

    >>> sqlite_hint(OSError("database is locked"))
    ' (another process holds it)'
    """
    return _hint(exc, (("readonly", "read-only file or folder?"),
                       ("read-only", "read-only file or folder?"),
                       ("unable to open", "a missing or read-only folder?"),
                       ("malformed", "the file is corrupted: restore a copy"),
                       ("not a database", "not an SQLite file, or a corrupted one"),
                       ("locked", "another process holds it"),
                       ("busy", "another process holds it"),
                       ("disk is full", "free some space"),
                       ("disk i/o", "a failing or removed disk?")))


def _hint(exc: BaseException, hints: tuple[tuple[str, str], ...]) -> str:
    """`` (hint)`` for the first ``(needle, hint)`` whose needle the error's text holds."""
    text = str(exc).lower()
    return next((f" ({hint})" for needle, hint in hints if needle in text), "")


def _sqlite() -> Dialect:
    import sqlite3

    return Dialect("sqlite", "BEGIN IMMEDIATE", "BEGIN",  # WAL: a reader sees one snapshot
                   refused=(sqlite3.IntegrityError, OverflowError), failed=(sqlite3.Error,),
                   hint=sqlite_hint)


SQLITE = _sqlite()


def postgres_dialect() -> Dialect:
    """PostgreSQL through psycopg 3 (imported here: an SQLite store never loads it)."""
    import psycopg

    return Dialect("postgresql", "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   refused=(psycopg.errors.IntegrityError, psycopg.errors.DataError),
                   failed=(psycopg.Error,), unique=(psycopg.errors.UniqueViolation,),
                   too_large=(psycopg.errors.NumericValueOutOfRange,), hint=pg_hint)


class PgConnection:
    """A psycopg connection in autocommit mode that the store drives like ``sqlite3``: it
    sends ``BEGIN`` and ``COMMIT`` itself, and writes its parameters as ``?``."""

    def __init__(self, conn: Any) -> None:
        self.raw = conn

    @property
    def in_transaction(self) -> bool:
        import psycopg.pq

        return bool(self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        if not parameters:
            return self.raw.execute(sql)
        return self.raw.execute(_pg_params(sql), tuple(parameters))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(_pg_params(sql), list(rows))

    def close(self) -> None:
        self.raw.close()


def _pg_params(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (the store's SQL has no ``?`` or ``%`` in its
    literals).

    >>> _pg_params("UPDATE t SET a = ? WHERE b = ?")
    'UPDATE t SET a = %s WHERE b = %s'
    """
    return sql.replace("%", "%%").replace("?", "%s")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def pg_hint(exc: BaseException) -> str:
    """What a PostgreSQL error most likely means for a store."""
    return _hint(exc, (("connection refused", "is the server running on that port?"),
                       ("does not exist", "create it first: createdb, or CREATE DATABASE"),
                       ("password authentication", "wrong user or password"),
                       ("no password supplied", "give the password in the URL or PGPASSFILE"),
                       ("timeout", "the server did not answer in time"),
                       ("lock timeout", "another process holds those rows"),
                       ("read-only", "a read-only server or replica")))
