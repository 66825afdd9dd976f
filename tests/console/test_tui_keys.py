"""Pilot tests (issue 12): the footer shows whole keys at every width, chosen by importance,
and the keys screen lists every binding of the console (the map's + - 0 and arrows too),
generated from the bindings so it cannot drift from them."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console
from textual.binding import Binding, BindingType
from textual.widgets import Static
from textual.widgets._footer import FooterKey
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.replay.app import ReplayApp
from groundcontrol.console.screens.help import HelpScreen, help_lines, key_text
from groundcontrol.console.screens.main import FOOTER_RANKS, MainScreen
from groundcontrol.console.widgets.footer import FittedFooter
from groundcontrol.console.widgets.map import FleetMap

pytestmark = pytest.mark.tui

MakeApp = Callable[[], ConsoleApp]


@pytest.mark.parametrize("width", [80, 100, 120, 200])
@run_async
async def test_the_footer_shows_only_whole_keys_the_most_important_first(
    make_app: MakeApp, width: int
) -> None:
    app = make_app()
    async with app.run_test(size=(width, 24 if width == 80 else 40)) as pilot:
        await settle(pilot, app)
        footer = app.main.query_one(FittedFooter)
        keys = list(footer.query(FooterKey))
        assert keys and [k.action for k in keys if "-command-palette" not in k.classes] == \
            [a for a in footer.shown if a != "command_palette"]
        right = max(k.region.right for k in keys)
        assert right <= width, f"a key ends at column {right}, past the {width} columns"
        for key in keys:
            assert key.region.width >= len(f"{key.key_display} {key.description}"), \
                f"{key.description!r} is cut"
        shown = set(footer.shown)
        # Whatever is shown, nothing more important is missing.
        worst = max(FOOTER_RANKS[a] for a in shown)
        assert all(a in shown for a, r in FOOTER_RANKS.items() if r < worst), shown
        if width == 80:  # the issue: "e Retry" was cut at 80 columns
            assert {"act('retry_order')", "act('abort')", "app.show_keys"} <= shown
        if width >= 120:
            assert shown == set(FOOTER_RANKS), "everything fits from 120 columns"


@run_async
async def test_the_footer_chooses_again_on_a_resize(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot, app)
        footer = app.main.query_one(FittedFooter)
        assert "act('plan')" in footer.shown
        await pilot.resize_terminal(80, 24)
        await settle(pilot, app)
        await pilot.pause(0.1)
        assert "act('plan')" not in footer.shown
        assert "act('retry_order')" in footer.shown
        assert max(k.region.right for k in footer.query(FooterKey)) <= 80


def _every_binding(bindings: list[BindingType]) -> list[Binding]:
    return [b for b in bindings if isinstance(b, Binding)]


@pytest.mark.parametrize("app_class", [ConsoleApp, ReplayApp])
def test_the_keys_screen_lists_every_binding(app_class: type[ConsoleApp]) -> None:
    lines = help_lines(app_class.BINDINGS)
    keys = {k for line_keys, _ in lines for k in line_keys.split(", ")}
    for binding in _every_binding([*app_class.BINDINGS, *MainScreen.BINDINGS,
                                   *FleetMap.BINDINGS]):
        for key in key_text(binding.key).split(", "):
            assert key in keys, f"{key} ({binding.description}) is not on the keys screen"
    texts = [f"{k}  {t}" for k, t in lines]
    assert any(t.startswith("+, =  zoom the map in") for t in texts)
    assert any(t.startswith("0  fit") for t in texts)
    assert any(t.startswith("←, shift+←  pan the map west") for t in texts)


def _text(renderable: object) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@run_async
async def test_the_keys_screen_shows_the_map_keys(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = _text(app.screen.query_one("#help-keys", Static).visual._renderable)  # type: ignore[attr-defined]
        for needle in ("Map (4 focuses it", "zoom the map in", "zoom the map out",
                       "fit the whole scenario", "pan the map north", "the day so far",
                       "Retry refused order"):
            assert needle in shown, needle
