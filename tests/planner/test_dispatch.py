"""Unit tests of the dispatcher's decisions: payload, energy with the actual battery,
turnaround, the promise, rejection reasons, and re-planning on cancel, fault, landing and
link loss. Plans come from the straight-line ``fake_plan`` (numbers easy to follow) except
the last test, which uses the real planner on the Canberra scenario."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from test_dispatch_fakes import BIG, PROFILE, FakeDrone, depot_models, fake_plan, order

from planner.dispatch import Dispatcher, fleet_of, planner_plan_fn
from planner.dispatch_model import (
    Assign,
    BatteryAction,
    CancelAnswer,
    DepotModel,
    DroneFault,
    DroneLanded,
    DroneRecovered,
    Fail,
    LinkLost,
    LinkRestored,
    OrderCancelled,
    OrderPlaced,
    Reject,
    SortieProgress,
    SwapBattery,
    Tick,
    Unassign,
)
from planner.dispatch_options import dropoff_offset_s, promise_for
from planner.dispatch_resources import time_to_charge_s
from planner.errors import InvalidInput
from planner.model import Rule

ROOT = Path(__file__).resolve().parents[2]


def dispatcher(n: int = 1, profile=PROFILE, **models: float) -> Dispatcher:
    drones = [FakeDrone(f"d{i}", profile, "A") for i in range(n)]
    return Dispatcher(drones, depot_models(**models), fake_plan, seed=7)  # type: ignore[arg-type]


def assigns(decisions: list) -> dict[str, Assign]:
    return {d.order_id: d for d in decisions if isinstance(d, Assign)}


def test_payload_goes_to_the_drone_that_can_lift_it() -> None:
    drones = [FakeDrone("small", PROFILE, "A"), FakeDrone("big", BIG, "A")]
    disp = Dispatcher(drones, depot_models(), fake_plan)  # type: ignore[arg-type]
    heavy = assigns(disp.handle(OrderPlaced(order("h", payload_kg=4.0)), 0.0))
    assert heavy["h"].drone_id == "big"
    too_heavy = disp.handle(OrderPlaced(order("x", payload_kg=6.0)), 1.0)
    assert isinstance(too_heavy[0], Reject)
    assert {r.rule for r in too_heavy[0].reasons} == {Rule.PAYLOAD}
    assert {r.limit for r in too_heavy[0].reasons} == {PROFILE.max_payload_kg, BIG.max_payload_kg}


def test_each_sortie_starts_after_the_previous_landing_plus_turnaround() -> None:
    disp = dispatcher(1, load_s=90.0)
    out = assigns([d for i in range(3) for d in
                   disp.handle(OrderPlaced(order(f"o{i}", east_m=2000.0)), 0.0)])
    sorties = sorted((a.sortie for a in out.values()), key=lambda s: s.launch_s)
    assert len(sorties) == 3
    for before, after in itertools.pairwise(sorties):
        assert after.turnaround_start_s >= before.land_s
        assert after.launch_s - after.turnaround_start_s >= 90.0


def test_one_pad_serves_one_turnaround_at_a_time() -> None:
    disp = dispatcher(2, pads=1, load_s=120.0)
    out = assigns([d for i in range(2) for d in
                   disp.handle(OrderPlaced(order(f"o{i}")), 0.0)])
    first, second = sorted((a.sortie for a in out.values()), key=lambda s: s.launch_s)
    assert first.drone_id != second.drone_id
    assert second.turnaround_start_s >= first.launch_s


def _drained(spares: int) -> tuple[Dispatcher, Assign, Assign]:
    """One drone flies a long sortie, then a second long one with what is left."""
    disp = dispatcher(1, spares=spares, rate_w=400.0)
    long = {"east_m": 14_000.0, "payload_kg": 2.4, "due_s": 10_000.0}
    first = assigns(disp.handle(OrderPlaced(order("o1", **long)), 0.0))["o1"]  # type: ignore[arg-type]
    second = assigns(disp.handle(OrderPlaced(order("o2", **long)), 1.0))["o2"]  # type: ignore[arg-type]
    return disp, first, second


def test_low_battery_is_charged_on_a_pad_when_no_spare_exists() -> None:
    _, first, second = _drained(spares=0)
    left_wh = PROFILE.battery_wh - first.plan.energy_wh
    full = fake_plan(second.plan.order, PROFILE, None).plan
    assert full is not None
    need_wh = PROFILE.battery_wh - full.reserve_left_wh
    assert left_wh < need_wh  # the premise: what is left is not enough
    assert second.sortie.action is BatteryAction.CHARGE
    assert second.sortie.launch_wh >= need_wh
    charge_s = time_to_charge_s(left_wh, second.sortie.launch_wh, 400.0)
    assert second.launch_at_s == pytest.approx(first.sortie.land_s + charge_s)
    # the planner judged the battery actually in the drone, not a full one
    assert second.plan.reserve_left_wh < full.reserve_left_wh


def test_low_battery_is_swapped_for_a_charged_spare() -> None:
    _, first, second = _drained(spares=2)
    assert second.sortie.action is BatteryAction.SWAP
    assert second.sortie.launch_wh == pytest.approx(PROFILE.battery_wh)
    assert second.launch_at_s == pytest.approx(first.sortie.land_s + 120.0)
    assert second.sortie.swapped_out_id == first.sortie.battery_id


def test_a_swap_is_announced_to_the_ground_crew() -> None:
    disp = dispatcher(1, spares=1, rate_w=400.0)
    long = {"east_m": 14_000.0, "payload_kg": 2.4, "due_s": 10_000.0}
    disp.handle(OrderPlaced(order("o1", **long)), 0.0)  # type: ignore[arg-type]
    out = disp.handle(OrderPlaced(order("o2", **long)), 1.0)  # type: ignore[arg-type]
    swaps = [d for d in out if isinstance(d, SwapBattery)]
    assert [(s.order_id, s.battery_in_id) for s in swaps] == [("o2", "A/spare1")]


def test_enough_battery_flies_again_without_turnaround_beyond_loading() -> None:
    disp = dispatcher(1)
    first = assigns(disp.handle(OrderPlaced(order("o1", east_m=1000.0)), 0.0))["o1"]
    second = assigns(disp.handle(OrderPlaced(order("o2", east_m=1000.0)), 1.0))["o2"]
    assert second.sortie.action is BatteryAction.KEEP
    assert second.sortie.launch_wh == pytest.approx(PROFILE.battery_wh - first.plan.energy_wh)
    assert second.launch_at_s == pytest.approx(first.sortie.land_s + 60.0)


def test_eta_is_launch_plus_outbound_time_to_the_release() -> None:
    disp = dispatcher(1)
    a = assigns(disp.handle(OrderPlaced(order("o", east_m=4000.0, created_s=50.0)), 50.0))["o"]
    phases = a.plan.phases
    outbound_s = sum(p.duration_s for p in phases[: [p.name for p in phases].index(
        "release_hover") + 1])
    assert a.eta_dropoff_s == pytest.approx(a.launch_at_s + outbound_s)
    assert a.launch_at_s == pytest.approx(50.0 + 60.0)
    assert a.due_s == 50.0 + 1800.0 and not a.late


def test_an_order_that_cannot_be_promised_is_rejected_with_eta_and_limit() -> None:
    disp = dispatcher(1)
    tight = order("tight", east_m=6000.0, created_s=0.0, due_s=200.0)
    out = disp.handle(OrderPlaced(tight), 0.0)
    assert len(out) == 1 and isinstance(out[0], Reject)
    (reason,) = out[0].reasons
    assert reason.rule is Rule.DEADLINE
    assert reason.limit == 200.0
    assert isinstance(reason.measured, float) and reason.measured > 200.0
    assert disp.schedule() == ()


def test_slack_keeps_time_in_hand_for_every_accepted_promise() -> None:
    """An order that fits its due time only with less than the slack is refused, naming it."""
    probe = dispatcher(1)
    eta = assigns(probe.handle(OrderPlaced(order("o", east_m=3000.0)), 0.0))["o"].eta_dropoff_s
    drones = [FakeDrone("d0", PROFILE, "A")]
    for due, accepted in ((eta + 119.0, False), (eta + 121.0, True)):
        disp = Dispatcher(drones, depot_models(), fake_plan, seed=7,  # type: ignore[arg-type]
                          slack_s=120.0)
        out = disp.handle(OrderPlaced(order("o", east_m=3000.0, due_s=due)), 0.0)
        assert bool(assigns(out)) is accepted, (due, out)
        if not accepted:
            (reason,) = out[0].reasons
            assert reason.rule is Rule.DEADLINE and reason.limit == pytest.approx(due - 120.0)
            assert "120 s kept in hand" in reason.detail
    with pytest.raises(InvalidInput, match="slack_s"):
        Dispatcher(drones, depot_models(), fake_plan, slack_s=-1.0)  # type: ignore[arg-type]
    # Orders that come later never eat into an accepted order's time in hand.
    disp = Dispatcher(drones, depot_models(), fake_plan, seed=7,  # type: ignore[arg-type]
                      slack_s=120.0)
    disp.handle(OrderPlaced(order("far", east_m=3000.0, due_s=eta + 900.0)), 0.0)
    for i in range(6):
        disp.handle(OrderPlaced(order(f"n{i}", east_m=3000.0, created_s=float(i + 1))),
                    float(i + 1))
    far = next(s for s in disp.schedule() if s.order_id == "far")
    assert far.dropoff_s <= eta + 900.0 - 120.0


def test_a_busy_fleet_rejects_new_orders_rather_than_break_promises() -> None:
    disp = dispatcher(1)
    decisions = [d for i in range(12) for d in
                 disp.handle(OrderPlaced(order(f"o{i}", east_m=8000.0)), float(i))]
    accepted = assigns(decisions)
    rejected = [d for d in decisions if isinstance(d, Reject)]
    assert accepted and rejected
    assert all(not a.late for a in accepted.values())
    assert all(r.reasons[0].rule is Rule.DEADLINE for r in rejected)


def test_infeasible_orders_do_not_hold_up_the_queue() -> None:
    alone = dispatcher(1)
    baseline = assigns(alone.handle(OrderPlaced(order("ok", east_m=3000.0)), 5.0))["ok"]
    disp = dispatcher(1)
    for i, bad in enumerate([order("far", east_m=60_000.0), order("heavy", payload_kg=9.0),
                             order("nodepot", depot="B")]):
        out = disp.handle(OrderPlaced(bad), float(i))
        assert [type(d) for d in out] == [Reject]
    ok = assigns(disp.handle(OrderPlaced(order("ok", east_m=3000.0)), 5.0))["ok"]
    assert ok.launch_at_s == baseline.launch_at_s


def test_rejection_reasons_name_the_rule() -> None:
    disp = dispatcher(1)
    far = disp.handle(OrderPlaced(order("far", east_m=60_000.0)), 0.0)[0]
    nodepot = disp.handle(OrderPlaced(order("nd", depot="B")), 0.0)[0]
    assert isinstance(far, Reject) and far.reasons[0].rule is Rule.ENERGY
    assert isinstance(nodepot, Reject) and nodepot.reasons[0].rule is Rule.UNKNOWN_DEPOT


def test_cancel_frees_the_drone_for_the_next_order() -> None:
    disp = dispatcher(1)
    for i in range(3):
        disp.handle(OrderPlaced(order(f"o{i}", east_m=3000.0)), 0.0)
    before = {s.order_id: s for s in disp.schedule()}
    out = disp.handle(OrderCancelled("o1"), 10.0)
    assert Unassign("o1", "d0", "order o1 cancelled") in out
    moved = assigns(out)["o2"]
    assert moved.launch_at_s == pytest.approx(before["o1"].launch_s)
    assert "o1" not in {s.order_id for s in disp.schedule()}


def test_a_fault_moves_waiting_work_and_fails_the_flight_in_the_air() -> None:
    disp = dispatcher(2)
    for i in range(4):
        disp.handle(OrderPlaced(order(f"o{i}", east_m=3000.0)), 0.0)
    flying = {s.order_id: s.drone_id for s in disp.schedule() if s.launch_s < 100.0}
    victim = sorted(flying.items())[0]
    out = disp.handle(DroneFault(victim[1], "motor"), 100.0)
    assert Fail(victim[0], victim[1], "motor") in out
    later = [s for s in disp.schedule() if s.launch_s > 100.0]
    assert later and all(s.drone_id != victim[1] for s in later)
    assert any(isinstance(d, Unassign) and d.drone_id == victim[1] for d in out)
    back = disp.handle(DroneRecovered(victim[1], PROFILE.battery_wh), 200.0)
    assert isinstance(back, list)
    disp.handle(OrderPlaced(order("o9", east_m=3000.0)), 201.0)
    assert any(s.drone_id == victim[1] for s in disp.schedule() if s.launch_s > 200.0)


def test_an_early_landing_brings_the_next_sortie_forward() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=5000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=5000.0)), 1.0)
    first, second = disp.schedule()
    early = first.land_s - 200.0
    out = assigns(disp.handle(DroneLanded("d0", first.landing_wh), early))
    assert out["o2"].launch_at_s == pytest.approx(early + 60.0)
    assert out["o2"].launch_at_s < second.launch_s


def test_an_aborted_sortie_puts_the_order_back_first() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=3000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=3000.0)), 1.0)
    out = assigns(disp.handle(DroneLanded("d0", 400.0, delivered=False), 150.0))
    assert out["o1"].launch_at_s == pytest.approx(150.0 + 60.0)
    assert out["o2"].launch_at_s > out["o1"].launch_at_s


def test_an_order_put_back_first_does_not_take_the_slot_of_one_due_sooner() -> None:
    """The order of an aborted sortie goes first in line, but when it has time to spare and
    the next one has not, the repair flies the one due sooner first: both stay on time."""
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("loose", east_m=3000.0, due_s=20_000.0)), 0.0)
    (first,) = disp.schedule()
    tight_due = first.land_s + 60.0 + (first.dropoff_s - first.launch_s) + 200.0
    disp.handle(OrderPlaced(order("tight", east_m=3000.0, due_s=tight_due)), 1.0)
    assert not any(s.dropoff_s > tight_due for s in disp.schedule() if s.order_id == "tight")
    out = assigns(disp.handle(DroneLanded("d0", 400.0, delivered=False), first.land_s))
    assert not out["tight"].late and not out["loose"].late
    assert out["tight"].launch_at_s < out["loose"].launch_at_s


def test_a_drone_without_link_gets_no_new_work_until_it_is_back() -> None:
    disp = dispatcher(2)
    disp.handle(LinkLost("d0"), 0.0)
    for i in range(3):
        disp.handle(OrderPlaced(order(f"o{i}", east_m=2000.0)), 1.0)
    assert {s.drone_id for s in disp.schedule()} == {"d1"}
    out = assigns(disp.handle(LinkRestored("d0"), 2.0))
    assert any(a.drone_id == "d0" for a in out.values())


def test_bad_events_raise_naming_the_field() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1")), 10.0)
    with pytest.raises(InvalidInput, match=r"order\.id"):
        disp.handle(OrderPlaced(order("o1")), 11.0)
    with pytest.raises(InvalidInput, match="now_s"):
        disp.handle(Tick(), 5.0)
    with pytest.raises(InvalidInput, match="drone_id"):
        disp.handle(DroneFault("nope"), 12.0)
    with pytest.raises(InvalidInput, match="order_id"):
        disp.handle(OrderCancelled("nope"), 12.0)
    with pytest.raises(InvalidInput, match="pads"):
        DepotModel("A", pads=0)


def test_with_the_real_planner_on_canberra() -> None:
    from planner.load import load_scenario
    from planner.plan import Planner

    scenario = load_scenario(ROOT / "missions" / "scenarios" / "canberra")
    planner = Planner(scenario.airspace, scenario.depots)
    disp = Dispatcher(fleet_of(scenario), [DepotModel(d.id) for d in scenario.depots],
                      planner_plan_fn(planner), promise_s=scenario.promise_s)
    accepted: dict[str, Assign] = {}
    rejected: dict[str, Reject] = {}
    for o in sorted(scenario.orders, key=lambda o: (o.created_s, o.id))[:30]:
        for d in disp.handle(OrderPlaced(o), o.created_s):
            if isinstance(d, Assign):
                accepted[d.order_id] = d
            elif isinstance(d, Reject):
                rejected[d.order_id] = d
    assert accepted and rejected
    for a in accepted.values():
        direct = planner.plan(a.plan.order, disp.drone(a.drone_id).spec.profile,
                              battery_wh=a.sortie.launch_wh)
        assert direct.feasible and direct.plan is not None
        assert a.plan.energy_wh == pytest.approx(direct.plan.energy_wh)
        assert a.eta_dropoff_s == pytest.approx(a.launch_at_s + dropoff_offset_s(a.plan))
        assert a.eta_dropoff_s <= a.due_s
    for r in rejected.values():
        assert r.reasons and all(str(reason) for reason in r.reasons)


def test_cancel_is_answered_and_refused_once_the_sortie_has_begun() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1")), 0.0)
    disp.handle(OrderPlaced(order("o2")), 0.0)
    assert CancelAnswer("o2", True) in disp.handle(OrderCancelled("o2"), 1.0)
    # o1's turnaround began at 0.0, so by 1.0 its parcel is being loaded
    refused = disp.handle(OrderCancelled("o1"), 1.0)
    assert refused == [CancelAnswer("o1", False, "the sortie has begun")]
    assert [s.order_id for s in disp.in_flight()] == ["o1"]


def test_promised_orders_are_kept_late_rather_than_dropped_after_a_fault() -> None:
    disp = dispatcher(2)
    for i in range(6):
        disp.handle(OrderPlaced(order(f"o{i}", east_m=7000.0)), 0.0)
    accepted = {s.order_id for s in disp.schedule()}
    out = disp.handle(DroneFault("d0", "battery"), 10.0)
    moved = assigns(out)
    assert moved and any(a.late for a in moved.values())
    assert not any(isinstance(d, Reject) for d in out)
    lost = {d.order_id for d in out if isinstance(d, Fail)}
    assert {s.order_id for s in disp.schedule()} | set(disp.waiting()) | lost == accepted


def test_priority_goes_first_only_when_every_promise_still_holds() -> None:
    disp = dispatcher(1)
    for i in range(2):
        disp.handle(OrderPlaced(order(f"n{i}", east_m=2000.0)), 0.0)
    urgent = assigns(disp.handle(OrderPlaced(order("vip", east_m=2000.0, priority=5)), 1.0))
    queue = [s.order_id for s in disp.schedule()]
    assert queue.index("vip") < queue.index("n1")  # ahead of the waiting order ...
    assert urgent["vip"].drone_id == "d0" and not urgent["n1"].late
    full = dispatcher(1)
    for i in range(4):
        full.handle(OrderPlaced(order(f"n{i}", east_m=8000.0)), 0.0)
    late_vip = full.handle(OrderPlaced(order("vip", east_m=8000.0, priority=5)), 1.0)
    assert not any(isinstance(d, Assign) and d.late for d in late_vip)  # ... never by breaking


def test_a_late_landing_moves_the_turnaround_that_was_booked_too_early() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=3000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=3000.0)), 1.0)
    first, second = disp.schedule()
    disp.handle(Tick(), second.turnaround_start_s + 1.0)  # o2's loading has begun, by the plan
    late = second.turnaround_start_s + 100.0
    out = assigns(disp.handle(DroneLanded("d0", first.landing_wh, order_id="o1"), late))
    assert out["o2"].sortie.turnaround_start_s == pytest.approx(late)
    assert [s.order_id for s in disp.history] == ["o1"]
    assert disp.history[0].land_s == first.land_s  # it was not flown longer than planned


@pytest.mark.parametrize("parked", [False, True])
def test_a_parked_drone_charges_on_its_own_pad_only_when_the_depot_has_one(parked: bool) -> None:
    drones = [FakeDrone("d0", PROFILE, "A")]
    models = {k: replace(m, spare_batteries=0, park_charging=parked, charge_rate_w=400.0)
              for k, m in depot_models().items()}
    disp = Dispatcher(drones, models, fake_plan)  # type: ignore[arg-type]
    long = {"east_m": 14_000.0, "payload_kg": 2.4, "due_s": 20_000.0}
    first = assigns(disp.handle(OrderPlaced(order("o1", **long)), 0.0))["o1"]  # type: ignore[arg-type]
    later = first.sortie.land_s + 3600.0
    second = assigns(disp.handle(OrderPlaced(order("o2", created_s=later, **long)), later))["o2"]  # type: ignore[arg-type]
    if parked:  # an hour at 400 W refilled it: straight off after loading
        assert second.sortie.action is BatteryAction.KEEP
        assert second.sortie.launch_wh == pytest.approx(PROFILE.battery_wh)
        assert second.launch_at_s == pytest.approx(later + 60.0)
    else:  # it sat there with what it landed with, and charges only now
        assert second.sortie.action is BatteryAction.CHARGE
        assert second.launch_at_s > later + 60.0
    with pytest.raises(InvalidInput, match="park_charging"):
        Dispatcher(drones * 1 + [FakeDrone("d1", PROFILE, "A")],  # type: ignore[arg-type]
                   {k: replace(m, pads=1, park_charging=True) for k, m in models.items()},
                   fake_plan)


def test_a_sortie_that_launches_late_keeps_its_order_until_it_lands() -> None:
    """Found by the fleet: a committed sortie was forgotten at its planned landing even when
    the drone had not flown it yet (late, or the controller was down), and the order was lost."""
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=3000.0)), 0.0)
    (first,) = disp.schedule()
    disp.handle(Tick(), first.launch_s + 1.0)
    disp.handle(Tick(), first.land_s + 500.0)  # not flown yet: still under way, not dropped
    assert [s.order_id for s in disp.in_flight()] == ["o1"]
    landed = first.land_s + 900.0
    out = disp.handle(DroneLanded("d0", first.landing_wh, order_id="o1"), landed)
    assert not any(isinstance(d, Assign | Unassign | Fail) for d in out)
    assert disp.in_flight() == () and disp.waiting() == ()
    assert [s.order_id for s in disp.history] == ["o1"]  # it ended by the landing: delivered


def test_a_landing_ends_the_sortie_it_names_when_two_are_fixed() -> None:
    disp = dispatcher(2)
    disp.handle(OrderPlaced(order("o1", east_m=3000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=3000.0)), 1.0)
    first, second = sorted(disp.schedule(), key=lambda s: s.order_id)
    assert first.drone_id != second.drone_id
    disp.handle(Tick(), max(first.launch_s, second.launch_s) + 1.0)
    # d0's o2 came back with the parcel; o1 on the other drone is untouched
    aborted = second if second.drone_id == "d0" else first
    kept = first if aborted is second else second
    out = disp.handle(DroneLanded("d0", 400.0, delivered=False, order_id=aborted.order_id),
                      aborted.launch_s + 100.0)
    assert [s.order_id for s in disp.in_flight()] == [kept.order_id]
    assert assigns(out)[aborted.order_id].drone_id in {"d0", "d1"}


def test_a_landing_names_its_sortie_not_the_drones_earliest() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=3000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=3000.0)), 1.0)
    _, second = disp.schedule()
    disp.handle(Tick(), second.launch_s + 1.0)  # both fixed; o1's landing was never reported
    out = disp.handle(DroneLanded("d0", second.landing_wh, order_id="o2"), second.land_s)
    assert [s.order_id for s in disp.in_flight()] == []
    assert [s.order_id for s in disp.history] == ["o2"]  # o1 was not flown: back in line
    assert assigns(out)["o1"].drone_id == "d0"


def test_an_order_put_back_with_no_drone_is_unassigned() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=3000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=3000.0)), 1.0)
    _, second = disp.schedule()
    disp.handle(Tick(), second.turnaround_start_s + 1.0)  # o2's loading began, d0 is late
    out = disp.handle(DroneFault("d0", "motor"), second.turnaround_start_s + 2.0)
    assert Unassign("o2", "d0", "waiting for a drone") in out
    assert "o2" in disp.waiting()


def test_live_progress_moves_the_landing_and_what_the_drone_flies_next() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=5000.0)), 0.0)
    disp.handle(OrderPlaced(order("o2", east_m=5000.0)), 1.0)
    first, second = disp.schedule()
    in_air = first.launch_s + 60.0
    disp.handle(Tick(), in_air)  # o1 is flying
    # Slower than planned: it now expects to land 240 s late; o2 is promised on that.
    out = assigns(disp.handle(SortieProgress("d0", "o1", first.land_s + 240.0), in_air + 1.0))
    assert out["o2"].launch_at_s == pytest.approx(second.launch_s + 240.0)
    assert out["o2"].sortie.dropoff_s == pytest.approx(second.dropoff_s + 240.0)
    assert disp.in_flight()[0].land_s == first.land_s + 240.0
    assert disp.in_flight()[0].dropoff_s == pytest.approx(first.dropoff_s + 240.0)
    # Faster again, after the release: the drop-off stays, o2 comes forward.
    back = assigns(disp.handle(SortieProgress("d0", "o1", first.land_s - 30.0, delivered=True),
                               in_air + 2.0))
    assert back["o2"].launch_at_s == pytest.approx(second.launch_s - 30.0)
    assert disp.in_flight()[0].dropoff_s == pytest.approx(first.dropoff_s + 240.0)
    # It lands when it said: the plan stands, nothing re-planned.
    assert disp.handle(DroneLanded("d0", disp.drone("d0").battery.energy_wh, order_id="o1"),
                       first.land_s - 30.0) == []


def test_progress_of_a_sortie_not_in_the_air_changes_nothing() -> None:
    disp = dispatcher(1)
    disp.handle(OrderPlaced(order("o1", east_m=5000.0)), 0.0)
    (first,) = disp.schedule()
    assert disp.handle(SortieProgress("d0", "o1", first.land_s + 500.0), 1.0) == []  # not fixed
    assert disp.handle(SortieProgress("d0", "nope", 900.0), 2.0) == []
    assert disp.schedule()[0].land_s == first.land_s
    with pytest.raises(InvalidInput, match="unknown drone"):
        disp.handle(SortieProgress("zz", "o1", 900.0), 3.0)


def test_a_late_order_gets_the_earliest_drop_off_it_could_be_promised() -> None:
    """A deadline refusal comes with a later promise the dispatcher keeps when it is asked for
    (``earliest_dropoff`` changes nothing; ``promise_for`` adds the slack, rounded up)."""
    disp = Dispatcher([FakeDrone("d0", PROFILE, "A")], depot_models(), fake_plan, seed=7,  # type: ignore[arg-type]
                      slack_s=120.0)
    disp.handle(OrderPlaced(order("first", east_m=6000.0)), 0.0)
    before = disp.schedule()
    late = order("late", east_m=6000.0, created_s=10.0, due_s=100.0)
    earliest = disp.earliest_dropoff(late, 10.0)
    assert earliest is not None and earliest > 400.0, "later than the first order and its own due"
    assert disp.schedule() == before, "asking changes nothing"
    assert earliest == disp.earliest_dropoff(late, 10.0)
    (reject,) = disp.handle(OrderPlaced(late), 10.0)
    assert isinstance(reject, Reject) and reject.reasons[0].rule is Rule.DEADLINE
    due = promise_for(earliest, 120.0)
    assert earliest + 120.0 <= due < earliest + 180.0 and due % 60.0 == 0.0
    offered = replace(late, id="late-2", due_s=due)
    (assign,) = [d for d in disp.handle(OrderPlaced(offered), 10.0) if isinstance(d, Assign)]
    assert assign.order_id == "late-2" and assign.eta_dropoff_s == pytest.approx(earliest)
    assert disp.earliest_dropoff(order("heavy", payload_kg=99.0), 10.0) is None
