"""DroneKit interop: conversion, and a DroneKit flight against the built-in simulator."""

from __future__ import annotations

import pytest

dronekit = pytest.importorskip("dronekit")

from groundcontrol.cli.dronekit_example import demo_mission  # noqa: E402
from groundcontrol.mavlink.dronekit import mission_from_commands, to_dronekit_commands  # noqa: E402


def test_commands_leave_out_home_and_keep_every_field():
    mission = demo_mission(-35.363261, 149.165230, 584.0)
    cmds = to_dronekit_commands(mission)
    assert len(cmds) == len(mission.items) - 1
    assert all(isinstance(c, dronekit.Command) for c in cmds)
    assert [c.command for c in cmds] == [i.command for i in mission.items[1:]]
    back = mission_from_commands("x", mission.items[0], cmds)
    assert back.items == mission.items
    ints = to_dronekit_commands(mission, integer=True)
    assert isinstance(ints[1], dronekit.CommandInt) and ints[1].x == mission.items[2].x_int
    assert mission_from_commands("x", mission.items[0], ints).items == mission.items


@pytest.mark.sim
def test_dronekit_example_flies_the_builtin_simulator():
    sim = pytest.importorskip("sitl.sim")
    from groundcontrol.cli.dronekit_example import fly

    speedup = 10.0
    with sim.SimFleet(homes=[(-35.363261, 149.165230, 584.0, 353.0)], speedup=speedup,
                      base_port=0) as fleet:
        vehicle = dronekit.connect(fleet.endpoints[0], wait_ready=True, timeout=60)
        try:
            home = (-35.363261, 149.165230, 584.0)
            mission = demo_mission(*home)
            lines: list[str] = []
            fly(vehicle, mission, speedup, timeout_s=120, log=lines.append)
            assert "landed and disarmed" in lines and "mission started" in lines
            assert f"uploaded {len(mission.items) - 1} commands" in lines
            assert any(line == "next command 5" for line in lines)  # reached the final land
            assert not vehicle.armed
        finally:
            vehicle.close()
