"""The scripted backend the console's tests and demo run on: it must honour the contract."""

from __future__ import annotations

import time

import pytest
from scripted.backend import ScriptedBackend, ScriptedScenario
from scripted.geo import distance_m, point_in_ring
from tui_fixtures import backend_fixture, scenario_fixture  # noqa: F401  (fixtures by name)

from groundcontrol.console.buffer import UpdateBuffer
from groundcontrol.console.model import DepotView, MapView, OrderStatus, VehicleState, ZoneView
from planner.model import LatLon

pytestmark = pytest.mark.tui


def _started(b: ScriptedBackend) -> UpdateBuffer:
    buf = UpdateBuffer(wake=lambda: None)
    b.start(buf)
    return buf


def test_start_pushes_everything(backend: ScriptedBackend) -> None:
    batch = _started(backend).drain()
    assert batch.map is not None and [d.id for d in batch.map.depots] == ["NORTH", "SOUTH"]
    assert sorted(v.name for v in batch.vehicles) == ["N1", "N2", "N3", "S1", "S2", "S3"]
    statuses = {o.id: o.status for o in batch.orders}
    assert statuses["O4"] is OrderStatus.INFEASIBLE
    assert sum(s is OrderStatus.NEW for s in statuses.values()) == 4


def test_an_order_is_planned_flown_and_delivered(backend: ScriptedBackend) -> None:
    buf = _started(backend)
    assert backend.plan("O1").ok
    assert backend.order("O1").plan is not None
    result = backend.launch("O1")
    assert result.ok and backend.order("O1").status is OrderStatus.ASSIGNED
    vehicle = backend.order("O1").vehicle
    assert vehicle is not None and vehicle.startswith("N")
    backend.advance(10)
    assert backend.order("O1").status is OrderStatus.IN_FLIGHT
    dest = backend.order("O1").destination
    for _ in range(200):
        backend.advance(5)
        if backend.order("O1").status is OrderStatus.DELIVERED:
            break
    assert backend.order("O1").status is OrderStatus.DELIVERED
    assert distance_m(backend.vehicle(vehicle).position, dest) < 1.0
    for _ in range(200):
        backend.advance(5)
        if backend.vehicle(vehicle).state in (VehicleState.CHARGING, VehicleState.IDLE):
            break
    sim = backend.vehicle(vehicle)
    assert sim.position == sim.home and not sim.armed and sim.battery_pct < 100
    texts = [e.text for e in buf.drain().events]
    assert "Gripper: released" in texts and "O1 delivered by " + vehicle in texts


def test_pause_holds_position_and_resume_continues(backend: ScriptedBackend) -> None:
    _started(backend)
    backend.launch("O1", "N2")
    backend.advance(60)
    sim = backend.vehicle("N2")
    assert backend.pause("N2").ok and sim.mode == "BRAKE"
    held = sim.position
    backend.advance(30)
    assert sim.position == held
    assert not backend.pause("N2").ok
    assert backend.resume("N2").ok and sim.mode == "AUTO"
    backend.advance(5)
    assert distance_m(sim.position, held) == pytest.approx(75.0, rel=0.05)


def test_rtl_land_abort_fail_the_order(backend: ScriptedBackend) -> None:
    _started(backend)
    backend.launch("O1", "N1")
    backend.launch("O3", "N2")
    backend.launch("O2", "S1")
    backend.advance(60)
    assert backend.rtl("N1").ok and backend.vehicle("N1").mode == "RTL"
    assert backend.land("N2").ok and backend.vehicle("N2").mode == "LAND"
    assert backend.abort("S1").ok
    for oid in ("O1", "O3", "O2"):
        order = backend.order(oid)
        assert order.status is OrderStatus.FAILED and "before delivery" in order.reason
    refused = backend.rtl("N3")
    assert not refused.ok and "N3" in refused.reasons[0]


