"""The ``>>>`` examples in the ground-control modules run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["errors", "mavlink.vehicle", "mavlink.transfer",
                                  "mavlink.commands", "flight.preflight", "fleet.report",
                                  "cli.parser", "cli.exits", "fleet.model"])
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"groundcontrol.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
