"""The dispatch store on PostgreSQL (``--store postgresql://user@host:port/db``), and the
owner lease that lets several sites share one order book.

Driver: psycopg 3 (``psycopg[binary]``), the maintained PostgreSQL adapter for Python; its
binary wheels carry libpq, so nothing is installed system-wide.

Opening: the database must exist (``createdb``); the store's tables are created in it when
it has none, in one transaction under an advisory lock (two processes creating at once make
one store), and an existing store's schema version is checked as for a file. A database
holding other tables is refused, never filled in.

The lease (``pg_lease``): PostgreSQL's session advisory locks, which the server releases
when the holder's connection ends, a killed process's included (the kernel closes its
socket), so the next process takes over at once, as with the ``flock`` of a file store. A
site takes one exclusive lock per depot it dispatches and a shared lock on the book; a process
driving the whole book takes that lock exclusively. So two sites never dispatch one depot, and
a whole-book run never runs beside a site.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from groundcontrol.fleet.store.dialect import (
    Dialect,
    PgConnection,
    first_line,
    pg_hint,
    postgres_dialect,
)
from groundcontrol.fleet.store.model import StoreError
from groundcontrol.fleet.store.pg_schema import migrate_pg

__all__ = ["SiteBusy", "display_url", "open_postgres", "pg_lease"]

_LEASE_SPACE = 0x64_64_6C_31
"""First key of the store's advisory locks ("ddl1"), apart from other applications' locks."""
_WHOLE_BOOK = 0


class SiteBusy(StoreError):
    """Another live process holds the lease of a depot (or of the whole order book)."""

    def __init__(self, where: str, what: str, holder: str | None) -> None:
        self.where, self.what, self.holder = where, what, holder
        who = holder or "a process that has gone without its name"
        super().__init__(f"{where}: {what} is dispatched by another drone-delivery process "
                         f"({who}); one owner per depot: stop that one, or give other depots")


def display_url(url: str) -> str:
    """The URL as messages show it: without a password.

    >>> display_url("postgresql://ops:s3cret@db:5432/book")
    'postgresql://ops@db:5432/book'
    """
    return re.sub(r"^(\w+://[^:/@]*):[^@/]*@", r"\1@", url)


def _connect(url: str, timeout_s: float, purpose: str) -> Any:
    where = display_url(url)
    try:
        return psycopg.connect(
            url, autocommit=True, connect_timeout=max(1, round(timeout_s)),
            application_name=f"drone-delivery pid {os.getpid()} {purpose}"[:63],
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
    except psycopg.Error as exc:
        raise StoreError(f"{where}: cannot open the dispatch store: {first_line(exc)}"
                         f"{pg_hint(exc)}") from None


def open_postgres(url: str, *, create: bool, timeout_s: float
                  ) -> tuple[PgConnection, str, Dialect]:
    """Open (and if need be create) the store in the PostgreSQL database at ``url``: the
    connection, the URL to show and the dialect, for ``Store``.

    Raises:
        StoreError: the server or database cannot be reached, no store there (``create``
            false), a database holding other tables, a newer schema.
    """
    where = display_url(url)
    conn = PgConnection(_connect(url, timeout_s, "store"))
    try:
        # A row another process holds (say a site's order) is waited for, not forever.
        conn.execute(f"SET lock_timeout = '{max(1, round(timeout_s * 1000))}ms'")
        conn.execute("BEGIN")
        try:
            migrate_pg(conn, where, create=create)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"{where}: cannot open the dispatch store: {first_line(exc)}"
                         f"{pg_hint(exc)}") from None
    except BaseException:
        conn.close()
        raise
    return conn, where, postgres_dialect()


def lease_key(depot: str) -> int:
    """A depot's advisory lock key: a stable 31-bit hash of its id (never the book's 0)."""
    return zlib.crc32(depot.encode()) & 0x7FFF_FFFF or 1


@contextmanager
def pg_lease(url: str, depots: Iterable[str] | None = None,
             timeout_s: float = 10.0) -> Iterator[str]:
    """Hold the lease of ``depots`` (None: the whole order book) for the block.

    Yields a description of what is held. The locks live on a connection of their own,
    closed (and so released) when the block ends or the process dies.

    Raises:
        SiteBusy: another live process holds one of them.
        StoreError: the server cannot be reached.
    """
    where = display_url(url)
    wanted = None if depots is None else sorted(set(depots))
    raw = _connect(url, timeout_s, "whole book" if wanted is None else "site " + ",".join(wanted))
    try:
        if wanted is None:
            _take(raw, where, _WHOLE_BOOK, shared=False, what="the whole order book")
        else:
            _take(raw, where, _WHOLE_BOOK, shared=True, what="the whole order book")
            for depot in wanted:
                _take(raw, where, lease_key(depot), shared=False, what=f"depot {depot!r}")
        yield "the whole order book" if wanted is None else "depots " + ", ".join(wanted)
    except psycopg.Error as exc:
        raise StoreError(f"{where}: cannot take the owner lease: {first_line(exc)}"
                         f"{pg_hint(exc)}") from None
    finally:
        raw.close()  # the server drops every session lock with the connection


def _take(raw: Any, where: str, key: int, *, shared: bool, what: str) -> None:
    fn = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    if raw.execute(f"SELECT {fn}(%s, %s)", (_LEASE_SPACE, key)).fetchone()[0]:
        return
    row = raw.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND "
        "l.objid::bigint = %s AND l.objsubid = 2 AND l.pid <> pg_backend_pid() LIMIT 1",
        (_LEASE_SPACE, key)).fetchone()
    holder = str(row[0]).removeprefix("drone-delivery ") if row and row[0] else None
    raise SiteBusy(where, what, holder)
