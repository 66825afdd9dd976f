"""Delivery airframes: one frame model both simulators read, and what SITL is started with."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sitl.airframe import AIRFRAMES_DIR, airframe_names, load_airframe
from sitl.ardupilot import ArduPilotSitl, Home, sitl_defaults
from sitl.sim import PowerModel
from sitl.sim.params import load_parm_file
from sitl.sim.physics import GRAVITY_MSS, drag_accel_mss, max_airspeed_ms

HOME = Home(-35.2160001, 149.1370001, 584.0, 0.0)


def test_every_delivery_profile_has_an_airframe() -> None:
    assert {"delivery-quad", "winch-quad"} <= set(airframe_names())


@pytest.mark.parametrize("name", ["delivery-quad", "winch-quad"])
def test_the_drag_model_holds_ref_speed_at_ref_angle(name: str) -> None:
    frame = load_airframe(name)
    c1, c2 = frame.drag_coefficients()
    lean = math.degrees(math.atan(drag_accel_mss(frame.ref_speed_ms, c1, c2) / GRAVITY_MSS))
    assert lean == pytest.approx(frame.ref_angle_deg, abs=1e-6)
    assert max_airspeed_ms(frame.ref_angle_deg, c1, c2) == pytest.approx(frame.ref_speed_ms)
    assert frame.max_airspeed_ms(frame.ref_angle_deg) == pytest.approx(frame.ref_speed_ms)


@pytest.mark.parametrize("name", ["delivery-quad", "winch-quad"])
def test_the_parameters_let_the_airframe_cruise_at_its_wpnav_speed(name: str) -> None:
    frame = load_airframe(name)
    params = load_parm_file(frame.parm_path)
    cruise_ms = params["WPNAV_SPEED"] / 100.0
    # Reachable inside the lean limit, with room to correct (what ArduCopter flies).
    assert frame.max_airspeed_ms(params["ANGLE_MAX"] / 100.0) > cruise_ms + 3.0
    # A PWM winch needs an output with the winch function, else ArduCopter refuses to arm.
    if params.get("WINCH_TYPE", 0) == 1:
        assert 88 in {v for k, v in params.items() if k.endswith("_FUNCTION")}
    if params.get("GRIP_ENABLE", 0) == 1:
        assert 28 in {v for k, v in params.items() if k.endswith("_FUNCTION")}


def test_power_follows_thrust_like_sitl() -> None:
    frame = load_airframe("delivery-quad")
    power = PowerModel.for_airframe(frame.mass_kg, frame.hover_power_w, frame.drag_coefficients())
    assert power.power_w(0.0, 0.0) == pytest.approx(frame.hover_power_w)
    at_ref = power.power_w(frame.ref_speed_ms, 0.0)
    assert at_ref == pytest.approx(frame.hover_power_w / math.cos(math.radians(30.0)))


def test_unknown_airframe_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"known: .*delivery-quad"):
        load_airframe("no-such-quad")


def test_sitl_flies_the_model_from_its_working_directory(tmp_path: Path) -> None:
    frame = load_airframe("winch-quad")
    sitl = ArduPilotSitl(homes=[HOME], log_dir=tmp_path, binary=Path("/bin/true"),
                         airframe=frame)
    cmd = sitl.command(3, 4, HOME)
    assert cmd[cmd.index("--model") + 1] == "quad:winch-quad.json"  # relative: SITL needs it
    assert frame.install(tmp_path / "instance-3") == "quad:winch-quad.json"
    assert (tmp_path / "instance-3" / "winch-quad.json").read_bytes() == \
        (AIRFRAMES_DIR / "winch-quad.json").read_bytes()


def test_defaults_order_base_airframe_overlay_operator(tmp_path: Path) -> None:
    base = tmp_path / "copter.parm"
    base.write_text("FRAME_CLASS 1\n")
    operator = tmp_path / "vehicle.parm"
    operator.write_text("RTL_ALT 10000\n")
    frame = load_airframe("delivery-quad")
    files = sitl_defaults(Path("/bin/true"), str(base), overlay=True, airframe=frame,
                          operator=[operator])
    assert files[0] == base and files[1] == frame.parm_path and files[-1] == operator
    assert files[2].name == "delivery-overlay.parm"
