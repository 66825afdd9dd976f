"""Orders into the store: from files (CSV or JSON) and from single command-line entries.

Parsing and checking is ``planner.load``'s (one set of rules for every way in); this module
adds the command line's formats (``LAT,LON``, relative due times), fresh ids, and the store.

Transactions: a file is one batch, stored whole or not at all, so a bad line never leaves
half a file behind; a single order is its own transaction. Either way a malformed order
raises ``InvalidInput`` naming the line or field, and nothing already stored changes.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from groundcontrol.fleet.store.sqlite import Store
from planner.errors import InvalidInput
from planner.load import load_orders, orders_from_json
from planner.model import Order

__all__ = ["add_order", "import_orders", "next_order_id", "parse_due", "parse_latlon",
           "scenario_clock_s"]

_RELATIVE = re.compile(r"^\+(\d+(?:\.\d+)?)([smh]?)$")
_UNIT_S = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def scenario_clock_s(now_epoch_s: float | None = None) -> float:
    """Seconds since midnight UTC: the scenario clock used when an order gives no time."""
    now = time.time() if now_epoch_s is None else now_epoch_s
    return now % 86_400.0


def parse_latlon(text: str) -> tuple[float, float]:
    """``"LAT,LON"`` in decimal degrees.

    >>> parse_latlon("-35.28, 149.13")
    (-35.28, 149.13)

    Raises:
        InvalidInput: naming ``--to``: not two numbers.
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput("--to", f"must be LAT,LON in decimal degrees, got {text!r}") from None
    return lat, lon


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
    try:
        return float(text)
    except ValueError:
        raise InvalidInput("--due", f"must be seconds or +MINUTES (+90s, +2h), got {text!r}"
                           ) from None


def next_order_id(store: Store, prefix: str = "ORD-") -> str:
    """The first free id ``ORD-00001``, ``ORD-00002``, ... in the store."""
    taken = {s.order.id for s in store.orders()}
    n = len(taken) + 1
    while f"{prefix}{n:05d}" in taken:
        n += 1
    return f"{prefix}{n:05d}"


def add_order(store: Store, *, depot_id: str, to: str, payload_kg: float,
              order_id: str | None = None, created_s: float | None = None,
              due: str | None = None, priority: int = 0) -> Order:
    """Check one order like a file's (``planner.load``) and store it.

    Raises:
        InvalidInput: a bad field, named; DuplicateOrder: the id is taken. Nothing is stored.
    """
    created = scenario_clock_s() if created_s is None else created_s
    lat, lon = parse_latlon(to)
    record: dict[str, Any] = {
        "id": order_id or next_order_id(store), "depot": depot_id, "lat": lat, "lon": lon,
        "payload_kg": payload_kg, "created_s": created, "priority": priority,
    }
    due_s = parse_due(due, created)
    if due_s is not None:
        record["due_s"] = due_s
    (order,) = orders_from_json([record], "command line")
    store.add_orders([order], created, source="cli")
    return order


def import_orders(store: Store, path: str | Path, now_s: float | None = None) -> tuple[Order, ...]:
    """Read a CSV or JSON order file and store it whole (one transaction).

    Raises:
        InvalidInput: the first bad line or field, named; DuplicateOrder: an id already
            stored. Either way nothing is stored.
    """
    orders = load_orders(path)
    store.add_orders(orders, scenario_clock_s() if now_s is None else now_s, source=str(path))
    return orders
