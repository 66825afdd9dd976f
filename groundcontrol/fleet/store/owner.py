"""One owner per store: the process that drives flights from a store holds its owner lock.

Two processes flying from one store would each resume the other's orders and race on every
state change. ``own_store(path)`` takes an exclusive ``flock`` on a sidecar file next to the
store (``<store>.owner``) and writes its pid there for the message a second process gets.
The kernel releases the lock when the owner's last descriptor closes, so an owner that is
killed (SIGKILL included) or crashes frees the store at once, with no stale pid to clear.

Only the drivers (``run``, the console and the demo given ``--store``) take it; ``order
add|import|cancel|list`` work beside a running owner through SQLite's own locking.

POSIX only (``fcntl``); the lock is advisory, between drone-delivery processes.

A PostgreSQL store (``postgresql://`` URL) has no file to lock: its lease is a set of the
database's advisory locks, one per depot the owner dispatches (``postgres.pg_lease``), so
several sites can each own their depots of one order book.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from groundcontrol.fleet.store.dialect import is_url
from groundcontrol.fleet.store.model import StoreError

__all__ = ["OWNER_SUFFIX", "StoreBusy", "own_store", "owner_lock_path"]

OWNER_SUFFIX = ".owner"


class StoreBusy(StoreError):
    """Another live process drives flights from this store."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path, self.pid = path, pid
        who = f"pid {pid}" if pid is not None else "a process that has not written its pid yet"
        super().__init__(
            f"{path}: the store is in use by another drone-delivery process ({who}); one owner "
            "per store: stop that one, or give another --store"
        )


def owner_lock_path(store_path: str | Path) -> Path:
    """The sidecar lock file of a store: ``dispatch.db`` -> ``dispatch.db.owner``."""
    path = Path(store_path)
    return path.with_name(path.name + OWNER_SUFFIX)


@contextmanager
def own_store(store_path: str | Path, depots: Iterable[str] | None = None
              ) -> Iterator[Path | str]:
    """Hold the store's owner lock for the block; yields the lock file's path (for a
    PostgreSQL store: what its lease holds).

    ``depots`` (PostgreSQL only): own just these depots of the order book, beside other
    sites owning theirs; None owns the whole store.

    Take it before opening the store, and hold it until the flights driven from it are
    stopped::

        with own_store(path), Store.open(path) as store:
            ...

    Raises:
        StoreBusy: another live process holds it (its pid in the message).
        StoreError: the lock file cannot be created (missing or read-only folder).
        SiteBusy: (PostgreSQL) another live process owns one of the depots, or the book.
    """
    if is_url(store_path):
        from groundcontrol.fleet.store.postgres import pg_lease

        with pg_lease(str(store_path), depots) as held:
            yield held
        return
    if depots is not None:
        raise StoreError(f"{store_path}: sites (one dispatcher per depot on a shared order "
                         "book) need a PostgreSQL store: give --store postgresql://...")
    path = Path(store_path)
    lock = owner_lock_path(path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the owner lock {lock}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusy(path, _pid_in(fd)) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot lock {lock}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield lock
        finally:
            os.ftruncate(fd, 0)  # no pid left behind once released; the file stays
    finally:
        os.close(fd)  # releases the lock (as the kernel does when the process dies)


def _pid_in(fd: int) -> int | None:
    """The owner's pid as it wrote it, or None if it has not yet (or the file is not ours)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() and len(text) < 11 else None
