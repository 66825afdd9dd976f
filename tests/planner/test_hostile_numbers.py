"""Issue 11, planner numbers: every profile and airspace number has a physical range, and what
is outside it is refused at load time with the field and the range, never planned.

Seen before: ``plan`` with a 1e308 m circle zone died in GEOS, a profile with a 1e-300 m rotor
divided by zero, a profile with ``battery_wh`` 1e308 planned every order as feasible, and JSON
nested about 1,000 deep raised RecursionError in every reader.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groundcontrol.cli.main import main
from groundcontrol.scenarios import resolve_scenario
from planner import calibrate
from planner.airspace import MAX_ZONE_RADIUS_M, PreparedAirspace
from planner.energy import flight_energy, max_range_m, total_energy_wh
from planner.errors import InvalidInput
from planner.load_airspace import MAX_DEPTH, airspace_from_geojson, load_airspace
from planner.model import Airspace, LatLon, NoFlyZone
from planner.vehicle import (
    _RANGES,
    builtin_profile,
    builtin_profile_names,
    load_profile,
    profile_from_dict,
    profile_to_dict,
)

CANBERRA = resolve_scenario("canberra")
DELIVERY_QUAD = profile_to_dict(builtin_profile("delivery-quad"))


def _profile_file(tmp_path: Path, **changes: Any) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({**DELIVERY_QUAD, **changes}, allow_nan=True), encoding="utf-8")
    return path


def _airspace() -> dict[str, Any]:
    return json.loads((CANBERRA / "airspace.geojson").read_text(encoding="utf-8"))


def _airspace_file(tmp_path: Path, doc: dict[str, Any] | str) -> Path:
    path = tmp_path / "airspace.geojson"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def _circle(doc: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in doc["features"] if f["geometry"]["type"] == "Point")


def _plan_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``plan`` exits 2 with one line and writes no file."""
    out = tmp_path / "out"
    code = main(["plan", "--out", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and err.startswith("drone-delivery plan: error: "), err
    assert not out.exists()
    return err


# ---- the reproductions, through the command line -------------------------------------------


def test_plan_refuses_a_1e308_m_circle_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _airspace()
    _circle(doc)["properties"]["radius_m"] = 1e308
    err = _plan_refuses(tmp_path, capsys, "--airspace", str(_airspace_file(tmp_path, doc)))
    assert "radius_m" in err and "100000 m" in err and "airspace.geojson" in err


def test_plan_refuses_a_1e_300_m_rotor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _profile_file(tmp_path, rotor_diameter_m=1e-300)
    err = _plan_refuses(tmp_path, capsys, "--profile", str(path))
    assert "rotor_diameter_m" in err and "0.05 <= value <= 3 m" in err


def test_plan_refuses_a_1e308_wh_battery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _profile_file(tmp_path, battery_wh=1e308)
    err = _plan_refuses(tmp_path, capsys, "--profile", str(path))
    assert "battery_wh" in err and "1 <= value <= 10000 Wh" in err


def test_a_circle_zone_built_in_code_is_refused_by_name_not_by_geos() -> None:
    zone = NoFlyZone("huge", circle_center=LatLon(-35.3, 149.1), circle_radius_m=1e308)
    with pytest.raises(InvalidInput, match=r"zones\[0\] \(id huge\)\.circle_radius_m"):
        PreparedAirspace(Airspace(zones=(zone,)))
    ok = NoFlyZone("ok", circle_center=LatLon(-35.3, 149.1), circle_radius_m=MAX_ZONE_RADIUS_M)
    PreparedAirspace(Airspace(zones=(ok,)))


# ---- profiles: every field has a range ------------------------------------------------------


def _out_of_range(name: str) -> list[float]:
    allowed = _RANGES[name]
    below = allowed.low if allowed.low_open else allowed.low - max(1.0, abs(allowed.low))
    if isinstance(DELIVERY_QUAD.get(name), int) and not isinstance(DELIVERY_QUAD[name], bool):
        return [int(below), int(allowed.high) + 1]
    return [below, allowed.high * 1.01 + 1e-9, 1e308, -1e308, 1e-300 if allowed.low > 0 else -1]


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n in sorted(_RANGES) for v in _out_of_range(n)]
)
def test_every_profile_number_out_of_range_is_named_with_its_range(name: str, value: float) -> None:
    with pytest.raises(InvalidInput) as info:
        profile_from_dict({**DELIVERY_QUAD, name: value}, "fleet/hostile.json")
    message = str(info.value)
    assert message.startswith(f"fleet/hostile.json: {name}: "), message
    assert str(_RANGES[name]) in message, message


