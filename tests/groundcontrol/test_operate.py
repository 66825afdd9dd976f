"""Vehicle operations (``groundcontrol.flight.operate``) against the built-in simulator over
TCP: what the CLI's ``vehicle``/``upload``/``download`` and the console's vehicle screen do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from groundcontrol.errors import CommandFailed, ParameterTimeout
from groundcontrol.flight.mission_file import load_mission
from groundcontrol.flight.operate import perform
from groundcontrol.flight.vehicle_ops import (
    Arm,
    DownloadPlan,
    FindParams,
    ReadParam,
    SetMode,
    SetParam,
    UploadPlan,
    parse_goto,
    parse_mode,
    parse_param_name,
)
from groundcontrol.mavlink.link import Link, LinkChannel
from groundcontrol.mavlink.vehicle import VehicleTracker
from sitl.sim import SimFleet

SPEEDUP = 20.0


@pytest.fixture
def channel(shortest_mission: Path) -> Iterator[LinkChannel]:
    home = load_mission(shortest_mission).items[0]
    with SimFleet([(home.x, home.y, home.z, 0.0)], speedup=SPEEDUP, base_port=0) as fleet, \
            Link(fleet.endpoints[0], heartbeat_period_s=1.0 / SPEEDUP) as link:
        yield link.wait_vehicle(None, timeout_s=10.0)


@pytest.mark.sim
def test_parameters_found_read_and_set_with_the_echo(channel: LinkChannel) -> None:
    found = perform(channel, FindParams("wpnav_sp"))
    assert "WPNAV_SPEED" in [line.split()[0] for line in found.lines]
    assert found.message.split()[0] == str(len(found.lines))  # "1 of N parameters match"
    done = perform(channel, SetParam("WPNAV_SPEED", 1234.0))
    assert done.message.startswith("WPNAV_SPEED = 1234 (echoed)")
    assert dict(perform(channel, ReadParam("WPNAV_SPEED")).fields)["value"] == 1234.0
    with pytest.raises(ParameterTimeout, match="NO_SUCH_PARAM"):
        perform(channel, ReadParam("NO_SUCH_PARAM"))


@pytest.mark.sim
def test_modes_and_a_refused_arm(channel: LinkChannel) -> None:
    tracker = VehicleTracker(channel.sysid)
    channel.subscribe(tracker.update)
    assert perform(channel, parse_mode("guided")).message == "mode GUIDED"
    assert perform(channel, SetMode("LAND")).fields == (("mode", "LAND"),)
    with pytest.raises(CommandFailed):  # ArduCopter: LAND is not armable
        perform(channel, Arm())
    goto = parse_goto("-35.3632", "149.1652", "30")  # southern latitudes are negative
    assert goto.lat_deg < 0
    assert "GUIDED" in perform(channel, goto).message
    assert tracker.snapshot().mode == "GUIDED"


@pytest.mark.sim
def test_upload_verified_then_download_read_back(shortest_mission: Path, channel: LinkChannel,
                                                 tmp_path: Path) -> None:
    sent = load_mission(shortest_mission)
    done = perform(channel, UploadPlan(shortest_mission))
    assert f"mission {len(sent.items)} items verified" in done.message
    assert f"fence {len(sent.fence)} items verified" in done.message
    back = perform(channel, DownloadPlan(tmp_path / "back.plan"))
    assert f"mission {len(sent.items)} items" in back.message
    assert len(load_mission(tmp_path / "back.plan").fence) == len(sent.fence)
    perform(channel, DownloadPlan(tmp_path / "back.waypoints"))
    assert len(load_mission(tmp_path / "back.waypoints").items) == len(sent.items)


@pytest.mark.parametrize("call, problem", [
    (lambda: parse_mode("hover"), "mode: expected one of"),
    (lambda: parse_goto("-95", "149", "50"), "is not a position"),
    (lambda: parse_goto("-35", "149", "nan"), "ALT: not a number"),
    (lambda: parse_param_name("WAY_TOO_LONG_A_NAME"), "1..16"),
    (lambda: parse_param_name("BAD NAME"), "letters, digits and _"),
])
def test_bad_text_is_refused_with_one_line(call: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        call()  # type: ignore[operator]
