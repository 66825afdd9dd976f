"""Orders into the store: from files (CSV or JSON) and from single command-line entries.

Parsing and checking is ``planner.load``'s (one set of rules for every way in); this module
adds the command line's formats (``LAT,LON``, relative due times), fresh ids, and the store.

Transactions: a file is one batch, stored whole or not at all, so a bad line never leaves
half a file behind; a single order is its own transaction. Either way a malformed order
raises ``InvalidInput`` naming the line or field, and nothing already stored changes.

Numbers from the command line are read as strictly as a file's (``planner.load``): plain
decimals, so ``1_0`` is not ten kilograms and ``nan`` is not a time.

Against the scenario: when the store knows its scenario (``run`` records it with
``record_scenario``) or one is given, an order no drone at its depot could ever fly is
refused before it is stored, with the reason: an unknown depot, a depot without drones, a
parcel over every one of their payload limits, a drop-off inside a no-fly zone (with the
margin) or outside the operating area. What depends on the moment (energy left, queues,
deadlines) stays the dispatcher's to judge.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from groundcontrol.fleet.store.sqlite import Store
from planner.errors import InvalidInput
from planner.load import load_orders, load_scenario, orders_from_json, parse_decimal, parse_whole
from planner.model import Order
from planner.route import Router
from planner.scenario import Scenario

__all__ = ["MARGIN_SETTING", "SCENARIO_SETTING", "add_order", "check_flyable", "import_orders",
           "next_order_id", "parse_due", "parse_latlon", "parse_number", "record_scenario",
           "scenario_clock_s", "stored_scenario"]

SCENARIO_SETTING = "scenario"
"""Store setting: the folder of the scenario the store's flights are driven with."""
MARGIN_SETTING = "margin_m"
"""Store setting: the safety margin from no-fly zones that driver plans with, metres."""
DEFAULT_MARGIN_M = 30.0

_RELATIVE = re.compile(r"^\+([0-9]+(?:\.[0-9]+)?)([smh]?)$", re.ASCII)
_UNIT_S = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_FLAGS = {"id": "--id", "depot": "--depot", "lat": "--to", "lon": "--to",
          "payload_kg": "--payload", "created_s": "--at", "due_s": "--due",
          "priority": "--priority"}
"""The command-line option each order field comes from, for ``add_order``'s errors."""


def scenario_clock_s(now_epoch_s: float | None = None) -> float:
    """Seconds since midnight UTC: the scenario clock used when an order gives no time."""
    now = time.time() if now_epoch_s is None else now_epoch_s
    return now % 86_400.0


def parse_number(text: float | str, flag: str) -> float:
    """A number from the command line: a float as given, or text held to a plain decimal.

    >>> parse_number("2.5", "--payload"), parse_number(3.0, "--at")
    (2.5, 3.0)

    Raises:
        InvalidInput: naming ``flag``: not a plain finite decimal (``1_0``, ``nan``, ``1e999``).
    """
    if isinstance(text, str):
        value = parse_decimal(text)
        if value is None:
            raise InvalidInput(flag, f"must be a plain finite decimal number (1.5, -2, 3e2), "
                                     f"got {text[:40]!r}")
        return value
    return text


def parse_latlon(text: str) -> tuple[float, float]:
    """``"LAT,LON"`` in decimal degrees.

    >>> parse_latlon("-35.28, 149.13")
    (-35.28, 149.13)

    Raises:
        InvalidInput: naming ``--to``: not two plain decimal numbers.
    """
    parts = [parse_decimal(p) for p in text.split(",")]
    if len(parts) != 2 or parts[0] is None or parts[1] is None:
        raise InvalidInput("--to", f"must be LAT,LON in decimal degrees, got {text[:60]!r}")
    return parts[0], parts[1]


