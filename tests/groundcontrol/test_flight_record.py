"""Planned against flown from snapshots: phases on the vehicle's clock, energy, route error."""

from __future__ import annotations

import dataclasses

import pytest

from groundcontrol.flight.record import FlightRecorder, cross_track_m, planned_figures
from groundcontrol.mavlink.vehicle import VehicleState
from missions.items import Frame, Mission, MissionItem

LAT, LON = -35.3, 149.1
DROP = LAT + 0.01  # 1.1 km north


def _mission(meta: dict[str, str]) -> Mission:
    items = (
        MissionItem(0, 16, Frame.GLOBAL, x=LAT, y=LON, z=584.0),
        MissionItem(1, 22, z=100.0),
        MissionItem(2, 16, x=DROP, y=LON, z=100.0),
        MissionItem(3, 16, x=DROP, y=LON, z=10.0),
        MissionItem(4, 211, Frame.MISSION, param1=1, param2=0),
        MissionItem(5, 16, x=DROP, y=LON, z=100.0),
        MissionItem(6, 21, x=LAT, y=LON, z=0.0),
    )
    return Mission("m", items, delivery_seq=4, dropoff_seq=3, meta=meta)


META = {"planned_s": "300", "planned_wh": "50", "planned_out_s": "90",
        "planned_delivery_s": "80", "planned_back_s": "60", "planned_landing_s": "70",
        "planned_out_wh": "20", "return_seq": "6", "profile": "delivery-quad",
        "payload_kg": "1.5", "out_m": "1100", "back_m": "1100.5"}


def _at(t_s: float, seq: int, lat: float, lon: float = LON, armed: bool = True,
        wh: float | None = None) -> VehicleState:
    return VehicleState(sysid=1, mode="AUTO", armed=armed, boot_ms=int(t_s * 1000),
                        mission_seq=seq, lat_deg=lat, lon_deg=lon, energy_wh=wh)


def test_phases_energy_and_route_error_on_the_vehicle_clock() -> None:
    rec = FlightRecorder(_mission(META))
    rec.update(_at(99.0, 0, LAT, armed=False, wh=1.0))
    for state in (
        _at(100.0, 1, LAT, wh=1.0),                       # armed, taking off
        _at(150.0, 2, (LAT + DROP) / 2, LON + 0.0002),    # ~18 m east of the route
        _at(200.0, 3, DROP, wh=21.0),                     # over the drop-off
        _at(280.0, 6, DROP, wh=35.0),                     # on the way home (in NAV_LAND)
        _at(350.0, 6, LAT + 0.00005, wh=50.0),            # over the depot: landing
        _at(420.0, 6, LAT, armed=False, wh=61.0),         # disarmed
    ):
        rec.update(state)
    record = rec.record()
    assert record.flown_phases_s == {"out": 100.0, "delivery": 80.0, "back": 70.0,
                                     "landing": 70.0}
    assert record.flown_s == 320.0 and record.planned_s == 300.0
    assert record.used_wh == pytest.approx(60.0) and record.planned_wh == 50.0
    assert record.flown_phases_wh == pytest.approx({"out": 20.0, "delivery": 14.0,
                                                    "back": 15.0, "landing": 11.0})
    assert record.planned_phases_wh == {"out": 20.0}
    assert record.inputs == {"profile": "delivery-quad", "payload_kg": 1.5, "out_m": 1100.0,
                             "back_m": 1100.5}
    assert record.max_cross_track_m == pytest.approx(18.2, abs=0.3)
    assert "(+7 %)" in "\n".join(record.lines())


def test_missing_or_bad_plan_figures_are_none() -> None:
    planned_s, planned_wh, phases = planned_figures(_mission({"planned_s": "nan",
                                                              "planned_wh": "-3"}))
    assert planned_s is None and planned_wh is None and phases == {}


def test_cross_track_to_the_nearest_segment() -> None:
    route = [(LAT, LON), (DROP, LON)]
    assert cross_track_m(route, (LAT + DROP) / 2, LON) < 0.01
    assert cross_track_m(route, DROP + 0.001, LON) == pytest.approx(111.3, abs=0.5)


def test_time_left_follows_the_route_left_and_the_plan_still_ahead() -> None:
    rec = FlightRecorder(_mission(META))
    assert rec.remaining_s(_at(99.0, 0, LAT, armed=False)) is None
    rec.update(_at(100.0, 1, LAT))
    # Halfway out at 20 m/s: 556 m to the drop-off, 1112 m home, then the plan's delivery
    # (80 s) and landing (70 s).
    halfway = VehicleState(sysid=1, mode="AUTO", armed=True, boot_ms=150_000, mission_seq=2,
                           lat_deg=(LAT + DROP) / 2, lon_deg=LON, groundspeed_ms=20.0)
    rec.update(halfway)
    assert rec.remaining_s(halfway) == pytest.approx(1668.0 / 20.0 + 80.0 + 70.0, rel=0.01)
    # Twice as fast over the ground: the cruise part halves.
    fast = dataclasses.replace(halfway, groundspeed_ms=40.0)
    assert rec.remaining_s(fast) == pytest.approx(1668.0 / 40.0 + 150.0, rel=0.01)
    # Over the depot, half-way down: half the landing is left.
    rec.update(_at(200.0, 3, DROP))
    rec.update(_at(280.0, 6, DROP))
    low = dataclasses.replace(_at(350.0, 6, LAT + 0.00005), alt_rel_m=50.0)
    rec.update(low)
    assert rec.remaining_s(low) == pytest.approx(35.0, abs=1.5)


def test_time_left_on_the_pad_counts_the_climb_the_plan_has() -> None:
    """Out is planned at 90 s, 1100 m of it cruise at 20 m/s (55 s): 35 s of climb and
    speed-up. On the pad all of it is ahead, half-way up half; once cruising none."""
    rec = FlightRecorder(dataclasses.replace(_mission(META), cruise_speed_ms=20.0))
    rec.update(_at(100.0, 1, LAT))
    route = 2 * 1112.0 / 20.0 + 80.0 + 70.0
    pad = dataclasses.replace(_at(100.0, 1, LAT), alt_rel_m=0.0)
    assert rec.remaining_s(pad) == pytest.approx(route + 35.0, rel=0.01)
    halfway_up = dataclasses.replace(_at(110.0, 1, LAT), alt_rel_m=50.0)
    assert rec.remaining_s(halfway_up) == pytest.approx(route + 17.5, rel=0.01)
    cruising = dataclasses.replace(_at(120.0, 2, LAT), alt_rel_m=100.0, groundspeed_ms=20.0)
    assert rec.remaining_s(cruising) == pytest.approx(route, rel=0.01)
