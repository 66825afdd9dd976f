"""The command line (issue 12): ``--home -35.36,...`` is a value, not an option, and every
``--help`` gives the exit status.

argparse reads a word starting with ``-`` as an option unless it is a plain negative number;
``CliParser`` joins such values to their option for every command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundcontrol.cli import report as report_cli
from groundcontrol.cli.exits import exit_epilog
from groundcontrol.cli.main import build_parser, main
from groundcontrol.cli.parser import join_negative_values
from groundcontrol.fleet.store.sqlite import Store

SOUTH = "-35.36,149.16,584,353"


@pytest.mark.parametrize("command", ["sim", "sitl"])
def test_a_southern_home_parses_written_with_a_space(command: str) -> None:
    args = build_parser().parse_args([command, "--home", SOUTH, "--home", "-1.5,-70.25,10,0",
                                      "--count", "2"])
    assert args.home == [SOUTH, "-1.5,-70.25,10,0"]
    assert args.count == 2
    assert build_parser().parse_args([command, f"--home={SOUTH}"]).home == [SOUTH]


def test_a_negative_wind_reaches_the_check_that_names_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["sim", "--wind", "-3,90"]).wind == "-3,90"
    assert main(["sim", "--wind", "-3,90", "--duration", "0.01"]) == 2
    assert capsys.readouterr().err.strip() == (
        "drone-delivery sim: error: --wind '-3,90': speed must not be negative")


def test_a_southern_western_drop_off_and_negative_numbers_in_order_add(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "o.db")
    assert main(["order", "add", "--store", db, "--depot", "hume", "--to", "-35.37,-149.10",
                 "--payload", "1", "--at", "100", "--priority", "-5", "--id", "w1"]) == 0
    assert main(["order", "add", "--store", db, "--depot", "hume", "--to", "-35.37, 149.10",
                 "--payload", "1", "--at", "100", "--id", "s1"]) == 0
    capsys.readouterr()
    assert main(["order", "list", "--store", db, "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["orders"]}
    assert (rows["w1"]["lat"], rows["w1"]["lon"], rows["w1"]["priority"]) == (-35.37, -149.1, -5)
    assert (rows["s1"]["lat"], rows["s1"]["lon"]) == (-35.37, 149.1)
    with Store.open(db, create=False) as store:
        assert len(store.orders()) == 2


def test_flags_options_of_other_commands_and_words_after_double_dash_are_left_alone() -> None:
    assert join_negative_values(["--json", "-35.3,149.1"], {"--home"}) == ["--json", "-35.3,149.1"]
    assert join_negative_values(["--home", "--", "-35.3"], {"--home"}) == ["--home", "--", "-35.3"]
    assert join_negative_values(["--home", "-x"], {"--home"}) == ["--home", "-x"]
    assert join_negative_values(["--home", "-.5,1e3"], {"--home"}) == ["--home=-.5,1e3"]
    assert join_negative_values(["--home", "-3e-2"], {"--home"}) == ["--home=-3e-2"]
    # A flag of one command followed by a negative positional keeps its meaning.
    args = build_parser().parse_args(["plan", "--json", "--margin", "-5"])
    assert args.json is True and args.margin == -5.0


def _parsers(parser: argparse.ArgumentParser, prog: str = "") -> Iterator[
        tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prog} {name}".strip(), sub
                yield from _parsers(sub, f"{prog} {name}")


def test_every_help_lists_the_exit_status() -> None:
    helps = {name: p.format_help() for name, p in _parsers(build_parser())}
    assert {"plan", "order add", "order list", "report", "fly", "sim", "sitl"} <= set(helps)
    for name, text in helps.items():
        assert "exit status: 0 " in " ".join(text.split()), name
    fly = " ".join(helps["fly"].split())
    assert "1 the flight did not succeed" in fly and "130 interrupted (Ctrl-C)" in fly
    assert "141" in " ".join(helps["report"].split())


@pytest.mark.parametrize(("raised", "status"), [
    (ValueError("bad"), 2), (KeyboardInterrupt(), 130), (BrokenPipeError(), 141)])
def test_main_gives_the_documented_status(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, raised: BaseException,
        status: int) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise raised

    monkeypatch.setattr(report_cli, "run", fail)  # register() binds it when main builds
    with (tmp_path / "stdout").open("w") as stdout:  # a real file: 141 points it at devnull
        monkeypatch.setattr(sys, "stdout", stdout)
        assert main(["report"]) == status
    assert f"{status} " in exit_epilog("report")
