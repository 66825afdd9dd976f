"""Command palette provider: the same actions as the keys, on the selection or on any target."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from groundcontrol.console.actions import ACTIONS, Target
from groundcontrol.console.model import OrderView, VehicleState, VehicleView

__all__ = ["ConsoleCommands", "PaletteHost"]


class _MainPanels(Protocol):
    def action_details(self) -> None: ...
    def action_zoom(self) -> None: ...


class PaletteHost(Protocol):
    """What the palette needs of the app it runs in (``ConsoleApp``)."""

    vehicles: Mapping[str, VehicleView]
    orders: Mapping[str, OrderView]

    @property
    def main(self) -> _MainPanels: ...
    def act_on_selection(self, name: str) -> None: ...
    def request_action(self, name: str, target: str | None, vehicle: str | None = None) -> None:
        ...

_DETAILS = "Details of the selected row"
_ZOOM = "Zoom the focused panel"
_EXTRA_TITLES = (_DETAILS, _ZOOM)
_GROUNDED = (VehicleState.IDLE, VehicleState.CHARGING, VehicleState.LANDED)


class ConsoleCommands(Provider):
    """Lists every action on the current selection, and each action on each vehicle/order by
    name (e.g. "Pause vehicle D1-2", "Cancel order O17")."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app: PaletteHost = self.app  # type: ignore[assignment]
        for spec in ACTIONS:
            if spec.target is Target.NONE:
                yield spec.title, partial(app.request_action, spec.name, None), spec.help
            else:
                yield (
                    f"{spec.title} (selected {spec.target.value})",
                    partial(app.act_on_selection, spec.name),
                    spec.help,
                )
        main = app.main
        yield _DETAILS, main.action_details, "Plan and mission of the order, or live vehicle state"
        yield _ZOOM, main.action_zoom, "Maximise the focused panel (again to restore)"
        for spec in ACTIONS:
            if spec.target is Target.VEHICLE:
                # Named entries only for vehicles the action can apply to; the selection entry
                # above still reaches any vehicle (and the backend says why when it cannot).
                for name, vehicle in app.vehicles.items():
                    if vehicle.state in _GROUNDED:
                        continue
                    command = partial(app.request_action, spec.name, name)
                    yield f"{spec.title} {name}", command, spec.help
            elif spec.target is Target.ORDER:
                for order_id, order in app.orders.items():
                    if not order.status.is_final:
                        yield (
                            f"{spec.title} {order_id}",
                            partial(app.request_action, spec.name, order_id),
                            spec.help,
                        )

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            if "(selected" in text or text in _EXTRA_TITLES or text == "Add an order":
                yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
