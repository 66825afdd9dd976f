"""Fleet benchmark, dispatch and store sections (the figures ``bench dispatch`` and ``bench
store`` measure, at the city size issue 13 names).

Dispatch: a generated day (``scenario generate``: ``--dispatch-orders`` orders, default 5,000,
``--dispatch-drones`` drones, default 100, over 5 depots, over 10 hours) dispatched online by
``planner.dispatch.Dispatcher`` in simulated time (``bench dispatch``'s ``online`` ground
model: flights take their planned time), then by the offline VRP baseline with every order
known in advance. Decisions per second are the orders decided per second of decision time
(one core); p95 is the per-order decision's wall time; on-time is the share of all orders
dropped off within the promise, and the online share over the offline one.

Store: order transitions per second on SQLite and, when a PostgreSQL server can be started
here, PostgreSQL, with 1 and 4 writer processes (``bench store``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.bench_dispatch import (
    GROUND,
    depot_models,
    plan_all,
    run_offline,
    run_online,
    scenario_day,
)
from bench.bench_store import transitions_per_s
from bench.fleet_gcs import Row, generate_city
from planner.dispatch import Dispatcher, planner_plan_fn
from planner.load import load_scenario
from planner.plan import Planner

__all__ = ["dispatch_rows", "store_rows"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100.0))]


def dispatch_rows(orders: int, drones: int, depots: int, offline_limit_s: float) -> list[Row]:
    """Dispatch a generated city day online and offline; prints a line each, returns rows."""
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as tmp:
        folder = generate_city(Path(tmp) / "city", drones, depots=depots, orders=orders,
                               hours=10)
        scenario = load_scenario(folder)
    planner = Planner(scenario.airspace, scenario.depots)
    day = scenario_day(scenario)
    disp = Dispatcher(day.drones, depot_models(GROUND["online"], day), planner_plan_fn(planner),
                      promise_s=scenario.promise_s, start_s=day.start_s)
    started = time.perf_counter()
    online = run_online(day.orders, disp)
    wall = time.perf_counter() - started
    decisions_per_s = len(online.decide_ms) / (sum(online.decide_ms) / 1000.0)
    p95 = _pct(online.decide_ms, 95)
    on_time = online.on_time / len(day.orders)
    what = f"{len(day.orders)} orders / {len(day.drones)} drones / {len(day.depots)} depots"
    print(f"  dispatch online, {what}: {decisions_per_s:.0f} decisions/s, p95 {p95:.0f} ms, "
          f"on time {on_time:.1%} (the day simulated in {wall:.0f} s)", flush=True)
    rows: list[Row] = [
        ("dispatch", f"{what}: decisions per second", f"{decisions_per_s:.0f}"),
        ("dispatch", "decision p95", f"{p95:.0f} ms"),
        ("dispatch", "on time (online)", f"{on_time:.1%}"),
    ]
    if offline_limit_s > 0:
        plans = plan_all(day, Planner(scenario.airspace, scenario.depots))
        offline = run_offline(day.orders, plans, day.per_depot(), scenario.promise_s,
                              GROUND["online"].load_time_s, offline_limit_s, day.depots)
        best = offline.on_time / len(day.orders)
        ratio = on_time / best if best else float("nan")
        print(f"  dispatch offline baseline ({offline_limit_s:g} s solver): on time {best:.1%}; "
              f"online / offline {ratio:.1%}", flush=True)
        rows += [("dispatch", "on time (offline baseline)", f"{best:.1%}"),
                 ("dispatch", "online / offline on time", f"{ratio:.1%}")]
    return rows


def store_rows(seconds: float) -> list[Row]:
    """Order transitions per second, SQLite then PostgreSQL (when one can run here)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "groundcontrol"))
    from pg_server import PgServer, why_not

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        for writers in (1, 4):
            per_s = transitions_per_s(str(Path(tmp) / f"w{writers}.db"), writers, seconds)
            print(f"  store sqlite, {writers} writer(s): {per_s:.0f} transitions/s", flush=True)
            rows.append(("store", f"SQLite, {writers} writer(s)", f"{per_s:.0f} /s"))
    reason = why_not()
    if reason is not None:
        print(f"  store postgresql: skipped ({reason})")
        return [*rows, ("store", "PostgreSQL", "skipped")]
    server = PgServer(durable=True).start()
    try:
        for writers in (1, 4):
            per_s = transitions_per_s(server.create_database(f"bench{writers}"), writers, seconds)
            print(f"  store postgresql, {writers} writer(s): {per_s:.0f} transitions/s",
                  flush=True)
            rows.append(("store", f"PostgreSQL, {writers} writer(s)", f"{per_s:.0f} /s"))
    finally:
        server.stop()
    return rows
