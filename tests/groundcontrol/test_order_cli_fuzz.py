"""``drone-delivery order`` against hostile input (issue 11): the console's cases as
regressions, and a seeded fuzz of ``order add``'s arguments.

The fuzz runs the real command (``main``, with its parser built once) and holds each call to
an oracle of its own: exit 0 with the order stored exactly as the arguments say, within the
documented limits, or exit 2 with one line naming the problem and nothing stored. Any other
exception fails the test. The scenario checks (unknown depot, payload, no-fly zones) are
fuzzed against the planner's own reasons.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groundcontrol.cli import main as cli_main
from groundcontrol.cli.order import printable
from groundcontrol.fleet.intake import add_order, check_flyable, record_scenario
from groundcontrol.fleet.store.sqlite import OrderState, Store
from planner.errors import InvalidInput
from planner.load import MAX_CLOCK_S, MAX_ID_CHARS, MAX_PAYLOAD_KG, PRIORITY_RANGE, load_scenario
from planner.model import LatLon, Order, Rule
from planner.plan import Planner
from planner.scenario import Scenario

CANBERRA = Path(__file__).resolve().parents[2] / "missions" / "scenarios" / "canberra"
HOSPITAL = "-35.3453,149.1005"
"""The centre of the Canberra Hospital helipad's no-fly circle."""


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(CANBERRA)


@pytest.fixture
def parser(monkeypatch: pytest.MonkeyPatch) -> Iterator[argparse.ArgumentParser]:
    """``main`` with its parser built once (building it is most of a call's time)."""
    built = cli_main.build_parser()
    monkeypatch.setattr(cli_main, "build_parser", lambda: built)
    yield built


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add(capsys: pytest.CaptureFixture[str], store: Path, *extra: str,
        payload: str = "1", to: str = "-35.37,149.1") -> tuple[int, str, str]:
    return run(capsys, "order", "add", "--store", str(store), "--depot", "hume", f"--to={to}",
               f"--payload={payload}", "--at=100", *extra)


def one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drone-delivery order: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# --- regressions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "payload", "to", "says"), [
    ((), "1_0", "-35.37,149.1", "--payload: must be a plain finite decimal number"),
    ((), "nan", "-35.37,149.1", "--payload"),
    ((), "inf", "-35.37,149.1", "--payload"),
    ((), "-1", "-35.37,149.1", "--payload (payload_kg): must be > 0 kg"),
    ((), "1e6", "-35.37,149.1", "--payload (payload_kg): must be <= 1000 kg"),
    ((), "1", "-95,149.1", "--to (lat): -95 is outside -90..90"),
    ((), "1", "-35.37,1_49.1", "--to: must be LAT,LON"),
    ((), "1", "nan,149.1", "--to: must be LAT,LON"),
    (("--id", "a\x00b"), "1", "-35.37,149.1", "--id (id): has a control character U+0000"),
    (("--id", "\x1b[2J"), "1", "-35.37,149.1", "--id (id): has a control character U+001B"),
    (("--id", "a\nb"), "1", "-35.37,149.1", "control character U+000A"),
    (("--id", "a\tb"), "1", "-35.37,149.1", "control character U+0009"),
    (("--id", "   "), "1", "-35.37,149.1", "--id (id): must not be blank"),
    (("--id", ""), "1", "-35.37,149.1", "--id (id): missing required field"),
    (("--id", "x" * 65), "1", "-35.37,149.1", "is 65 characters long, the limit is 64"),
    (("--priority", str(2**63)), "1", "-35.37,149.1",
     "--priority (priority): must be -1000..1000, got 9223372036854775808"),
    (("--priority", "1_0"), "1", "-35.37,149.1", "--priority: must be a whole number"),
    (("--at", "nan"), "1", "-35.37,149.1", "--at: must be a plain finite decimal"),
    (("--at", "1_000"), "1", "-35.37,149.1", "--at"),
    (("--due", "nan"), "1", "-35.37,149.1", "--due: must be seconds or +MINUTES"),
    (("--due", "inf"), "1", "-35.37,149.1", "--due"),
    (("--due", "+" + "9" * 400), "1", "-35.37,149.1", "--due (due_s): must be finite"),
    (("--due", "50"), "1", "-35.37,149.1", "--due (due_s): 50 s is not after created_s 100 s"),
])
def test_bad_order_arguments_are_one_line_and_store_nothing(
        parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        extra: tuple[str, ...], payload: str, to: str, says: str) -> None:
    store = tmp_path / "d.db"
    assert add(capsys, store, "--id", "kept")[0] == 0
    code, _, err = add(capsys, store, *extra, payload=payload, to=to)
    assert code == 2
    one_line(err, says)
    with Store.open(store) as s:
        assert [o.order.id for o in s.orders()] == ["kept"]
        assert len(s.events()) == 1


