"""A real ``.tlog``: the example scenario's shortest delivery flown once per test session on
the built-in simulator (``fly --tlog``), shared by the console and CLI replay tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FlownTlog", "flown_tlog"]


@dataclass(frozen=True)
class FlownTlog:
    plan: Path
    tlog: Path


_FLOWN: dict[str, FlownTlog] = {}


def flown_tlog(base: Path) -> FlownTlog:
    """Plan Canberra, fly its shortest order with a tlog under ``base`` (once per process)."""
    if "flown" in _FLOWN:
        return _FLOWN["flown"]
    from groundcontrol.cli.main import main
    from groundcontrol.cli.plan import plan_scenario
    from groundcontrol.scenarios import resolve_scenario
    from planner.load import load_scenario

    out = base / "replay-missions"
    out.mkdir(parents=True, exist_ok=True)
    outcomes = plan_scenario(load_scenario(resolve_scenario("canberra")), out_dir=out)
    best = min((p for p in outcomes if p.files), key=lambda p: p.result.plan.flight_time_s)
    plan = next(f for f in best.files if f.suffix == ".plan")
    tlog = base / "replay-flight.tlog"
    code = main(["fly", str(plan), "--backend", "builtin", "--speedup", "50",
                 "--tlog", str(tlog)])
    assert code == 0, "the flight the replay tests replay did not succeed"
    _FLOWN["flown"] = FlownTlog(plan, tlog)
    return _FLOWN["flown"]