def parse_due(text: str | None, created_s: float) -> float | None:
    """A due time: absolute scenario seconds (``"5400"``), or ``"+30"`` minutes after created
    (``+90s``, ``+30m``, ``+2h`` also work). None stays None (the promise applies).

    >>> parse_due("+30m", 100.0), parse_due("+45s", 0.0), parse_due("7200", 0.0)
    (1900.0, 45.0, 7200.0)
    """
    if text is None:
        return None
    match = _RELATIVE.match(text.strip())
    if match:
        return created_s + float(match.group(1)) * _UNIT_S[match.group(2)]
    value = parse_decimal(text)
    if value is None:
        raise InvalidInput("--due", f"must be seconds or +MINUTES (+90s, +2h), got {text[:40]!r}")
    return value


def next_order_id(store: Store, prefix: str = "ORD-") -> str:
    """The first free id ``ORD-00001``, ``ORD-00002``, ... in the store."""
    taken = {s.order.id for s in store.orders()}
    n = len(taken) + 1
    while f"{prefix}{n:05d}" in taken:
        n += 1
    return f"{prefix}{n:05d}"


def add_order(store: Store, *, depot_id: str, to: str, payload_kg: float | str,
              order_id: str | None = None, created_s: float | str | None = None,
              due: str | None = None, priority: int | str = 0,
              scenario: Scenario | None = None) -> Order:
    """Check one order like a file's (``planner.load``) and store it.

    ``payload_kg``, ``created_s`` and ``priority`` may be given as command-line text (held to
    plain decimals). ``scenario``: check the order against it (``check_flyable``); by default
    against the store's own (``stored_scenario``), if it has one.

    Raises:
        InvalidInput: a bad field, named, or an order no drone of the scenario could fly;
            DuplicateOrder: the id is taken. Nothing is stored.
    """
    created = scenario_clock_s() if created_s is None else parse_number(created_s, "--at")
    lat, lon = parse_latlon(to)
    if isinstance(priority, str):
        whole = parse_whole(priority)
        if whole is None:
            raise InvalidInput("--priority", f"must be a whole number, got {priority[:40]!r}")
        priority = whole
    record: dict[str, Any] = {
        "id": order_id if order_id is not None else next_order_id(store), "depot": depot_id,
        "lat": lat, "lon": lon, "payload_kg": parse_number(payload_kg, "--payload"),
        "created_s": created, "priority": priority,
    }
    due_s = parse_due(due, created)
    if due_s is not None:
        record["due_s"] = due_s
    try:
        (order,) = orders_from_json([record], "command line")
        _check_scenario(store, (order,), scenario, "command line")
    except InvalidInput as exc:  # name the option the field came from
        key = exc.field.removeprefix("orders[0].")
        flag = _FLAGS.get(key)
        raise InvalidInput(f"{flag} ({key})" if flag else exc.field, exc.problem, exc.source
                           ) from None
    store.add_orders([order], created, source="cli")
    return order


def import_orders(store: Store, path: str | Path, now_s: float | None = None,
                  scenario: Scenario | None = None) -> tuple[Order, ...]:
    """Read a CSV or JSON order file and store it whole (one transaction).

    ``scenario`` as for ``add_order``.

    Raises:
        InvalidInput: the first bad line or field, named, or an order no drone of the
            scenario could fly; DuplicateOrder: an id already stored. Either way nothing is
            stored.
    """
    orders = load_orders(path)
    _check_scenario(store, orders, scenario, str(path))
    store.add_orders(orders, scenario_clock_s() if now_s is None else now_s, source=str(path))
    return orders


# --- the scenario ---------------------------------------------------------------------------


def record_scenario(store: Store, folder: str | Path, margin_m: float, now_s: float) -> None:
    """Keep in the store the scenario (and margin) its flights are driven with, so order
    intake can refuse what no drone of it could fly. Unchanged settings are not rewritten."""
    wanted = {SCENARIO_SETTING: str(Path(folder).resolve()), MARGIN_SETTING: repr(float(margin_m))}
    for name, value in wanted.items():
        if store.setting(name) != value:
            store.set_setting(name, value, now_s)


