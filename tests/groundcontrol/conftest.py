"""Fixtures of the ground-control tests: fakes built from the recordings, and vehicle backends.

``vehicle_endpoints(count, homes)`` gives the MAVLink URLs of ``count`` running vehicles and
their speedup: the built-in simulator (``sim`` marker, 50x) or ArduPilot SITL through
``sitl.ardupilot.ArduPilotSitl`` (``sitl`` marker, 25x; skipped with the reason when no
``arducopter`` is found).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import recordings
from fake_links import MemoryChannel
from fake_vehicle import FakeVehicle
from store_backends import postgres_server, store_location  # noqa: F401 (fixtures)

from groundcontrol.flight.ready import ekf_ready_check

needs_reference = pytest.mark.skipif(
    not recordings.REFERENCE_DIR.is_dir(),
    reason=f"reference recordings not found in {recordings.REFERENCE_DIR}",
)


@pytest.fixture
def fake() -> Iterator[FakeVehicle]:
    yield FakeVehicle(time_scale=10.0)


@pytest.fixture
def channel(fake: FakeVehicle) -> Iterator[MemoryChannel]:
    ch = MemoryChannel(fake)
    yield ch
    ch.close()


def _sitl_binary() -> str | None:
    return os.environ.get("ARDUPILOT_SITL") or shutil.which("arducopter")


SIM_SPEEDUP = 50.0
SITL_SPEEDUP = 25.0


@pytest.fixture(params=[pytest.param("builtin", marks=pytest.mark.sim),
                        pytest.param("ardupilot", marks=pytest.mark.sitl)])
def backend(request: pytest.FixtureRequest) -> str:
    """The vehicle backend a flight test runs against."""
    if request.param == "ardupilot" and _sitl_binary() is None:
        pytest.skip("ArduPilot SITL not found: set ARDUPILOT_SITL or put arducopter on PATH")
    return str(request.param)


@pytest.fixture
def vehicle_endpoints(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., tuple[list[str], float]]]:
    """``vehicle_endpoints(count, homes=None) -> (urls, speedup)`` for the chosen backend."""
    stack: list[object] = []

    def start(count: int, homes: list[tuple[float, float, float, float]] | None = None):
        lat, lon, alt = recordings.HOME
        homes = homes or [(lat, lon + 0.001 * i, alt, 0.0) for i in range(count)]
        if backend == "builtin":
            sim = pytest.importorskip("sitl.sim")
            fleet_cls = getattr(sim, "SimFleet", None)
            if fleet_cls is None:
                pytest.skip("sitl.sim.SimFleet is not available yet")
            # The delivery overlay SITL gets too (gripper on servo 9, fences, failsafes).
            overlay = Path(sim.__file__).parents[1] / "params" / "delivery.parm"
            fleet = fleet_cls(homes=homes, speedup=SIM_SPEEDUP, base_port=0,
                              params_files=[overlay])
            fleet.__enter__()
            stack.append(fleet)
            return list(fleet.endpoints), SIM_SPEEDUP
        ardupilot = pytest.importorskip("sitl.ardupilot")
        try:
            # copter.parm (ARDUPILOT_DEFAULTS or the binary's own tree) plus the delivery
            # overlay, free ports, and a wait until each copter is ready to arm.
            sitl = ardupilot.launch_fleet(homes, SITL_SPEEDUP,
                                          log_dir=tmp_path_factory.mktemp("sitl"),
                                          ready=ekf_ready_check(SITL_SPEEDUP))
        except ardupilot.SitlNotFound as exc:
            pytest.skip(f"ArduPilot SITL not usable: {exc}")
        sitl.__enter__()
        stack.append(sitl)
        return list(sitl.endpoints), SITL_SPEEDUP

    yield start
    for item in reversed(stack):
        item.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def shortest_mission(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .plan of the example scenario's shortest feasible order, planned once."""
    from groundcontrol.cli.plan import plan_scenario
    from groundcontrol.scenarios import resolve_scenario
    from planner.load import load_scenario

    out = tmp_path_factory.mktemp("missions")
    outcomes = plan_scenario(load_scenario(resolve_scenario("canberra")), out_dir=out)
    best = min((p for p in outcomes if p.files), key=lambda p: p.result.plan.flight_time_s)
    return next(f for f in best.files if f.suffix == ".plan")
