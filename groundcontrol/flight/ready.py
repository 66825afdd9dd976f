"""Readiness of a launched vehicle, checked over MAVLink with the ground-control code.

``ArduPilotSitl.wait_ready`` takes a ``ready(endpoint, timeout_s)`` callable so the launcher stays
a process manager; this module supplies the real one. It connects as a ground station, asks for
telemetry (ArduPilot sends only HEARTBEAT until asked), and waits until the EKF uses GPS, home is
set and the pre-arm bit is healthy: the same test ``groundcontrol.flight.preflight.wait_ready``
applies before a flight. ArduCopter SITL needs about 42 simulated seconds for that (boot_to_ready).

The connection is closed afterwards: SITL serves one client per TCP port, and the caller (a
test, ``drone-delivery fly``) connects next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from groundcontrol.errors import GroundControlError
from groundcontrol.flight.preflight import wait_ready
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.link import Link
from groundcontrol.mavlink.vehicle import VehicleTracker
from sitl.ardupilot import ReadyCheck

__all__ = ["NotReady", "ReadyReport", "ekf_ready_check", "wait_vehicle_ready"]


class NotReady(GroundControlError):
    """The vehicle at an endpoint was not ready to arm in time; says what was missing."""

    def __init__(self, endpoint: str, detail: str) -> None:
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(f"{endpoint}: {detail}")


@dataclass(frozen=True, slots=True)
class ReadyReport:
    """What the readiness wait saw on one endpoint."""

    endpoint: str
    sysid: int
    detail: str
    """e.g. ``EKF flags 0x33f``."""


def wait_vehicle_ready(endpoint: str, timeout_s: float, speedup: float = 1.0,
                       sysid: int | None = None) -> ReadyReport:
    """Connect to ``endpoint`` and wait until its vehicle is ready to arm.

    Args:
        endpoint: MAVLink URL, e.g. ``tcp:127.0.0.1:5760``.
        timeout_s: wall seconds for the whole wait (connection, first HEARTBEAT, EKF).
        speedup: the simulator's speedup, so the GCS heartbeat is 1 Hz in vehicle time.
        sysid: the expected system id (None: the first vehicle heard).

    Raises:
        NotReady: no HEARTBEAT, or the EKF/home/pre-arm state never became ready in time.
        LinkError: the endpoint cannot be connected to within ``timeout_s``.
    """
    if timeout_s <= 0 or speedup <= 0:
        raise ValueError(f"timeout_s and speedup must be positive, got {timeout_s}, {speedup}")
    deadline = time.monotonic() + timeout_s
    link = Link(endpoint, heartbeat_period_s=1.0 / speedup, reconnect=True,
                connect_timeout_s=timeout_s)
    with link:
        try:
            channel = link.wait_vehicle(sysid, timeout_s=timeout_s)
        except GroundControlError as exc:
            raise NotReady(endpoint, f"no HEARTBEAT: {exc}") from exc
        tracker = VehicleTracker(channel.sysid)
        unsubscribe = channel.subscribe(tracker.update)
        try:
            # A refused interval is not fatal here: REQUEST_DATA_STREAM alone carries the
            # EKF_STATUS_REPORT and HOME_POSITION readiness needs.
            Commander(channel).request_streams()
            # wait_ready counts the vehicle's own seconds: the wall time left times the speedup.
            left_s = max(0.1, deadline - time.monotonic())
            result = wait_ready(tracker, timeout_s=left_s * speedup, speedup=speedup)
        finally:
            unsubscribe()
    if not result.ok:
        raise NotReady(endpoint, result.detail)
    return ReadyReport(endpoint, channel.sysid, result.detail)


def ekf_ready_check(speedup: float = 1.0) -> ReadyCheck:
    """A ``ready(endpoint, timeout_s)`` for ``ArduPilotSitl.wait_ready`` at this speedup."""

    def ready(endpoint: str, timeout_s: float) -> None:
        wait_vehicle_ready(endpoint, timeout_s, speedup)

    return ready
