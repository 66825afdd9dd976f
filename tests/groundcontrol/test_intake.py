"""Order intake: files and the command line. Good orders are stored; a malformed one is
rejected with a message naming the line or field, and nothing already stored changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundcontrol.cli.main import main
from groundcontrol.fleet.intake import add_order, import_orders, parse_due
from groundcontrol.fleet.store.sqlite import DuplicateOrder, OrderState, Store
from planner.errors import InvalidInput

HEADER = "id,depot,lat,lon,payload_kg,created_s,due_s,priority\n"
GOOD = HEADER + "a1,hume,-35.37,149.10,1.0,10,,\na2,hume,-35.36,149.11,0.5,20,900,1\n"


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "d.db") as s:
        yield s


def snapshot(store: Store) -> tuple[list, list]:
    return store.orders(), store.events()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_file_is_stored_whole(store: Store, tmp_path: Path) -> None:
    orders = import_orders(store, write(tmp_path, "o.csv", GOOD), now_s=30.0)
    assert [o.id for o in orders] == ["a1", "a2"]
    stored = {s.order.id: s for s in store.orders()}
    assert stored["a2"].order.due_s == 900.0 and stored["a2"].order.priority == 1
    assert all(s.state is OrderState.NEW for s in stored.values())


@pytest.mark.parametrize(("text", "message"), [
    (HEADER + "b1,hume,-35.37,149.10,1.0,10,,\nb2,hume,-95.0,149.10,1.0,10,,\n", "line 3"),
    (HEADER + "b1,hume,-35.37,149.10,0,10,,\n", "payload_kg"),
    (HEADER + "b1,hume,-35.37,149.10,1.0,10,5,\n", "due_s"),
    (HEADER + "b1,hume,-35.37,149.10,heavy,10,,\n", "payload_kg"),
    (HEADER + "b1,hume,-35.37,149.10,1.0,10,,\nb1,hume,-35.37,149.10,1.0,10,,\n", "b1"),
    (HEADER.replace("payload_kg", "weight"), "weight"),
    ("", "empty"),
])
def test_a_bad_file_changes_nothing(store: Store, tmp_path: Path, text: str,
                                    message: str) -> None:
    import_orders(store, write(tmp_path, "ok.csv", GOOD), now_s=0.0)
    before = snapshot(store)
    with pytest.raises(InvalidInput, match=message):
        import_orders(store, write(tmp_path, "bad.csv", text), now_s=1.0)
    assert snapshot(store) == before


def test_a_file_repeating_a_stored_id_changes_nothing(store: Store, tmp_path: Path) -> None:
    import_orders(store, write(tmp_path, "ok.csv", GOOD), now_s=0.0)
    before = snapshot(store)
    again = [{"id": "new1", "depot": "hume", "lat": -35.3, "lon": 149.1, "payload_kg": 1.0,
              "created_s": 5}, {"id": "a1", "depot": "hume", "lat": -35.3, "lon": 149.1,
                                "payload_kg": 1.0, "created_s": 5}]
    with pytest.raises(DuplicateOrder, match="a1"):
        import_orders(store, write(tmp_path, "again.json", json.dumps(again)), now_s=1.0)
    assert snapshot(store) == before


def test_json_with_an_unknown_field_is_rejected(store: Store, tmp_path: Path) -> None:
    bad = [{"id": "x", "depot": "hume", "lat": -35.3, "lon": 149.1, "payload_kg": 1.0,
            "created_s": 5, "colour": "red"}]
    with pytest.raises(InvalidInput, match="colour"):
        import_orders(store, write(tmp_path, "o.json", json.dumps(bad)))
    assert store.orders() == []


def test_one_order_from_the_command_line(store: Store) -> None:
    order = add_order(store, depot_id="hume", to="-35.37, 149.10", payload_kg=1.5,
                      created_s=100.0, due="+20m")
    assert order.id == "ORD-00001" and order.due_s == 1300.0
    assert store.order("ORD-00001").order == order
    second = add_order(store, depot_id="hume", to="-35.37,149.10", payload_kg=1.0,
                       created_s=101.0)
    assert second.id == "ORD-00002" and second.due_s is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"to": "-35.37"}, "--to"),
    ({"to": "north,east"}, "--to"),
    ({"to": "-35.37,200"}, "lon"),
    ({"payload_kg": -1.0}, "payload_kg"),
    ({"due": "soon"}, "--due"),
    ({"due": "50"}, "due_s"),
])
def test_a_bad_command_line_order_changes_nothing(store: Store, kwargs: dict, field: str) -> None:
    add_order(store, depot_id="hume", to="-35.3,149.1", payload_kg=1.0, created_s=60.0)
    before = snapshot(store)
    args = {"depot_id": "hume", "to": "-35.3,149.1", "payload_kg": 1.0, "created_s": 60.0,
            **kwargs}
    with pytest.raises(InvalidInput, match=field):
        add_order(store, **args)
    assert snapshot(store) == before


def test_relative_and_absolute_due_times() -> None:
    assert parse_due("+2h", 10.0) == 7210.0
    assert parse_due("+90s", 10.0) == 100.0
    assert parse_due("+15", 0.0) == 900.0
    assert parse_due(None, 0.0) is None


def test_the_order_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")
    assert main(["order", "add", "--store", db, "--depot", "hume", "--to", "-35.37,149.10",
                 "--payload", "1.2", "--at", "100", "--id", "c1"]) == 0
    assert main(["order", "import", "--store", db, str(write(tmp_path, "o.csv", GOOD)),
                 "--at", "120"]) == 0
    assert main(["order", "cancel", "--store", db, "a1", "--at", "130"]) == 0
    capsys.readouterr()
    assert main(["order", "list", "--store", db, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["orders"]
    assert {r["id"]: r["state"] for r in rows} == {"c1": "new", "a1": "cancelled", "a2": "new"}
    with Store.open(db) as s:
        before = snapshot(s)
    assert main(["order", "add", "--store", db, "--depot", "hume", "--to", "-35.37,149.10",
                 "--payload", "0", "--at", "140"]) == 2
    assert "payload_kg" in capsys.readouterr().err
    assert main(["order", "cancel", "--store", db, "a1"]) == 2
    assert main(["order", "import", "--store", db, str(write(tmp_path, "x.txt", GOOD))]) == 2
    with Store.open(db) as s:
        assert snapshot(s) == before
