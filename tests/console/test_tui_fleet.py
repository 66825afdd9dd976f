"""The fleet panel (issue 12): health per vehicle, alerts that stand out, whole columns at every
width, the name fixed, and everything re-laid out on a resize."""

from __future__ import annotations

import itertools
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

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.health import (
    AlertKind,
    EnergyRate,
    battery_left_s,
    ekf_health,
    vehicle_alerts,
)
from groundcontrol.console.model import EkfHealth, VehicleState, VehicleView
from groundcontrol.console.screens.detail import VehicleDetailScreen
from groundcontrol.console.widgets.details import VehicleDetail
from groundcontrol.console.widgets.fleet import FLEET_COLUMNS, GAP, FleetTable, fit_columns
from groundcontrol.console.widgets.format import gps_text, mode_short

pytestmark = pytest.mark.tui

MakeApp = Callable[[], ConsoleApp]
SIZES = {
    (80, 24): ("name", "state", "bat", "mode", "eta"),
    (120, 40): ("name", "state", "bat", "mode", "armed", "eta", "alt", "gps", "link"),
}
"""What the scripted fleet (names 'N1'..'S3') shows at each size; 200x50 shows more still."""


def _kinds(v: VehicleView, late: tuple[str, ...] = ()) -> list[AlertKind]:
    return [a.kind for a in vehicle_alerts(v, late)]


# -- the pure parts ----------------------------------------------------------------------------


def test_alerts_name_what_needs_the_dispatcher() -> None:
    flying = VehicleView("N1", 1, VehicleState.EN_ROUTE, battery_pct=80.0, order_id="O1",
                         link_age_s=0.3, ekf=EkfHealth.OK)
    assert _kinds(flying) == []
    assert _kinds(flying, late=("O1",)) == [AlertKind.LATE]
    low = VehicleView("N1", 1, VehicleState.RETURNING, battery_pct=12.0)
    assert _kinds(low) == [AlertKind.BATTERY_LOW]
    assert vehicle_alerts(low)[0].severity.value == "error", "below half the threshold"
    parked = VehicleView("N1", 1, VehicleState.IDLE, battery_pct=22.0)
    assert _kinds(parked) == [AlertKind.CHARGE_ME]
    charging = VehicleView("N1", 1, VehicleState.CHARGING, battery_pct=22.0)
    assert _kinds(charging) == [], "already charging"
    silent = VehicleView("N1", 1, VehicleState.EN_ROUTE, link_age_s=12.0, fence_breached=True)
    assert _kinds(silent) == [AlertKind.LINK_LOST, AlertKind.FENCE]
    lost = VehicleView("N1", 1, VehicleState.LINK_LOST, battery_pct=25.0, order_id="O1")
    kinds = _kinds(lost, late=("O1",))
    assert kinds[0] is AlertKind.LINK_LOST and AlertKind.LATE in kinds, "errors first"
    on_pad = VehicleView("N1", 1, VehicleState.IDLE, ekf=EkfHealth.BAD)
    assert _kinds(on_pad) == [], "the EKF settles on the pad: only an alert in the air"
    assert _kinds(VehicleView("N1", 1, VehicleState.EN_ROUTE, ekf=EkfHealth.BAD)) == [
        AlertKind.EKF_BAD]


def test_ekf_gps_battery_and_mode_texts() -> None:
    # ArduCopter SITL's flags once it uses GPS, while it aligns, and in constant-position mode.
    assert ekf_health(0x33F) is EkfHealth.OK
    assert ekf_health(0x0F) is EkfHealth.DEGRADED
    assert ekf_health(0xA7) is EkfHealth.BAD
    assert ekf_health(0) is EkfHealth.BAD
    assert (gps_text(3, 10), gps_text(1, 4), gps_text(2, 5)) == ("3D 10", "none", "2D 5")
    assert battery_left_s(50.0, 400.0, 24.0 * 16.7) == pytest.approx(1796, abs=1)
    assert battery_left_s(None, 400.0, 400.0) is None
    rate = EnergyRate(window_s=4.0)
    assert rate.update(0.0, 10.0) is None and rate.update(2.0, 10.2) is None
    assert rate.update(4.0, 10.4) == pytest.approx(360.0)
    assert rate.update(5.0, 1.0) == pytest.approx(360.0), "a new battery restarts the count"
    assert [mode_short(m) for m in ("STABILIZE", "ALT_HOLD", "LOITER", "RTL", "BRAKE")] == [
        "STAB", "AHLD", "LOIT", "RTL", "BRAK"]


def test_wider_never_shows_fewer_columns() -> None:
    widths = {c.key: c.width + GAP for c in FLEET_COLUMNS} | {"name": 8}
    shown = [set(fit_columns(widths, w)) for w in range(10, 200)]
    assert all(a <= b for a, b in itertools.pairwise(shown))
    assert shown[-1] == {c.key for c in FLEET_COLUMNS}


# -- the panel ---------------------------------------------------------------------------------


async def _flying(pilot: Pilot[None], app: ConsoleApp, backend: ScriptedBackend) -> None:
    await settle(pilot, app)
    backend.launch("O1", "N1")
    backend.launch("O2", "S1")
    backend.advance(150)
    await settle(pilot, app)


