"""``drone-delivery console`` as a user meets it before and after the app: errors are one line,
the quit prints how the day stands."""

from __future__ import annotations

import functools
import io
import socket
import time
from pathlib import Path

import pytest

from groundcontrol.cli import console as console_cli
from groundcontrol.cli.main import main
from groundcontrol.console.session import day_end_lines
from groundcontrol.fleet.model import FleetConfig
from groundcontrol.fleet.stats import FleetSummary
from groundcontrol.mavlink.link import LinkManager

HINT = ("check --connect and that the vehicles are running (the store is kept: run again to "
        "resume)")


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_console_connect_to_nothing_listening_is_one_line_and_exit_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12: a raw LinkError traceback after 11 s; now one line, as ``run`` says it."""
    connect = LinkManager.connect
    monkeypatch.setattr(LinkManager, "connect", lambda self, url, **kw: connect(
        self, url, **{"connect_timeout_s": 0.5, **kw}))
    port = _free_port(socket.SOCK_STREAM)
    began = time.monotonic()
    code = main(["console", "--connect", f"tcp:127.0.0.1:{port}", "--orders", "2",
                 "--store", str(tmp_path / "c.db")])
    assert time.monotonic() - began < 8.0
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert err[0].startswith(f"drone-delivery console: cannot connect to tcp:127.0.0.1:{port}")
    assert err[0].endswith(HINT)


def test_console_with_no_vehicle_answering_is_one_line_and_exit_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(console_cli, "FleetConfig",
                        functools.partial(FleetConfig, resync_wall_s=1.0))
    port = _free_port(socket.SOCK_DGRAM)
    code = main(["console", "--connect", f"udpin:127.0.0.1:{port}", "--orders", "2",
                 "--store", str(tmp_path / "c.db")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [f"drone-delivery console: no vehicle answered on udpin:127.0.0.1:{port} "
                   f"within 1 s; {HINT}"]


def test_the_day_end_names_the_summary_the_flights_in_the_air_and_the_store() -> None:
    summary = FleetSummary(orders=8, delivered=3, infeasible=3, failed=0, cancelled=0, open=2)
    lines = day_end_lines(summary, Path("/tmp/c.db"), ["gre-q2 (CBR-006)"])
    assert lines[:2] == summary.lines()
    assert lines[-2] == "in the air at quit: gre-q2 (CBR-006)"
    assert lines[-1] == ("store: /tmp/c.db (the same command resumes the day; drone-delivery "
                         "report --store /tmp/c.db)")
    table = ["drone        sorties delivered on time      km  Wh used records",
             "gre-q2             1         1       1    10.1     80.2       1"]
    with_drones = day_end_lines(summary, Path("/tmp/c.db"), None, table)
    assert with_drones[2:4] == table and with_drones[-1].startswith("store: /tmp/c.db")
    temporary = day_end_lines(summary, None)
    assert temporary[-1].startswith("store: temporary") and "--store" in temporary[-1]
    out = io.StringIO()
    print("\n".join(lines), file=out)
    assert out.getvalue().count("\n") == len(lines)
