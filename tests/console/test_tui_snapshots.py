"""Snapshot tests (pytest-textual-snapshot): the main screen at 80x24 and 120x40, the order form,
the vehicle and order detail views and a confirmation.

Update after an intended visual change with
``.venv/bin/python -m pytest tests/tui/test_tui_snapshots.py --snapshot-update`` and look at the
SVGs under ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scripted.backend import ScriptedBackend
from scripted.demo import demo_scenario
from textual.pilot import Pilot
from textual.widgets import Input
from tui_fixtures import settle

from groundcontrol.console.app import ConsoleApp

pytestmark = pytest.mark.tui

SnapCompare = Callable[..., bool]


def _flying_app() -> tuple[ConsoleApp, ScriptedBackend]:
    """A deterministic mid-shift state: three flights out, one planned, one infeasible."""
    backend = ScriptedBackend(demo_scenario(), autorun=False)
    return ConsoleApp(backend), backend


def _mid_shift(app: ConsoleApp, backend: ScriptedBackend) -> Callable[[Pilot[None]], object]:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, app)
        backend.launch("O1", "N1")
        backend.launch("O2", "S1")
        backend.launch("O5", "S2")
        backend.plan("O3")
        backend.advance(150)
        backend.inject_link_loss("S3", 30.0)
        backend.advance(1)
        await settle(pilot, app)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_main_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, backend = _flying_app()
    assert snap_compare(app, terminal_size=size, run_before=_mid_shift(app, backend))


def test_main_screen_wide(snap_compare: SnapCompare) -> None:
    app, backend = _flying_app()
    assert snap_compare(app, terminal_size=(200, 50), run_before=_mid_shift(app, backend))


def test_order_form_with_errors_and_refusal(snap_compare: SnapCompare) -> None:
    app, backend = _flying_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await _mid_shift(app, backend)(pilot)
        await pilot.press("a")
        form = app.screen
        form.query_one("#f-lat", Input).value = "-35.26"
        form.query_one("#f-lon", Input).value = "149.12"
        form.query_one("#f-payload", Input).value = "3.5"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        form.query_one("#f-lon", Input).value = "east"
        await pilot.press("ctrl+s")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_vehicle_detail(snap_compare: SnapCompare) -> None:
    app, backend = _flying_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await _mid_shift(app, backend)(pilot)
        await pilot.press("1", "enter")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_order_detail(snap_compare: SnapCompare) -> None:
    app, backend = _flying_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await _mid_shift(app, backend)(pilot)
        await pilot.press("2", "down", "down", "i")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=(100, 36), run_before=run_before)


def test_confirm_abort(snap_compare: SnapCompare) -> None:
    app, backend = _flying_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await _mid_shift(app, backend)(pilot)
        await pilot.press("x")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
