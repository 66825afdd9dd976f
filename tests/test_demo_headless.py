"""``drone-delivery demo --headless`` as CI runs it: a handful of orders, summary checked.

The run uses a copy of the Canberra scenario with three Mitchell drones (the demo command
takes any scenario folder), so it stays within a minute or two on two cores. The summary must
account for every order, and the infeasible ones by the planner's reasons.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ("CBR-060", "CBR-061", "CBR-012")
"""Two short Mitchell deliveries and one parcel too heavy for the delivery quad (3.4 kg)."""


def test_headless_demo_summary_accounts_for_every_order(tmp_path: Path,
                                                        canberra_copy) -> None:
    folder = canberra_copy(tmp_path / "canberra-small", 3, ORDERS, 20.0)
    store = tmp_path / "demo.sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "groundcontrol.cli.main", "demo", str(folder), "--headless",
         "--speedup", "50", "--orders", "3", "--store", str(store), "--timeout", "240"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr

    head = re.search(r"orders (\d+): delivered (\d+), infeasible (\d+), failed (\d+), "
                     r"cancelled (\d+), open (\d+)", out)
    assert head, out
    total, delivered, infeasible, failed, cancelled, still_open = map(int, head.groups())
    assert total == 3 and still_open == 0
    assert delivered + infeasible + failed + cancelled == total
    assert infeasible == 1 and delivered == 2, out
    reasons = dict(re.findall(r"infeasible: (\w+): (\d+)", out))
    assert reasons == {"payload": "1"}
    timing = re.search(r"mean delivery time ([\d.]+) min, on time (\d+)/(\d+)", out)
    assert timing, out
    assert 0 < float(timing.group(1)) < 30 and int(timing.group(3)) == delivered
    # Progress lines came before the summary: each launch and each delivery was reported.
    assert out.count("starting the flight of") >= delivered
    assert out.count("Gripper Released") >= delivered
    # How fast the day ran: simulated minutes over wall seconds, against the 50x asked.
    pace = re.search(r"simulated ([\d.]+) min in (\d+) s wall: ([\d.]+)x \(asked 50x\)", out)
    assert pace, out
    sim_min, wall_s, reached = float(pace.group(1)), int(pace.group(2)), float(pace.group(3))
    assert sim_min > 2 and 0 < reached <= 55
    assert abs(reached - 60 * sim_min / max(wall_s, 1)) < 0.1 * reached + 1
    # It says where its day is kept, and how to read it back.
    assert out.rstrip().splitlines()[-1] == (
        f"store: {store} (the same command resumes the day; drone-delivery report --store "
        f"{store})")
    # The store knows its scenario, as run's does: order add checks against it, replay and
    # report draw its map from it.
    from groundcontrol.fleet.intake import stored_scenario
    from groundcontrol.fleet.store.sqlite import Store

    with Store.open(store, create=False) as kept:
        recorded = stored_scenario(kept)
    assert recorded is not None and len(recorded[0].fleet) == 3 and recorded[1] == 30.0
