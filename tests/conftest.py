"""Fixtures shared by every test folder: the ArduPilot SITL plugin (``sitl_fleet``) and small
copies of the example scenario for tests that run the command line on them."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from groundcontrol.flight.ready import ekf_ready_check
from groundcontrol.scenarios import resolve_scenario

pytest_plugins = ["sitl.pytest_plugin"]

sys.path.insert(0, str(Path(__file__).resolve().parent / "sitl"))
import fake_arducopter  # noqa: E402  (the stand-in arducopter, tests/sitl)

CanberraCopy = Callable[[Path, int, tuple[str, ...], float], Path]


def _copy_canberra(folder: Path, drones: int, order_ids: tuple[str, ...],
                   spacing_s: float) -> Path:
    source = resolve_scenario("canberra")
    folder.mkdir()
    for name in ("scenario.json", "depots.json", "airspace.geojson", "vehicle.parm"):
        shutil.copy(source / name, folder / name)
    fleet = json.loads((source / "fleet.json").read_text())
    fleet["drones"] = fleet["drones"][:drones]
    (folder / "fleet.json").write_text(json.dumps(fleet))
    with (source / "orders.csv").open() as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    with (folder / "orders.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(next(iter(rows.values()))))
        writer.writeheader()
        for i, oid in enumerate(order_ids):
            writer.writerow({**rows[oid], "created_s": str(100 + spacing_s * i)})
    return folder


@pytest.fixture
def sitl_ready() -> Callable[[float], Callable[[str, float], None]]:
    """SITL instances from ``sitl_fleet`` are ready when the ground station says so (EKF)."""
    return ekf_ready_check


@pytest.fixture
def canberra_copy() -> CanberraCopy:
    """``canberra_copy(folder, drones, order_ids, spacing_s)``: the Canberra scenario with its
    first ``drones`` drones and just those orders, placed ``spacing_s`` apart from t=100 s."""
    return _copy_canberra



@pytest.fixture(scope="session")
def fake_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ``arducopter`` stand-in (tests/sitl/fake_arducopter.py) for launcher tests."""
    return fake_arducopter.write_wrapper(tmp_path_factory.mktemp("bin"))


@pytest.fixture(scope="session")
def base_parm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Base SITL defaults for launcher tests (stand-in for copter.parm)."""
    path = tmp_path_factory.mktemp("parm") / "base.parm"
    path.write_text("FENCE_RADIUS 150\nRTL_ALT 3000\n")
    return path


@pytest.fixture(autouse=True)
def _own_signing_keys(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's signing keys out of the tests: a key kept for sysid 1 on this machine
    would make every flight test sign (and a signed SITL from another run ignore us)."""
    monkeypatch.setenv("DRONE_DELIVERY_KEYS",
                       str(tmp_path_factory.mktemp("keys") / "signing-keys.json"))



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With pytest-xdist (``./dev test`` runs two workers, ``--dist loadgroup``), the tests
    on ArduPilot SITL run on one worker, one after another as without xdist: each starts
    ``arducopter`` processes that need a core beside the test's own, and their waits are in
    wall seconds at a speedup. Everything else (the built-in simulator runs in the test's
    process, GIL-bound to one core) is shared out over both workers. The tests that start
    the stand-in ``arducopter`` go with them: SITL instance I listens on 5760 + 10*I, and a
    free instance picked on one worker was taken by a real SITL on the other."""
    for item in items:
        launches = {"fake_binary", "sitl_fleet"} & set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("sitl") or launches:
            item.add_marker(pytest.mark.xdist_group("sitl"))
