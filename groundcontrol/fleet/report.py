"""A dispatch day read back from its store: orders, flights and each drone's day.

Everything comes from the store's public reading API (``orders()``, ``events()``,
``setting()``), so a report can be made while ``run`` still drives flights from the store.

Times are on the scenario clock (seconds) and shown as clock time ``HH:MM`` too: the clock
``order add`` places orders on, seconds since midnight (hours past 23 are the next day).

* promised: the dispatcher's promised drop-off time (its last ``Assign``), else the order's
  own due time.
* dropped off: the time the flight reported the release (kept by the controller as the
  setting ``released ORDER``, ``resync.released_setting``; an order still in flight has it
  once released, its drone on the way back: the store delivers it at the landing); for
  stores written before it was kept, the end of the flight's delivery phase (launch plus the
  flown ``out`` and ``delivery`` phases of the flight record: the parcel is released by
  then), else the time the store recorded the delivery (the landing, later). A late-by is
  never made smaller than it was.
* late by: dropped off minus promised; negative is early. On time: late by <= 0.
* route km: the length of the planned route (out and back) of the sortie flown; the drone's
  km counts the sorties that delivered (those flew the whole route).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from groundcontrol.fleet.intake import SCENARIO_SETTING
from groundcontrol.fleet.resync import released_setting
from groundcontrol.fleet.store.sqlite import OrderState, Store, StoredEvent, StoreError
from planner.dispatch_codec import decode
from planner.dispatch_model import Assign
from planner.errors import InvalidInput

__all__ = ["DayReport", "DroneDay", "FlightLine", "OrderLine", "build_report", "clock",
           "day_lines", "drone_lines", "fleet_day", "printable", "report_json", "report_until",
           "write_report"]


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order as the day ended for it. Times in scenario seconds."""

    order_id: str
    depot_id: str
    payload_kg: float
    state: str
    placed_s: float
    due_s: float | None
    """The order's own due time (None: the scenario's promise applies)."""
    promised_s: float | None
    """The dispatcher's promised drop-off time, else ``due_s``."""
    dropped_off_s: float | None
    late_by_s: float | None
    """Dropped off minus promised; negative: early."""
    drone_id: str | None
    reason: str
    """Why it was refused, failed or cancelled; empty otherwise."""


@dataclass(frozen=True, slots=True)
class FlightLine:
    """One take-off with an order. Times in scenario seconds, energy in Wh."""

    order_id: str
    drone_id: str
    launched_s: float
    ended_s: float | None
    outcome: str | None
    """``delivered``, ``failed``, ``aborted`` (came back with the parcel), None: in the air."""
    planned_s: float | None = None
    flown_s: float | None = None
    planned_wh: float | None = None
    used_wh: float | None = None
    route_km: float | None = None
    """Planned route length, out and back, of the sortie flown (None: no sortie recorded)."""
    dropped_off_s: float | None = None
    """End of the flown delivery phase (from the flight record), if known."""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DroneDay:
    """One drone's day."""

    drone_id: str
    sorties: int
    """Take-offs with an order."""
    delivered: int
    on_time: int
    km: float
    """Route km of its delivering sorties."""
    used_wh: float
    """Energy used over its sorties with a flight record."""
    recorded: int
    """Sorties with a flight record (planned against flown)."""


@dataclass(frozen=True, slots=True)
class DayReport:
    """The orders, flights and drones of one store."""

    store: str
    scenario: str | None
    orders: tuple[OrderLine, ...]
    flights: tuple[FlightLine, ...]
    drones: tuple[DroneDay, ...] = field(default=())


def clock(t_s: float | None) -> str:
    """Scenario seconds as clock time ``HH:MM`` (seconds since midnight; "" for None).

    >>> clock(0.0), clock(13 * 3600 + 5 * 60 + 59), clock(90_000.0), clock(None)
    ('00:00', '13:05', '25:00', '')
    """
    if t_s is None:
        return ""
    minutes = int(t_s // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _data(event: StoredEvent) -> Any:
    try:
        return json.loads(event.data)
    except ValueError:
        raise StoreError(f"event {event.seq} ({event.kind}) is not JSON: the store is "
                         "damaged") from None


def _decision(event: StoredEvent) -> Any:
    try:
        return decode(event.data)
    except (InvalidInput, ValueError) as exc:
        raise StoreError(f"event {event.seq} (decision) cannot be read: {exc}") from None


@dataclass
class _Flight:
    """A flight being read from the event log."""

    order_id: str
    drone_id: str
    launched_s: float
    assign: Assign | None
    ended_s: float | None = None
    outcome: str | None = None
    reason: str = ""
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Log:
    """What the event log says, per order."""

    assigns: dict[str, Assign] = field(default_factory=dict)
    flights: list[_Flight] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)


