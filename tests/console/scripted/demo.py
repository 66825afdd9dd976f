"""The scripted double's demo scenario; ``python -m scripted.demo`` in ``tests/console`` runs the
console on it by hand.

Two depots in Canberra, an airport and two smaller no-fly zones,
six drones, orders arriving every 90 simulated seconds and dispatched automatically; every
action works by hand too.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from groundcontrol.console.model import DepotView, MapView, ZoneView
from planner.model import LatLon
from scripted.backend import ScriptedBackend, ScriptedScenario

__all__ = ["demo_scenario", "main"]


def demo_scenario(vehicles_per_depot: int = 3) -> ScriptedScenario:
    """The Canberra demo: depots north and south, airport, parliament and a hospital."""
    depots = (
        DepotView("NORTH", LatLon(-35.2380, 149.0840), "Belconnen"),
        DepotView("SOUTH", LatLon(-35.3420, 149.0900), "Woden"),
    )
    zones = (
        ZoneView("YSCB", center=LatLon(-35.3069, 149.1950), radius_m=3000.0, name="Airport"),
        ZoneView(
            "PARL",
            rings=(
                (
                    LatLon(-35.3020, 149.1180),
                    LatLon(-35.3020, 149.1320),
                    LatLon(-35.3140, 149.1320),
                    LatLon(-35.3140, 149.1180),
                ),
            ),
            name="Parliament",
        ),
        ZoneView("HOSP", center=LatLon(-35.2790, 149.1000), radius_m=500.0, name="Hospital"),
    )
    area = (
        LatLon(-35.2000, 149.0200),
        LatLon(-35.2000, 149.1800),
        LatLon(-35.2600, 149.2300),
        LatLon(-35.3900, 149.2100),
        LatLon(-35.3900, 149.0300),
    )
    fleet = tuple((f"{d.id[0]}{k}", d.id) for d in depots for k in range(1, vehicles_per_depot + 1))
    orders = (
        ("NORTH", -35.2650, 149.1250, 1.2),
        ("SOUTH", -35.3150, 149.1450, 0.8),
        ("NORTH", -35.2200, 149.1500, 2.0),
        ("SOUTH", -35.3700, 149.0600, 4.0),  # too heavy: infeasible
        ("SOUTH", -35.3600, 149.1300, 1.5),
    )
    return ScriptedScenario(MapView(depots, zones, area), fleet, orders)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speedup", type=float, default=10.0)
    parser.add_argument("--vehicles-per-depot", type=int, default=3)
    parser.add_argument("--order-every", type=float, default=90.0, metavar="SECONDS")
    parser.add_argument("--manual", action="store_true", help="no automatic dispatch")
    args = parser.parse_args(argv)
    from groundcontrol.console.app import ConsoleApp

    backend = ScriptedBackend(
        demo_scenario(args.vehicles_per_depot),
        speedup=args.speedup,
        auto_dispatch=not args.manual,
        order_every_s=args.order_every or None,
    )
    ConsoleApp(backend).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
