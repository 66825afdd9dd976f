"""Re-sync after a restart: what each vehicle is doing versus what the store says.

For every drone with an active assignment: an armed vehicle has its mission downloaded; if
it is the mission of one of the drone's assigned sorties, a follower is re-attached (the
flight is recorded as launched if the store had not seen the take-off yet). A vehicle on the
ground whose order the store has in flight finished while the controller was down: it counts
as delivered only with evidence from the vehicle (the same mission, completed or past the
delivery item), otherwise the order fails with the reason, so nothing is delivered twice.
Vehicles that start with the controller (the built-in simulator in its process) hold no such
evidence: they are back on their pads with the parcel, and the order flies again.
"""

from __future__ import annotations

import time

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import GroundControlError
from groundcontrol.fleet.core import FleetCore
from groundcontrol.fleet.flight_job import same_mission
from groundcontrol.fleet.model import FleetEventKind, battery_wh_of
from groundcontrol.fleet.outcome import at_depot, fail_order
from groundcontrol.fleet.store.sqlite import StoredState
from groundcontrol.mavlink.transfer import download
from groundcontrol.mavlink.vehicle import VehicleState
from missions.items import MissionItem, MissionType
from planner.dispatch_model import DroneLanded, DroneStatus, Sortie

__all__ = ["released_setting", "resync_vehicles"]


def released_setting(order_id: str) -> str:
    """The store setting that keeps the scenario time a flight reported the release of
    ``order_id`` (the store marks the delivery only at the landing): a restart whose vehicles
    cannot tell (the built-in simulator started again) counts the delivery from it."""
    return f"released {order_id}"


def resync_vehicles(ctl: FleetCore, state: StoredState, now: float) -> None:
    """Bring the controller in line with the vehicles (before its loop starts)."""
    for drone_id in ctl.drones:
        status = ctl.dispatcher.drone(drone_id).status
        if status is DroneStatus.FAULT:
            ctl.faults[drone_id] = "out of service before the restart"
        elif status is DroneStatus.LINK_LOST:
            ctl.link_lost.add(drone_id)  # the link watch says when it is back
    in_flight = set(state.in_flight)
    for drone_id in ctl.drones:
        sorties = sorted((s for s in state.active if s.drone_id == drone_id),
                         key=lambda s: s.turnaround_start_s)
        snap = ctl.trackers[drone_id].snapshot()
        if not sorties or snap.heartbeats == 0:
            continue
        if snap.armed:
            _armed(ctl, drone_id, sorties, in_flight, now)
            continue
        for sortie in sorties:
            if sortie.order_id in in_flight and ctl.config.vehicles_start_fresh:
                _fly_again(ctl, drone_id, sortie, snap, now)
            elif sortie.order_id in in_flight:
                _ended_unseen(ctl, drone_id, sortie, snap, now)


def _wait_mission_seq(ctl: FleetCore, drone_id: str) -> VehicleState:
    deadline = time.monotonic() + min(5.0, ctl.config.resync_wall_s)
    snap = ctl.trackers[drone_id].snapshot()
    while snap.mission_seq is None and time.monotonic() < deadline:
        time.sleep(0.05)
        snap = ctl.trackers[drone_id].snapshot()
    return snap


def _download(ctl: FleetCore, drone_id: str) -> tuple[MissionItem, ...] | None:
    try:
        return download(ctl.channels[drone_id], MissionType.MISSION)
    except GroundControlError as exc:
        ctl.emit(FleetEventKind.NOTE, f"resync: cannot read the mission: {exc}", drone_id,
                 severity="warning")
        return None


def _armed(ctl: FleetCore, drone_id: str, sorties: list[Sortie], in_flight: set[str],
           now: float) -> None:
    _wait_mission_seq(ctl, drone_id)
    items = _download(ctl, drone_id)
    match = None
    if items is not None:
        match = next((s for s in sorties if same_mission(ctl.mission_for(s), items)), None)
    if match is None:
        for sortie in sorties:
            if sortie.order_id in in_flight:
                fail_order(ctl, drone_id, sortie, "resync: the vehicle flies another mission",
                           now, recover=False)
                return
        ctl.fault(drone_id, "resync: armed with a mission the store does not know", now)
        return
    if match.order_id not in in_flight:
        ctl.store.start_flight(match.order_id, drone_id, now)
    ctl.emit(FleetEventKind.NOTE, f"resync: {drone_id} is flying {match.order_id}; following",
             drone_id, match.order_id)
    ctl.start_job(match, reattach=True)


def _fly_again(ctl: FleetCore, drone_id: str, sortie: Sortie, snap: VehicleState,
               now: float) -> None:
    """The vehicle started with this controller (``FleetConfig.vehicles_start_fresh``): the
    flight ended with the last process. Delivered if the flight had reported the release
    (``released_setting``), else the parcel is on board and the order flies again."""
    order_id = sortie.order_id
    capacity = ctl.scenario.profile_for(ctl.drones[drone_id]).battery_wh
    battery = battery_wh_of(snap, capacity)
    battery = capacity if battery is None else battery
    released = ctl.store.setting(released_setting(order_id))
    if released is not None:  # dropped off before the stop: delivered, never flown twice
        ctl.delivered_at.setdefault(order_id, float(released))
        ctl.store.end_flight(order_id, "delivered", now)
        ctl.dispatch(DroneLanded(drone_id, battery, True, order_id), now)
        ctl.emit(FleetEventKind.NOTE, f"resync: {order_id} was dropped off at t="
                 f"{float(released):.0f} s before the simulator stopped", drone_id, order_id)
        return
    ctl.why[order_id] = "the simulated drones restarted on their pads; flies again"
    ctl.store.end_flight(order_id, "aborted", now)
    ctl.dispatch(DroneLanded(drone_id, battery, False, order_id), now)
    ctl.emit(FleetEventKind.NOTE, f"resync: {order_id} was in the air when the simulator "
             "stopped; it flies again from the depot", drone_id, order_id)


def _ended_unseen(ctl: FleetCore, drone_id: str, sortie: Sortie, snap: VehicleState,
                  now: float) -> None:
    snap = _wait_mission_seq(ctl, drone_id)
    items = _download(ctl, drone_id)
    mission = ctl.mission_for(sortie)
    same = items is not None and same_mission(mission, items)
    seq = snap.mission_seq or 0
    passed = mission.delivery_seq is not None and seq > mission.delivery_seq
    completed = snap.mission_state == mavlink.MISSION_STATE_COMPLETE
    home = at_depot(snap, sortie)
    if same and home and (passed or completed):
        ctl.delivered_at.setdefault(sortie.order_id, now)
        ctl.store.end_flight(sortie.order_id, "delivered", now)
        capacity = ctl.scenario.profile_for(ctl.drones[drone_id]).battery_wh
        battery = battery_wh_of(snap, capacity)
        ctl.dispatch(DroneLanded(drone_id, sortie.landing_wh if battery is None else battery,
                                 True, sortie.order_id), now)
        ctl.emit(FleetEventKind.NOTE, f"resync: {sortie.order_id} was delivered while the "
                 "controller was down", drone_id, sortie.order_id)
        return
    reason = (f"resync: the flight ended while the controller was down; delivery not "
              f"confirmed (mission {'same' if same else 'changed'}, seq {seq}, "
              f"{'at' if home else 'away from'} the depot)")
    fail_order(ctl, drone_id, sortie, reason, now, recover=home)
