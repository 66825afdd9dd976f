"""Contingencies on the built-in simulator: returns that never enter a no-fly zone.

The built-in simulator flies SMART_RTL, the failsafe actions and the fence's give-up rule as
ArduCopter 4.7 does (checked against real SITL in ``test_contingency_sitl.py``). A seeded slice
of ``python -m bench safety``'s sweep runs here in lock step (no sockets, a few seconds per
flight); the bench runs hundreds.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.bench_safety import (
    MARGIN_M,
    PARAMS,
    SCENARIO,
    _context,
    plan_cases,
    run_case,
)
from planner.clearance import smallest_clearance, track_clearances
from planner.model import LatLon
from sitl.airframe import load_airframe
from sitl.sim.lockstep import CONTINGENCIES, LockstepFlight, fly_lockstep


def _fly(order_id: str, contingency: str | None, at: str, keep_needs: bool = True,
         **params: float) -> tuple[LockstepFlight, float]:
    _, missions, prepared = _context()
    mission = missions[order_id]
    if not keep_needs:
        mission = replace(mission, required_params=())
    frame = load_airframe(mission.meta["profile"])
    # Where to inject: when the copter reaches the drop-off, from the plan's phase times.
    planned = {"drop-off": float(mission.meta["planned_out_s"]) + 5.0, "start": 30.0}[at]
    flight = fly_lockstep(
        mission, param_files=[PARAMS / "copter.parm", frame.parm_path,
                              PARAMS / "delivery.parm", SCENARIO / "vehicle.parm"],
        params=params, airframe=frame, contingency=contingency, inject_at_s=planned)
    points = [LatLon(p.lat, p.lon) for p in flight.track]
    worst = smallest_clearance(track_clearances(prepared, points,
                                                [p.alt_m for p in flight.track]))
    assert worst is not None
    return flight, worst.clearance_m


def test_a_fence_breach_at_the_drop_off_retraces_the_route_round_the_stadium() -> None:
    flight, clearance = _fly("CBR-040", "fence", "drop-off")
    assert flight.modes[-1] == "SMART_RTL" and "Circle fence breached" in flight.texts
    assert flight.landed_home_m is not None and flight.landed_home_m < 5.0
    assert clearance >= MARGIN_M


def test_a_plain_rtl_after_the_same_breach_flies_through_the_stadium_zone() -> None:
    # What ArduCopter SITL did before (698 m inside the zone): FENCE_ACTION 1 flies straight.
    flight, clearance = _fly("CBR-040", "fence", "drop-off", keep_needs=False, FENCE_ACTION=1,
                             FENCE_ENABLE=1)
    assert flight.modes[-1] == "RTL"
    assert clearance < 0.0


def test_without_a_smartrtl_path_the_failsafe_lands_where_the_copter_is() -> None:
    flight, clearance = _fly("CBR-040", "battery_low", "drop-off", keep_needs=False,
                             SRTL_POINTS=0)
    assert "SmartRTL Unavailable, Using Land Mode" in flight.texts
    assert flight.modes[-1] == "LAND" and (flight.landed_home_m or 0.0) > 1000.0
    assert clearance >= MARGIN_M


def test_a_lost_gps_lands_where_the_copter_is() -> None:
    flight, clearance = _fly("CBR-040", "ekf", "drop-off")
    assert "EKF Failsafe: changed to LAND Mode" in flight.texts
    assert "SmartRTL deactivated: bad position" in flight.texts
    assert flight.modes[-1] == "LAND" and clearance >= MARGIN_M


def test_a_seeded_slice_of_the_sweep_has_no_incursion_and_keeps_the_margin() -> None:
    scenario, missions, _ = _context()
    cases = plan_cases(scenario, missions, orders_per_kind=1, points=1, seed=11,
                       kinds=("hospital",))
    assert {c.contingency for c in cases} == {None, *CONTINGENCIES}
    results = [run_case(c) for c in cases]
    worst = min(results, key=lambda r: r.smallest_m if r.smallest_m is not None else 1e9)
    assert worst.smallest_m is not None and worst.smallest_m >= MARGIN_M, worst
    by_kind = {r.case.contingency: r.ended for r in results}
    assert by_kind["battery_critical"] == by_kind["ekf"] == "landed here"
    assert by_kind["gcs"] == by_kind["operator"] == "home"


@pytest.mark.parametrize("contingency", ["nonsense"])
def test_an_unknown_contingency_is_refused(contingency: str) -> None:
    with pytest.raises(ValueError, match="unknown contingency"):
        _fly("CBR-040", contingency, "start")