_ENDS = {OrderState.DELIVERED.value: "delivered", OrderState.FAILED.value: "failed",
         OrderState.PLANNED.value: "aborted"}
"""Where an order goes from in_flight, and the flight's outcome it means."""


def _read_log(events: Iterable[StoredEvent]) -> _Log:
    log = _Log()
    open_flights: dict[str, _Flight] = {}
    for event in events:
        oid = event.order_id
        if oid is None or event.kind not in ("decision", "flight", "order"):
            continue
        if event.kind == "decision":
            decision = _decision(event)
            if isinstance(decision, Assign):
                log.assigns[oid] = decision
            continue
        data = _data(event)
        if not isinstance(data, dict):
            raise StoreError(f"event {event.seq} ({event.kind}) is not an object")
        if event.kind == "flight" and data.get("launched"):
            flight = _Flight(oid, event.drone_id or "", event.t_s, log.assigns.get(oid))
            open_flights[oid] = flight
            log.flights.append(flight)
        elif event.kind == "flight" and isinstance(data.get("record"), dict):
            ended = [f for f in log.flights if f.order_id == oid and f.ended_s is not None]
            if ended:  # end_flight logs the state change first, then the record
                ended[-1].record = data["record"]
        elif event.kind == "order":
            log.why[oid] = str(data.get("why", ""))
            if data.get("from") == OrderState.IN_FLIGHT.value and oid in open_flights:
                flight = open_flights.pop(oid)
                flight.ended_s, flight.outcome = event.t_s, _ENDS.get(str(data.get("to")))
                flight.reason = "" if flight.outcome == "delivered" else log.why[oid]
    return log


def _number(record: Mapping[str, Any], key: str) -> float | None:
    value = record.get(key)
    return float(value) if isinstance(value, int | float) else None


def _flight_line(f: _Flight) -> FlightLine:
    phases = f.record.get("flown_phases_s")
    dropped = None
    if isinstance(phases, dict) and isinstance(phases.get("out"), int | float) \
            and isinstance(phases.get("delivery"), int | float):
        dropped = f.launched_s + float(phases["out"]) + float(phases["delivery"])
    route = f.assign.sortie.plan.distance_m / 1000.0 if f.assign is not None else None
    return FlightLine(
        order_id=f.order_id, drone_id=f.drone_id, launched_s=f.launched_s, ended_s=f.ended_s,
        outcome=f.outcome, planned_s=_number(f.record, "planned_s"),
        flown_s=_number(f.record, "flown_s"), planned_wh=_number(f.record, "planned_wh"),
        used_wh=_number(f.record, "used_wh"), route_km=route, dropped_off_s=dropped,
        reason=f.reason)


def _released_s(store: Store, order_id: str) -> float | None:
    """When the flight reported the release of ``order_id``, if the store kept it."""
    text = store.setting(released_setting(order_id))
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None  # not a time: fall back on the flight record


def _reason(state: OrderState, reasons: tuple[str, ...], why: str) -> str:
    if state is OrderState.INFEASIBLE:
        return "; ".join(reasons)
    if state in (OrderState.FAILED, OrderState.CANCELLED):
        return why
    return ""


