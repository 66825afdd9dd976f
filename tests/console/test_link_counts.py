"""The tracker's link counters (issue 12's link quality): messages received and lost per
vehicle, from the gaps in each component's MAVLink sequence numbers, as MAVProxy counts link
loss."""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.mavlink.vehicle import VehicleTracker


class _Radio:
    """Packs heartbeats as a vehicle's component does: one sequence number each."""

    def __init__(self, compid: int = 1) -> None:
        self.mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=compid)

    def message(self) -> mavlink.MAVLink_message:
        msg = mavlink.MAVLink_heartbeat_message(mavlink.MAV_TYPE_QUADROTOR,
                                                mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 3, 3)
        packed = bytearray(msg.pack(self.mav))
        self.mav.seq = (self.mav.seq + 1) % 256  # as MAVLink.send does
        return self.mav.decode(packed)


def test_the_tracker_counts_messages_lost_from_sequence_gaps() -> None:
    tracker, radio, other = VehicleTracker(1), _Radio(1), _Radio(191)
    for n in range(300):  # past the 255 wrap
        msg, side = radio.message(), other.message()
        if n % 10 != 3:  # every tenth message of the autopilot lost on the way
            tracker.update(msg)
        tracker.update(side)  # another component: its own numbering, nothing lost
    state = tracker.snapshot()
    assert state.link_received == 270 + 300
    assert state.link_lost == 30


def test_a_duplicate_is_not_a_loss() -> None:
    tracker, radio = VehicleTracker(1), _Radio()
    msg = radio.message()
    tracker.update(msg)
    tracker.update(msg)
    assert tracker.snapshot().link_lost == 0
