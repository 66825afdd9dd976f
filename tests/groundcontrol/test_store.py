"""The dispatch store: WAL and schema, one transaction per change, the order state machine
(enforced in SQL as well as in code), an append-only event log, thread safety, and restart:
close, reopen, replay the dispatcher's inputs and get the same state back.

Each test that is about the store's API runs on both databases (``store_location``: an SQLite
file and a PostgreSQL database, skipped with the reason where there is no PostgreSQL)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planner"))
from store_backends import RawDb
from test_dispatch_fakes import PROFILE, FakeDrone, depot_models, fake_plan, order

from groundcontrol.fleet.store.sqlite import (
    SCHEMA_VERSION,
    DuplicateOrder,
    IllegalTransition,
    OrderState,
    ReplayMismatch,
    Store,
    StoreError,
    VehicleSnapshot,
    replay,
)
from planner.dispatch import Dispatcher
from planner.dispatch_model import (
    Assign,
    DroneFault,
    DroneLanded,
    Fail,
    OrderCancelled,
    OrderPlaced,
    Tick,
)

DRONES = [FakeDrone("d0", PROFILE, "A"), FakeDrone("d1", PROFILE, "A")]


def make_dispatcher(pads: int = 4) -> Dispatcher:
    return Dispatcher(DRONES, depot_models(pads=pads), fake_plan, seed=3)  # type: ignore[arg-type]


def step(store: Store, disp: Dispatcher, event: object, t: float) -> list:
    decisions = disp.handle(event, t)  # type: ignore[arg-type]
    store.record_dispatch(event, t, decisions)  # type: ignore[arg-type]
    return decisions


@pytest.fixture
def store(store_location: str | Path):
    with Store.open(store_location) as s:
        yield s


def test_opens_with_foreign_keys_and_a_schema_version(store: Store) -> None:
    assert store.journal_mode == ("wal" if store.dialect.name == "sqlite" else "postgresql")
    assert store.schema_version == SCHEMA_VERSION
    with RawDb(store.path) as raw, pytest.raises(raw.IntegrityError, match=r"(?i)foreign key"):
        raw.execute("INSERT INTO plans (order_id, profile_name, battery_wh, plan, "
                    "created_s) VALUES ('ghost', 'p', 1, '{}', 0)")


def test_a_newer_schema_is_refused(store_location: str | Path) -> None:
    Store.open(store_location).close()
    with RawDb(store_location) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
        raw.commit()
    with pytest.raises(StoreError, match="newer"):
        Store.open(store_location)


def test_a_batch_with_a_duplicate_stores_nothing(store: Store) -> None:
    store.add_orders([order("a")], 0.0)
    before = store.events()
    with pytest.raises(DuplicateOrder, match="'a'"):
        store.add_orders([order("b"), order("c"), order("a")], 1.0)
    assert [s.order.id for s in store.orders()] == ["a"]
    assert store.events() == before


def test_dispatch_decisions_move_orders_and_keep_plans(store: Store) -> None:
    disp = make_dispatcher()
    step(store, disp, OrderPlaced(order("ok")), 0.0)
    step(store, disp, OrderPlaced(order("far", east_m=90_000.0)), 1.0)
    ok, far = store.order("ok"), store.order("far")
    assert ok.state is OrderState.ASSIGNED
    assert far.state is OrderState.INFEASIBLE
    assert far.reasons and far.reasons[0].startswith("energy")
    state = store.load_state()
    assert [s.order_id for s in state.active] == ["ok"]
    assert state.active[0] == disp.schedule()[0]


def test_an_order_is_delivered_once_only(store: Store) -> None:
    disp = make_dispatcher()
    drone = next(d for d in step(store, disp, OrderPlaced(order("o")), 0.0)
                 if isinstance(d, Assign)).drone_id
    store.start_flight("o", drone, 60.0)
    store.end_flight("o", "delivered", 400.0)
    assert store.order("o").state is OrderState.DELIVERED
    with pytest.raises(IllegalTransition, match="from delivered to delivered"):
        store.end_flight("o", "delivered", 401.0)
    with pytest.raises(IllegalTransition, match="from delivered"):
        store.start_flight("o", drone, 402.0)
    with RawDb(store.path) as raw, pytest.raises(raw.IntegrityError, match=r"(?i)unique"):
        raw.execute("INSERT INTO flights (order_id, drone_id, launched_s, outcome) "
                    "VALUES ('o', 'd0', 500, 'delivered')")


def test_the_state_machine_is_enforced_by_the_database_too(store: Store) -> None:
    store.add_orders([order("o")], 0.0)
    with RawDb(store.path) as raw:
        with pytest.raises(raw.IntegrityError, match="illegal order state transition"):
            raw.execute("UPDATE orders SET state = 'delivered' WHERE id = 'o'")
        raw.execute("UPDATE orders SET state = 'cancelled' WHERE id = 'o'")
        raw.commit()
        with pytest.raises(raw.IntegrityError, match="illegal order state transition"):
            raw.execute("UPDATE orders SET state = 'planned' WHERE id = 'o'")


def test_the_event_log_is_append_only(store: Store) -> None:
    store.add_orders([order("o")], 0.0)
    with RawDb(store.path) as raw:
        with pytest.raises(raw.IntegrityError, match="append-only"):
            raw.execute("UPDATE events SET kind = 'x'")
        with pytest.raises(raw.IntegrityError, match="append-only"):
            raw.execute("DELETE FROM events")
    assert [e.kind for e in store.events()] == ["intake"]


def test_a_failing_step_changes_nothing(store: Store) -> None:
    disp = make_dispatcher()
    decisions = disp.handle(OrderPlaced(order("o")), 0.0)
    before = store.events()
    with pytest.raises(StoreError, match="ghost"):
        store.record_dispatch(OrderPlaced(order("o")), 0.0,
                              [*decisions, Fail("ghost", "d0", "test")])
    assert store.orders() == []
    assert store.events() == before


def test_cancel_at_once_when_new_else_through_the_dispatcher(store: Store) -> None:
    store.add_orders([order("new"), order("queued")], 0.0)
    assert store.request_cancel("new", 1.0) is OrderState.CANCELLED
    disp = make_dispatcher()
    for event in store.undispatched():
        step(store, disp, event, 2.0)
    assert store.order("queued").state is OrderState.ASSIGNED
    # the turnaround starts at 2.0 and is fixed only after that instant: still cancellable
    assert store.request_cancel("queued", 2.0) is OrderState.ASSIGNED
    (cancel,) = store.undispatched()
    assert cancel == OrderCancelled("queued")
    step(store, disp, cancel, 2.0)
    assert store.order("queued").state is OrderState.CANCELLED
    assert store.undispatched() == []
    with pytest.raises(IllegalTransition):
        store.request_cancel("queued", 4.0)


def _busy_day(store: Store) -> Dispatcher:
    disp = make_dispatcher()
    for i in range(6):
        step(store, disp, OrderPlaced(order(f"o{i}", east_m=2000.0 + 700 * i,
                                            created_s=30.0 * i)), 30.0 * i)
    step(store, disp, Tick(), 200.0)
    first = disp.in_flight()[0]
    store.start_flight(first.order_id, first.drone_id, first.launch_s)
    step(store, disp, DroneFault("d1", "motor"), 250.0)
    step(store, disp, OrderCancelled("o5"), 260.0)
    step(store, disp, DroneLanded("d0", 300.0), 400.0)
    store.record_vehicle(VehicleSnapshot("d0", 400.0, "landed", 300.0, -35.3, 149.1, 0.0))
    return disp


def test_restart_restores_the_dispatcher_exactly(store_location: str | Path) -> None:
    path = store_location
    with Store.open(path) as first:
        before = _busy_day(first)
        orders_before = first.orders()
    with Store.open(path) as again:
        state = again.load_state()
        after = replay(state, make_dispatcher())
        assert again.orders() == orders_before
        assert [v.drone_id for v in state.vehicles] == ["d0"]
    assert after.schedule() == before.schedule()
    assert after.history == before.history
    assert after.waiting() == before.waiting()
    nxt = OrderPlaced(order("late", created_s=500.0))
    assert after.handle(nxt, 500.0) == before.handle(nxt, 500.0)


def test_replay_into_a_different_setup_is_detected(store_location: str | Path) -> None:
    with Store.open(store_location) as s:
        _busy_day(s)
        state = s.load_state()
    with pytest.raises(ReplayMismatch, match="differs"):
        replay(state, make_dispatcher(pads=1))
    with pytest.raises(ReplayMismatch, match="unknown drone"):
        replay(state, Dispatcher(DRONES[:1], depot_models(), fake_plan, seed=3))  # type: ignore[arg-type]


def test_many_threads_share_one_store(store: Store) -> None:
    errors: list[BaseException] = []

    def add(k: int) -> None:
        try:
            for i in range(20):
                store.add_orders([order(f"t{k}-{i}")], float(i))
                store.orders(OrderState.NEW)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert len(store.orders()) == 80
    assert len(store.events()) == 80


def test_settings_for_the_restart_survive_reopening(store_location: str | Path) -> None:
    from planner.dispatch_codec import decode, encode
    from planner.dispatch_model import DepotModel

    models = tuple(depot_models(pads=2).values())
    with Store.open(store_location) as s:
        s.set_setting("depots", encode(models), 0.0)
        s.set_setting("seed", "3", 0.0)
        s.set_setting("seed", "4", 1.0)
    with Store.open(store_location) as s:
        assert decode(s.setting("depots") or "") == models
        assert isinstance(decode(s.setting("depots") or "")[0], DepotModel)
        assert s.setting("seed") == "4"
        assert s.setting("nothing") is None
        assert [e.kind for e in s.events()] == ["setting"] * 3


def test_stored_json_cannot_name_other_types() -> None:
    from planner.dispatch_codec import decode
    from planner.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown type 'Popen'"):
        decode('{"type": "Popen", "args": ["rm"]}')
    with pytest.raises(InvalidInput, match="bad fields for LinkLost"):
        decode('{"type": "LinkLost", "drone": "d1"}')
    with pytest.raises(InvalidInput, match="not JSON"):
        decode("{")


def test_a_step_the_store_refuses_is_recovered_by_replay(store: Store) -> None:
    disp = make_dispatcher()
    step(store, disp, OrderPlaced(order("kept")), 0.0)
    store.add_orders([order("racy", created_s=1.0)], 1.0)
    (event,) = store.undispatched()
    assert store.request_cancel("racy", 1.5) is OrderState.CANCELLED  # lands in between
    decisions = disp.handle(event, 2.0)
    before = store.events()
    with pytest.raises(IllegalTransition, match="from cancelled"):
        store.record_dispatch(event, 2.0, decisions)
    assert store.events() == before
    fresh = replay(store.load_state(), make_dispatcher())
    assert {s.order_id for s in fresh.schedule()} == {"kept"}
    assert store.undispatched() == []


def test_a_path_that_is_no_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no-such-folder"):
        Store.open(tmp_path / "no-such-folder" / "d.db")
    (tmp_path / "text.db").write_text("hello, I am not SQLite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store.open(tmp_path / "text.db")


def test_a_resumed_day_starts_after_the_last_flight_launched(store: Store) -> None:
    from groundcontrol.fleet.setup import resume_time_s

    assert resume_time_s(store) is None and store.last_time_s() is None
    disp = make_dispatcher()
    drone = next(d for d in step(store, disp, OrderPlaced(order("o")), 100.0)
                 if isinstance(d, Assign)).drone_id
    assert resume_time_s(store) == 100.0
    # The flight launched after the dispatcher's last step: a restart resumes after it, or the
    # aborted flight would end before it began (seen in a report after quit and resume).
    store.start_flight("o", drone, 160.0)
    assert store.last_time_s() == 160.0
    assert resume_time_s(store) == 160.0
