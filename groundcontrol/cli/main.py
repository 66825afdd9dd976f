"""The ``drone-delivery`` command: one subcommand module per job.

Each module in ``COMMANDS`` exposes ``register(subparsers) -> None``; the parser it adds sets
``func(args) -> int`` with ``set_defaults``. Errors from bad input end with exit status 2 and
one line naming the problem; 130 is Ctrl-C and 141 a closed output pipe. Each command's
``--help`` lists its exit codes (``groundcontrol.cli.exits``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from groundcontrol.cli.exits import describe_exits
from groundcontrol.cli.parser import CliParser

__all__ = ["COMMANDS", "main"]

COMMANDS: tuple[str, ...] = (
    "groundcontrol.cli.plan",
    "groundcontrol.cli.demo",
    "groundcontrol.cli.order",
    "groundcontrol.cli.report",
    "groundcontrol.cli.fly",
    "groundcontrol.cli.vehicle",
    "groundcontrol.cli.calibrate",
    "groundcontrol.cli.run",
    "groundcontrol.cli.console",
    "groundcontrol.cli.replay",
    "groundcontrol.cli.sitl",
    "groundcontrol.cli.sign",
    "groundcontrol.cli.scenario",
    "sitl.cli_sim",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="drone-delivery",
        description="Plan, dispatch, fly and watch drone deliveries over MAVLink.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    describe_exits(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co., which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ValueError as exc:  # bad input from files or arguments: one clear line
        print(f"drone-delivery {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
