"""A footer that shows whole keys only: the most important bindings that fit its width.

Textual's footer lays every shown binding out in a row and cuts whatever passes the edge
(``e Retr`` at 80 columns). This one ranks the bindings, keeps the best ranked that fit whole
(in their own order) and chooses again on every resize; the keys screen lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FittedFooter", "FooterItem", "fit_footer"]

PALETTE = "command_palette"
"""The rank key of the command palette's binding (shown last, at the right)."""
UNRANKED = 1000
"""The rank of a binding the ranks do not name: shown only when everything ranked is."""


@dataclass(frozen=True, slots=True)
class FooterItem:
    """One key the footer may show."""

    action: str
    width: int
    """Cells it takes, its margin included."""
    rank: int
    """Lower ranks are kept first."""


def fit_footer(items: Sequence[FooterItem], available: int) -> tuple[str, ...]:
    """The actions to show, in the items' order: by rank while each fits whole, skipping one
    that does not for a narrower one ranked after it.

    >>> items = [FooterItem("a", 6, 1), FooterItem("b", 9, 0), FooterItem("c", 5, 2)]
    >>> fit_footer(items, 20), fit_footer(items, 12), fit_footer(items, 4)
    (('a', 'b', 'c'), ('b',), ())
    """
    used, kept = 0, set()
    for item in sorted(items, key=lambda i: i.rank):
        if used + item.width <= available:
            kept.add(item.action)
            used += item.width
    return tuple(i.action for i in items if i.action in kept)


class FittedFooter(Footer):
    """``Footer(compact=True)`` showing only the keys ``ranks`` prefers that fit whole.

    Args:
        ranks: rank per binding action (``act('launch')``, ``app.show_keys``); lower shows
            first; ``command_palette`` ranks the palette's key.
    """

    def __init__(self, ranks: Mapping[str, int], *, id: str | None = None) -> None:
        super().__init__(compact=True, id=id)
        self.ranks = dict(ranks)
        self.shown: tuple[str, ...] = ()
        """The actions on show now (tests read it)."""

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def _choose(self) -> tuple[str, ...]:
        items = []
        for _, binding, _, _ in self.screen.active_bindings.values():
            if not binding.show:
                continue
            text = f"{self.app.get_key_display(binding)} {binding.description}"
            items.append(FooterItem(binding.action, len(text) + 1,
                                    self.ranks.get(binding.action, UNRANKED)))
        palette = self._palette()
        if palette is not None:
            text = f"{self.app.get_key_display(palette[1])} {palette[1].description}"
            # The palette's key is docked right behind a one-cell border.
            items.append(FooterItem(PALETTE, len(text) + 1, self.ranks.get(PALETTE, UNRANKED)))
        return fit_footer(items, self._width())

    def _palette(self) -> tuple[bool, Binding] | None:
        """(enabled, binding) of the command palette's key, when the footer may show it."""
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return None if found is None else (found[2], found[1])

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self.shown = chosen = self._choose()
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action in chosen:
                yield FooterKey(binding.key, self.app.get_key_display(binding),
                                binding.description, binding.action, disabled=not enabled,
                                tooltip=tooltip).data_bind(compact=Footer.compact)
        palette = self._palette()
        if PALETTE in chosen and palette is not None:
            enabled, binding = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                            binding.action, classes="-command-palette", disabled=not enabled,
                            tooltip=binding.tooltip or binding.description)

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and self._choose() != self.shown:
            self.call_after_refresh(self.recompose)
