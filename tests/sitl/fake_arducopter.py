"""A STAND-IN for ArduPilot's ``arducopter`` SITL binary, for tests only. It is NOT ArduPilot.

It accepts the command line ``sitl.ardupilot.ArduPilotSitl`` gives the real binary
(``--model quad[:FILE.json] -I N --home LAT,LON,ALT,HDG --speedup K --sysid S [-w]
[--defaults A,B]``),
rejects anything else as arducopter does, and runs the project's built-in simulator
(``sitl.sim.SimFleet``) for one vehicle on TCP ``5760 + 10*N`` with that system id, home,
speedup and defaults files. Like SITL it prints boot text to stdout, writes ``eeprom.bin`` in
its working directory (wiped by ``-w``), boots when the first client connects, and exits on
SIGTERM/SIGINT.

Why: the launcher's process handling (start, port layout, per-instance working directories,
logs, the readiness wait, clean stop, a dying instance) is then tested for real, as separate
processes, without an ArduPilot build. The launcher code under test is exactly the code that
runs real SITL; only the binary differs. Flight behaviour against real ArduCopter is tested by
``tests/sitl/test_sitl_flight.py`` (``sitl`` marker), which skips when no ``arducopter`` is found.

Run it through a wrapper script (``write_wrapper``) so the launcher can execute it like a binary.
Extra test hooks, never passed by the launcher: ``--fake-die-after S`` exits with status 3 after S
wall seconds (a crashing instance), ``--fake-ignore-sigterm`` (a process that must be killed).
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = ["main", "parse_args", "write_wrapper"]

EEPROM_BYTES = 16384
_MODELS = ("quad", "+", "x", "copter")


def write_wrapper(folder: Path, name: str = "arducopter") -> Path:
    """An executable ``folder/name`` that runs this stand-in with the current interpreter."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class _Usage(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # arducopter prints its usage and exits non-zero on an unknown option.
        print(f"arducopter (stand-in): {message}", flush=True)
        raise SystemExit(1)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse arducopter's options (only those the launcher uses, with SITL's spelling)."""
    p = _Usage(prog="arducopter")
    p.add_argument("--model", required=True)
    p.add_argument("-I", "--instance", dest="instance", type=int, default=0)
    p.add_argument("--home", required=True)
    p.add_argument("--speedup", type=float, default=1.0)
    p.add_argument("--sysid", type=int, default=1)
    p.add_argument("-w", "--wipe", action="store_true")
    p.add_argument("--defaults", default="")
    p.add_argument("--fake-die-after", type=float, default=None)
    p.add_argument("--fake-ignore-sigterm", action="store_true")
    # getopt (arducopter) takes "--home -35.3,149.1,..." as a value; argparse would see an option.
    joined: list[str] = []
    for arg in argv:
        if joined and joined[-1] == "--home":
            joined[-1] = f"--home={arg}"
        else:
            joined.append(arg)
    args = p.parse_args(joined)
    frame, _, args.model_file = args.model.partition(":")
    if frame not in _MODELS or (args.model_file and not args.model_file.endswith(".json")):
        p.error(f"model {args.model!r} not supported by the stand-in (quad[:FILE.json] only)")
    parts = args.home.split(",")
    if len(parts) != 4:
        p.error(f"--home {args.home!r}: expected LAT,LON,ALT,HDG")
    args.home_values = tuple(float(x) for x in parts)
    args.defaults_files = [Path(f) for f in args.defaults.split(",") if f]
    return args


def _eeprom(wipe: bool) -> None:
    path = Path("eeprom.bin")
    if wipe or not path.exists():
        print("Formatting eeprom.bin" if wipe else "Creating eeprom.bin", flush=True)
        path.write_bytes(bytes(EEPROM_BYTES))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    missing = [str(f) for f in args.defaults_files if not f.is_file()]
    if missing:
        print(f"Failed to load defaults from {missing[0]}", flush=True)
        return 1
    # As SITL: the frame model is read relative to the working directory. The stand-in only
    # checks that it is there; it flies its default quad.
    if args.model_file and not Path(args.model_file).is_file():
        print(f"{args.model_file} failed to load", flush=True)
        return 1
    from sitl.sim import SimFleet

    port = 5760 + 10 * (args.instance % 256)  # 8 bits, as in ArduPilot
    print("arducopter STAND-IN (tests/sitl/fake_arducopter.py): built-in simulator, not ArduPilot",
          flush=True)
    print(f"Starting sketch 'ArduCopter' model {args.model} instance {args.instance} "
          f"sysid {args.sysid} home {args.home} speedup {args.speedup:g}", flush=True)
    for f in args.defaults_files:
        print(f"Loaded defaults from {f}", flush=True)
    _eeprom(args.wipe)
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: object) -> None:
        if signum == signal.SIGTERM and args.fake_ignore_sigterm:
            print("ignoring SIGTERM (test hook)", flush=True)
            return
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fleet = SimFleet(homes=[args.home_values], speedup=args.speedup,
                     params_files=args.defaults_files, base_port=port, sysid_base=args.sysid)
    with fleet:
        print(f"bind port {port} for SERIAL0", flush=True)
        print("Waiting for connection ....", flush=True)
        started = time.monotonic()
        while not stop["signal"]:
            if fleet.error is not None:
                print(f"simulator failed: {fleet.error!r}", flush=True)
                return 2
            if args.fake_die_after is not None and time.monotonic() - started > args.fake_die_after:
                print("crashing on purpose (--fake-die-after)", flush=True)
                os._exit(3)
            time.sleep(0.05)
    print(f"exiting on signal {stop['signal']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
