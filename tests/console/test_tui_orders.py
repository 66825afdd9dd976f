"""Pilot tests of running the orders (issue 12): due time and priority in the form, a later
promise offered for a late order, retry, cancel of an order in flight, clock times, sorting."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scripted.backend import ScriptedBackend
from textual.widgets import Input
from tui_fixtures import (  # noqa: F401  (fixtures are found by name)
    backend_fixture,
    make_app_fixture,
    run_async,
    scenario_fixture,
    settle,
)

from groundcontrol.console.app import ConsoleApp
from groundcontrol.console.model import OrderStatus
from groundcontrol.console.screens.confirm import ConfirmScreen
from groundcontrol.console.screens.offer import OfferScreen
from groundcontrol.console.screens.order_form import OrderFormScreen
from planner.model import LatLon

pytestmark = pytest.mark.tui

SIZE = (120, 40)
START_S = 8 * 3600.0
MakeApp = Callable[[], ConsoleApp]


def _calls(b: ScriptedBackend, name: str) -> list[tuple[object, ...]]:
    return [args for n, args in b.calls if n == name]


async def _fill(form: OrderFormScreen, **fields: str) -> None:
    for name, value in fields.items():
        form.query_one(f"#f-{name}", Input).value = value


@run_async
async def test_the_form_takes_a_due_time_and_a_priority(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, OrderFormScreen)
        await _fill(form, depot="SOUTH", lat="-35.33", lon="149.10", payload="1", due="7:30",
                    priority="x")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert form.errors == {
            "due": "due: 07:30 is not after now (08:00)",
            "priority": "priority: must be a whole number -1000..1000, got x",
        }
        assert _calls(backend, "add_order") == [], "nothing is sent on bad input"
        await _fill(form, due="25:00", priority="3")
        await pilot.press("ctrl+s")
        assert set(form.errors) == {"due"} and "not a clock time" in form.errors["due"]
        await _fill(form, due="+45", priority="3")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert _calls(backend, "add_order") == [
            ("SOUTH", -35.33, 149.10, 1.0, START_S + 45 * 60, 3)]
        assert app.screen is not form, form.status_message
        row = app.main.orders.row_text("O6")
        assert row[:7] == ["O6", "new", "45m00", "08:45", "1.0", "--", "3"]
        assert row[9] == "08:00", "placed, as a clock time"


@run_async
async def test_a_late_order_is_offered_a_later_promise(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, OrderFormScreen)
        await _fill(form, lat="-35.265", lon="149.125", payload="1", due="08:02")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        offer = app.screen
        assert isinstance(offer, OfferScreen)
        assert _calls(backend, "add_order") == [("NORTH", -35.265, 149.125, 1.0, START_S + 120, 0)]
        eta = backend.eta_s("NORTH", LatLon(-35.265, 149.125), 1.0)
        offered = form.last_result.offer_due_s if form.last_result else None
        assert offered is not None and offered > eta
        hhmm = f"{int(offered) // 3600:02d}:{int(offered) % 3600 // 60:02d}"
        assert offer.question == f"Can be there by {hhmm}: accept? (y/Esc)"
        assert backend.calls[-1][0] == "add_order" and len(backend._orders) == 5, "not stored"
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is form and "Not by the due time" in form.status_message
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, OfferScreen)
        await pilot.press("y")
        await settle(pilot, app)
        assert _calls(backend, "add_order")[-1][4] == offered, "placed with the offered due"
        assert not isinstance(app.screen, OrderFormScreen | OfferScreen), form.status_message
        assert app.main.orders.selected_key == "O6"
        assert app.main.orders.row_text("O6")[3] == hhmm


@run_async
async def test_retry_places_a_refused_or_failed_order_again(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        orders = app.main.orders
        await pilot.press("2")
        orders.select_key("O1")
        await pilot.press("e")
        await settle(pilot, app)
        assert _calls(backend, "add_order") == [], "an open order is not retried"
        orders.select_key("O4")  # too heavy: refused again, with the reason, nothing placed
        await pilot.press("e")
        await settle(pilot, app)
        assert _calls(backend, "check_order") == [("SOUTH", -35.37, 149.06, 4.0)]
        assert _calls(backend, "add_order") == []
        assert any("Retry refused order O4 refused: still cannot be flown: payload" in line
                   for line in app.main.events.lines_written), app.main.events.lines_written
        backend.launch("O1", "N1")
        backend.advance(30)
        backend.abort("N1")  # the order fails in the air
        await settle(pilot, app)
        assert backend.order("O1").status is OrderStatus.FAILED
        orders.select_key("O1")
        await pilot.press("e")
        await settle(pilot, app)
        assert _calls(backend, "add_order")[-1] == ("NORTH", -35.265, 149.125, 1.2,
                                                    START_S + 1800, 0), "due kept: still ahead"
        assert orders.selected_key == "O6" and orders.row_text("O6")[1] == "new", "no O6 refused"


@run_async
async def test_retrying_a_never_flyable_order_adds_no_rows(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    """Issue 12: each retry of a refused order added a new refused row (O6, O7 ...)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        orders = app.main.orders
        rows = sorted(orders.views)
        await pilot.press("2")
        for attempt in range(3):
            orders.select_key("O4")
            await pilot.press("e")
            await settle(pilot, app)
            assert sorted(orders.views) == rows, f"attempt {attempt + 1} added a row"
            assert orders.selected_key == "O4"
        assert _calls(backend, "add_order") == []
        refusals = [a for a in app.actions_done if a.action == "retry_order"]
        assert len(refusals) == 3 and not any(a.result.ok for a in refusals)
        assert all(len(a.result.reasons) == 1 for a in refusals), "one line each"
        assert refusals[0].result.reasons[0].startswith("still cannot be flown: payload")
        # A failed order placed again once: a second retry points to the new one.
        backend.launch("O1", "N1")
        backend.advance(30)
        backend.abort("N1")
        await settle(pilot, app)
        orders.select_key("O1")
        await pilot.press("e")
        await settle(pilot, app)
        assert orders.selected_key == "O6"
        orders.select_key("O1")
        await pilot.press("e")
        await settle(pilot, app)
        assert sorted(orders.views) == sorted([*rows, "O6"]), "no O7"
        assert app.actions_done[-1].result.reasons == ("already placed again as O6 (retry "
                                                       "that one)",)


