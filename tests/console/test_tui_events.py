"""The event log in the console: repeats collapsed, boot chatter on ``b``, the filter on ``f``,
alerts marked and held on the alert bar until ``k``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scripted.backend import ScriptedBackend
from textual.widgets import OptionList
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.model import EventView, Severity
from groundcontrol.console.screens.event_filter import EventFilterScreen
from groundcontrol.console.widgets.alert_bar import AlertBar

pytestmark = pytest.mark.tui

MakeApp = Callable[[], ConsoleApp]
SIZE = (120, 40)
BOOT = ("ArduCopter V4.7.0-dev (90700977)", "Frame: QUAD/PLUS", "GPS 1: probing for u-blox at "
        "230400 baud", "EKF3 IMU0 initialised", "AHRS: DCM active", "Field Elevation Set: 584m",
        "PreArm: Need Position Estimate")


def _push(app: ConsoleApp, source: str, text: str, severity: Severity = Severity.INFO,
          t_s: float = 8 * 3600.0 + 5) -> None:
    app.buffer.put_event(EventView(t_s, source, severity, text))


def _title(app: ConsoleApp) -> str:
    return str(app.main.query_one("#events-panel").border_title)


@run_async
async def test_a_repeated_autopilot_text_shows_once_with_a_count(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _push(app, "S1", "Mission: 1 Takeoff", t_s=30_000.0)
        _push(app, "S1", "Mission: 1 Takeoff", t_s=30_000.001)  # as ArduCopter sends it
        await settle(pilot, app)
        _push(app, "S1", "Mission: 1 Takeoff", t_s=30_000.2)  # a later batch
        await settle(pilot, app)
        lines = [x for x in app.main.events.lines_written if "Takeoff" in x]
        assert lines == ["08:20:00 S1 Mission: 1 Takeoff ×3"]
        # Above the last line: the line is redrawn in place, no new one.
        _push(app, "S2", "Arming motors", t_s=30_001.0)
        _push(app, "S1", "Mission: 1 Takeoff", t_s=30_001.0)
        await settle(pilot, app)
        assert app.main.events.lines_written[-2:] == [
            "08:20:00 S1 Mission: 1 Takeoff ×4", "08:20:01 S2 Arming motors"]
        assert len(app.main.events.lines) == len(app.main.events.lines_written)


@run_async
async def test_boot_chatter_is_hidden_until_b(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for text in BOOT:
            _push(app, "N1", text)
        _push(app, "N1", "Arming motors")
        await settle(pilot, app)
        log = app.main.events
        assert not any(b in line for line in log.lines_written for b in BOOT)
        assert log.lines_written[-1].endswith("N1 Arming motors")
        assert _title(app) == f"Events [3] · {len(BOOT)} hidden"
        assert app.main.query_one(AlertBar).shown is None, "a PreArm on the pad is no alert"
        await pilot.press("b")
        assert [line.split(" ", 2)[2] for line in log.lines_written[-len(BOOT) - 1:]] == [
            *BOOT, "Arming motors"]
        assert _title(app) == "Events [3] · +boot"
        await pilot.press("b")
        assert _title(app) == f"Events [3] · {len(BOOT)} hidden"


@run_async
async def test_filter_one_vehicle_then_a_minimum_severity(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        _push(app, "N1", "Mission: 2 WP")
        _push(app, "S1", "Mission: 3 WP")
        _push(app, "S1", "Battery 1 is low 12.60V used 302 mAh", Severity.WARNING)
        await settle(pilot, app)
        app.main.fleet.select_key("S1")
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, EventFilterScreen)
        # The fleet's selected vehicle is offered first: enter takes it.
        options = screen.query_one("#filter-vehicle", OptionList)
        assert screen.vehicles[options.highlighted or 0] == "S1"
        await pilot.press("enter")
        await settle(pilot, app)
        log = app.main.events
        assert log.lines_written and all(" S1 " in line for line in log.lines_written)
        assert _title(app).startswith("Events [3] · S1 · ")
        assert _title(app).endswith(" hidden")
        # Now warnings and up, every vehicle: the list's first choice, the severity radio.
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, EventFilterScreen)
        screen.query_one("#filter-vehicle", OptionList).highlighted = 0
        await pilot.press("tab", "down", "down", "down", "enter", "ctrl+s")
        await settle(pilot, app)
        assert log.filter.vehicle is None
        assert log.filter.min_severity is Severity.WARNING
        assert log.lines_written == ["08:00:05 S1 ▲ Battery 1 is low 12.60V used 302 mAh"]
        # Clear brings everything back; escape changes nothing.
        await pilot.press("f", "c")
        await pilot.press("f", "escape")
        await settle(pilot, app)
        assert log.filter.min_severity is Severity.DEBUG and log.filter.vehicle is None
        assert any("N1 Mission: 2 WP" in line for line in log.lines_written)


@run_async
async def test_alerts_stay_on_the_bar_until_acknowledged(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        bar = app.main.query_one(AlertBar)
        assert not bar.display
        _push(app, "S3", "link lost", Severity.ERROR)
        _push(app, "N1", "Polygon fence breached", Severity.WARNING, t_s=28_810.0)
        for k in range(30):  # scrolled far out of sight
            _push(app, "dispatch", f"routine line {k}", t_s=28_811.0 + k)
        await settle(pilot, app)
        assert bar.display and bar.shown is not None
        assert bar.shown.text == "Polygon fence breached"
        assert str(bar.render()).startswith("▲ 08:00:10 N1 Polygon fence breached  (+1 more)")
        assert bar.has_class("-warning")
        assert any(line.endswith("S3 ✖ link lost") for line in app.main.events.lines_written)
        await pilot.press("k")
        await pilot.pause()
        assert not bar.display and bar.shown is None
        _push(app, "S3", "link lost", Severity.ERROR, t_s=28_900.0)
        await settle(pilot, app)
        assert bar.display and bar.has_class("-error")
        assert str(bar.render()).startswith("✖ 08:01:40 S3 link lost · k")


@run_async
async def test_a_late_order_raises_an_alert(make_app: MakeApp, backend: ScriptedBackend) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.advance(1801, step_s=30.0)  # past every order's promise, nothing launched
        await settle(pilot, app)
        late = [line for line in app.main.events.lines_written if "is late" in line]
        assert late and all("▲" in line for line in late)
        shown = app.main.query_one(AlertBar).shown
        assert shown is not None and "is late" in shown.text
