"""Run the benchmarks: every ``bench/bench_*.py`` module's ``main()`` in turn, or the named ones.

``python -m bench`` runs them all; ``python -m bench route dispatch`` runs those two;
options after the names (``python -m bench route --orders 200``) go to each module's ``main``.
Benchmarks print figures and assert nothing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["available", "main"]


def available() -> list[str]:
    """Names of the benchmarks: ``bench_route.py`` is ``route``."""
    here = str(Path(__file__).parent)
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules([here])
        if info.name.startswith("bench_")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the named benchmarks (all when none is named); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    names: list[str] = []
    while args and not args[0].startswith("-"):
        names.append(args.pop(0))
    known = available()
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; available: {', '.join(known)}")
        return 2
    for name in names or known:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== bench {name} ==", flush=True)
        started = time.perf_counter()
        run = module.main
        if inspect.signature(run).parameters:
            run(args)
        else:
            run()
        print(f"== bench {name}: {time.perf_counter() - started:.1f} s ==", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
