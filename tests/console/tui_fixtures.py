"""Shared fixtures for the console tests: the scripted backend on manual time and the app.

Imported by name from each test module: a conftest.py here would shadow the other test folders'
``from conftest import ...``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from scripted.backend import ScriptedBackend, ScriptedScenario
from scripted.demo import demo_scenario
from textual.pilot import Pilot

from groundcontrol.console.app import ConsoleApp


@pytest.fixture(name="scenario")
def scenario_fixture() -> ScriptedScenario:
    return demo_scenario()


@pytest.fixture(name="backend")
def backend_fixture(scenario: ScriptedScenario) -> ScriptedBackend:
    """Manual time: nothing moves unless a test calls ``advance``."""
    return ScriptedBackend(scenario, autorun=False)


@pytest.fixture(name="make_app")
def make_app_fixture(backend: ScriptedBackend) -> Callable[[], ConsoleApp]:
    return lambda: ConsoleApp(backend)


async def settle(pilot: Pilot[None], app: ConsoleApp) -> None:
    """Wait until backend actions have returned and every pushed view is on screen."""
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.flush_updates()
        await pilot.pause()


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test with ``asyncio.run`` (no pytest async plugin is installed).

    ``functools.wraps`` keeps the signature, so pytest still injects the fixtures.
    """

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), timeout=TEST_TIMEOUT_S))

    return wrapper


TEST_TIMEOUT_S = 60.0
"""A Pilot test that has not finished by then has hung: fail it with a TimeoutError."""
