"""The functional core stays importable without the shell, the simulator or the UI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import missions
import planner

FORBIDDEN = ("textual", "pymavlink.mavutil", "groundcontrol", "sitl", "sqlite3", "socket", "asyncio")


def _core_modules() -> list[str]:
    names = []
    for pkg in (planner, missions):
        names.append(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_imports_nothing_from_the_shell(module: str) -> None:
    code = (
        "import sys, importlib\n"
        f"importlib.import_module({module!r})\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} pulls in {out.stdout.strip()}"
