"""Order files against hostile input (issue 11): the regressions found by fuzzing, and a seeded
fuzz of the order boundary.

The fuzz mutates the example scenario's real orders (CSV cells and JSON values, then the text
itself) and holds every outcome to an oracle of its own: either the loader returns orders
whose every value is what the input says, read as a plain decimal and within the documented
limits, or it raises ``InvalidInput`` in one line naming the source. Any other exception, or
an accepted value the oracle would refuse (``1_0`` read as ten), fails the test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planner.errors import InvalidInput
from planner.load import (
    MAX_CLOCK_S,
    MAX_ID_CHARS,
    MAX_PAYLOAD_KG,
    PRIORITY_RANGE,
    depots_from_json,
    fleet_from_json,
    load_depots,
    load_fleet,
    load_orders,
    load_scenario,
    orders_from_csv,
    orders_from_json,
    parse_json,
)
from planner.model import Order

EXAMPLE = Path(__file__).resolve().parents[2] / "missions" / "scenarios" / "canberra"
HEADER = "id,depot,lat,lon,payload_kg,created_s,due_s,priority\n"
GOOD_ROW = {"id": "A1", "depot": "hume", "lat": -35.3, "lon": 149.1, "payload_kg": 1.0,
            "created_s": 10}


def csv_error(row: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        orders_from_csv(HEADER + row + "\n", "o.csv")
    return caught.value


def json_error(**changes: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        orders_from_json([{**GOOD_ROW, **changes}], "o.json")
    return caught.value


# --- regressions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "field", "says"), [
    ("A1,hume,-35.3,149.1,1_0,10,,", "payload_kg", "must be a number, got '1_0'"),
    ("A1,hume,-35.3,149.1,1,1_0,,", "created_s", "got '1_0'"),
    ("A1,hume,-35.3,149.1,1,10,2_000,", "due_s", "got '2_000'"),
    ("A1,hume,-35_3,149.1,1,10,,", "lat", "got '-35_3'"),
    ("A1,hume,-35.3,149.1,1,10,,1_0", "priority", "whole number, got '1_0'"),
    ("A1,hume,-35.3,149.1,١,10,,", "payload_kg", "must be a number"),
    ("A1,hume,-35.3,149.1,0x10,10,,", "payload_kg", "must be a number"),
    ("A1,hume,-35.3,149.1,NaN,10,,", "payload_kg", "must be finite"),
    ("A1,hume,-35.3,149.1,-Infinity,10,,", "payload_kg", "must be finite"),
    ("A1,hume,-35.3,149.1,1e400,10,,", "payload_kg", "must be finite"),
    ("A1,hume,-35.3,149.1,1,10,nan,", "due_s", "must be finite"),
    ("A1,hume,-35.3,149.1,1,10,inf,", "due_s", "must be finite"),
    ("A1,hume,-35.3,149.1,1,1700000000,,", "created_s", "must be <= 1e+09 s"),
    ("A1,hume,-35.3,149.1,1,10,2e9,", "due_s", "must be <= 1e+09 s"),
    ("A1,hume,-35.3,149.1,1200,10,,", "payload_kg", "must be <= 1000 kg"),
    ("A1,hume,-35.3,149.1,-1,10,,", "payload_kg", "must be > 0 kg"),
    ("A1,hume,-95,149.1,1,10,,", "lat", "outside -90..90"),
    ("A1,hume,-35.3,180.5,1,10,,", "lon", "outside -180..180"),
    ("A1,hume,-35.3,149.1,1,10,,9223372036854775808", "priority", "must be -1000..1000"),
    ("A1,hume,-35.3,149.1,1,10,,-1001", "priority", "must be -1000..1000"),
    ('"A\x001",hume,-35.3,149.1,1,10,,', "row", ""),  # csv refuses NUL itself
    ("A\x1b[2J,hume,-35.3,149.1,1,10,,", "id", "control character U+001B at position 2"),
    ('"A\n1",hume,-35.3,149.1,1,10,,', "id", "control character U+000A"),
    ("A\t1,hume,-35.3,149.1,1,10,,", "id", "control character U+0009"),
    ("A1\t,hume,-35.3,149.1,1,10,,", "id", "control character U+0009"),
    ("A\u202e1,hume,-35.3,149.1,1,10,,", "id", "unprintable character U+202E"),
    ("A\u200b1,hume,-35.3,149.1,1,10,,", "id", "unprintable character U+200B"),
    ("A1,hu\x07me,-35.3,149.1,1,10,,", "depot", "control character U+0007"),
    ("   ,hume,-35.3,149.1,1,10,,", "id", "missing required field"),
    (f"{'x' * (MAX_ID_CHARS + 1)},hume,-35.3,149.1,1,10,,", "id",
     f"is {MAX_ID_CHARS + 1} characters long, the limit is {MAX_ID_CHARS}"),
])
def test_hostile_csv_cells_are_refused_by_line_and_field(row: str, field: str, says: str) -> None:
    exc = csv_error(row)
    assert "\n" not in str(exc)
    if field == "row":
        assert "NUL" in str(exc) or "line" in str(exc)
        return
    assert exc.source == "o.csv line 2" and exc.field == field, str(exc)
    assert says in exc.problem


def test_plain_decimals_still_read() -> None:
    (order,) = orders_from_csv(HEADER + " A1 ,hume,-35.3,+149.1,.5,1e1,20.,-3\n", "o.csv")
    assert order == Order("A1", "hume", order.dropoff, 0.5, 10.0, 20.0, -3)
    assert (order.dropoff.lat, order.dropoff.lon) == (-35.3, 149.1)
    (longest,) = orders_from_csv(HEADER + f"{'x' * MAX_ID_CHARS},d,0,0,1000,1e9,,1000\n")
    assert len(longest.id) == MAX_ID_CHARS and longest.payload_kg == MAX_PAYLOAD_KG


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"id": "   "}, "id", "must not be blank"),
    ({"id": ""}, "id", "missing required field"),
    ({"id": "a\x00b"}, "id", "control character U+0000"),
    ({"id": "\x1b]0;pwned\x07"}, "id", "control character U+001B at position 1"),
    ({"id": "a\u2028b"}, "id", "unprintable character U+2028"),
    ({"id": "y" * 5000}, "id", "is 5000 characters long, the limit is 64"),
    ({"depot": "\n"}, "depot", "must not be blank"),
    ({"priority": 2**63}, "priority", "must be -1000..1000, got 9223372036854775808"),
    ({"priority": True}, "priority", "whole number"),
    ({"priority": 1.0}, "priority", "whole number"),
    ({"lat": 10**400}, "lat", "too large for a number"),
    ({"payload_kg": 1e308}, "payload_kg", "must be <= 1000 kg"),
    ({"payload_kg": "1"}, "payload_kg", "must be a number"),
    ({"due_s": ""}, "due_s", "must be a number, got a string ''"),
    ({"priority": ""}, "priority", "whole number, got a string"),
    ({"payload_kg": float("nan")}, "payload_kg", "must be finite"),
    ({"due_s": float("inf")}, "due_s", "must be finite"),
    ({"created_s": -1}, "created_s", "must be >= 0"),
])
def test_hostile_json_values_are_refused_by_item_and_field(
        changes: dict[str, Any], field: str, says: str) -> None:
    exc = json_error(**changes)
    assert exc.field == f"orders[0].{field}" and exc.source == "o.json", str(exc)
    assert says in exc.problem
    assert "\n" not in str(exc) and len(str(exc)) < 400


def deep(depth: int, opening: str = "[") -> str:
    closing = {"[": "]", "{": "}"}[opening]
    if opening == "{":
        return '{"a":' * depth + "1" + closing * depth
    return opening * depth + closing * depth


@pytest.mark.parametrize("text", [deep(1_000), deep(100_000), deep(5_000, "{"),
                                  '{"orders": ' + deep(3_000) + "}"],
                         ids=["list-1000", "list-100000", "object-5000", "orders-list-3000"])
def test_json_nested_too_deeply_names_the_file(tmp_path: Path, text: str) -> None:
    loaders: tuple[tuple[str, Callable[[Path], object]], ...] = (
        ("orders.json", load_orders), ("depots.json", load_depots), ("fleet.json", load_fleet))
    for name, load in loaders:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InvalidInput) as caught:
            load(path)
        message = str(caught.value)
        assert message.startswith(str(path)), message
        assert "nested too deeply" in message or "must be" in message


def test_a_scenario_whose_file_is_nested_too_deeply_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    for part in EXAMPLE.iterdir():
        (folder / part.name).write_bytes(part.read_bytes())
    (folder / "depots.json").write_text(deep(50_000))
    with pytest.raises(InvalidInput, match=r"depots\.json: file: JSON nested too deeply"):
        load_scenario(folder)


def test_parsed_objects_nested_too_deeply_are_bad_input() -> None:
    nested: Any = 1
    for _ in range(100_000):
        nested = [nested]
    for loader in (orders_from_json, depots_from_json, fleet_from_json):
        with pytest.raises(InvalidInput):
            loader(nested, "obj")
        with pytest.raises(InvalidInput):
            loader([{**GOOD_ROW, "id": nested}], "obj")


def test_a_header_cell_with_a_newline_is_named_escaped() -> None:
    with pytest.raises(InvalidInput) as caught:
        orders_from_csv('id,depot,lat,lon,payload_kg,created_s,"due\ns"\n', "o.csv")
    assert "'due\\ns'" in str(caught.value) and "\n" not in str(caught.value)


# --- the fuzz ---------------------------------------------------------------------------------

PLAIN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
"""The oracle's own reading of a plain decimal (not the loader's code)."""
WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)
FIELDS = ("id", "depot", "lat", "lon", "payload_kg", "created_s", "due_s", "priority")

HOSTILE_TEXT = [
    "", " ", " \t ", "nan", "NaN", "-inf", "Infinity", "1_0", "1__0", "_1", "0x10", "1e400",
    "-1e400", "1e-400", "١٢", "１", "²", "9" * 400, "1e308", "-0", "+5", ".5", "5.", "1.5e3",
    "2**63", "9223372036854775808", "-9223372036854775809", "\x00", "\x1b[2J", "a\nb", "\u202e",
    "\u200b", "a\tb", " 3 ", "3 4", "1,5", "'1'", '"', "true", "null", "[]", "{}", "x" * 100,
    "é", "\ufeff1", "\x85", "\u2028", "1e9", "1000", "1000.0001", "-35.3", "149.1", "90.0001",
    "-180", "1\x1c", "\x1c1", "0", "-1", "1e-9", "64", "x" * 64, " " + "x" * 64 + " ",
]
HOSTILE_CHARS = "\x00\x01\x07\t\n\r\x1b\x7f\x85\xa0\u200b\u202e\u2028\ufeff_.eE+-,\"' 0123456789é١"
HOSTILE_JSON: list[Any] = [
    None, True, False, 0, -1, 1, 0.0, -0.0, 1e308, -1e308, 5e-324, 10**30, 2**63, -(2**63) - 1,
    1.5, "1", "nan", "", " ", "\u0000", "\x1b[31m", "a\nb", "x" * 65, "x" * 64, [], {}, [1],
    {"a": 1}, 1000, 1000.5, 1e9, 1e9 + 1, -35.3, 149.1, 91, -181, "hume", 2**53 + 1,
]


def example_rows() -> list[dict[str, str]]:
    with (EXAMPLE / "orders.csv").open(newline="") as f:
        return [{k: v for k, v in row.items() if k in FIELDS} for row in csv.DictReader(f)]


ROWS = example_rows()


def mutate_text(rng: random.Random, text: str) -> str:
    """One character-level change: insert, delete or replace, or cut the text short."""
    roll = rng.random()
    at = rng.randrange(len(text) + 1)
    if roll < 0.4:
        return text[:at] + rng.choice(HOSTILE_CHARS) + text[at:]
    if roll < 0.6:
        return text[:at] + text[at + 1:]
    if roll < 0.8:
        return text[:at] + rng.choice(HOSTILE_CHARS) + text[at + 1:]
    return text[:at]


def mutated_csv(rng: random.Random) -> str:
    rows = [dict(r) for r in rng.sample(ROWS, rng.randint(1, 4))]
    for _ in range(rng.randint(1, 3)):
        row, key = rng.choice(rows), rng.choice(FIELDS)
        roll = rng.random()
        if roll < 0.5:
            row[key] = rng.choice(HOSTILE_TEXT)
        elif roll < 0.8:
            row[key] = mutate_text(rng, row[key])
        elif roll < 0.9:
            row[key] = repr(rng.uniform(-2e9, 2e9)) if key != "priority" else str(
                rng.randint(-2000, 2000))
        else:
            rows.append(dict(row))  # a repeated id
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([row[k] for k in FIELDS])
    text = out.getvalue()
    return mutate_text(rng, text) if rng.random() < 0.25 else text


def mutated_json(rng: random.Random) -> str:
    records: list[Any] = []
    for row in rng.sample(ROWS, rng.randint(1, 4)):
        record: dict[str, Any] = {"id": row["id"], "depot": row["depot"],
                                  "lat": float(row["lat"]), "lon": float(row["lon"]),
                                  "payload_kg": float(row["payload_kg"]),
                                  "created_s": float(row["created_s"])}
        if row["due_s"]:
            record["due_s"] = float(row["due_s"])
        records.append(record)
    for _ in range(rng.randint(1, 3)):
        record = rng.choice(records)
        roll = rng.random()
        key = rng.choice(FIELDS)
        if roll < 0.6:
            record[key] = rng.choice(HOSTILE_JSON)
        elif roll < 0.7:
            record.pop(key, None)
        elif roll < 0.75:
            record["colour"] = "red"
        elif roll < 0.85:
            record[key] = json.loads(deep(rng.choice((5, 50, 500))))
        elif roll < 0.9:
            records.append(dict(record))
        else:
            record[key] = rng.choice((float("nan"), float("inf"), -float("inf")))
    top: Any = {"orders": records} if rng.random() < 0.2 else records
    text = json.dumps(top)  # NaN and Infinity go out as the literals JSON does not have
    if rng.random() < 0.05:
        text = deep(rng.choice((900, 1_500, 20_000)))
    return mutate_text(rng, text) if rng.random() < 0.25 else text


def plain(text: str) -> float | None:
    text = text.strip()
    if not PLAIN.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def id_ok(value: Any) -> bool:
    return (isinstance(value, str) and bool(value.strip()) and value.isprintable()
            and len(value.strip()) <= MAX_ID_CHARS)


def check_order(order: Order, source: dict[str, Any], *, text: bool) -> None:
    """The oracle: every value of an accepted order is what the input says, and allowed."""
    def number(key: str) -> float | None:
        raw = source.get(key)
        if text:
            return None if raw is None or not raw.strip() else plain(raw)
        if raw is None:
            return None
        assert isinstance(raw, (int, float)) and not isinstance(raw, bool), (key, raw)
        return float(raw)

    assert id_ok(source["id"]) and order.id == source["id"].strip()
    assert id_ok(source["depot"]) and order.depot_id == source["depot"].strip()
    lat, lon = number("lat"), number("lon")
    assert lat is not None and lon is not None
    assert (order.dropoff.lat, order.dropoff.lon) == (lat, lon)
    assert abs(lat) <= 90 and abs(lon) <= 180
    payload, created, due = number("payload_kg"), number("created_s"), number("due_s")
    assert payload == order.payload_kg and 0 < payload <= MAX_PAYLOAD_KG
    assert created == order.created_s and 0 <= created <= MAX_CLOCK_S
    assert due == order.due_s
    assert due is None or created < due <= MAX_CLOCK_S
    raw = source.get("priority")
    if text:
        expected = int(raw.strip()) if raw is not None and raw.strip() else 0
        assert raw is None or not raw.strip() or WHOLE.fullmatch(raw.strip())
    else:
        expected = 0 if raw is None else raw
        assert raw is None or (isinstance(raw, int) and not isinstance(raw, bool))
    assert order.priority == expected and isinstance(order.priority, int)
    assert PRIORITY_RANGE[0] <= order.priority <= PRIORITY_RANGE[1]


def run_csv(text: str) -> str:
    try:
        orders = orders_from_csv(text, "fuzz.csv")
    except InvalidInput as exc:
        return refused(exc, "fuzz.csv")
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]]
    records = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert len(records) == len(orders)
    for order, record in zip(orders, records, strict=True):
        check_order(order, record, text=True)
    assert len({o.id for o in orders}) == len(orders)
    return "accepted"


def run_json(text: str) -> str:
    try:
        orders = orders_from_json(parse_json(text, "fuzz.json"), "fuzz.json")
    except InvalidInput as exc:
        return refused(exc, "fuzz.json")
    obj = json.loads(text)
    records = obj["orders"] if isinstance(obj, dict) else obj
    assert len(records) == len(orders)
    for order, record in zip(orders, records, strict=True):
        check_order(order, record, text=False)
    return "accepted"


def refused(exc: InvalidInput, source: str) -> str:
    message = str(exc)
    assert isinstance(exc, ValueError)
    assert message.startswith(source), message
    assert "\n" not in message and "\r" not in message, message
    assert len(message) < 2_000, message[:300]
    return "refused"


def fuzz(count: int, seed: int) -> dict[str, int]:
    """``count`` mutated inputs, half CSV and half JSON; the tally of outcomes."""
    rng = random.Random(seed)
    tally: dict[str, int] = {}
    for i in range(count):
        kind, make, run = (("csv", mutated_csv, run_csv) if i % 2 == 0
                           else ("json", mutated_json, run_json))
        text = make(rng)
        try:
            outcome = run(text)
        except AssertionError:
            raise
        except Exception as exc:
            pytest.fail(f"input {i} ({kind}) raised {type(exc).__name__}: {exc}\n{text[:500]!r}")
        tally[f"{kind} {outcome}"] = tally.get(f"{kind} {outcome}", 0) + 1
    return tally


def test_fuzz_500_mutated_order_files() -> None:
    started = time.monotonic()
    tally = fuzz(500, seed=11)
    assert sum(tally.values()) == 500
    assert tally.get("csv accepted", 0) > 10 and tally.get("json accepted", 0) > 10, tally
    assert tally.get("csv refused", 0) > 100 and tally.get("json refused", 0) > 100, tally
    assert time.monotonic() - started < 20.0


@pytest.mark.slow
def test_fuzz_10000_mutated_order_files() -> None:
    started = time.monotonic()
    tally = fuzz(10_000, seed=20_011)
    elapsed = time.monotonic() - started
    assert sum(tally.values()) == 10_000
    assert tally.get("csv accepted", 0) > 200 and tally.get("json accepted", 0) > 200, tally
    print(f"10,000 inputs in {elapsed:.1f} s")  # a figure, not a timed test