def _order_lines(store: Store, log: _Log, flights: list[FlightLine]) -> list[OrderLine]:
    delivered = {f.order_id: f for f in flights if f.outcome == "delivered"}
    last = {f.order_id: f for f in flights}
    lines = []
    for stored in store.orders():
        o, assign = stored.order, log.assigns.get(stored.order.id)
        promised = assign.due_s if assign is not None else o.due_s
        flight = delivered.get(o.id)
        dropped = None
        if flight is not None:
            dropped = _released_s(store, o.id)
            if dropped is None:
                dropped = flight.dropped_off_s if flight.dropped_off_s is not None \
                    else flight.ended_s
        elif stored.state is OrderState.IN_FLIGHT:
            dropped = _released_s(store, o.id)  # released, the drone not back yet
        late = None if dropped is None or promised is None else dropped - promised
        flown = last.get(o.id)
        drone = flown.drone_id if flown is not None else (
            assign.drone_id if assign is not None else None)
        lines.append(OrderLine(
            order_id=o.id, depot_id=o.depot_id, payload_kg=o.payload_kg,
            state=stored.state.value, placed_s=o.created_s, due_s=o.due_s,
            promised_s=promised, dropped_off_s=dropped, late_by_s=late, drone_id=drone,
            reason=_reason(stored.state, stored.reasons, log.why.get(o.id, ""))))
    return lines


def _drone_days(orders: list[OrderLine], flights: list[FlightLine]) -> list[DroneDay]:
    on_time = {o.order_id for o in orders if o.late_by_s is not None and o.late_by_s <= 0}
    days = []
    for drone in sorted({f.drone_id for f in flights}):
        mine = [f for f in flights if f.drone_id == drone]
        done = [f for f in mine if f.outcome == "delivered"]
        days.append(DroneDay(
            drone_id=drone, sorties=len(mine), delivered=len(done),
            on_time=sum(f.order_id in on_time for f in done),
            km=sum((f.route_km or 0.0 for f in done), 0.0),
            used_wh=sum((f.used_wh or 0.0 for f in mine), 0.0),
            recorded=sum(f.used_wh is not None for f in mine)))
    return days


def build_report(store: Store) -> DayReport:
    """Read a store's day.

    Raises:
        StoreError: an event the report cannot read (a damaged store).
        StoreFault: the database failed under the read.
    """
    log = _read_log(store.events())
    flights = [_flight_line(f) for f in log.flights]
    orders = _order_lines(store, log, flights)
    folder = store.setting(SCENARIO_SETTING)
    return DayReport(store=str(store.path), scenario=Path(folder).name if folder else None,
                     orders=tuple(orders), flights=tuple(flights),
                     drones=tuple(_drone_days(orders, flights)))


def report_until(report: DayReport, t_s: float) -> DayReport:
    """The day as it stood at ``t_s``: orders placed by then, flights launched by then (one
    that ended later is still in the air), drop-offs made by then; the drones' days again.

    A replay shows this at its moment. An order's state then is read from its times and
    flights (``state_at``); a cancellation keeps the store's last state (its time is not kept).
    """
    flights = []
    for f in report.flights:
        if f.launched_s > t_s:
            continue
        if f.ended_s is not None and f.ended_s > t_s:
            f = replace(f, ended_s=None, outcome=None, used_wh=None, flown_s=None)
        flights.append(f)
    orders = []
    for o in report.orders:
        if o.placed_s > t_s:
            continue
        if o.dropped_off_s is not None and o.dropped_off_s > t_s:
            o = replace(o, dropped_off_s=None, late_by_s=None)
        mine = [f for f in flights if f.order_id == o.order_id]
        orders.append(replace(o, state=state_at(o, mine)))
    return replace(report, orders=tuple(orders), flights=tuple(flights),
                   drones=tuple(_drone_days(orders, flights)))


def state_at(order: OrderLine, flights: Sequence[FlightLine]) -> str:
    """An order's state at a moment, from what ``report_until`` kept of it then: dropped off
    is delivered; a flight in the air, in flight; a failed last flight, failed; an order the
    store delivered or still flies, assigned before its flight; refusals and cancellations as
    the store has them.

    >>> o = OrderLine("o", "A", 1.0, "delivered", 0.0, None, None, None, None, "d", "")
    >>> state_at(o, ())
    'assigned'
    """
    if order.dropped_off_s is not None:
        return "delivered"
    if any(f.ended_s is None for f in flights):
        return "in_flight"
    if flights and flights[-1].outcome == "failed":
        return "failed"
    if order.state in ("delivered", "in_flight", "assigned", "failed"):
        return "assigned"
    return order.state


