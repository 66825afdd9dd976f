"""The console's pure parts: view model adapters, update buffer, form validation, map drawing."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from groundcontrol.console.buffer import UpdateBuffer
from groundcontrol.console.model import (
    ActionResult,
    EventView,
    OrderStatus,
    OrderView,
    Severity,
    VehicleState,
    VehicleView,
    ZoneView,
    map_view_from_airspace,
    mission_item_views,
    plan_view_from_flight_plan,
)
from groundcontrol.console.screens.order_form import validate_order_form
from groundcontrol.console.widgets.format import clock, duration
from groundcontrol.console.widgets.map_canvas import BrailleCanvas, Projection, heading_glyph
from missions.items import Cmd, Frame, MissionItem
from planner.model import Airspace, Depot, FlightPlan, LatLon, NoFlyZone, Order

pytestmark = pytest.mark.tui


def _vehicle(name: str, battery: float) -> VehicleView:
    return VehicleView(name, 1, VehicleState.EN_ROUTE, battery_pct=battery)


# -- buffer ------------------------------------------------------------------------------------


def test_buffer_keeps_latest_view_per_vehicle_and_wakes_once_per_batch() -> None:
    wakes: list[int] = []
    buf = UpdateBuffer(wake=lambda: wakes.append(1))
    for pct in range(100, 0, -1):
        buf.put_vehicle(_vehicle("A", pct))
        buf.put_vehicle(_vehicle("B", pct / 2))
    assert len(wakes) == 1
    batch = buf.drain()
    assert {v.name: v.battery_pct for v in batch.vehicles} == {"A": 1, "B": 0.5}
    assert buf.stats().coalesced == 198
    buf.put_vehicle(_vehicle("A", 5))
    assert len(wakes) == 2, "the first push after a drain wakes the UI again"
    assert buf.drain().vehicles == (_vehicle("A", 5),)
    assert buf.drain().empty


def test_buffer_keeps_the_latest_clock() -> None:
    wakes: list[int] = []
    buf = UpdateBuffer(wake=lambda: wakes.append(1))
    assert buf.drain().clock_s is None
    for t in (10.0, 11.0, 12.5):
        buf.put_clock(t)
    batch = buf.drain()
    assert batch.clock_s == 12.5 and not batch.empty and len(wakes) == 1
    assert buf.drain().clock_s is None and buf.drain().empty


def test_buffer_bounds_events_and_counts_the_dropped() -> None:
    buf = UpdateBuffer(wake=lambda: None, max_events=10)
    for k in range(25):
        buf.put_event(EventView(float(k), "x", Severity.INFO, f"e{k}"))
    batch = buf.drain()
    assert [e.text for e in batch.events] == [f"e{k}" for k in range(15, 25)]
    assert batch.dropped_events == 15
    assert buf.drain().dropped_events == 0


def test_buffer_is_safe_from_many_threads() -> None:
    buf = UpdateBuffer(wake=lambda: None)

    def push(name: str) -> None:
        for pct in range(1000):
            buf.put_vehicle(_vehicle(name, float(pct)))

    threads = [threading.Thread(target=push, args=(f"V{k}",)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    batch = buf.drain()
    assert sorted(v.name for v in batch.vehicles) == [f"V{k}" for k in range(8)]
    assert all(v.battery_pct == 999.0 for v in batch.vehicles)
    assert buf.stats().received == 8000


# -- model -------------------------------------------------------------------------------------


def test_severity_follows_mavlink_levels() -> None:
    assert [Severity.from_mav_severity(s) for s in range(8)] == [
        Severity.ERROR, Severity.ERROR, Severity.ERROR, Severity.ERROR,
        Severity.WARNING, Severity.NOTICE, Severity.INFO, Severity.DEBUG,
    ]  # fmt: skip


def test_refusal_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reasons"):
        ActionResult.refused()
    result = ActionResult.refused("payload: 3 kg > limit 2.5 kg", "energy")
    assert not result.ok and result.message == "payload: 3 kg > limit 2.5 kg"


def test_circle_zone_outline_has_its_radius() -> None:
    zone = ZoneView("Z", center=LatLon(-35.0, 149.0), radius_m=1000.0)
    (ring,) = zone.outline(36)
    assert len(ring) == 36
    for p in ring:
        dy = (p.lat + 35.0) * 111_320.0
        dx = (p.lon - 149.0) * 111_320.0 * math.cos(math.radians(-35.0))
        assert math.hypot(dx, dy) == pytest.approx(1000.0, rel=0.01)


def test_map_view_from_planner_airspace() -> None:
    square = (LatLon(0, 0), LatLon(0, 1), LatLon(1, 1), LatLon(1, 0))
    airspace = Airspace(
        zones=(
            NoFlyZone("P", polygons=(square,)),
            NoFlyZone("C", circle_center=LatLon(0.5, 0.5), circle_radius_m=200.0),
        ),
        operating_area=square,
    )
    view = map_view_from_airspace([Depot("D", LatLon(0.1, 0.1), name="Dee")], airspace)
    assert [d.id for d in view.depots] == ["D"]
    assert view.zones[0].rings == (square,) and view.zones[0].center is None
    assert view.zones[1].radius_m == 200.0
    assert view.operating_area == square


def test_plan_view_joins_the_legs_and_keeps_the_figures() -> None:
    depot = Depot("D", LatLon(0, 0))
    order = Order("O", "D", LatLon(0.01, 0.01), 1.0)
    plan = FlightPlan(
        order, depot, "quad", outbound=(LatLon(0, 0), LatLon(0.005, 0), LatLon(0.01, 0.01)),
        inbound=(LatLon(0.01, 0.01), LatLon(0, 0)), cruise_alt_agl_m=60.0, distance_m=2900.0,
        flight_time_s=300.0, energy_wh=40.0, reserve_left_wh=120.0,
    )  # fmt: skip
    view = plan_view_from_flight_plan(plan)
    assert view.route == (LatLon(0, 0), LatLon(0.005, 0), LatLon(0.01, 0.01), LatLon(0, 0))
    assert (view.distance_m, view.energy_wh, view.reserve_left_wh, view.flight_time_s) == (
        2900.0, 40.0, 120.0, 300.0,
    )  # fmt: skip


def test_mission_item_views_name_commands_and_hide_positionless_coordinates() -> None:
    items = [
        MissionItem(0, Cmd.NAV_WAYPOINT, x=-35.1, y=149.1, z=0.0),
        MissionItem(1, Cmd.NAV_TAKEOFF, x=0.0, y=0.0, z=60.0),
        MissionItem(2, Cmd.DO_GRIPPER, frame=Frame.MISSION, param1=1.0, param2=0.0),
        MissionItem(3, 31999, x=-35.2, y=149.2, z=10.0),
    ]
    views = mission_item_views(items)
    assert [v.command for v in views] == ["NAV_WAYPOINT", "NAV_TAKEOFF", "DO_GRIPPER", "CMD_31999"]
    assert views[0].lat == pytest.approx(-35.1) and views[0].lon == pytest.approx(149.1)
    assert views[1].lat is None and views[2].lat is None
    assert views[2].note == "p1=1"


def test_order_status_finality() -> None:
    final = {s for s in OrderStatus if s.is_final}
    assert final == {
        OrderStatus.INFEASIBLE, OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED,
    }  # fmt: skip
    order = OrderView("O1", OrderStatus.NEW, "D", LatLon(0, 0), 1.0)
    assert order.plan is None and order.reason == ""


# -- form validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        (("", "-35.3", "149.1", "1"), "depot", "required"),
        (("X9", "-35.3", "149.1", "1"), "depot", "unknown depot 'X9' (known: NORTH, SOUTH)"),
        (("NORTH", "abc", "149.1", "1"), "lat", "'abc' is not a number"),
        (("NORTH", "-95", "149.1", "1"), "lat", "-95 is outside -90..90"),
        (("NORTH", "-35", "", "1"), "lon", "lon: required"),
        (("NORTH", "-35", "181", "1"), "lon", "181 is outside -180..180"),
        (("NORTH", "-35", "nan", "1"), "lon", "not a number"),
        (("NORTH", "-35", "1_0", "1"), "lon", "not a number"),
        (("NORTH", "-35", "149", "0"), "payload", "more than 0 kg"),
        (("NORTH", "-35", "149", "-2"), "payload", "outside 0..50"),
        (("NORTH", "-35", "149", "two"), "payload", "not a number"),
    ],
)
def test_order_form_validation_names_the_bad_field(
    fields: tuple[str, str, str, str], field: str, fragment: str
) -> None:
    order, errors = validate_order_form(*fields, depots=("NORTH", "SOUTH"))
    assert order is None
    assert fragment in errors[field]
    assert set(errors) == {field}


def test_order_form_accepts_good_input_and_fixes_depot_case() -> None:
    order, errors = validate_order_form(" north ", " -35.25 ", "149.1", "2.5", ("NORTH",))
    assert errors == {}
    assert order is not None
    assert (order.depot_id, order.lat, order.lon, order.payload_kg) == ("NORTH", -35.25, 149.1, 2.5)


# -- formatting and map drawing ----------------------------------------------------------------


def test_clock_and_duration() -> None:
    assert clock(8 * 3600 + 61) == "08:01:01"
    assert clock(86_400 + 5) == "00:00:05"
    assert duration(-59.6) == "-1m00"
    assert duration(7200) == "2h00"


def test_heading_glyphs_cover_the_compass() -> None:
    assert "".join(heading_glyph(h) for h in range(0, 360, 45)) == "↑↗→↘↓↙←↖"
    assert heading_glyph(359) == "↑" and heading_glyph(-90) == "←"
    assert heading_glyph(math.nan) == "●"


def test_projection_keeps_ground_aspect() -> None:
    # A box 0.1 deg of latitude tall and 0.1/cos(lat) deg of longitude wide is square on the
    # ground: its projection is square in dots whatever the grid's shape.
    lat = -35.0
    w = 0.1 / math.cos(math.radians(lat))
    corners = [LatLon(lat, 149.0), LatLon(lat + 0.1, 149.0 + w)]
    proj = Projection.fit(corners, 200, 80)
    assert proj is not None
    (x0, y0), (x1, y1) = (proj.to_dot(p) for p in corners)
    assert abs(x1 - x0) == pytest.approx(abs(y1 - y0), rel=0.01)
    assert y1 < y0, "north is up"
    assert min(x0, x1) >= 0 and max(x0, x1) <= 199
    assert min(y0, y1) >= 0 and max(y0, y1) <= 79


def test_braille_line_and_text_overlay() -> None:
    from rich.style import Style

    canvas = BrailleCanvas(4, 1)
    canvas.line(0, 0, 7, 0, Style())
    row = "".join(s.text for s in canvas.row_segments(0, Style()))
    assert row == "\u2809" * 4  # top dots of both columns in every cell
    assert canvas.text(1, 0, "AB", Style(), prio=2)
    assert not canvas.text(2, 0, "C", Style(), prio=1), "lower priority text does not overwrite"
    assert "".join(s.text for s in canvas.row_segments(0, Style())) == "\u2809AB\u2809"


def test_shaded_polygon_covers_inside_cells_only() -> None:
    from rich.style import Style

    canvas = BrailleCanvas(10, 5)
    bg = Style(bgcolor="red")
    canvas.shade_polygon([(4, 4), (16, 4), (16, 16), (4, 16)], bg)
    shaded = {
        (col, row)
        for row in range(5)
        for col, seg in enumerate(
            ch for s in canvas.row_segments(row, Style()) for ch in [s] * len(s.text)
        )
        if seg.style and seg.style.bgcolor is not None
    }
    assert shaded == {(c, r) for c in range(2, 8) for r in range(1, 4)}


def test_view_model_and_buffer_import_without_textual() -> None:
    """A backend (fleet, dispatcher) can build views and feed the buffer without the UI."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import groundcontrol.console.model, groundcontrol.console.buffer, scripted.backend\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
