"""Fly a mission with DroneKit (dronekit2): ``python -m groundcontrol.cli.dronekit_example``.

Usage::

    python -m groundcontrol.cli.dronekit_example --connect tcp:127.0.0.1:5760 [--mission F.plan]

Without ``--mission`` it flies a small out-and-back around the vehicle's home. The steps are the
DroneKit idiom plus what ArduCopter needs: download (to learn home), clear, add the converted
commands, upload; GUIDED; arm; MAV_CMD_MISSION_START (AUTO does not start from the ground by
itself); follow ``commands.next``; wait until disarmed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from groundcontrol.mavlink.dronekit import to_dronekit_commands
from missions.items import Cmd, Frame, Mission, MissionItem

__all__ = ["demo_mission", "fly", "main"]


def demo_mission(lat: float, lon: float, alt_amsl_m: float, alt_m: float = 20.0) -> Mission:
    """Takeoff, two waypoints ~100 m away, back and land at home."""
    items = (
        MissionItem(0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=lat, y=lon, z=alt_amsl_m),
        MissionItem(1, Cmd.NAV_TAKEOFF, z=alt_m),
        MissionItem(2, Cmd.NAV_WAYPOINT, x=lat + 0.0009, y=lon, z=alt_m),
        MissionItem(3, Cmd.NAV_WAYPOINT, x=lat + 0.0009, y=lon + 0.0011, z=alt_m),
        MissionItem(4, Cmd.NAV_WAYPOINT, x=lat, y=lon, z=alt_m),
        MissionItem(5, Cmd.NAV_LAND, x=lat, y=lon, z=0),
    )
    return Mission("dronekit-demo", items)


def _wait(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:.0f} s")
        time.sleep(0.05)


def fly(vehicle: Any, mission: Mission, speedup: float = 1.0, timeout_s: float = 600.0,
        log: Any = print) -> None:
    """Upload ``mission`` with DroneKit and fly it until the vehicle disarms.

    Raises:
        TimeoutError: a step did not finish in time (scaled by ``speedup``).
    """
    from dronekit import VehicleMode
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    cmds = vehicle.commands
    # No cmds.download(): against an ArduCopter without a mission (MISSION_COUNT 0) DroneKit
    # asks for item 0 anyway and waits forever. Home goes first instead.
    cmds.clear()
    for cmd in to_dronekit_commands(mission, include_home=True):
        cmds.add(cmd)
    cmds.upload(timeout=30)
    log(f"uploaded {cmds.count} commands")
    _wait(lambda: vehicle.is_armable, 120 / speedup + 10, "vehicle armable")
    vehicle.mode = VehicleMode("GUIDED")
    _wait(lambda: vehicle.mode.name == "GUIDED", 10, "GUIDED")
    for _ in range(10):
        vehicle.armed = True
        try:
            _wait(lambda: vehicle.armed, 3, "armed")
            break
        except TimeoutError:
            time.sleep(2 / speedup)
    msg = vehicle.message_factory.command_long_encode(
        0, 0, mavlink.MAV_CMD_MISSION_START, 0, 0, 0, 0, 0, 0, 0, 0)
    vehicle.send_mavlink(msg)
    _wait(lambda: vehicle.mode.name == "AUTO", 10, "AUTO")
    log("mission started")
    last = None
    deadline = time.monotonic() + timeout_s
    while vehicle.armed:
        if cmds.next != last:
            last = cmds.next
            log(f"next command {last}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"mission still flying after {timeout_s:.0f} s")
        time.sleep(0.1)
    log("landed and disarmed")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", default="tcp:127.0.0.1:5760")
    parser.add_argument("--mission", type=Path, help=".plan or .waypoints (default: demo)")
    parser.add_argument("--speedup", type=float, default=1.0)
    args = parser.parse_args(argv)
    import dronekit

    vehicle = dronekit.connect(args.connect, wait_ready=True, timeout=60)
    try:
        if args.mission is not None:
            from groundcontrol.cli.fly import load_mission

            mission = load_mission(args.mission)
        else:
            _request_home(vehicle)
            _wait(lambda: vehicle.home_location is not None, 60, "home position")
            home = vehicle.home_location
            if home is None or home.lat is None or home.lon is None or home.alt is None:
                raise TimeoutError("the vehicle reported no home position")
            mission = demo_mission(home.lat, home.lon, home.alt)
        fly(vehicle, mission, args.speedup)
    except TimeoutError as exc:
        print(f"dronekit_example: {exc}", file=sys.stderr)
        return 1
    finally:
        vehicle.close()
    return 0


def _request_home(vehicle: Any) -> None:
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    vehicle.send_mavlink(vehicle.message_factory.command_long_encode(
        0, 0, mavlink.MAV_CMD_REQUEST_MESSAGE, 0, mavlink.MAVLINK_MSG_ID_HOME_POSITION,
        0, 0, 0, 0, 0, 0))


if __name__ == "__main__":
    sys.exit(main())