def _screen_text(app: ConsoleApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _assert_whole(fleet: FleetTable, app: ConsoleApp) -> None:
    """Every shown column fits: nothing to scroll to, every header on screen in full."""
    used = sum(c.get_render_width(fleet) for c in fleet.columns.values())
    assert used <= fleet.size.width - 1, (fleet.visible_columns, used, fleet.size)
    assert fleet.max_scroll_x == 0
    header = next(line for line in _screen_text(app).splitlines() if "Vehicle" in line)
    labels = {c.key: c.label for c in FLEET_COLUMNS}
    for key in fleet.visible_columns:
        assert labels[key] in header, f"{labels[key]} cut in {header!r}"


@run_async
async def test_each_size_shows_whole_columns_and_a_resize_relays_them(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _flying(pilot, app, backend)
        fleet = app.main.fleet
        fleet.select_key("S1")
        widths = {}
        for size in ((120, 40), (80, 24), (200, 50), (120, 40)):
            await pilot.resize_terminal(*size)
            await settle(pilot, app)
            _assert_whole(fleet, app)
            if size in SIZES:
                assert fleet.visible_columns == SIZES[size], size
            assert fleet.selected_key == "S1", "the cursor keeps its vehicle"
            assert fleet.cell_text("S1", "mode") in _screen_text(app), "mode whole: AUTO"
            widths[size] = app.main.events.size.width
        await pilot.resize_terminal(200, 50)
        await settle(pilot, app)
        assert {"alert", "order", "ekf"} <= set(fleet.visible_columns)
        # The events panel follows the resize: nothing wider than it is left to scroll to.
        assert app.main.events.max_scroll_x == 0
        assert widths[(80, 24)] < widths[(120, 40)]


@run_async
async def test_zoom_shows_every_column_and_the_name_stays_when_scrolled(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await _flying(pilot, app, backend)
        fleet = app.main.fleet
        await pilot.press("1", "z")
        await settle(pilot, app)
        # Every column but the depot, which shows only when vehicles have one (a watch).
        assert fleet.visible_columns == tuple(c.key for c in FLEET_COLUMNS if c.key != "depot")
        await pilot.press("z")
        await pilot.resize_terminal(80, 24)
        await settle(pilot, app)
        # Force more columns than fit, then scroll right: the name column does not move.
        fleet.show_columns([c.key for c in FLEET_COLUMNS])
        await settle(pilot, app)
        assert fleet.max_scroll_x > 0
        fleet.scroll_to(x=fleet.max_scroll_x, animate=False)
        await settle(pilot, app)
        rows = [line for line in _screen_text(app).splitlines() if " N1 " in line]
        assert rows, "N1 still shown after scrolling right"


@run_async
async def test_alerts_stand_out_in_the_fleet_table(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await _flying(pilot, app, backend)
        backend.vehicle("N2").battery_pct = 18.0  # idle on the pad
        backend.vehicle("S1").battery_pct = 10.0  # flying
        backend.vehicle("N1").fence_breached = True
        backend.inject_link_loss("S3", 30.0)
        backend.advance(1)
        await settle(pilot, app)
        fleet = app.main.fleet
        assert fleet.cell_text("N2", "alert") == "charge me"
        assert fleet.cell_text("S1", "alert") == "low bat"
        assert fleet.cell_text("N1", "alert") == "fence"
        assert fleet.cell_text("S3", "alert") == "link lost"
        assert fleet.cell_text("N3", "alert") == ""
        for name in ("N1", "N2", "S1", "S3"):
            assert fleet.cell_text(name, "name") == f"!{name}", "the marker"
        assert fleet.cell_text("N3", "name") == " N3"
        tints = {name: fleet._get_row_style(fleet.get_row_index(name), Style()).bgcolor
                 for name in ("N1", "N2", "N3")}
        assert tints["N3"] is None or tints["N3"] != tints["N1"]
        assert tints["N1"] is not None and tints["N2"] is not None and tints["N1"] != tints["N2"]
        # Held in the air past O1's promise: its drone's row says late, the ETA in red.
        backend.vehicle("N1").fence_breached = False
        backend.pause("N1")
        backend.advance(1700)
        await settle(pilot, app)
        assert app.main.orders.views["O1"].time_left_s < 0
        assert fleet.cell_text("N1", "alert") == "late"
        assert fleet.cell_text("N1", "name") == "!N1"


@run_async
async def test_the_vehicle_details_show_all_its_health(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await _flying(pilot, app, backend)
        app.main.fleet.select_key("N1")
        await pilot.press("1", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, VehicleDetailScreen)
        text = _screen_text(app)
        for label in ("GPS", "3D 14 sats", "EKF", "ok", "Battery", " V", " A", "Energy used",
                      "Wh", "Time left", "Link age", "Fence", "inside", "Alerts", "none"):
            assert label in text, label
        backend.vehicle("N1").fence_breached = True
        backend.advance(1)
        await settle(pilot, app)
        detail = app.screen.query_one(VehicleDetail)
        assert detail.vehicle.fence_breached
        text = _screen_text(app)
        assert "BREACHED" in text and "fence" in text
