"""The built-in simulator's fleet in a child process: the same vehicles on the wire, its clock,
a depot's battery charge, a clean stop, and a failed start named."""

from __future__ import annotations

import time

import pytest

from groundcontrol.mavlink.commands import send_stream_request
from groundcontrol.mavlink.link import LinkManager
from groundcontrol.mavlink.vehicle import VehicleTracker
from sitl.sim.server import SimulatorError
from sitl.sim_process import SimFleetProcess

pytestmark = pytest.mark.sim

HOME = (-35.363261, 149.165230, 584.0, 353.0)


def _until(cond, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_a_fleet_in_a_child_process_serves_clocks_charges_and_cpu() -> None:
    homes = [HOME, (HOME[0], HOME[1] + 0.0005, HOME[2], HOME[3])]
    with SimFleetProcess(homes=homes, speedup=10.0, base_port=0, sysid_base=7) as sim, \
            LinkManager(heartbeat_period_s=0.1) as links:
        assert len(sim.endpoints) == 2 and sim.error is None
        trackers = []
        for i, url in enumerate(sim.endpoints):
            channel = links.vehicle(url, sysid=7 + i, timeout_s=30.0)
            tracker = VehicleTracker(channel.sysid)
            channel.subscribe(tracker.update)
            trackers.append(tracker)
            send_stream_request(channel, 2, 10.0)
        t0, cpu0 = sim.sim_time_s, sim.cpu_s()
        time.sleep(0.5)
        assert sim.sim_time_s - t0 > 2.0, "the child's clock is published as it runs"
        assert sim.cpu_s() > cpu0, "the child's CPU time, not this process's"
        assert _until(lambda: trackers[1].snapshot().battery_pct == 100, 20.0)
        sim.set_charge(1, 0.4, 100.0)  # a depot's swap to a pack 40 % full
        assert _until(lambda: (trackers[1].snapshot().battery_pct or 100) <= 41, 20.0)
        assert trackers[0].snapshot().battery_pct == 100, "only the vehicle named"
    assert sim.error is not None and "exited" in sim.error


def test_a_fleet_that_cannot_start_is_a_named_error() -> None:
    with pytest.raises(SimulatorError, match=r"(?i)params_files|No such file|not found"):
        SimFleetProcess(homes=[HOME], speedup=1.0, base_port=0,
                        params_files=["/nonexistent/vehicle.parm"]).start()