def fleet_day(report: DayReport) -> DroneDay:
    """The fleet's totals as one ``DroneDay`` named ``fleet``.

    >>> day = DroneDay("a", 2, 1, 1, 3.5, 80.0, 2)
    >>> fleet_day(DayReport("s", None, (), (), (day, day))).km
    7.0
    """
    drones = report.drones
    return DroneDay("fleet", sum(d.sorties for d in drones), sum(d.delivered for d in drones),
                    sum(d.on_time for d in drones), sum((d.km for d in drones), 0.0),
                    sum((d.used_wh for d in drones), 0.0), sum(d.recorded for d in drones))


_CLOCKED = ("placed_s", "due_s", "promised_s", "dropped_off_s", "launched_s", "ended_s")
"""Time fields that get a ``*_clock`` (HH:MM) column next to them."""


def _row(line: OrderLine | FlightLine | DroneDay) -> dict[str, Any]:
    """A line as a flat dict: each time followed by its clock time, floats rounded."""
    row: dict[str, Any] = {}
    for name, value in asdict(line).items():
        row[name] = round(value, 3) if isinstance(value, float) else value
        if name in _CLOCKED:
            row[name.removesuffix("_s") + "_clock"] = clock(value)
    return row


def report_json(report: DayReport) -> dict[str, Any]:
    """The report as one JSON-ready object: ``orders``, ``flights``, ``drones`` lists."""
    return {"store": report.store, "scenario": report.scenario,
            "orders": [_row(o) for o in report.orders],
            "flights": [_row(f) for f in report.flights],
            "drones": [_row(d) for d in report.drones]}


def _write_csv(path: Path, kind: type[Any], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=_columns(kind))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)


def _columns(kind: type[Any]) -> list[str]:
    out = []
    for f in fields(kind):
        out.append(f.name)
        if f.name in _CLOCKED:
            out.append(f.name.removesuffix("_s") + "_clock")
    return out


def write_report(report: DayReport, out_dir: Path) -> list[Path]:
    """Write ``orders.csv``, ``flights.csv``, ``drones.csv`` and ``report.json`` into
    ``out_dir`` (created); the paths written.

    Raises:
        ValueError: the folder or a file cannot be written (naming it).
    """
    data = report_json(report)
    paths = [out_dir / n for n in ("orders.csv", "flights.csv", "drones.csv", "report.json")]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path, kind, key in zip(paths, (OrderLine, FlightLine, DroneDay),
                                   ("orders", "flights", "drones"), strict=False):
            _write_csv(path, kind, data[key])
        paths[3].write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{exc.filename or out_dir}: cannot write the report: "
                         f"{exc.strerror}") from None
    return paths


def printable(text: str) -> str:
    """Text safe to print on a terminal: unprintable characters escaped as in ``repr``.

    >>> print(printable("ORD-1"), printable("a" + chr(27) + "[2Jb"))
    ORD-1 a\\x1b[2Jb
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def day_lines(report: DayReport) -> list[str]:
    """Each drone's day (sorties, delivered, on time, km, Wh), the day's totals and every
    late delivery: what ``report`` prints and the console prints when it quits."""
    out = drone_lines(report)
    states: dict[str, int] = {}
    for o in report.orders:
        states[o.state] = states.get(o.state, 0) + 1
    late = [o for o in report.orders if o.late_by_s is not None and o.late_by_s > 0]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    out.append(f"{len(report.orders)} orders ({counts or 'none'}); {len(report.flights)} "
               f"flights; {len(late)} delivered late")
    out += [f"  late: {printable(o.order_id)} by {o.late_by_s:.0f} s (promised "
            f"{clock(o.promised_s)}, dropped off {clock(o.dropped_off_s)})"
            for o in late if o.late_by_s is not None]
    return out


def drone_lines(report: DayReport) -> list[str]:
    """A header and one line per drone: sorties, delivered, on time, km, Wh used, records."""
    out = [f"{'drone':<12} {'sorties':>7} {'delivered':>9} {'on time':>7} {'km':>7} "
           f"{'Wh used':>8} {'records':>7}"]
    for d in report.drones:
        out.append(f"{printable(d.drone_id):<12} {d.sorties:>7} {d.delivered:>9} "
                   f"{d.on_time:>7} {d.km:>7.1f} {d.used_wh:>8.1f} {d.recorded:>7}")
    return out