@pytest.mark.parametrize("name", sorted(n for n in _RANGES if n != "rotor_count"))
@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_every_profile_number_that_is_not_finite_is_named(
    tmp_path: Path, name: str, token: str
) -> None:
    path = _profile_file(tmp_path)
    text = path.read_text().replace(f'"{name}": {json.dumps(DELIVERY_QUAD[name])}',
                                    f'"{name}": {token}')  # fmt: skip
    path.write_text(text)
    with pytest.raises(InvalidInput, match=f"{name}: must be finite"):
        load_profile(path)


def test_a_tiny_leg_acceleration_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"cruise_accel_ms2.*neither 0"):
        profile_from_dict({**DELIVERY_QUAD, "cruise_accel_ms2": 1e-300}, "p.json")
    profile_from_dict({**DELIVERY_QUAD, "cruise_accel_ms2": 0.0}, "p.json")


def test_a_profile_name_is_one_line() -> None:
    with pytest.raises(InvalidInput, match="name: must be one line"):
        profile_from_dict({**DELIVERY_QUAD, "name": "quad\x1b[2J"}, "p.json")


def test_huge_integers_and_deep_nesting_are_named(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**DELIVERY_QUAD, "battery_wh": 10**400}))
    with pytest.raises(InvalidInput, match="battery_wh: must be a number a float holds"):
        load_profile(path)
    path.write_text(json.dumps({**DELIVERY_QUAD, "rotor_count": 10**400}))
    with pytest.raises(InvalidInput, match="rotor_count"):
        load_profile(path)
    for depth in (1_000, 100_000):
        path.write_text("[" * depth + "]" * depth)
        with pytest.raises(InvalidInput, match=r"p\.json: file: JSON nested too deeply"):
            load_profile(path)
    path.write_text(json.dumps({**DELIVERY_QUAD, "battery_wh": [[[[[1]]]]]}))
    with pytest.raises(InvalidInput, match="battery_wh: must be a number, got an array of 1"):
        load_profile(path)


def test_shipped_profiles_and_the_calibration_bounds_are_inside_the_ranges() -> None:
    for name in builtin_profile_names():
        builtin_profile(name)  # loads, so within every range
    for name, (low, high) in calibrate._BOUNDS.items():
        assert _RANGES[name].holds(low) and _RANGES[name].holds(high), name


# A profile drawn anywhere inside the ranges (the corners included) plans finite numbers.
_CORNERS = {
    name: st.sampled_from([r.low + (1e-6 if r.low_open else 0.0), r.high])
    | st.floats(r.low, r.high, exclude_min=r.low_open)
    for name, r in _RANGES.items()
    if name not in ("rotor_count", "cruise_accel_ms2")
}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    values=st.fixed_dictionaries(_CORNERS),
    rotors=st.integers(1, 16),
    accel=st.sampled_from([0.0, 0.05, 20.0]),
    metres=st.sampled_from([0.0, 1.0, 20_000.0]),
)
def test_any_profile_within_the_ranges_gives_finite_energy(
    values: dict[str, float], rotors: int, accel: float, metres: float
) -> None:
    values = {**values, "rotor_count": rotors, "cruise_accel_ms2": accel}
    values["ceiling_agl_m"] = max(values["ceiling_agl_m"], values["cruise_alt_agl_m"])
    values["release_alt_agl_m"] = min(values["release_alt_agl_m"], values["cruise_alt_agl_m"])
    profile = profile_from_dict({**DELIVERY_QUAD, **values}, "drawn.json")
    payload = profile.max_payload_kg
    phases = flight_energy(profile, metres, metres, payload)
    energy = total_energy_wh(phases)
    assert math.isfinite(energy) and energy > 0
    assert all(math.isfinite(p.duration_s) and p.duration_s >= 0 for p in phases)
    assert max_range_m(profile, payload, tolerance_m=100.0) >= 0


