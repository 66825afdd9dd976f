"""Several sites, one order book: dispatchers of different depots share a PostgreSQL store.

Each site owns its depots through the lease (advisory locks that die with the process), sees
only its depots' orders and replays only its own dispatcher inputs; on the built-in simulator
two ``demo`` processes, one per depot, fly their orders on one database, every order ending
exactly once, and a killed site restarted takes its drones and orders back.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_backends import RawDb

from groundcontrol.fleet.store.owner import own_store
from groundcontrol.fleet.store.postgres import SiteBusy
from groundcontrol.fleet.store.sqlite import Store, StoreError
from planner.model import LatLon, Order

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def book(postgres_server) -> str:  # type: ignore[no-untyped-def]
    return str(postgres_server.create_database("book"))


def order(oid: str, depot: str) -> Order:
    return Order(oid, depot, LatLon(-35.3, 149.1), 1.0, 0.0)


def test_each_site_sees_its_depots_orders_and_keeps_its_own_settings(book: str) -> None:
    with Store.open(book) as whole:
        whole.add_orders([order("m1", "mitchell"), order("g1", "greenway"),
                          order("g2", "greenway")], 0.0)
        whole.set_setting("scenario", "canberra", 0.0)
    with Store.open(book, depots=["greenway"]) as gre, \
            Store.open(book, depots=["mitchell"]) as mit:
        assert [s.order.id for s in gre.orders()] == ["g1", "g2"]
        assert [e.order.id for e in gre.undispatched()] == ["g1", "g2"]  # type: ignore[attr-defined]
        assert [s.order.id for s in mit.orders()] == ["m1"]
        gre.set_setting("start", "100", 1.0)
        assert gre.setting("start") == "100" and mit.setting("start") is None
        assert mit.setting("scenario") == "canberra"  # the book's, read through
        assert gre.load_state().dispatch_events == ()


def test_a_site_lease_refuses_a_second_owner_of_a_depot_and_the_whole_book(book: str) -> None:
    with own_store(book, ["greenway"]):
        with own_store(book, ["mitchell"]):  # another depot: a second site beside it
            pass
        with pytest.raises(SiteBusy, match=r"depot 'greenway'.*drone-delivery process"), \
                own_store(book, ["greenway", "hume"]):
            pass
        with pytest.raises(SiteBusy, match="the whole order book"), own_store(book):
            pass
    with own_store(book), pytest.raises(SiteBusy, match="the whole order book"), \
            own_store(book, ["hume"]):  # the book's owner excludes every site
        pass


def test_sites_need_a_postgresql_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="need a PostgreSQL store"):
        Store.open(tmp_path / "d.db", depots=["hume"])
    with pytest.raises(StoreError, match="need a PostgreSQL store"), \
            own_store(tmp_path / "d.db", ["hume"]):
        pass


HOLDER = """
import sys, time
from groundcontrol.fleet.store.owner import own_store
with own_store(sys.argv[1], [sys.argv[2]]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_killed_sites_lease_is_released_at_once(book: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, book, "hume"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(SiteBusy, match=r"pid \d+ site hume"), own_store(book, ["hume"]):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    deadline = time.monotonic() + 10.0
    while True:  # the server sees the closed socket within moments
        try:
            with own_store(book, ["hume"]):
                break
        except SiteBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _demo(book: str, depot: str, orders: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "groundcontrol.cli.main", "demo", "--headless", "--orders",
         str(orders), "--site", depot, "--store", book, "--speedup", "40", "--timeout", "240"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)


def _finish(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.mark.sim
@pytest.mark.slow
def test_two_sites_fly_one_order_book_and_a_killed_one_takes_its_drones_back(book: str) -> None:
    mitchell = _demo(book, "mitchell", 2)
    greenway = _demo(book, "greenway", 3)
    assert greenway.stdout is not None
    seen = []
    for line in greenway.stdout:  # kill greenway once it has a drone in the air
        seen.append(line)
        if "starting the flight" in line:
            break
    greenway.kill()
    greenway.wait(timeout=30)
    assert any("starting the flight" in line for line in seen), "".join(seen)[-2000:]
    again = _demo(book, "greenway", 3)
    out_mit, out_gre = _finish(mitchell), _finish(again)
    assert "open 0" in out_mit and "open 0" in out_gre
    with RawDb(book) as raw:
        states = dict(raw.execute("SELECT id, depot_id || ':' || state FROM orders").fetchall())
        twice = raw.execute("SELECT order_id FROM flights WHERE outcome = 'delivered' "
                            "GROUP BY order_id HAVING COUNT(*) > 1").fetchall()
        crossed = raw.execute(
            "SELECT a.order_id, a.drone_id FROM assignments a JOIN orders o ON o.id = "
            "a.order_id WHERE left(a.drone_id, 3) <> left(o.depot_id, 3)").fetchall()
        sites = dict(raw.execute("SELECT site, COUNT(*) FROM events WHERE kind = 'dispatch' "
                                 "GROUP BY site").fetchall())
    assert len(states) == 5, states
    assert all(s.split(":")[1] in ("delivered", "infeasible") for s in states.values()), states
    assert twice == [] and crossed == []
    assert set(sites) == {"mitchell", "greenway"}
