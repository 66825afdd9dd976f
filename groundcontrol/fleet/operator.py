"""An operator's hand on one drone of a running fleet: ``VehicleOp``s over the channel the
controller already holds, never under a delivery.

Reading (a parameter, the parameter list, the vehicle's mission to a file) is always allowed.
Anything that changes the vehicle (arm, disarm, mode, go-to, a parameter, an upload) is refused
while a flight job has the drone, from its pre-flight on the pad to its landing, with the reason
naming the order: the flight owns the mode, the mission and the arming until it ends. While an
operation runs the drone is held (``controller.operating``): the controller starts no flight on
it, so a turnaround cannot upload over the operator's mission halfway.
"""

from __future__ import annotations

from groundcontrol.fleet.controller import FleetActionError, FleetController
from groundcontrol.fleet.model import DroneActivity
from groundcontrol.flight.operate import OpDone, perform
from groundcontrol.flight.vehicle_ops import VehicleOp

__all__ = ["FleetOperator"]

_ON_THE_PAD = frozenset({DroneActivity.PREFLIGHT, DroneActivity.UPLOADING,
                         DroneActivity.LANDED, DroneActivity.CHARGING})


class FleetOperator:
    """Carries out ``VehicleOp``s on the drones of ``controller`` (any thread but the
    controller's loop: an operation blocks on MAVLink round trips)."""

    def __init__(self, controller: FleetController) -> None:
        self.controller = controller

    def operate(self, drone_id: str, op: VehicleOp) -> OpDone:
        """Carry out ``op`` on ``drone_id``.

        Raises:
            FleetActionError: refused (unknown drone, a delivery has it, another operation on
                it is under way), with the reason.
            GroundControlError: the vehicle refused or did not answer.
            ValueError: an upload's file cannot be read or fails validation.
        """
        ctl = self.controller
        if drone_id not in ctl.drones:
            raise FleetActionError(f"unknown drone {drone_id!r}")
        channel = ctl.channels[drone_id]
        if op.reads_only:
            return perform(channel, op)
        ctl.call(lambda: self._hold(drone_id, op))
        try:
            return perform(channel, op)
        finally:
            ctl.operating.discard(drone_id)

    def _hold(self, drone_id: str, op: VehicleOp) -> None:
        """On the loop thread: refuse under a flight job, else hold the drone."""
        ctl = self.controller
        job = ctl.jobs.get(drone_id)
        if job is not None:
            raise FleetActionError(refusal(drone_id, op, job.order_id, ctl.activity(drone_id)))
        if drone_id in ctl.operating:
            raise FleetActionError(f"{drone_id}: another operation is under way; wait for "
                                   "its answer")
        ctl.operating.add(drone_id)


def refusal(drone_id: str, op: VehicleOp, order_id: str, activity: DroneActivity) -> str:
    """Why ``op`` is refused on a drone a delivery has.

    >>> from groundcontrol.flight.vehicle_ops import Disarm
    >>> refusal("mit-q1", Disarm(), "C001", DroneActivity.EN_ROUTE)  # doctest: +ELLIPSIS
    'mit-q1 is flying C001 (en route): disarm would disturb that delivery; pause ...'
    """
    verb = "is getting ready to fly" if activity in _ON_THE_PAD else "is flying"
    return (f"{drone_id} {verb} {order_id} ({activity.value}): {op.describe()} would disturb "
            "that delivery; pause it to hold where it is, or abort it and operate once it has "
            "landed (reading parameters and downloading work now)")