def stored_scenario(store: Store) -> tuple[Scenario, float] | None:
    """The scenario recorded in the store (``record_scenario``) and its margin, or None.

    Raises:
        InvalidInput: the recorded scenario cannot be read any more (moved, or broken).
    """
    folder = store.setting(SCENARIO_SETTING)
    if folder is None:
        return None
    try:
        scenario = load_scenario(folder)
    except (InvalidInput, OSError) as exc:
        raise InvalidInput("scenario", f"the store's scenario {folder} cannot be read ({exc}); "
                                       "give --scenario", str(store.path)) from None
    return scenario, _stored_margin(store)


def _stored_margin(store: Store) -> float:
    margin = parse_decimal(store.setting(MARGIN_SETTING) or "")
    return DEFAULT_MARGIN_M if margin is None or margin < 0 else margin


def _check_scenario(store: Store, orders: Sequence[Order], scenario: Scenario | None,
                    source: str) -> None:
    if scenario is None:
        found = stored_scenario(store)
        if found is None:
            return
        scenario, margin = found
    else:
        margin = _stored_margin(store)
    check_flyable(orders, scenario, margin, source)


def check_flyable(orders: Sequence[Order], scenario: Scenario, margin_m: float,
                  source: str) -> None:
    """Refuse the first order no drone based at its depot could ever fly.

    Checked per vehicle profile at the depot: the payload limit, the drop-off inside a
    no-fly zone active at the profile's cruise altitude (inflated by ``margin_m``, as the
    planner does) and the operating area. An order passes when one profile passes them all.

    Raises:
        InvalidInput: naming the order's field (depot, payload_kg, lat/lon) and the limits.
    """
    router = Router(scenario.airspace, margin_m=margin_m)
    for order in orders:
        field, problem = _refusal(order, scenario, router)
        if field:
            raise InvalidInput(field, f"order {order.id!r}: {problem}", source)


def _refusal(order: Order, scenario: Scenario, router: Router) -> tuple[str, str]:
    """The field and reason no drone at the order's depot can fly it, or ("", "")."""
    depot = scenario.depot_by_id(order.depot_id)
    if depot is None:
        known = ", ".join(sorted(d.id for d in scenario.depots))
        return "depot", (f"unknown depot {order.depot_id!r} in scenario {scenario.name} "
                         f"(depots: {known})")
    profiles = {d.profile: scenario.profile_for(d) for d in scenario.drones_at(depot.id)}
    if not profiles:
        return "depot", f"no drone is based at depot {depot.id!r} in scenario {scenario.name}"
    heaviest = max(p.max_payload_kg for p in profiles.values())
    if order.payload_kg > heaviest:
        limits = ", ".join(f"{p.name} {p.max_payload_kg:g} kg" for p in profiles.values())
        return "payload_kg", (f"{order.payload_kg:g} kg is over what every drone at depot "
                              f"{depot.id!r} carries ({limits})")
    prepared = router.prepared
    x, y = prepared.frame.to_xy(order.dropoff)
    where = f"the drop-off {order.dropoff.lat:.6f},{order.dropoff.lon:.6f}"
    if not (math.isfinite(x) and math.isfinite(y)):
        return "lat", f"{where} is too far from the scenario's airspace to be placed"
    blocked: list[str] = []
    for profile in profiles.values():
        if order.payload_kg > profile.max_payload_kg:
            continue
        hits = prepared.zones_containing(x, y, router.active_indices(profile.cruise_alt_agl_m))
        if not hits and prepared.in_area(x, y):
            return "", ""
        for hit in hits:
            edge = -hit.clearance_m
            side = f"{edge:.0f} m inside" if edge > 0 else f"{-edge:.0f} m outside"
            blocked.append(f"{where} is {side} no-fly zone {hit.zone.label}, which flights "
                           f"keep {prepared.margin_m:g} m from")
        if not hits:
            blocked.append(f"{where} is outside the operating area or within "
                           f"{prepared.margin_m:g} m of its edge")
    return "lat", "; ".join(dict.fromkeys(blocked))