@run_async
async def test_retry_offers_a_later_promise_when_the_old_one_is_out_of_reach(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        backend.launch("O3", "N1")
        backend.advance(20)
        backend.abort("N1")
        backend.advance(1700)  # O3's promise (08:30) is 80 s ahead: kept, but out of reach
        await settle(pilot, app)
        app.main.orders.select_key("O3")
        await pilot.press("2", "e")
        await settle(pilot, app)
        offer = app.screen
        assert isinstance(offer, OfferScreen) and offer.question.startswith("O3 can be there by")
        assert _calls(backend, "add_order")[-1][4] == START_S + 1800
        await pilot.press("y")
        await settle(pilot, app)
        placed = _calls(backend, "add_order")[-1]
        assert placed[4] is not None and placed[4] > START_S + 1800
        assert app.main.orders.selected_key == "O6"
        assert backend.order("O6").promised_s == placed[4]


@run_async
async def test_cancel_of_an_order_in_flight_offers_the_abort(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        backend.launch("O1", "N2")
        backend.advance(60)
        await settle(pilot, app)
        assert backend.order("O1").status is OrderStatus.IN_FLIGHT
        app.main.orders.select_key("O1")
        await pilot.press("c")
        offer = app.screen
        assert isinstance(offer, OfferScreen)
        assert offer.question == "O1 in flight: abort the drone instead? (a/Esc)"
        await pilot.press("escape")
        await settle(pilot, app)
        assert _calls(backend, "abort") == [] and _calls(backend, "cancel_order") == []
        await pilot.press("c", "a")
        await settle(pilot, app)
        assert _calls(backend, "abort") == [("N2",)] and _calls(backend, "cancel_order") == []
        assert backend.vehicle("N2").mode == "RTL"
        app.main.orders.select_key("O2")  # not in flight: the usual confirmation
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, app)
        assert _calls(backend, "cancel_order") == [("O2",)]


@run_async
async def test_orders_sort_by_id_or_by_urgency(
    make_app: MakeApp, backend: ScriptedBackend
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        backend.add_order("SOUTH", -35.33, 149.10, 1.0, due_s=START_S + 1200)  # O6
        backend.add_order("SOUTH", -35.33, 149.10, 1.0, due_s=START_S + 1200, priority=5)  # O7
        for i in range(3):  # O8 O9 O10: ids past 9 stay in number order
            backend.add_order("NORTH", -35.25, 149.10, 1.0, due_s=START_S + 3000 + i)
        await settle(pilot, app)
        main, orders = app.main, app.main.orders
        panel = main.query_one("#orders-panel")

        def rows() -> list[str]:
            return [str(row.key.value) for row in orders.ordered_rows]

        assert panel.border_title == "Orders [2] · by id (o)"
        assert rows() == ["O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "O9", "O10"]
        orders.select_key("O3")
        await pilot.press("o")
        assert panel.border_title == "Orders [2] · by urgency (o)"
        # Least time left first, the higher priority first on a tie; the refused O4 last.
        assert rows() == ["O7", "O6", "O1", "O2", "O3", "O5", "O8", "O9", "O10", "O4"]
        assert orders.selected_key == "O3", "the cursor stays on its order"
        backend.cancel_order("O7")
        await settle(pilot, app)
        assert rows()[0] == "O6" and rows()[-1] == "O7", "a finished order sinks"
        await pilot.press("o")
        assert panel.border_title == "Orders [2] · by id (o)" and rows()[0] == "O1"
