"""Pilot tests: every panel and action of the console against the scripted backend."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console
from scripted.backend import ScriptedBackend
from textual.command import CommandPalette
from textual.widgets import DataTable, Input
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.model import (
    ConsoleSink,
    DepotView,
    MapView,
    OrderStatus,
    OrderView,
    VehicleState,
)
from groundcontrol.console.palette import ConsoleCommands
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.console.screens.detail import OrderDetailScreen, VehicleDetailScreen
from groundcontrol.console.screens.order_form import OrderFormScreen
from groundcontrol.console.widgets.details import MissionTable, VehicleDetail, order_summary
from groundcontrol.console.widgets.map_canvas import heading_glyph
from planner.model import LatLon

pytestmark = pytest.mark.tui

SIZE = (120, 40)
MakeApp = Callable[[], ConsoleApp]


def _text(renderable: object) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _calls(b: ScriptedBackend, name: str) -> list[tuple[object, ...]]:
    return [args for n, args in b.calls if n == name]


@run_async
async def test_panels_show_the_backend_state(make_app: MakeApp, backend: ScriptedBackend) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        main = app.main
        assert main.fleet.row_count == 6 and main.orders.row_count == 5
        assert [main.fleet.cell_text("N1", k) for k in ("state", "bat")] == ["idle", "100%"]
        o4 = main.orders.row_text("O4")
        assert o4[1] == "infeasible" and o4[8].startswith("payload: 4 kg > limit 2.5 kg")
        assert any("6 vehicles, 5 orders loaded" in line for line in main.events.lines_written)
        frame = "\n".join(main.map.frame_text())
        assert frame.count("⌂") == 2 and "NORTH·3" in frame and "SOUTH·3" in frame
        assert main.sub_title.endswith("▶ N1 / O1")


@run_async
async def test_plan_then_launch_from_the_orders_panel(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("2", "down", "down")  # orders panel, third row
        assert app.main.orders.selected_key == "O3"
        await pilot.press("p")
        await settle(pilot, app)
        assert _calls(backend, "plan") == [("O3",)]
        assert app.main.orders.row_text("O3")[1] == "planned"
        assert [r.order_id for r in app.main.map.map_view.routes] == ["O3"]
        await pilot.press("l")
        await settle(pilot, app)
        assert _calls(backend, "launch") == [("O3", None)]
        row = app.main.orders.row_text("O3")
        assert row[1] == "assigned" and row[7] in ("N1", "N2", "N3")
        fleet = app.main.fleet
        assert [fleet.cell_text(row[7], k) for k in ("state", "bat", "order")] == [
            "preflight", "100%", "O3"]
        assert app.actions_done[-1].result.ok


@run_async
async def test_launch_from_the_fleet_panel_uses_that_vehicle(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.main.orders.select_key("O1")
        await pilot.press("1", "down", "down")  # fleet panel, N3
        await pilot.press("l")
        await settle(pilot, app)
        assert _calls(backend, "launch") == [("O1", "N3")]
        assert app.main.fleet.cell_text("N3", "order") == "O1"


@run_async
async def test_pause_and_resume_the_selected_vehicle(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.launch("O1", "N2")
        backend.advance(60)
        await settle(pilot, app)
        app.main.fleet.select_key("N2")
        await pilot.press("s")
        await settle(pilot, app)
        assert _calls(backend, "pause") == [("N2",)]
        assert app.main.fleet.cell_text("N2", "mode") == "BRAK"
        await pilot.press("r")
        await settle(pilot, app)
        assert _calls(backend, "resume") == [("N2",)]
        assert app.main.fleet.cell_text("N2", "mode") == "AUTO"


@pytest.mark.parametrize(("key", "action", "mode"), [("t", "rtl", "RTL"), ("d", "land", "LAND"),
                                                      ("x", "abort", "RTL")])  # fmt: skip
@run_async
async def test_dangerous_vehicle_actions_ask_first(
    make_app: MakeApp, backend: ScriptedBackend, key: str, action: str, mode: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.launch("O1", "N1")
        backend.advance(60)
        await settle(pilot, app)
        await pilot.press(key)
        assert isinstance(app.screen, ConfirmScreen)
        assert "N1" in app.screen.question
        await pilot.press("n")
        await settle(pilot, app)
        assert not isinstance(app.screen, ConfirmScreen)
        assert _calls(backend, action) == [], "declined: the backend is not called"
        await pilot.press(key)
        await pilot.press("enter")  # 'No' has the focus: a stray enter must not confirm
        await settle(pilot, app)
        assert _calls(backend, action) == []
        await pilot.press(key, "y")
        await settle(pilot, app)
        assert _calls(backend, action) == [("N1",)]
        assert app.main.fleet.views["N1"].mode == mode
        assert app.main.orders.row_text("O1")[1] == "failed"


@run_async
async def test_cancel_order_asks_and_cancels(make_app: MakeApp, backend: ScriptedBackend) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.main.orders.select_key("O5")
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#yes")
        await settle(pilot, app)
        assert _calls(backend, "cancel_order") == [("O5",)]
        assert app.main.orders.row_text("O5")[1] == "cancelled"


@run_async
async def test_a_refused_action_shows_the_reason(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.main.fleet.select_key("S3")
        await pilot.press("s")
        await settle(pilot, app)
        assert _calls(backend, "pause") == [("S3",)]
        last = app.main.events.lines_written[-1]
        assert "Pause vehicle S3 refused: S3: not flying (idle)" in last
        assert any("refused" in str(n.message) for n in app._notifications)


@run_async
async def test_order_form_validates_then_adds(make_app: MakeApp, backend: ScriptedBackend) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, OrderFormScreen)
        assert form.field_text("depot") == "NORTH", "defaults to the selected order's depot"
        form.query_one("#f-depot", Input).value = "EAST"
        await pilot.press(*"abc", "enter", *"200", "enter", *"0", "enter", "enter", "enter")
        assert form.errors == {
            "depot": "depot: unknown depot 'EAST' (known: NORTH, SOUTH)",
            "lat": "lat: 'abc' is not a number",
            "lon": "lon: 200 is outside -180..180",
            "payload": "payload: must be more than 0 kg",
        }
        assert _calls(backend, "add_order") == [], "invalid input never reaches the backend"
        for name, value in (("depot", "south"), ("lat", "-35.33"), ("lon", "149.10"),
                            ("payload", "1.25")):  # fmt: skip
            form.query_one(f"#f-{name}", Input).value = value
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert _calls(backend, "add_order") == [("SOUTH", -35.33, 149.10, 1.25, None, 0)]
        assert not isinstance(app.screen, OrderFormScreen)
        assert app.main.orders.selected_key == "O6"
        assert app.main.orders.row_text("O6")[:6] == ["O6", "new", "30m00", "08:30", "1.2", "--"]


@run_async
async def test_order_form_shows_why_an_order_cannot_be_flown(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, OrderFormScreen)
        for name, value in (("lat", "-35.26"), ("lon", "149.12"), ("payload", "3.5")):
            form.query_one(f"#f-{name}", Input).value = value
        await pilot.click("#submit")
        await settle(pilot, app)
        assert app.screen is form, "a refused order keeps the form open"
        assert form.status_message.startswith("Cannot be flown:")
        assert "payload: 3.5 kg > limit 2.5 kg" in form.status_message
        assert form.query_one("#form-status").has_class("refused")
        await pilot.press("escape")
        assert not isinstance(app.screen, OrderFormScreen)


@run_async
async def test_vehicle_detail_follows_the_mission(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.launch("O1", "N1")
        backend.advance(20)
        await settle(pilot, app)
        await pilot.press("1", "enter")
        screen = app.screen
        assert isinstance(screen, VehicleDetailScreen) and screen.vehicle.name == "N1"
        detail = screen.query_one(VehicleDetail)
        first = detail.vehicle.mission_seq
        backend.advance(120)
        await settle(pilot, app)
        assert detail.vehicle.mission_seq is not None and first is not None
        assert detail.vehicle.mission_seq > first, "the detail view updates live"
        mission = screen.query_one(MissionTable)
        assert len(mission.items) == len(backend.order("O1").plan.items)  # type: ignore[union-attr]
        assert mission.current == detail.vehicle.mission_seq
        marks = [str(mission.get_row_at(k)[0]) for k in range(mission.row_count)]
        assert marks.count("▶") == 1 and marks.index("▶") == mission.current
        assert mission.cursor_row == mission.current
        await pilot.press("s")  # vehicle keys work in the detail view, on this vehicle
        await settle(pilot, app)
        assert _calls(backend, "pause") == [("N1",)]
        await pilot.press("escape")
        assert app.screen is app.main


@run_async
async def test_updates_arriving_as_a_detail_screen_opens(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    """A flush in the same tick as the push, before the screen is composed, must not crash."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.launch("O1", "N1")
        backend.advance(5)
        app.main.action_details()
        app.flush_updates()
        await settle(pilot, app)
        detail = app.screen.query_one(VehicleDetail)
        assert detail.vehicle == app.vehicles["N1"], "composed with the latest view"
        app.pop_screen()
        await pilot.press("2")
        app.main.orders.select_key("O1")
        backend.advance(5)
        app.main.action_details()
        app.flush_updates()
        await settle(pilot, app)
        assert isinstance(app.screen, OrderDetailScreen)
        assert app.screen.order == app.orders["O1"]


