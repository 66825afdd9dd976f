"""What each command's exit status means, written into its ``--help``.

``main`` turns bad input (a ``ValueError``) into 2, Ctrl-C into 130 and a closed output pipe
into 141 for every command; the outcome codes (0 and 1) are each command's own and listed in
``OUTCOMES``, checked against the code by reading it (``return 1`` paths).
"""

from __future__ import annotations

import argparse

__all__ = ["COMMON", "OUTCOMES", "describe_exits", "exit_epilog"]

COMMON = ("2 bad input (an argument or file; one line on stderr names it); 130 interrupted "
          "(Ctrl-C); 141 the output pipe was closed (piped into head)")
"""The codes ``main`` gives every command."""

OUTCOMES: dict[str, str] = {
    "plan": "0 planned (an infeasible order is a result, listed with its reasons)",
    "order": "0 done (stored, listed or cancelled)",
    "report": "0 report printed or written",
    "fly": "0 delivered, landed and disarmed; 1 the flight did not succeed, the vehicle did "
           "not answer or the simulator did not start (2 also when no arducopter is found)",
    "calibrate": "0 profiles written; 1 a profile could not be fitted to the records",
    "run": "0 every order final (delivered, failed, refused or cancelled); 1 orders still open "
           "at --timeout, or no vehicle answered",
    "demo": "0 every order final; 1 orders still open at --timeout, or the fleet failed",
    "console": "0 closed by the operator; 1 the fleet could not start (no vehicle answered)",
    "sitl": "0 stopped cleanly by Ctrl-C or SIGTERM once running; 1 an instance failed to "
            "start, was not ready in time or died (130: interrupted while starting)",
    "sim": "0 stopped after --duration; 1 the simulator failed (Ctrl-C stops it with 130)",
    "sign": "0 done; 1 the vehicle did not answer or did not take the key",
    "scenario": "0 scenario folder written (with --check, planned too)",
    "upload": "0 every list uploaded and read back as sent; 1 the vehicle refused, did not "
              "answer or read back something else",
    "download": "0 written; 1 the vehicle did not answer",
    "vehicle": "0 done; 1 the vehicle refused (named) or did not answer",
    "replay": "0 played to the end (headless) or closed by the operator",
}
"""Each command's own codes, before ``COMMON``."""


def exit_epilog(command: str) -> str:
    """The ``--help`` epilog of a command.

    >>> exit_epilog("report").startswith("exit status: 0 report printed or written; 2 bad")
    True
    """
    own = OUTCOMES.get(command, "0 done")
    return f"exit status: {own}; {COMMON}."


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {name: p for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for name, p in action.choices.items()}


def describe_exits(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand (and their verbs, ``order add`` ...) its exit status epilog,
    unless it already has an epilog of its own."""
    parser.epilog = parser.epilog or f"Each command's --help lists its exit status; {COMMON}."
    for name, sub in _subcommands(parser).items():
        for p in (sub, *_subcommands(sub).values()):
            p.epilog = p.epilog or exit_epilog(name)
