"""Pilot tests of the map: labels that do not collide, zone names, routes flown and planned,
zoom and pan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from rich.style import Style
from scripted.backend import ScriptedBackend
from textual.pilot import Pilot
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import FLYING_STATES, ConsoleApp
from groundcontrol.console.model import RouteView, VehicleState, VehicleView
from groundcontrol.console.widgets.map import MAP_KEYS, FleetMap
from groundcontrol.console.widgets.map_canvas import Projection, heading_glyph
from groundcontrol.console.widgets.map_labels import label_cells
from groundcontrol.console.widgets.map_layers import flown_leg
from planner.model import LatLon

pytestmark = pytest.mark.tui

MakeApp = Callable[[], ConsoleApp]


async def _mid_shift(pilot: Pilot[None], app: ConsoleApp, backend: ScriptedBackend) -> None:
    """Three flights out, one planned, a drone with its link lost on its pad."""
    await settle(pilot, app)
    backend.launch("O1", "N1")
    backend.launch("O2", "S1")
    backend.launch("O5", "S2")
    backend.plan("O3")
    backend.advance(150)
    backend.inject_link_loss("S3", 30.0)
    backend.advance(1)
    await settle(pilot, app)


def _assert_labels_apart(fleet_map: FleetMap) -> None:
    """No two labels share a cell, each reads as placed, every drone in the air shows."""
    cells = label_cells(fleet_map.labels)
    shared = [cell for cell, n in Counter(cells).items() if n > 1]
    assert not shared, f"labels share cells {shared}: {fleet_map.labels}"
    rows = fleet_map.frame_text()
    for label in fleet_map.labels:
        assert rows[label.row][label.col : label.col + len(label.text)] == label.text
    proj = fleet_map.projection
    assert proj is not None
    for v in fleet_map.vehicles.values():
        col, row = proj.to_cell(v.position) if v.position else (-1, -1)
        if v.state in FLYING_STATES and 0 <= row < len(rows) and 0 <= col < len(rows[row]):
            assert rows[row][col] == heading_glyph(v.heading_deg), f"{v.name}'s marker covered"
    _assert_no_label_beside_another_marker(fleet_map)


def _assert_no_label_beside_another_marker(fleet_map: FleetMap) -> None:
    """A drone's label never touches another drone's marker on its row (it would read as
    that drone's name)."""
    proj = fleet_map.projection
    assert proj is not None
    markers = {v.name: proj.to_cell(v.position) for v in fleet_map.vehicles.values()
               if v.position is not None and v.state in FLYING_STATES}
    for label in fleet_map.labels:
        ends = {(label.col - 1, label.row), (label.col + len(label.text), label.row)}
        touched = [name for name, cell in markers.items() if cell in ends and name != label.key]
        assert not touched, f"{label} is drawn beside {touched}'s marker"


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
@run_async
async def test_no_two_labels_share_a_cell(
    make_app: MakeApp, backend: ScriptedBackend, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await _mid_shift(pilot, app, backend)
        fleet_map = app.main.map
        _assert_labels_apart(fleet_map)
        keys = {label.key for label in fleet_map.labels}
        assert {"N1", "S1", "S2", "depot:NORTH", "depot:SOUTH"} <= keys
        assert "zone:YSCB" in keys, "the airport is labelled"
        for _ in range(3):
            await pilot.press("4", "plus")
            await settle(pilot, app)
            _assert_labels_apart(fleet_map)


@run_async
async def test_a_label_is_never_drawn_beside_another_drones_marker(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _mid_shift(pilot, app, backend)
        fleet_map = app.main.map
        proj = fleet_map.projection
        assert proj is not None
        # Three drones in a row, three cells apart: "N1" right of its arrow would end just
        # before N2's arrow ("↑N1↑N2↑"), reading as N2's label.
        col, row = 30, 8
        for k, name in enumerate(("N1", "N2", "S1")):
            where = proj.to_latlon(2 * (col + 3 * k) + 1, 4 * row + 2)
            app.buffer.put_vehicle(VehicleView(name, k + 1, VehicleState.EN_ROUTE,
                                               heading_deg=0.0, position=where))
        await settle(pilot, app)
        cells = {v.name: proj.to_cell(v.position) for v in fleet_map.vehicles.values()
                 if v.name in ("N1", "N2", "S1") and v.position is not None}
        assert cells == {"N1": (30, 8), "N2": (33, 8), "S1": (36, 8)}
        _assert_labels_apart(fleet_map)
        assert {"N1", "N2", "S1"} <= {label.key for label in fleet_map.labels}


@run_async
async def test_zones_are_named_inside_or_beside_them(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _mid_shift(pilot, app, backend)
        fleet_map = app.main.map
        placed = {label.key: label for label in fleet_map.labels}
        assert {"zone:YSCB", "zone:PARL", "zone:HOSP"} <= set(placed)
        assert placed["zone:YSCB"].text == "Airport"
        proj = fleet_map.projection
        assert proj is not None
        col, row = proj.to_cell(LatLon(-35.3069, 149.1950))
        airport = placed["zone:YSCB"]
        assert abs(airport.row - row) <= 1 and airport.col <= col < airport.col + 7, "inside"


@run_async
async def test_zoom_pan_and_fit(make_app: MakeApp, backend: ScriptedBackend) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _mid_shift(pilot, app, backend)
        fleet_map = app.main.map
        fit = fleet_map.projection
        assert fit is not None
        assert fleet_map.status_text() in "\n".join(fleet_map.frame_text())
        assert fleet_map.status_text().endswith("· ×1")
        await pilot.press("4", "plus")
        await settle(pilot, app)
        zoomed = fleet_map.projection
        assert zoomed is not None and fleet_map.zoom == 2.0
        assert zoomed.cell_width_m == pytest.approx(fit.cell_width_m / 2)
        assert fleet_map.status_text().endswith("· ×2")
        middle = zoomed.to_latlon(fleet_map.size.width - 0.5, fleet_map.size.height * 2 - 0.5)
        await pilot.press("4", "right")  # the map has focus: plain arrows pan it
        await settle(pilot, app)
        assert fleet_map.center is not None and fleet_map.center.lon > middle.lon
        assert fleet_map.center.lat == pytest.approx(middle.lat)
        await pilot.press("1", "shift+down")  # fleet panel: shift+arrows pan the map
        await settle(pilot, app)
        assert fleet_map.center.lat < middle.lat
        assert app.main.fleet.has_focus
        await pilot.press("minus")
        assert fleet_map.zoom == 2.0, "+ - 0 are the map's own keys, with the map focused"
        await pilot.press("4", "minus", "minus")
        assert fleet_map.zoom == 1.0, "never further out than the fit"
        await pilot.press("0")
        await settle(pilot, app)
        assert fleet_map.center is None and fleet_map.projection == fit


@run_async
async def test_the_map_names_its_keys_while_it_has_focus(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        panel = app.query_one("#map-panel")
        legend = panel.border_subtitle
        await pilot.press("4")
        assert panel.border_subtitle == MAP_KEYS
        await pilot.press("1")
        assert panel.border_subtitle == legend
        await pilot.press("4", "z")
        assert app.screen.maximized is app.main.map, "z still maximises the map"


def _styles_in_frame(fleet_map: FleetMap) -> set[Style]:
    frame = fleet_map._frame_for_size()
    assert frame is not None
    return {seg.style for r in range(frame.height) for seg in frame.row_segments(r, Style())
            if seg.style is not None and seg.text.strip()}  # fmt: skip


@run_async
async def test_flown_routes_and_their_legs_stand_out_from_planned_ones(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _mid_shift(pilot, app, backend)
        colours = {str(s.color.name) for s in _styles_in_frame(app.main.map) if s.color}
        assert {"bright_cyan", "#8a7f3a", "bright_white"} <= colours


def test_the_leg_flown_is_outbound_before_the_drop_off_and_inbound_after() -> None:
    depot, turn, drop = LatLon(-35.30, 149.10), LatLon(-35.30, 149.12), LatLon(-35.28, 149.12)
    route = RouteView("O1", (depot, turn, drop, turn, depot), "N1", active=True)
    proj = Projection.fit(route.points, 100, 100)
    assert proj is not None
    near_turn = LatLon(-35.30, 149.115)
    out = VehicleView("N1", 1, VehicleState.EN_ROUTE, position=near_turn)
    back = VehicleView("N1", 1, VehicleState.RETURNING, position=near_turn)
    parked = VehicleView("N1", 1, VehicleState.IDLE, position=depot)
    out_leg, back_leg = flown_leg(route, out, proj), flown_leg(route, back, proj)
    assert out_leg is not None and back_leg is not None
    assert out_leg[1] == pytest.approx(proj.to_dot(turn))
    assert back_leg[1] == pytest.approx(proj.to_dot(depot))
    assert flown_leg(route, parked, proj) is None
