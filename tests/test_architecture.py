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
    allowed = {Path("groundcontrol/mavlink/link.py")}
    offenders = sorted(
        str(path.relative_to(root))
        for package in ("planner", "missions", "groundcontrol", "sitl")
        for path in (root / package).rglob("*.py")
        if path.relative_to(root) not in allowed
        and any(n == "pymavlink.mavutil" or n.startswith("pymavlink.mavutil.")
                for n in _imports(path))
    )
    assert not offenders, f"only {allowed} may import pymavlink.mavutil: {offenders}"


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    out = subprocess.run([ruff, "check", "--no-cache", "."], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stdout[-3000:]


PRODUCT = ("planner", "missions", "groundcontrol", "sitl")


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted.

    >>> import_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in graph:
                continue
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_cycle_finder_finds_a_circle_of_three() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    """No import cycle between the product's modules, type-only imports included."""
    grimp = pytest.importorskip("grimp")  # comes with import-linter
    built = grimp.build_graph(*PRODUCT, exclude_type_checking_imports=False, cache_dir=None)
    graph = {m: set(built.find_modules_directly_imported_by(m)) for m in built.modules}
    assert import_cycles(graph) == []
