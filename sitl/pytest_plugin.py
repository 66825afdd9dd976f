"""Pytest fixtures for tests that fly real ArduPilot SITL (``@pytest.mark.sitl``).

Registered by ``pytest_plugins = ["sitl.pytest_plugin"]`` in ``tests/conftest.py``.

``sitl_fleet`` is a factory: ``sitl_fleet(count, homes=None, speedup=10.0) -> ArduPilotSitl``
starts ``count`` ``arducopter`` instances (found through ``$ARDUPILOT_SITL`` or PATH; defaults
from ``$ARDUPILOT_DEFAULTS`` or the ArduPilot tree of the binary, plus the delivery overlay) on
free ports in a per-test temporary folder, waits until each is ready to arm, and stops them all
after the test. When the binary or its defaults are missing the test is skipped with the reason.
When the test fails, the tail of each instance's log is attached to the report.

The lookup happens when the factory is called, so a test can point ``ARDUPILOT_SITL`` at another
binary with ``monkeypatch.setenv`` first (the launcher tests use a stand-in).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path

import pytest

from sitl.ardupilot import (
    ArduPilotSitl,
    Home,
    ReadyCheck,
    SitlNotFound,
    free_instance,
    launch_fleet,
)

__all__ = ["CMAC", "SitlFleetFactory", "sitl_fleet", "sitl_log_tail"]

CMAC = Home(-35.363261, 149.165230, 584.0, 353.0)
"""ArduPilot's own SITL home (Canberra Model Aircraft Club), where the recordings were made."""
LOG_TAIL_LINES = 60

SitlFleetFactory = Callable[..., ArduPilotSitl]
_LOGS = pytest.StashKey[list[Path]]()


def sitl_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a SITL log (empty when there is none)."""
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


ReadyFactory = Callable[[float], ReadyCheck]
"""``ready(speedup)``: the readiness probe for instances at that speedup."""


@pytest.fixture
def sitl_ready() -> ReadyFactory | None:
    """The ground station's readiness probe (none here: ``sitl`` does not import it).

    A project's conftest overrides this with the real one, e.g.
    ``groundcontrol.flight.ready.ekf_ready_check``; without it instances are used as soon as
    their ports answer.
    """
    return None


@pytest.fixture
def sitl_fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               sitl_ready: ReadyFactory | None) -> Iterator[SitlFleetFactory]:
    """``sitl_fleet(count, homes=None, speedup=10.0, overlay=True)``: running, ready SITLs."""
    started: list[ArduPilotSitl] = []
    request.node.stash[_LOGS] = []

    def start(count: int = 1, homes: Sequence[Home | Sequence[float]] | None = None,
              speedup: float = 10.0, overlay: bool = True) -> ArduPilotSitl:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        chosen = list(homes) if homes is not None else [
            Home(CMAC.lat, CMAC.lon + 0.0002 * i, CMAC.alt_amsl_m, CMAC.heading_deg)
            for i in range(count)]
        if len(chosen) != count:
            raise ValueError(f"{len(chosen)} homes for {count} instances")
        try:
            # A random block keeps clear of 5760 and of other test runs on the same machine.
            first = free_instance(count, start=random.randint(20, 200))
            sitl = launch_fleet(chosen, speedup, overlay=overlay, first_instance=first,
                                log_dir=tmp_path_factory.mktemp("sitl"),
                                ready=sitl_ready(speedup) if sitl_ready else None)
        except SitlNotFound as exc:
            pytest.skip(f"ArduPilot SITL not usable here: {exc}")
        request.node.stash[_LOGS].extend(
            sitl.log_dir / f"arducopter-{sitl.first_instance + i}.log" for i in range(count))
        started.append(sitl)
        sitl.__enter__()
        return sitl

    yield start
    for sitl in reversed(started):
        sitl.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Attach each SITL instance's log tail to a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for path in item.stash.get(_LOGS, []):
        tail = sitl_log_tail(path)
        if tail:
            report.sections.append((f"SITL log {path.name} (last {LOG_TAIL_LINES} lines)", tail))
