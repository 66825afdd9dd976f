"""The functional core stays importable without the shell, the simulator or the UI.

Two checks, as harlequin does it: importing any core module in a fresh interpreter must not
pull in the UI, the MAVLink link or the shell packages; and the core's own source must not
import I/O or concurrency modules (third-party libraries such as pyproj may use sockets
internally, which is not the core doing I/O). The import-linter contracts in pyproject.toml
run too.
"""

from __future__ import annotations

import ast
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import missions
import planner

NOT_LOADED = ("textual", "pymavlink.mavutil", "groundcontrol", "sitl")
NOT_IMPORTED = ("socket", "threading", "asyncio", "sqlite3", "subprocess", "textual",
                "groundcontrol", "sitl", "pymavlink.mavutil", "dronekit")


def _core_modules() -> list[str]:
    names = []
    for pkg in (planner, missions):
        names.append(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_does_not_load_the_shell(module: str) -> None:
    code = (
        "import sys, importlib\n"
        f"importlib.import_module({module!r})\n"
        f"print(','.join(m for m in {NOT_LOADED!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["planner", "missions"])
def test_core_source_imports_no_io_or_shell_module(package: str) -> None:
    root = Path(__file__).resolve().parent.parent / package
    offenders = {
        f"{path.relative_to(root.parent)}: {name}"
        for path in root.rglob("*.py")
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in NOT_IMPORTED)
    }
    assert not offenders, sorted(offenders)


def test_import_linter_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed in this environment")
    out = subprocess.run([lint], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stdout + out.stderr


def test_only_the_link_imports_mavutil() -> None:
    root = Path(__file__).resolve().parent.parent
    allowed = {Path("groundcontrol/link.py")}
    offenders = sorted(
        str(path.relative_to(root))
        for package in ("planner", "missions", "groundcontrol", "sitl")
        for path in (root / package).rglob("*.py")
        if path.relative_to(root) not in allowed
        and any(n == "pymavlink.mavutil" or n.startswith("pymavlink.mavutil.")
                for n in _imports(path))
    )
    assert not offenders, f"only groundcontrol/link.py may import pymavlink.mavutil: {offenders}"


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    out = subprocess.run([ruff, "check", "--no-cache", "."], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stdout[-3000:]
