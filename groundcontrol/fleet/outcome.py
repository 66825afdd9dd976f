"""How the end of a flight becomes store records and dispatcher events.

Rules (each keeps "delivered at most once, never lost"):

* Never left the pad (pre-flight, upload or arming failed, crew timeout, operator abort): the
  order flies again, on this drone or another; the drone is faulted unless the operator
  aborted (and, with ``auto_recover_s``, put back in service later).
* Delivered: the store records the delivery first (its unique index refuses a second one),
  then the dispatcher hears of the landing. A drone that did not come back to its depot,
  landed and disarmed, is faulted.
* Not delivered, back at the depot: the parcel is still on board, the order flies again.
  After a restart the controller cannot know what happened before it re-attached, so such an
  order fails instead of risking a second delivery.
* Anything else (failsafe away from the depot, link lost, timeout): the drone is faulted and
  its order fails with the reason. A landing the operator asked for ("Land here") away from
  the depot is named as such: the drone needs recovery, the order was not delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groundcontrol.fleet.core import FleetCore
from groundcontrol.fleet.model import battery_wh_of
from groundcontrol.fleet.store.sqlite import OrderState
from groundcontrol.flight.flight import FlightOutcome, FlightReason
from groundcontrol.flight.preflight import distance_m
from groundcontrol.mavlink.vehicle import VehicleState
from planner.dispatch_model import DroneLanded, Sortie

if TYPE_CHECKING:
    from groundcontrol.fleet.flight_job import FlightJob

__all__ = ["AT_DEPOT_M", "LANDED_ON_REQUEST", "at_depot", "settle_outcome"]

AT_DEPOT_M = 100.0
"""A vehicle this close to its sortie's depot has come home."""
LANDED_ON_REQUEST = "landed away from the depot on operator request; the drone needs recovery"
"""How a flight the operator landed where it was ends (ArduCopter disarms and resets the
mission after such a landing: that is what was asked, not a fault of the vehicle's)."""


def at_depot(state: VehicleState, sortie: Sortie) -> bool:
    """True when the vehicle reports a position within ``AT_DEPOT_M`` of the sortie's depot."""
    if state.lat_deg is None or state.lon_deg is None:
        return False
    depot = sortie.plan.depot.position
    return distance_m(state.lat_deg, state.lon_deg, depot.lat, depot.lon) <= AT_DEPOT_M


def _battery_wh(ctl: FleetCore, job: FlightJob) -> float:
    capacity = ctl.scenario.profile_for(ctl.drones[job.drone_id]).battery_wh
    measured = battery_wh_of(ctl.trackers[job.drone_id].snapshot(), capacity)
    return max(0.0, job.sortie.landing_wh) if measured is None else measured


def _committed(ctl: FleetCore, order_id: str) -> bool:
    return any(s.order_id == order_id for s in ctl.dispatcher.in_flight())


def settle_outcome(ctl: FleetCore, job: FlightJob, outcome: FlightOutcome,
                   now: float) -> None:
    """Record how ``job`` ended (on the controller's loop thread)."""
    reason = outcome.reason.value + (f": {outcome.detail}" if outcome.detail else "")
    if not job.took_off:
        _never_flew(ctl, job, outcome, reason, now)
        return
    home = at_depot(ctl.trackers[job.drone_id].snapshot(), job.sortie) and outcome.landed \
        and outcome.disarmed
    if not home and _landed_on_request(job):
        reason = LANDED_ON_REQUEST
    if outcome.delivered:
        ctl.delivered_at.setdefault(job.order_id, now)
        _end(ctl, job.order_id, "delivered", now, outcome)
        ctl.dispatch(DroneLanded(job.drone_id, _battery_wh(ctl, job), True, job.order_id), now)
        if not home:
            ctl.fault(job.drone_id, f"delivered, then {reason}", now)
        return
    if reason == LANDED_ON_REQUEST:
        reason = f"not delivered: {LANDED_ON_REQUEST} (the parcel is on board)"
    if home and not job.reattach:
        ctl.why[job.order_id] = f"came back with the parcel ({reason}); flies again"
        _end(ctl, job.order_id, "aborted", now, outcome)
        ctl.dispatch(DroneLanded(job.drone_id, _battery_wh(ctl, job), False, job.order_id),
                     now)
        return
    fail_order(ctl, job.drone_id, job.sortie, reason, now, recover=home)


def _landed_on_request(job: FlightJob) -> bool:
    """The operator asked this flight to land where it was (the console's "Land here")."""
    return job.flight.progress.requested_mode == "LAND"


def fail_order(ctl: FleetCore, drone_id: str, sortie: Sortie, reason: str, now: float,
               recover: bool) -> None:
    """The order of a flown sortie fails with ``reason``; the drone is faulted (and put back
    in service at once when ``recover``: it is home and well, only the order is lost)."""
    order_id = sortie.order_id
    ctl.why[order_id] = reason
    if ctl.store.order(order_id).state is OrderState.IN_FLIGHT and sortie.launch_s > now:
        # Took off before its planned launch: the dispatcher re-queues it rather than failing
        # it, so the store must take the parcel back too (a failed order cannot be assigned).
        ctl.store.end_flight(order_id, "aborted", now)
    ctl.fault(drone_id, reason, now)
    if ctl.store.order(order_id).state is OrderState.IN_FLIGHT:
        ctl.store.end_flight(order_id, "failed", now)  # the dispatcher had dropped the sortie
    if recover:
        ctl.call(lambda: ctl.back_in_service(drone_id, now))


def _never_flew(ctl: FleetCore, job: FlightJob, outcome: FlightOutcome, reason: str,
                now: float) -> None:
    operator = outcome.reason is FlightReason.ABORTED
    if _committed(ctl, job.order_id) and job.sortie.launch_s <= now:
        ctl.dispatch(DroneLanded(job.drone_id, _battery_wh(ctl, job), False, job.order_id),
                     now)
        if not operator:
            ctl.fault(job.drone_id, reason, now, recover_after=True)
        return
    # Before its planned launch a fault re-queues the sortie (a landing would not).
    ctl.fault(job.drone_id, reason if not operator else "flight aborted before take-off", now,
              recover_after=not operator)
    if operator:
        ctl.call(lambda: ctl.back_in_service(job.drone_id, now))


def _end(ctl: FleetCore, order_id: str, outcome: str, now: float,
         flown: FlightOutcome | None = None) -> None:
    if ctl.store.order(order_id).state is OrderState.IN_FLIGHT:
        record = flown.record.as_dict() if flown is not None and flown.record else None
        ctl.store.end_flight(order_id, outcome, now, record)
