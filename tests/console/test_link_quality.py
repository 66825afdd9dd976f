"""Link quality per vehicle (issue 12): messages received of those sent, from the gaps in the
MAVLink sequence numbers (as MAVProxy counts link loss), not only the age of the last one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from scripted.backend import ScriptedBackend
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.health import (
    LINK_POOR_PCT,
    AlertKind,
    LinkQuality,
    vehicle_alerts,
)
from groundcontrol.console.model import VehicleState, VehicleView
from groundcontrol.console.widgets.format import link_cell


def test_link_quality_is_taken_over_a_window() -> None:
    quality = LinkQuality(window_s=10.0, min_messages=20)
    assert quality.update(0.0, 0, 0) is None
    assert quality.update(1.0, 10, 0) is None, "too few messages to judge"
    assert quality.update(5.0, 100, 0) == 100.0
    assert quality.update(10.0, 190, 10) == pytest.approx(95.0)
    # A burst of loss shows within the window, then ages out of it.
    assert quality.update(12.0, 200, 60) == pytest.approx(76.0)  # since t=1: 190 of 250
    pct = [quality.update(float(t), 200 + (t - 12) * 10, 60) for t in range(13, 40)]
    assert pct[-1] == 100.0


def test_the_link_cell_and_alert_show_the_quality() -> None:
    good = VehicleView("N1", 1, VehicleState.EN_ROUTE, link_age_s=0.2, link_pct=99.4)
    assert link_cell(good).plain == "99%"
    poor = VehicleView("N1", 1, VehicleState.EN_ROUTE, link_age_s=0.2, link_pct=80.0)
    assert link_cell(poor).plain == "80%" and "yellow" in str(link_cell(poor).style)
    assert [a.kind for a in vehicle_alerts(poor)] == [AlertKind.LINK_POOR]
    assert vehicle_alerts(poor)[0].severity.value == "warning"
    bad = VehicleView("N1", 1, VehicleState.EN_ROUTE, link_age_s=0.2, link_pct=50.0)
    assert vehicle_alerts(bad)[0].severity.value == "error"
    assert LINK_POOR_PCT > 50.0
    silent = VehicleView("N1", 1, VehicleState.EN_ROUTE, link_age_s=4.0, link_pct=99.0)
    assert link_cell(silent).plain == "4.0s", "a silent link shows its age, not old news"
    unknown = VehicleView("N1", 1, VehicleState.EN_ROUTE, link_age_s=0.2)
    assert link_cell(unknown).plain == "0.2s"


@pytest.mark.tui
@run_async
async def test_the_fleet_panel_shows_the_link_quality_and_flags_a_weak_link(
    make_app: Callable[[], ConsoleApp], backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot, app)
        fleet = app.main.fleet
        assert "link" in fleet.visible_columns
        n1 = app.vehicles["N1"]
        app.buffer.put_vehicle(replace(n1, link_age_s=0.3, link_pct=98.2))
        app.buffer.put_vehicle(replace(app.vehicles["N2"], link_age_s=0.3, link_pct=64.0))
        await settle(pilot, app)
        assert fleet.cell_text("N1", "link") == "98%" and fleet.cell_text("N1", "alert") == ""
        assert fleet.cell_text("N2", "link") == "64%"
        assert fleet.cell_text("N2", "alert") == "weak link"
        assert [a.kind for a in fleet.alerts["N2"]] == [AlertKind.LINK_POOR]
