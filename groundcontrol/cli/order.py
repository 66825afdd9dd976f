"""``drone-delivery order add|list|import|cancel``: orders in the dispatch store.

Times are on the scenario clock (seconds); without ``--at`` an order is placed "now", the
seconds since midnight UTC. A running dispatcher picks new orders and cancellations up from
the store (``Store.undispatched``); cancelling an order the dispatcher already holds is a
request it answers (refused once the sortie has begun).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TextIO

from groundcontrol.fleet.intake import add_order, import_orders
from groundcontrol.fleet.store.sqlite import OrderState, Store, StoredOrder

__all__ = ["DEFAULT_STORE", "register"]

DEFAULT_STORE = Path("dispatch.db")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", type=Path, default=DEFAULT_STORE,
                        help=f"dispatch database (default: {DEFAULT_STORE})")
    p = sub.add_parser("order", help="add, list, import or cancel delivery orders",
                       description="Orders in the dispatch store.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    add = verbs.add_parser("add", parents=[common], help="place one order")
    add.add_argument("--depot", required=True, help="depot id the parcel leaves from")
    add.add_argument("--to", required=True, metavar="LAT,LON", help="drop-off point")
    add.add_argument("--payload", required=True, type=float, metavar="KG", help="parcel mass")
    add.add_argument("--due", help="due time: scenario seconds, or +MIN / +90s / +2h")
    add.add_argument("--id", dest="order_id", help="order id (default: next ORD-NNNNN)")
    add.add_argument("--at", type=float, metavar="S", help="placed at (scenario seconds)")
    add.add_argument("--priority", type=int, default=0)
    add.set_defaults(func=_add)
    # Southern and western drop-offs start with "-": let "--to -35.3,149.1" be a value, as
    # "--to=-35.3,149.1" always is (argparse otherwise reads it as an unknown option).
    add._negative_number_matcher = re.compile(r"^-\d*\.?\d+(,\s*-?\d*\.?\d+)?$")

    listing = verbs.add_parser("list", parents=[common], help="show stored orders")
    listing.add_argument("--state", choices=[s.value for s in OrderState])
    listing.add_argument("--json", action="store_true", help="one JSON object per order")
    listing.set_defaults(func=_list)

    imp = verbs.add_parser("import", parents=[common], help="store a CSV or JSON order file "
                                                             "(all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--at", type=float, metavar="S", help="received at (scenario seconds)")
    imp.set_defaults(func=_import)

    cancel = verbs.add_parser("cancel", parents=[common], help="cancel an order")
    cancel.add_argument("order_id", metavar="ID")
    cancel.add_argument("--at", type=float, metavar="S")
    cancel.set_defaults(func=_cancel)


def _add(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    with Store.open(args.store) as store:
        order = add_order(store, depot_id=args.depot, to=args.to, payload_kg=args.payload,
                          order_id=args.order_id, created_s=args.at, due=args.due,
                          priority=args.priority)
    print(f"stored order {order.id}", file=out)
    return 0


def _import(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    with Store.open(args.store) as store:
        orders = import_orders(store, args.file, args.at)
    print(f"stored {len(orders)} orders from {args.file}", file=out)
    return 0


def _cancel(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    from groundcontrol.fleet.intake import scenario_clock_s

    with Store.open(args.store) as store:
        state = store.request_cancel(args.order_id, scenario_clock_s() if args.at is None
                                     else args.at)
    if state is OrderState.CANCELLED:
        print(f"order {args.order_id} cancelled", file=out)
    else:
        print(f"order {args.order_id} is {state.value}: cancellation requested from the "
              "dispatcher", file=out)
    return 0


def _list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # at call time: tests swap sys.stdout
    with Store.open(args.store) as store:
        stored = store.orders(OrderState(args.state) if args.state else None)
    if args.json:
        for s in stored:
            print(json.dumps(_row(s)), file=out)
        return 0
    header = f"{'order':<12} {'depot':<10} {'drop-off':<22} {'kg':>5} {'created':>8} " \
             f"{'due':>8} {'state':<10} reasons"
    print(header, file=out)
    for s in stored:
        o = s.order
        due = "-" if o.due_s is None else f"{o.due_s:.0f}"
        print(f"{o.id:<12} {o.depot_id:<10} {o.dropoff.lat:>10.5f},{o.dropoff.lon:<11.5f} "
              f"{o.payload_kg:>5.2f} {o.created_s:>8.0f} {due:>8} {s.state.value:<10} "
              f"{'; '.join(s.reasons)}", file=out)
    print(f"{len(stored)} orders", file=out)
    return 0


def _row(s: StoredOrder) -> dict[str, object]:
    o = s.order
    return {"id": o.id, "depot": o.depot_id, "lat": o.dropoff.lat, "lon": o.dropoff.lon,
            "payload_kg": o.payload_kg, "created_s": o.created_s, "due_s": o.due_s,
            "priority": o.priority, "state": s.state.value, "reasons": list(s.reasons),
            "cancel_requested": s.cancel_requested}
