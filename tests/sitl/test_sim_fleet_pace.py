"""A SimFleet's pace can change while it runs (the fleet bench sets vehicles up at 10x,
then measures them flat out)."""

from __future__ import annotations

import time

import pytest

from sitl.sim import SimFleet

HOME = (-35.363261, 149.165230, 584.0, 353.0)


def test_a_fleet_runs_at_a_new_speedup_from_when_it_is_set() -> None:
    with SimFleet([HOME], speedup=1.0, base_port=0, serial1=False) as fleet:
        fleet.wait_sim(0.2, timeout_s=5.0)
        fleet.set_speedup(40.0)
        wall0, sim0 = time.perf_counter(), fleet.sim_time_s
        fleet.wait_sim(8.0, timeout_s=5.0)
        pace = (fleet.sim_time_s - sim0) / (time.perf_counter() - wall0)
        assert pace > 10.0, f"{pace:.1f}x after asking 40x"
        fleet.set_speedup(1.0)
        time.sleep(0.05)  # a service under way may finish at the old pace
        wall0, sim0 = time.perf_counter(), fleet.sim_time_s
        time.sleep(0.5)
        pace = (fleet.sim_time_s - sim0) / (time.perf_counter() - wall0)
        assert pace < 2.0, f"{pace:.1f}x after asking 1x: no catching up on the time before"


def test_a_speedup_must_be_positive() -> None:
    with SimFleet([HOME], base_port=0, serial1=False) as fleet, \
            pytest.raises(ValueError, match="positive"):
        fleet.set_speedup(0.0)
