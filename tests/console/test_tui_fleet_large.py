"""A fleet of 200 in the console: rows in sight are drawn at once, the others caught up a slice
per redraw (issue 13: key-to-screen under 100 ms with 200 vehicles), alerts from every one."""

from __future__ import annotations

import pytest
from tui_fixtures import run_async

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.health import AlertKind
from groundcontrol.console.model import (
    ActionResult,
    ConsoleSink,
    DepotView,
    MapView,
    VehicleState,
    VehicleView,
)
from groundcontrol.console.widgets.fleet import OFF_SCREEN_PER_REDRAW
from planner.model import LatLon

pytestmark = pytest.mark.tui

VEHICLES = 200


def _view(k: int, alt_m: float, battery_pct: float = 80.0) -> VehicleView:
    return VehicleView(name=f"V{k:03d}", sysid=k + 1, state=VehicleState.EN_ROUTE, mode="AUTO",
                       armed=True, battery_pct=battery_pct, alt_m=alt_m, ground_speed_ms=12.0,
                       heading_deg=90.0, position=LatLon(-35.3, 149.1 + 0.001 * k),
                       link_age_s=0.1, link_pct=100.0)


class QuietBackend:
    """Puts nothing by itself: the test feeds the sink."""

    title = "city fleet"

    def __init__(self) -> None:
        self.sink: ConsoleSink | None = None

    def start(self, sink: ConsoleSink) -> None:
        sink.put_map(MapView(depots=(DepotView("D", LatLon(-35.3, 149.1)),)))
        self.sink = sink

    def stop(self) -> None:
        pass

    def _refuse(self, *_: object, **__: object) -> ActionResult:
        return ActionResult.refused("read-only test backend")

    add_order = plan = launch = pause = resume = rtl = land = abort = cancel_order = _refuse


@run_async
async def test_rows_in_sight_first_then_the_rest_a_slice_per_redraw() -> None:
    backend = QuietBackend()
    app = ConsoleApp(backend)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert backend.sink is not None
        for k in range(VEHICLES):
            backend.sink.put_vehicle(_view(k, alt_m=10.0))
        app.flush_updates()
        table = app.main.fleet
        assert table.row_count == VEHICLES, "new rows are added at once"
        assert table.pending_rows == 0

        # Every vehicle climbs; one far down the list runs low on battery.
        for k in range(VEHICLES):
            backend.sink.put_vehicle(_view(k, alt_m=50.0, battery_pct=8.0 if k == 190 else 80.0))
        app.flush_updates()
        in_sight = [f"V{k:03d}" for k in range(5)]
        assert all(table.cell_text(name, "alt") == "50" for name in in_sight)
        drawn = sum(table.cell_text(f"V{k:03d}", "alt") == "50" for k in range(VEHICLES))
        assert drawn < VEHICLES, "not every row redrawn in one go"
        assert drawn <= table.size.height + 2 + OFF_SCREEN_PER_REDRAW
        assert table.cell_text("V190", "alt") == "10", "far out of sight: not drawn yet"
        assert [a.kind for a in table.alerts["V190"]] == [AlertKind.BATTERY_LOW], \
            "but its alert is there at once"

        # The rest is caught up within a few redraws, without any new update.
        await pilot.pause(0.25 * (VEHICLES // OFF_SCREEN_PER_REDRAW + 2))
        assert table.pending_rows == 0
        assert all(table.cell_text(f"V{k:03d}", "alt") == "50" for k in range(VEHICLES))

        # A row scrolled into sight is drawn with the next redraw, ahead of the queue.
        table.move_cursor(row=VEHICLES - 1)
        await pilot.pause()
        for k in range(VEHICLES):
            backend.sink.put_vehicle(_view(k, alt_m=70.0))
        app.flush_updates()
        assert table.cell_text(f"V{VEHICLES - 1:03d}", "alt") == "70"
        assert table.cell_text("V100", "alt") == "50", "now out of sight: waits its turn"
