"""The argument parser every ``drone-delivery`` command is built with.

argparse reads a word that starts with ``-`` as an option unless it is a plain negative number
(``-35.3``), so ``--home -35.36,149.16,584,353`` stopped with a usage error: every position
south of the equator or west of Greenwich. ``CliParser`` joins such a value to the option
before parsing (``--home=-35.36,...``, which argparse always reads as a value), for every
option of the parser that takes one value. Subcommand parsers are built with the same class
(``add_subparsers`` uses the parent's), so each parser joins its own options.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["NEGATIVE_VALUE", "CliParser", "join_negative_values"]

NEGATIVE_VALUE = re.compile(r"-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(,|$)")
"""A negative number, alone or first in a comma list (``-35.3``, ``-35.36,149.16,584``)."""


def join_negative_values(args: Sequence[str], takes_value: set[str]) -> list[str]:
    """``args`` with each ``OPT VALUE`` written ``OPT=VALUE`` when ``OPT`` is in
    ``takes_value`` and ``VALUE`` starts with a negative number; everything after ``--`` is
    left alone.

    >>> join_negative_values(["--home", "-35.3,149.1", "--count", "2"], {"--home", "--count"})
    ['--home=-35.3,149.1', '--count', '2']
    >>> join_negative_values(["--json", "-35.3,149.1"], {"--home"})
    ['--json', '-35.3,149.1']
    """
    joined: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return joined + list(args[i:])
        if joined and joined[-1] in takes_value and NEGATIVE_VALUE.match(arg):
            joined[-1] = f"{joined[-1]}={arg}"
        else:
            joined.append(arg)
    return joined

class CliParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that reads ``--opt -35.3,149.1`` as ``--opt=-35.3,149.1``."""

    def _value_options(self) -> set[str]:
        """The option strings of this parser's options that take exactly one value."""
        # Flags (store_true, count, help) have nargs 0; lists (nargs "+", 2) are left alone.
        return {option for action in self._actions if action.nargs is None
                for option in action.option_strings}

    # Any: argparse's overloads return the namespace type given, or a Namespace.
    def parse_known_args(self, args: Iterable[str] | None = None,
                         namespace: Any = None) -> tuple[Any, list[str]]:
        """Parse as argparse does, after joining negative values to their options."""
        given = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(
            join_negative_values(given, self._value_options()), namespace)