@run_async
async def test_order_detail_shows_the_plan_and_mission(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.plan("O2")
        await settle(pilot, app)
        app.main.orders.select_key("O2")
        await pilot.press("2", "i")
        screen = app.screen
        assert isinstance(screen, OrderDetailScreen)
        plan = backend.order("O2").plan
        assert plan is not None
        items = screen.query_one("#mission-items", DataTable)
        assert items.row_count == len(plan.items)
        assert str(items.get_row_at(1)[2]) == "NAV_TAKEOFF"
        summary = _text(order_summary(screen.order))
        assert f"{plan.distance_m / 1000:.2f} km" in summary
        assert f"{plan.energy_wh:.1f} Wh" in summary
        await pilot.press("p")  # order keys apply to this order
        await settle(pilot, app)
        assert _calls(backend, "plan")[-1] == ("O2",)


@run_async
async def test_command_palette_runs_actions_on_named_targets(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Plan order O5")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, app)
        assert _calls(backend, "plan") == [("O5",)]
        backend.launch("O5", "S2")
        backend.advance(30)
        await settle(pilot, app)
        texts = [text for text, _, _ in ConsoleCommands(app.screen)._commands()]
        assert "Abort flight S2" in texts and "Pause vehicle S2" in texts
        assert "Abort flight S3" not in texts, "no named entries for vehicles on the ground"
        assert "Cancel order O2" in texts and "Cancel order O4" not in texts, "O4 is final"
        await pilot.press("ctrl+p")
        await pilot.press(*"Abort flight S2")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen), "dangerous from the palette asks too"
        await pilot.press("y")
        await settle(pilot, app)
        assert _calls(backend, "abort") == [("S2",)]


@run_async
async def test_map_draws_flying_drones_with_heading(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.launch("O1", "N1")
        backend.advance(90)
        await settle(pilot, app)
        view = app.vehicles["N1"]
        assert view.state is VehicleState.EN_ROUTE and view.position is not None
        proj = app.main.map.projection
        assert proj is not None
        col, row = proj.to_cell(view.position)
        line = app.main.map.frame_text()[row]
        app.main.fleet.select_key("S1")
        await settle(pilot, app)
        line = app.main.map.frame_text()[row]
        assert line[col] == heading_glyph(view.heading_deg)
        assert line[col + 1 : col + 3] == "N1"
        assert backend.order("O1").status is OrderStatus.IN_FLIGHT
        active = [r for r in app.main.map.map_view.routes if r.active]
        assert [r.order_id for r in active] == ["O1"]


@run_async
async def test_zoom_maximises_the_focused_panel(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("4", "z")
        assert app.screen.maximized is app.main.map
        await settle(pilot, app)
        assert app.main.map.size.width > 70
        await pilot.press("z")
        assert app.screen.maximized is None


class _ClockOnlyBackend:
    """Pushes one order at start, then only the clock: the console counts time left down."""

    title = "clock"

    def __init__(self) -> None:
        self.sink: ConsoleSink | None = None

    def start(self, sink: ConsoleSink) -> None:
        self.sink = sink
        sink.put_map(MapView(depots=(DepotView("D", LatLon(-35.3, 149.1)),)))
        sink.put_order(OrderView("Q1", OrderStatus.ASSIGNED, "D", LatLon(-35.31, 149.11), 1.0,
                                 promised_s=1000.0, time_left_s=900.0))  # fmt: skip

    def stop(self) -> None:
        self.sink = None


@run_async
async def test_time_left_counts_down_from_the_backend_clock() -> None:
    backend = _ClockOnlyBackend()
    app = ConsoleApp(backend)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.main.orders.row_text("Q1")[2] == "15m00", "as pushed, before any clock"
        assert backend.sink is not None
        backend.sink.put_clock(400.0)
        await settle(pilot, app)
        assert app.main.orders.row_text("Q1")[2] == "10m00"
        assert "00:06:40" in app.main.sub_title
        backend.sink.put_clock(1060.0)
        await settle(pilot, app)
        assert app.main.orders.row_text("Q1")[2] == "-1m00", "late orders go negative"
