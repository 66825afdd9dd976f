"""``upload`` / ``download`` / ``vehicle`` against real ArduCopter SITL (``sitl`` marker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundcontrol.cli.fly import load_mission
from groundcontrol.cli.main import main
from sitl.pytest_plugin import SitlFleetFactory

pytestmark = pytest.mark.sitl

SPEEDUP = 25.0


def test_upload_download_and_vehicle_actions_on_ardupilot_sitl(
        sitl_fleet: SitlFleetFactory, shortest_mission: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    sent = load_mission(shortest_mission)
    home = sent.items[0]
    sitl = sitl_fleet(1, homes=[(home.x, home.y, home.z, 0.0)], speedup=SPEEDUP)
    link = ["--connect", sitl.endpoints[0], "--speedup", str(SPEEDUP)]
    assert main(["upload", str(shortest_mission), *link]) == 0, capsys.readouterr().err
    assert f"mission {len(sent.items)} items verified" in capsys.readouterr().out
    back = tmp_path / "back.plan"
    assert main(["download", str(back), *link]) == 0, capsys.readouterr().err
    got = load_mission(back)
    # ArduCopter replaces seq 0 with its own home; the rest comes back as sent.
    assert [(i.command, round(i.x, 5), round(i.y, 5)) for i in got.items[1:]] == \
        [(i.command, round(i.x, 5), round(i.y, 5)) for i in sent.items[1:]]
    assert len(got.fence) == len(sent.fence) and len(got.rally) == len(sent.rally)
    capsys.readouterr()
    assert main(["vehicle", "param", "WPNAV_SPEED", "1234", *link]) == 0
    assert "value 1234" in capsys.readouterr().out
    assert main(["vehicle", "mode", "LAND", *link]) == 0
    capsys.readouterr()
    assert main(["vehicle", "arm", *link]) == 1  # ArduCopter does not arm in LAND
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