def test_random_hostile_profile_numbers_load_or_are_named() -> None:
    rng = random.Random(11)
    hostile = (math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, -0.0, -1.0, 1e-300, 2**63)
    fields = sorted(_RANGES)
    for _ in range(300):
        changes = {rng.choice(fields): rng.choice(hostile) for _ in range(rng.randint(1, 3))}
        try:
            profile = profile_from_dict({**DELIVERY_QUAD, **changes}, "random.json")
        except InvalidInput as exc:
            assert str(exc).startswith("random.json: ") and "\n" not in str(exc)
            continue
        energy = total_energy_wh(flight_energy(profile, 5000.0, 5000.0, 0.0))
        assert math.isfinite(energy) and energy > 0, changes


# ---- airspace: radii, bands, ceilings, depth ------------------------------------------------


@pytest.mark.parametrize(
    ("where", "key", "value", "words"),
    [
        ("circle", "radius_m", 1e308, "radius_m > 0 and <= 100000 m"),
        ("circle", "radius_m", 100_001, "100000 m"),
        ("circle", "radius_m", 1e-300, None),  # tiny but positive: a zone, if a pointless one
        ("zone", "ceiling_m", 1e308, "above 10000 m AGL"),
        ("zone", "floor_m", 20_000, "<= 10000 m"),
        ("collection", "ceiling_m", 1e308, "<= 10000 m"),
    ],
)
def test_airspace_numbers_have_ranges(
    tmp_path: Path, where: str, key: str, value: float, words: str | None
) -> None:
    doc = _airspace()
    target = {
        "circle": lambda: _circle(doc)["properties"],
        "zone": lambda: next(
            f["properties"]
            for f in doc["features"]
            if f["properties"].get("role") != "operating_area"
        ),
        "collection": lambda: doc,
    }[where]()
    target[key] = value
    path = _airspace_file(tmp_path, doc)
    if words is None:
        PreparedAirspace(load_airspace(path))
        return
    with pytest.raises(InvalidInput) as info:
        load_airspace(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and key in message and words in message, message


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_airspace_numbers_that_are_not_finite_are_named(tmp_path: Path, token: str) -> None:
    doc = _airspace()
    _circle(doc)["properties"]["radius_m"] = "HOSTILE"
    path = _airspace_file(tmp_path, json.dumps(doc).replace('"HOSTILE"', token))
    with pytest.raises(InvalidInput, match=f"{token} is not a number") as info:
        load_airspace(path)
    # The field, not only the file: the JSON path of the token.
    index = next(i for i, f in enumerate(doc["features"]) if f["geometry"]["type"] == "Point")
    assert str(info.value).startswith(f"{path}: features[{index}].properties.radius_m: ")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5_000, 100_000])
def test_airspace_nested_too_deep_is_named(tmp_path: Path, depth: int) -> None:
    doc = _airspace()
    text = json.dumps(doc).replace('"name"', '"deep": ' + "[" * depth + "]" * depth + ', "name"', 1)
    path = _airspace_file(tmp_path, text)
    with pytest.raises(InvalidInput, match="nested") as info:
        load_airspace(path)
    assert str(info.value).startswith(f"{path}: file: ")


def test_airspace_huge_integers_are_named(tmp_path: Path) -> None:
    doc = _airspace()
    _circle(doc)["properties"]["radius_m"] = 10**400
    with pytest.raises(InvalidInput, match="an integer of 401 digits"):
        load_airspace(_airspace_file(tmp_path, doc))
    # parsed JSON handed over directly is checked the same way
    with pytest.raises(InvalidInput, match="an integer of 401 digits"):
        airspace_from_geojson(doc, "given")


@pytest.mark.parametrize("margin", ["nan", "1e308", "-5", "10001"])
def test_plan_refuses_a_margin_no_airspace_can_be_inflated_by(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], margin: str
) -> None:
    # Seen: --margin 1e308 died in GEOS (NaN/Inf numbers); --margin nan passed '< 0'.
    err = _plan_refuses(tmp_path, capsys, "--margin", margin)
    assert "--margin" in err and "10000 m" in err
    with pytest.raises(InvalidInput, match=r"margin_m: must be a number within 0\.\.10000 m"):
        PreparedAirspace(Airspace(), margin_m=float(margin))


def test_a_nan_token_before_a_syntax_error_is_still_named_by_the_file(tmp_path: Path) -> None:
    # Found by the fuzzer: finding the token's path re-parsed the text and met the syntax error.
    text = '{"ceiling_m": NaN, ' + json.dumps(_airspace())[1:-2]
    with pytest.raises(InvalidInput, match="NaN is not a number") as info:
        load_airspace(_airspace_file(tmp_path, text))
    assert str(info.value).startswith(str(tmp_path))
