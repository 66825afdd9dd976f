"""Contingencies on real ArduCopter SITL: every return stays out of every no-fly zone.

CBR-040 bends round the GIO Stadium zone. Before this work a circle-fence breach at its
drop-off started a straight RTL that flew 698 m inside the stadium zone (ArduPilot's own log).
Each case flies the order with the product's ``Flight`` on a fresh SITL instance, injects one
contingency where it matters (the drop-off, the corner beside the zone on the way back), and
judges SITL's true track (the dataflash SIM message) against every zone: no incursion, and the
smallest clearance at or above the planner's margin. The same cases run on the built-in
simulator in ``test_contingency_sweep.py``; ``python -m bench safety`` runs hundreds there. A
low battery takes the same SmartRTL-or-Land action as a fence breach: it runs on SITL in the
bench's checks (``python -m bench safety --sitl``), not here, to keep the tier short. A lost
ground station in AUTO flies the planned mission on (FS_OPTIONS bit 1).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.bench_safety import MARGIN_M, SCENARIO, _context
from bench.sweep_sitl import fly_sitl_case
from planner.clearance import smallest_clearance, track_clearances
from sitl.ardupilot import SitlNotFound, free_instance

pytestmark = pytest.mark.sitl

AUTO, LAND, SMART_RTL = 3, 9, 21
SPEEDUP = 40.0
"""As the fidelity bench flies SITL: a whole CBR-040 in about 20 s of wall time."""


@pytest.mark.parametrize(
    ("kind", "where", "mode", "text"),
    [
        ("fence", "drop-off", SMART_RTL, "Circle fence breached"),
        ("gcs", "return", AUTO, "GCS Failsafe - Continuing Auto Mode"),
        ("operator", "drop-off", SMART_RTL, None),
        ("ekf", "return", LAND, "EKF Failsafe: changed to LAND Mode"),
    ],
)
def test_a_contingency_on_sitl_returns_clear_of_every_zone(
    kind: str, where: str, mode: int, text: str | None, tmp_path: Path
) -> None:
    _, missions, prepared = _context()
    mission = missions["CBR-040"]
    seq = (mission.dropoff_seq or 0) if where == "drop-off" else int(mission.meta["return_seq"])
    try:
        case = fly_sitl_case(mission, kind, seq, tmp_path, params=[SCENARIO / "vehicle.parm"],
                             speedup=SPEEDUP,
                             first_instance=free_instance(1, start=random.randint(20, 200)))
    except SitlNotFound as exc:
        pytest.skip(f"ArduPilot SITL not usable here: {exc}")
    assert case.modes[-1] == mode, (case.modes, case.outcome)
    assert text is None or text in case.texts, case.texts
    worst = smallest_clearance(track_clearances(prepared, case.points, case.alts_m))
    assert worst is not None and worst.zone_id == "gio-stadium"
    assert worst.clearance_m >= MARGIN_M, worst
