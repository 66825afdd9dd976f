"""Fixtures that run the store's tests on both databases.

``postgres_server`` (session): a throwaway PostgreSQL server (``pg_server``), or a skip
naming why there is none. ``store_location`` (per test, parametrized ``sqlite`` /
``postgresql``): where a fresh store goes: a file path in ``tmp_path``, or the URL of a new
empty database. ``raw_db(location)`` opens the database beneath the store directly, to check
what the database itself refuses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import PgServer, why_not

from groundcontrol.fleet.store.dialect import is_url

__all__ = ["RawDb", "postgres_server", "raw_db", "store_location"]

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A location for a new store: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "day.db"
    server: PgServer = request.getfixturevalue("postgres_server")
    return server.create_database()


class RawDb:
    """The database under a store, reached directly (the store's code not involved)."""

    def __init__(self, location: str | Path) -> None:
        if is_url(location):
            import psycopg

            self.conn: Any = psycopg.connect(str(location))
            self.IntegrityError: type[Exception] = psycopg.errors.IntegrityError
        else:
            self.conn = sqlite3.connect(location)
            self.conn.execute("PRAGMA foreign_keys = ON")  # per connection, as the store does
            self.IntegrityError = sqlite3.IntegrityError

    def execute(self, sql: str) -> Any:
        """Run one statement (its cursor); on an error, roll back so the connection goes on."""
        try:
            return self.conn.execute(sql)
        except Exception:
            self.conn.rollback()
            raise

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RawDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_db(location: str | Path) -> RawDb:
    return RawDb(location)
