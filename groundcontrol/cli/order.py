"""``drone-delivery order add|list|import|cancel``: orders in the dispatch store.

Times are on the scenario clock (seconds); without ``--at`` an order is placed "now", the
seconds since midnight UTC. A running dispatcher picks new orders and cancellations up from
the store (``Store.undispatched``); cancelling an order the dispatcher already holds is a
request it answers (refused once the sortie has begun).

``add`` and ``import`` create the store when the path does not exist; ``list`` and
``cancel`` need one and say so. Ids are printed with control characters escaped (``\x1b``),
so a stored id cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from groundcontrol.fleet.intake import add_order, import_orders, parse_number
from groundcontrol.fleet.report import printable
from groundcontrol.fleet.store.dialect import store_location
from groundcontrol.fleet.store.sqlite import OrderState, Store, StoredOrder
from planner.scenario import Scenario

__all__ = ["DEFAULT_STORE", "printable", "register"]

DEFAULT_STORE = Path("dispatch.db")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    creates = argparse.ArgumentParser(add_help=False)
    creates.add_argument("--store", type=store_location, default=DEFAULT_STORE,
                         metavar="PATH|URL",
                         help=f"dispatch database, created if the path does not exist "
                              f"(default: {DEFAULT_STORE})")
    checked = argparse.ArgumentParser(add_help=False)
    checked.add_argument("--scenario", metavar="NAME|FOLDER",
                         help="refuse orders no drone of this scenario could fly (default: the "
                              "scenario `run` recorded in the store, if any)")
    existing = argparse.ArgumentParser(add_help=False)
    existing.add_argument("--store", type=store_location, default=DEFAULT_STORE,
                          metavar="PATH|URL",
                          help=f"dispatch database, which must exist (default: {DEFAULT_STORE})")
    p = sub.add_parser("order", help="add, list, import or cancel delivery orders",
                       description="Orders in the dispatch store.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    add = verbs.add_parser("add", parents=[creates, checked], help="place one order",
                           description="Place one order. Ids are 1-64 printable characters; "
                                       "numbers are plain decimals.")
    add.add_argument("--depot", required=True, help="depot id the parcel leaves from")
    add.add_argument("--to", required=True, metavar="LAT,LON", help="drop-off point")
    add.add_argument("--payload", required=True, metavar="KG", help="parcel mass (0-1000 kg)")
    add.add_argument("--due", help="due time: scenario seconds, or +MIN / +90s / +2h")
    add.add_argument("--id", dest="order_id", help="order id (default: next ORD-NNNNN)")
    add.add_argument("--at", metavar="S", help="placed at (scenario seconds)")
    add.add_argument("--priority", default="0", metavar="N",
                     help="higher goes first, -1000..1000 (default 0)")
    add.set_defaults(func=_add)

    listing = verbs.add_parser("list", parents=[existing], help="show stored orders")
    listing.add_argument("--state", choices=[s.value for s in OrderState])
    listing.add_argument("--json", action="store_true",
                         help="print one JSON object: the store and its orders (state, "
                              "reasons, cancel requested) instead of the table")
    listing.set_defaults(func=_list)

    imp = verbs.add_parser("import", parents=[creates, checked],
                           help="store a CSV or JSON order file (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--at", metavar="S", help="received at (scenario seconds)")
    imp.set_defaults(func=_import)

    cancel = verbs.add_parser("cancel", parents=[existing], help="cancel an order")
    cancel.add_argument("order_id", metavar="ID")
    cancel.add_argument("--at", metavar="S")
    cancel.set_defaults(func=_cancel)


def _scenario(args: argparse.Namespace) -> Scenario | None:
    if args.scenario is None:
        return None
    from groundcontrol.scenarios import resolve_scenario
    from planner.load import load_scenario

    return load_scenario(resolve_scenario(args.scenario))


def _at(args: argparse.Namespace) -> float | None:
    return None if args.at is None else parse_number(args.at, "--at")


def _add(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    scenario = _scenario(args)
    with Store.open(args.store) as store:
        order = add_order(store, depot_id=args.depot, to=args.to, payload_kg=args.payload,
                          order_id=args.order_id, created_s=args.at, due=args.due,
                          priority=args.priority, scenario=scenario)
    print(f"stored order {printable(order.id)}", file=out)
    return 0


def _import(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    scenario, at = _scenario(args), _at(args)
    with Store.open(args.store) as store:
        orders = import_orders(store, args.file, at, scenario)
    print(f"stored {len(orders)} orders from {args.file}", file=out)
    return 0


def _cancel(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    from groundcontrol.fleet.intake import scenario_clock_s

    at = _at(args)
    with Store.open(args.store, create=False) as store:
        state = store.request_cancel(args.order_id, scenario_clock_s() if at is None else at)
    shown = printable(args.order_id)
    if state is OrderState.CANCELLED:
        print(f"order {shown} cancelled", file=out)
    else:
        print(f"order {shown} is {state.value}: cancellation requested from the dispatcher",
              file=out)
    return 0


def _list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    with Store.open(args.store, create=False) as store:
        stored = store.orders(OrderState(args.state) if args.state else None)
    if args.json:
        print(json.dumps({"store": str(args.store), "count": len(stored),
                          "orders": [_row(s) for s in stored]}), file=out)
        return 0
    header = f"{'order':<12} {'depot':<10} {'drop-off':<22} {'kg':>5} {'created':>8} " \
             f"{'due':>8} {'state':<10} reasons"
    print(header, file=out)
    for s in stored:
        o = s.order
        due = "-" if o.due_s is None else f"{o.due_s:.0f}"
        print(f"{printable(o.id):<12} {printable(o.depot_id):<10} "
              f"{o.dropoff.lat:>10.5f},{o.dropoff.lon:<11.5f} "
              f"{o.payload_kg:>5.2f} {o.created_s:>8.0f} {due:>8} {s.state.value:<10} "
              f"{printable('; '.join(s.reasons))}", file=out)
    print(f"{len(stored)} orders", file=out)
    return 0


def _row(s: StoredOrder) -> dict[str, object]:
    o = s.order
    return {"id": o.id, "depot": o.depot_id, "lat": o.dropoff.lat, "lon": o.dropoff.lon,
            "payload_kg": o.payload_kg, "created_s": o.created_s, "due_s": o.due_s,
            "priority": o.priority, "state": s.state.value, "reasons": list(s.reasons),
            "cancel_requested": s.cancel_requested}