def test_order_list_escapes_control_characters_of_ids_stored_before(
        parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    store = tmp_path / "old.db"
    hostile = "a\x1b[2Jb\x00\n"
    with Store.open(store) as s:  # as an older drone-delivery stored it, unchecked
        s.add_orders([Order(hostile, "d\x07", LatLon(-35.3, 149.1), 1.0, 5.0)], 5.0)
    code, out, _ = run(capsys, "order", "list", "--store", str(store))
    assert code == 0
    assert "a\\x1b[2Jb\\x00\\n" in out and "d\\x07" in out
    assert not any(c in out for c in "\x1b\x00\x07")
    assert out.count("\n") == 3  # header, one order, the count
    code, out, _ = run(capsys, "order", "list", "--store", str(store), "--json")
    assert json.loads(out)["orders"][0]["id"] == hostile and "\x1b" not in out
    code, out, _ = run(capsys, "order", "cancel", hostile, "--store", str(store), "--at", "6")
    assert code == 0 and "\x1b" not in out and printable(hostile) in out


@pytest.mark.parametrize(("depot", "to", "payload", "says"), [
    ("nowhere", "-35.37,149.1", "1", "--depot (depot): order 'x': unknown depot 'nowhere' in "
                                    "scenario canberra (depots: greenway, hume, mitchell)"),
    ("hume", "-35.37,149.1", "9", "--payload (payload_kg): order 'x': 9 kg is over what every "
                                  "drone at depot 'hume' carries (delivery-quad 2.3 kg)"),
    ("mitchell", "-35.37,149.1", "9", "(delivery-quad 2.3 kg, winch-quad 3 kg)"),
    ("hume", HOSPITAL, "1", "--to (lat): order 'x': the drop-off -35.345300,149.100500 is "
                            "800 m inside no-fly zone 'Canberra Hospital helipad'"),
])
def test_the_console_cases_are_refused_with_the_reason_when_the_store_knows_its_scenario(
        parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        depot: str, to: str, payload: str, says: str) -> None:
    recorded, given, unknown = tmp_path / "run.db", tmp_path / "given.db", tmp_path / "bare.db"
    with Store.open(recorded) as s:
        record_scenario(s, CANBERRA, 30.0, 0.0)  # as `run` does
    argv = ("order", "add", "--depot", depot, f"--to={to}", f"--payload={payload}", "--at=5",
            "--id=x")
    for store, extra in ((recorded, ()), (given, ("--scenario", "canberra"))):
        code, _, err = run(capsys, *argv, "--store", str(store), *extra)
        assert code == 2
        one_line(err, says)
        with Store.open(store) as s:
            assert s.orders() == []
    # Without a scenario the store cannot know: the order is stored and the dispatcher
    # reports it infeasible with the same reason later.
    assert run(capsys, *argv, "--store", str(unknown))[0] == 0


def test_a_flyable_order_passes_and_a_moved_scenario_is_named(
        parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    store = tmp_path / "d.db"
    with Store.open(store) as s:
        record_scenario(s, CANBERRA, 30.0, 0.0)
    assert add(capsys, store, "--id", "fine", payload="2.0")[0] == 0
    with Store.open(store) as s:
        record_scenario(s, tmp_path / "gone", 30.0, 1.0)
    code, _, err = add(capsys, store, "--id", "next")
    assert code == 2
    one_line(err, str(tmp_path / "gone"), "cannot be read", "give --scenario")
    assert add(capsys, store, "--id", "next", "--scenario", str(CANBERRA))[0] == 0


def test_an_import_with_one_unflyable_order_stores_nothing(
        parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    store, orders = tmp_path / "d.db", tmp_path / "o.csv"
    orders.write_text("id,depot,lat,lon,payload_kg,created_s\nok,hume,-35.37,149.1,1,5\n"
                      "heavy,greenway,-35.40,149.07,4.5,6\n")
    code, _, err = run(capsys, "order", "import", str(orders), "--store", str(store),
                       "--scenario", "canberra")
    assert code == 2
    one_line(err, f"{orders}: payload_kg: order 'heavy': 4.5 kg is over")
    with Store.open(store) as s:
        assert s.orders() == []


# --- the fuzz of `order add` ------------------------------------------------------------------

PLAIN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)
RELATIVE = re.compile(r"\+([0-9]+(\.[0-9]+)?)([smh]?)", re.ASCII)
UNIT_S = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0}
HOSTILE = [
    "", " ", "nan", "-inf", "Infinity", "1_0", "0x10", "1e400", "1e-400", "١٢", "１", "9" * 40,
    "-0", "+5", ".5", "5.", "2e3", str(2**63), "\x00", "\x1b[2J", "a\nb", "\u202e", "\u200b",
    "a\tb", " 3 ", "3 4", "1,5", "'1'", "true", "x" * 65, "x" * 64, "é", "\ufeff1", "\x85",
    "\u2028", "1e9", "1000", "1000.5", "-35.3", "149.1", "90.5", "-181", "+30m", "+2h", "+90s",
    "+1.5", "+-5", "+5d", "ORD-00001", "hume", "mitchell",
]


def plain(text: str) -> float | None:
    text = text.strip()
    if not PLAIN.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def id_ok(text: str) -> bool:
    return bool(text.strip()) and text.isprintable() and len(text.strip()) <= MAX_ID_CHARS


def mutate(rng: random.Random, text: str) -> str:
    at = rng.randrange(len(text) + 1)
    char = rng.choice("\x00\x1b\t\n_.eE+-, 0123456789é١\u202e")
    return rng.choice((text[:at] + char + text[at:], text[:at] + text[at + 1:],
                       text[:at] + char + text[at + 1:]))


def number_text(rng: random.Random, low: float, high: float) -> str:
    value = rng.uniform(low, high)
    return rng.choice((f"{value:.6f}", repr(value), f"{value:.3e}", str(int(value))))


def arguments(rng: random.Random, i: int) -> dict[str, str | None]:
    """One call's values: mostly plausible, each field sometimes hostile or mutated."""
    def pick(good: str, *, optional: bool = False) -> str | None:
        roll = rng.random()
        if optional and roll < 0.15:
            return None
        if roll < 0.7:
            return good
        if roll < 0.85:
            return rng.choice(HOSTILE)
        return mutate(rng, good)

    to = f"{number_text(rng, -36, -35)},{number_text(rng, 148.5, 149.5)}"
    due = rng.choice((f"+{rng.randint(1, 120)}{rng.choice('smh ').strip()}",
                      number_text(rng, 0, 2e5)))
    return {
        "id": pick(f"F{i}") if rng.random() > 0.03 else None,
        "depot": pick(rng.choice(("hume", "mitchell", "greenway"))),
        "to": pick(to),
        "payload": pick(number_text(rng, 0.05, 5)),
        "at": pick(number_text(rng, 0, 9e4)),
        "due": pick(due, optional=True),
        "priority": pick(str(rng.randint(-5, 5)), optional=True),
    }


def expected(values: dict[str, str | None], taken: set[str]) -> dict[str, Any] | None:
    """The oracle: the order these arguments make, or None if they must be refused."""
    out: dict[str, Any] = {}
    oid, depot = values["id"], values["depot"]
    if oid is not None and (not id_ok(oid) or oid.strip() in taken):
        return None
    assert depot is not None
    if not id_ok(depot):
        return None
    out["id"], out["depot_id"] = None if oid is None else oid.strip(), depot.strip()
    parts = (values["to"] or "").split(",")
    if len(parts) != 2:
        return None
    lat, lon = plain(parts[0]), plain(parts[1])
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    out["dropoff"] = LatLon(lat, lon)
    payload, at = plain(values["payload"] or ""), plain(values["at"] or "")
    if payload is None or not 0 < payload <= MAX_PAYLOAD_KG:
        return None
    if at is None or not 0 <= at <= MAX_CLOCK_S:
        return None
    out["payload_kg"], out["created_s"] = payload, at
    due_text, due = values["due"], None
    if due_text is not None:
        relative = RELATIVE.fullmatch(due_text.strip())
        due = (at + float(relative.group(1)) * UNIT_S[relative.group(3)] if relative
               else plain(due_text))
        if due is None or not math.isfinite(due) or not at < due <= MAX_CLOCK_S:
            return None
    out["due_s"] = due
    priority_text = values["priority"]
    priority = 0
    if priority_text is not None:
        if not WHOLE.fullmatch(priority_text.strip()):
            return None
        priority = int(priority_text.strip())
        if not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
            return None
    out["priority"] = priority
    return out


def argv_of(values: dict[str, str | None], store: Path) -> list[str]:
    argv = ["order", "add", "--store", str(store), f"--depot={values['depot']}",
            f"--to={values['to']}", f"--payload={values['payload']}", f"--at={values['at']}"]
    for flag, key in (("--id", "id"), ("--due", "due"), ("--priority", "priority")):
        if values[key] is not None:
            argv.append(f"{flag}={values[key]}")
    return argv


def fuzz_order_add(capsys: pytest.CaptureFixture[str], folder: Path, count: int,
                   seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    path = folder / "fuzz.db"
    tally = {"stored": 0, "refused": 0}
    with Store.open(path) as store:
        taken: set[str] = set()
        last = 0
        for i in range(count):
            values = arguments(rng, i)
            want = expected(values, taken)
            try:
                code = cli_main.main(argv_of(values, path))
            except Exception as exc:  # any exception escaping main is the finding
                pytest.fail(f"call {i} {values!r} raised {type(exc).__name__}: {exc}")
            out, err = capsys.readouterr()
            new = store.events(last)
            if want is None:
                assert code == 2, (i, values, out)
                one_line(err)
                assert "\x1b" not in err and "\x00" not in err
                assert new == [], (i, values)
                tally["refused"] += 1
                continue
            assert code == 0, (i, values, err)
            assert [e.kind for e in new] == ["intake"], (i, values)
            last = new[-1].seq
            stored = store.order(new[-1].order_id or "")
            assert stored.state is OrderState.NEW
            got = stored.order
            if want["id"] is not None:
                assert got.id == want["id"]
            taken.add(got.id)
            assert got == Order(got.id, want["depot_id"], want["dropoff"], want["payload_kg"],
                                want["created_s"], want["due_s"], want["priority"]), (i, values)
            assert out == f"stored order {got.id}\n"
            tally["stored"] += 1
    return tally


def test_fuzz_500_order_add_calls(parser: argparse.ArgumentParser,
                                  capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tally = fuzz_order_add(capsys, tmp_path, 500, seed=11)
    assert tally["stored"] > 50 and tally["refused"] > 150, tally


@pytest.mark.slow
def test_fuzz_10000_order_add_calls(parser: argparse.ArgumentParser,
                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    started = time.monotonic()
    tally = fuzz_order_add(capsys, tmp_path, 10_000, seed=20_011)
    elapsed = time.monotonic() - started
    assert tally["stored"] > 1_000 and tally["refused"] > 3_000, tally
    print(f"10,000 inputs in {elapsed:.1f} s")  # a figure, not a timed test


# --- the fuzz of the scenario checks against the planner --------------------------------------

STATIC = {Rule.UNKNOWN_DEPOT, Rule.PAYLOAD, Rule.DROPOFF_IN_NO_FLY_ZONE,
          Rule.OUTSIDE_OPERATING_AREA}
"""What a planner reason an intake refusal stands for: the order, not the moment."""


def fuzz_scenario_checks(scenario: Scenario, count: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    planner = Planner(scenario.airspace, scenario.depots, margin_m=30.0)
    zones = [z.circle_center for z in scenario.airspace.zones if z.circle_center] + [
        ring[0] for z in scenario.airspace.zones for ring in z.polygons]
    tally = {"refused": 0, "accepted": 0}
    for i in range(count):
        centre = rng.choice(zones) if rng.random() < 0.5 else LatLon(-35.3, 149.12)
        dropoff = LatLon(centre.lat + rng.gauss(0, 0.01), centre.lon + rng.gauss(0, 0.01))
        depot = rng.choice(("hume", "mitchell", "greenway", "hume", "nowhere"))
        order = Order(f"s{i}", depot, dropoff, round(rng.uniform(0.1, 4.0), 2))
        try:
            check_flyable([order], scenario, 30.0, "fuzz")
            refused = False
        except InvalidInput as exc:
            assert "\n" not in str(exc) and str(exc).startswith("fuzz: ")
            refused = True
        drones = scenario.drones_at(depot)
        profiles = {d.profile: scenario.profile_for(d) for d in drones}.values()
        blocked = [bool(STATIC & {r.rule for r in planner.plan(order, p).reasons})
                   for p in profiles] or [True]
        assert refused == all(blocked), (order, refused, blocked)
        tally["refused" if refused else "accepted"] += 1
    return tally


def test_fuzz_300_scenario_checks_agree_with_the_planner(scenario: Scenario) -> None:
    tally = fuzz_scenario_checks(scenario, 300, seed=11)
    assert tally["refused"] > 50 and tally["accepted"] > 50, tally


@pytest.mark.slow
def test_fuzz_10000_scenario_checks_agree_with_the_planner(scenario: Scenario) -> None:
    started = time.monotonic()
    tally = fuzz_scenario_checks(scenario, 10_000, seed=20_011)
    assert tally["refused"] > 2_000 and tally["accepted"] > 2_000, tally
    assert time.monotonic() - started < 60.0


def test_add_order_takes_text_like_the_command_line(tmp_path: Path,
                                                    scenario: Scenario) -> None:
    with Store.open(tmp_path / "d.db") as s:
        order = add_order(s, depot_id="hume", to="-35.37, 149.1", payload_kg="1.5",
                          created_s="100", priority="-3", due="+10m", scenario=scenario)
        assert (order.payload_kg, order.created_s, order.priority, order.due_s) == (
            1.5, 100.0, -3, 700.0)
        with pytest.raises(InvalidInput, match="--payload"):
            add_order(s, depot_id="hume", to="-35.37,149.1", payload_kg="1_0", created_s=1.0)