def test_cancel_rules(backend: ScriptedBackend) -> None:
    _started(backend)
    assert backend.cancel_order("O5").ok
    assert backend.order("O5").status is OrderStatus.CANCELLED
    assert not backend.cancel_order("O5").ok
    backend.launch("O1")
    backend.advance(10)
    refused = backend.cancel_order("O1")
    assert not refused.ok and "abort the vehicle" in refused.reasons[0]
    assert not backend.cancel_order("O99").ok


def test_add_order_refusals_carry_the_reasons(backend: ScriptedBackend) -> None:
    _started(backend)
    unknown = backend.add_order("EAST", -35.3, 149.1, 1.0)
    assert not unknown.ok and "unknown_depot" in unknown.reasons[0] and unknown.order_id is None
    heavy_far = backend.add_order("NORTH", -35.0, 149.1, 9.0)
    assert not heavy_far.ok
    assert any(r.startswith("payload") for r in heavy_far.reasons)
    assert any(r.startswith("outside_operating_area") for r in heavy_far.reasons)
    assert heavy_far.order_id is not None
    assert backend.order(heavy_far.order_id).status is OrderStatus.INFEASIBLE
    in_zone = backend.add_order("SOUTH", -35.3069, 149.195, 1.0)
    assert any("Airport" in r for r in in_zone.reasons)
    good = backend.add_order("SOUTH", -35.33, 149.10, 1.0)
    assert good.ok and backend.order(good.order_id or "").status is OrderStatus.NEW


@pytest.mark.parametrize("zone_kind", ["circle", "polygon"])
def test_routes_go_round_zones_in_the_way(zone_kind: str) -> None:
    center = LatLon(-35.0, 149.02)
    if zone_kind == "circle":
        zone = ZoneView("Z", center=center, radius_m=500.0)
    else:
        d = 0.003
        lo, hi = (-35.0 - d, 149.02 - d), (-35.0 + d, 149.02 + d)
        ring = (LatLon(*lo), LatLon(lo[0], hi[1]), LatLon(*hi), LatLon(hi[0], lo[1]))
        zone = ZoneView("Z", rings=(ring,))
    sc = ScriptedScenario(MapView((DepotView("D", LatLon(-35.0, 149.0)),), (zone,)), (("V", "D"),))
    b = ScriptedBackend(sc, autorun=False)
    _started(b)
    result = b.add_order("D", -35.0, 149.04, 0.5)
    assert result.ok, result.reasons
    assert b.plan(result.order_id or "").ok
    plan = b.order(result.order_id or "").plan
    assert plan is not None and len(plan.route) == 5, "one detour each way"
    (ring,) = zone.outline()
    for a, c in zip(plan.route, plan.route[1:], strict=False):
        for k in range(201):
            f = k / 200
            p = LatLon(a.lat + f * (c.lat - a.lat), a.lon + f * (c.lon - a.lon))
            assert not point_in_ring(p, ring)


def test_link_loss_shows_until_it_recovers(backend: ScriptedBackend) -> None:
    buf = _started(backend)
    backend.inject_link_loss("S3", 10.0)
    backend.advance(1)
    view = {v.name: v for v in buf.drain().vehicles}["S3"]
    assert view.state is VehicleState.LINK_LOST and (view.link_age_s or 0) > 2
    backend.advance(10)
    assert {v.name: v for v in buf.drain().vehicles}["S3"].state is VehicleState.IDLE


def test_autorun_thread_moves_time_and_stops(scenario: ScriptedScenario) -> None:
    b = ScriptedBackend(scenario, speedup=50.0, autorun=True)
    _started(b)
    start = b.now_s
    deadline = time.monotonic() + 10.0
    while b.now_s - start < 10.0:
        assert time.monotonic() < deadline, "the tick thread did not advance simulated time"
        time.sleep(0.05)
    b.stop()
    stopped_at = b.now_s
    time.sleep(0.3)
    assert b.now_s == stopped_at, "no ticks after stop"
    # Ticks are 0.1 s of wall time x 50: time moves in 5 s steps.
    assert round((stopped_at - start) / 5.0, 6).is_integer()
