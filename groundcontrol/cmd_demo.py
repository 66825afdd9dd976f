"""``drone-delivery demo``: the README's main job.

For now it plans the example scenario and prints the result table (issue 2); the fleet demo
(simulated drones, dispatch, flights and the console) replaces it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from groundcontrol.cmd_plan import add_scenario_arguments, load_from_args, plan_scenario, print_table

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the demo on the example scenario",
                       description="Plan the example scenario's orders and show the result.")
    add_scenario_arguments(p)
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="where missions go")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_from_args(args)
    print(f"{scenario.name}: {scenario.description}\n")
    outcomes = plan_scenario(scenario, margin_m=args.margin, out_dir=args.out)
    print_table(outcomes)
    print(f"missions written to {args.out}/")
    return 0
