"""Command palette provider: the same actions as the keys, on the selection or on any target."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from groundcontrol.tui.actions import ACTIONS, Target

if TYPE_CHECKING:
    from groundcontrol.tui.app import ConsoleApp

__all__ = ["ConsoleCommands"]


class ConsoleCommands(Provider):
    """Lists every action on the current selection, and each action on each vehicle/order by
    name (e.g. "Pause vehicle D1-2", "Cancel order O17")."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        for spec in ACTIONS:
            if spec.target is Target.NONE:
                yield spec.title, partial(app.request_action, spec.name, None), spec.help
            else:
                yield (
                    f"{spec.title} (selected {spec.target.value})",
                    partial(app.act_on_selection, spec.name),
                    spec.help,
                )
        for spec in ACTIONS:
            if spec.target is Target.VEHICLE:
                for name in app.vehicles:
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
            if "(selected" in text or text == "Add an order":
                yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
