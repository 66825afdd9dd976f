"""``drone-delivery replay``: a flight's ``.tlog`` or a dispatch day's store, played back in
the console (as QGroundControl and Mission Planner replay telemetry logs).

``replay FLIGHT.tlog [--plan FILE.plan]`` plays one or several vehicles as they flew;
``replay --store FILE`` (or ``--store postgresql://...``, a shared order book, every site's
day) plays a day's vehicle snapshots, dispatcher decisions and order states; to follow a book
live, ``console --watch --store ...``. ``--speed`` is recorded seconds per wall second;
``--headless`` prints the replayed events and a last line instead of opening the console (as
fast as it reads, for scripts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from groundcontrol.cli.fly import load_mission
from groundcontrol.console.replay.playback import (
    DEFAULT_SPEED,
    ReplaySource,
    check_speed,
    replay_lines,
)
from groundcontrol.fleet.store.dialect import store_location

__all__ = ["build_source", "register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay", help="play a flight's .tlog or a day's store back in the console",
        description="Play back a flight's .tlog (every vehicle in it, by system id) or a "
                    "dispatch store's day in the dispatcher console. Keys: space pauses and "
                    "resumes, + and - double and halve the speed, q quits; actions that "
                    "would command a vehicle are refused.")
    p.add_argument("tlog", nargs="?", metavar="FLIGHT.tlog", help="the telemetry log to play")
    p.add_argument("--plan", metavar="FILE.plan",
                   help="with a tlog: the mission flown, drawn from the start (else the "
                        "mission uploaded in the log is drawn once it is seen)")
    p.add_argument("--store", type=store_location, metavar="FILE|URL",
                   help="a dispatch store, a file or postgresql://user@host:port/db: replay "
                        "its day (every site's; `console --watch --store` follows one live)")
    p.add_argument("--speed", type=float, default=DEFAULT_SPEED, metavar="X",
                   help=f"recorded seconds per wall second (default {DEFAULT_SPEED:g})")
    p.add_argument("--headless", action="store_true",
                   help="print the replayed events and a last line; no console")
    p.set_defaults(func=run)


def build_source(args: argparse.Namespace) -> ReplaySource:
    """The recording the arguments name.

    Raises:
        ValueError: neither or both of a tlog and --store, --plan without a tlog, a bad
            speed, a missing, empty or foreign file.
    """
    check_speed(args.speed)
    if (args.tlog is None) == (args.store is None):
        raise ValueError("give a FLIGHT.tlog or --store FILE (one of them)")
    if args.store is not None:
        if args.plan is not None:
            raise ValueError("--plan goes with a tlog, not with --store")
        from groundcontrol.console.replay.store_source import StoreSource

        return StoreSource(args.store)
    from groundcontrol.console.replay.tlog_source import TlogSource

    mission = load_mission(Path(args.plan)) if args.plan is not None else None
    return TlogSource(args.tlog, mission)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    source = build_source(args)
    stream = sys.stdout if out is None else out
    if args.headless:
        for line in replay_lines(source):
            print(line, file=stream)
        return 0
    from groundcontrol.console.replay.app import ReplayApp
    from groundcontrol.console.replay.playback import ReplayBackend

    backend = ReplayBackend(source, args.speed)
    ReplayApp(backend).run()
    print(f"replayed {source.summary()}", file=stream, flush=True)
    return 0
