"""Pilot tests (issue 12): quitting with drones in the air asks first, ``q`` quits like ctrl+q,
``?`` and F1 show the keys, the header shows the measured pace next to the asked one."""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable

import pytest
from rich.console import Console
from scripted.backend import ScriptedBackend
from textual.widgets import Static
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import ConsoleApp, measured_pace
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.console.screens.help import HelpScreen, help_lines

pytestmark = pytest.mark.tui

SIZE = (120, 40)
MakeApp = Callable[[], ConsoleApp]


def _text(renderable: object) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
@run_async
async def test_quit_with_nothing_in_the_air_quits_at_once(make_app: MakeApp, key: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.flying() == []
        await pilot.press(key)
        await pilot.pause()
        assert app._exit, "the console should have quit"


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
@run_async
async def test_quit_with_drones_in_the_air_asks_first(
    make_app: MakeApp, backend: ScriptedBackend, key: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        backend.launch("O1", "N2")
        backend.advance(60)
        await settle(pilot, app)
        assert [v.name for v in app.flying()] == ["N2"]
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.screen.id == "quit"
        assert app.screen.question == "1 drone in the air: quit?"
        assert "N2" in app.screen.detail and "resume with the same command" in app.screen.detail
        await pilot.press(key)  # asking twice opens no second dialog
        await pilot.pause()
        assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
        await pilot.press("n")
        await pilot.pause()
        assert not app._exit and not isinstance(app.screen, ConfirmScreen)
        await pilot.press(key)
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app._exit


@pytest.mark.parametrize("key", ["question_mark", "f1"])
@run_async
async def test_question_mark_and_f1_show_the_keys(make_app: MakeApp, key: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys", Static).visual
        shown = _text(getattr(table, "_renderable", table))
        for needle in ("Land here", "quit", "command palette", "zoom"):
            assert needle in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


def test_the_keys_screen_lists_every_action_key() -> None:
    keys = [k for k, _ in help_lines(ConsoleApp.BINDINGS)]
    assert {"a", "p", "l", "s", "r", "t", "d", "x", "c", "e", "y"} <= set(keys)
    assert "q, ctrl+q" in keys and "?, F1" in keys


@run_async
async def test_the_header_shows_the_measured_pace_of_the_asked(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    """Issue 12: the header said x40 while the clock ran at 16.7x."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.asked_speedup == backend.speedup == 10.0
        assert app.pace_text() == "x10"  # nothing measured yet
        app._clock_samples.extend([(0.0, 1000.0), (3.0, 1050.0)])
        assert app.pace_text() == "x16.7 of x10"
        app.main._show_selection()
        assert "x16.7 of x10" in app.main.sub_title  # 120 columns: room for all


def test_measured_pace_needs_two_wall_seconds_of_samples() -> None:
    assert measured_pace(deque()) is None
    assert measured_pace(deque([(5.0, 0.0), (6.0, 40.0)])) is None
    assert measured_pace(deque([(5.0, 0.0), (6.0, 40.0), (10.0, 100.0)])) == 20.0


@run_async
async def test_at_80_columns_the_header_keeps_the_clock_and_selection(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    """Seen in tmux at 80x24: the pace pushed the clock and the selection off the header."""
    backend.title = "canberra · built-in sim"
    app = make_app()
    app.backend_title = backend.title
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        app._clock_samples.extend([(0.0, 1000.0), (3.0, 1050.0)])
        app.main._show_selection()
        shown = app.main.sub_title
        assert shown.endswith("▶ N1 / O1") and "x16.7" in shown
        assert len(shown) + len(app.title) + 19 <= 80, shown
