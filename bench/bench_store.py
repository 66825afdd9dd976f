"""Dispatch store throughput: order transitions per second on SQLite and PostgreSQL, with 1
and 4 writer processes.

Each writer records dispatcher steps as ``FleetController`` does, one transaction per step:
an order placed and rejected (the order stored, moved new -> infeasible, two events logged).
SQLite is a file in a temporary folder (WAL, synchronous NORMAL, as the store opens it);
PostgreSQL is a throwaway local server (``tests/groundcontrol/pg_server.py``) with its
defaults (fsync on, synchronous commit), reached over TCP on 127.0.0.1. Skipped with the
reason when there is no PostgreSQL here. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "groundcontrol"))


def _writer(location: str, writer: int, seconds: float, start: float,
            out: mp.Queue) -> None:
    from groundcontrol.fleet.store.sqlite import Store
    from planner.dispatch_model import OrderPlaced, Reject
    from planner.model import LatLon, Order

    with Store.open(location) as store:
        while time.time() < start:
            time.sleep(0.001)
        done, end = 0, start + seconds
        while time.time() < end:
            order = Order(f"w{writer}-{done}", "depot", LatLon(-35.3, 149.1), 1.0, float(done))
            store.record_dispatch(OrderPlaced(order), float(done), [Reject(order.id, ())])
            done += 1
    out.put(done)


def transitions_per_s(location: str, writers: int, seconds: float) -> float:
    from groundcontrol.fleet.store.sqlite import Store

    Store.open(location).close()  # created once, before the writers race
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 2.0 + 0.5 * writers  # spawned interpreters import first
    procs = [ctx.Process(target=_writer, args=(location, w, seconds, start, out))
             for w in range(writers)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    return total / seconds


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="bench store")
    p.add_argument("--seconds", type=float, default=4.0, help="per configuration")
    args, _ = p.parse_known_args(argv)
    print(f"order transitions/s (one dispatcher step per transaction, {args.seconds:g} s each)")
    print(f"{'database':<12} {'writers':>7} {'per s':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        for writers in (1, 4):
            rate = transitions_per_s(str(Path(tmp) / f"w{writers}.db"), writers, args.seconds)
            print(f"{'sqlite':<12} {writers:>7} {rate:>9.0f}", flush=True)
    from pg_server import PgServer, why_not

    reason = why_not()
    if reason is not None:
        print(f"postgresql: skipped ({reason})")
        return
    server = PgServer(durable=True).start()
    try:
        for writers in (1, 4):
            rate = transitions_per_s(server.create_database("bench"), writers, args.seconds)
            print(f"{'postgresql':<12} {writers:>7} {rate:>9.0f}", flush=True)
    finally:
        server.stop()
