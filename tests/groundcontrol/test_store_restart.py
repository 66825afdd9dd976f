"""Kill the dispatching process (SIGKILL, mid-day, possibly mid-transaction), start it again
from the store, and finish the day: no order lost, none delivered twice, and the replayed
dispatcher makes exactly the decisions that were recorded. On both databases (SQLite file,
PostgreSQL: a killed client's transaction is rolled back by the server).

The process here dispatches and books flights in simulated time without vehicles; the same
test against the built-in simulator needs the fleet executor (groundcontrol/fleet/controller.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_backends import RawDb

HERE = Path(__file__).resolve().parent
N_ORDERS = 60

CHILD = r'''
import sys, time
sys.path.insert(0, sys.argv[2])
from test_dispatch_fakes import PROFILE, FakeDrone, depot_models, fake_plan, order
from groundcontrol.fleet.store.sqlite import OrderState, Store, replay
from planner.dispatch import Dispatcher
from planner.dispatch_model import OrderPlaced, Tick

N = int(sys.argv[3])
store = Store.open(sys.argv[1])
make = lambda: Dispatcher([FakeDrone(f"d{i}", PROFILE, "A") for i in range(3)],
                          depot_models(), fake_plan, seed=5)
disp = replay(store.load_state(), make())
placed = {e.order.id for _, e in store.load_state().dispatch_events if isinstance(e, OrderPlaced)}
print("resumed", len(placed), flush=True)


def fly(now):
    """The flight layer, simulated: launches and deliveries as the plan says."""
    states = {s.order.id: s.state for s in store.orders()}
    for s in disp.history:
        if s.launch_s <= now and states.get(s.order_id) is OrderState.ASSIGNED:
            store.start_flight(s.order_id, s.drone_id, s.launch_s)
            states[s.order_id] = OrderState.IN_FLIGHT
        if s.land_s <= now and states.get(s.order_id) is OrderState.IN_FLIGHT:
            store.end_flight(s.order_id, "delivered", s.land_s)


for i in range(N):
    oid = f"o{i:03d}"
    t = 40.0 * i
    if oid in placed:
        continue
    fly(t)
    event = OrderPlaced(order(oid, east_m=1500.0 + 97.0 * (i % 30), created_s=t))
    store.record_dispatch(event, t, disp.handle(event, t))
    print("placed", i, flush=True)
    time.sleep(0.01)
store.record_dispatch(Tick(), 10.0 ** 6, disp.handle(Tick(), 10.0 ** 6))
fly(10.0 ** 6)
print("done", flush=True)
'''


def _run(db: str | Path, kill_after: int | None) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(HERE.parent / "planner"), str(N_ORDERS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parents[1])
    lines: list[str] = []
    deadline = time.monotonic() + 120.0
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_after is not None and line.startswith("placed") and \
                int(line.split()[1]) >= kill_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"dispatch process took over 120 s; output: {lines[-5:]}")
    proc.wait(timeout=30)
    if kill_after is None:
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    else:
        assert proc.returncode == -signal.SIGKILL
    return lines


def _check_consistent(db: str | Path) -> dict[str, str]:
    raw = RawDb(db)
    states = dict(raw.execute("SELECT id, state FROM orders").fetchall())
    active = dict(raw.execute("SELECT order_id, COUNT(*) FROM assignments WHERE active = 1 "
                              "GROUP BY order_id").fetchall())
    delivered = raw.execute("SELECT order_id, COUNT(*) FROM flights WHERE outcome = "
                            "'delivered' GROUP BY order_id HAVING COUNT(*) > 1").fetchall()
    placed = raw.execute("SELECT COUNT(*) FROM events WHERE kind = 'dispatch' AND "
                         "data LIKE '{\"order\":%'").fetchone()[0]
    raw.close()
    assert delivered == []
    assert placed == len(states)  # every order the dispatcher saw is stored, and only those
    for oid, state in states.items():
        assert active.get(oid, 0) == (1 if state in ("assigned", "in_flight") else 0), oid
    return states


@pytest.mark.slow
def test_killed_mid_day_the_dispatcher_comes_back_and_finishes(
        store_location: str | Path) -> None:
    db = store_location
    _run(db, kill_after=20)
    before = _check_consistent(db)
    assert 20 <= len(before) < N_ORDERS
    lines = _run(db, kill_after=None)  # replays the log (raises on any mismatch), carries on
    assert lines[0] == f"resumed {len(before)}"
    assert lines[-1] == "done"
    after = _check_consistent(db)
    assert len(after) == N_ORDERS
    assert set(after.values()) <= {"delivered", "infeasible"}
    assert "delivered" in after.values()
    for oid, state in before.items():
        if state in ("delivered", "infeasible"):
            assert after[oid] == state
