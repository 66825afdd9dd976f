"""Vehicle profiles: the shipped data files and the strict reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.errors import InvalidInput
from planner.vehicle import (
    DEFAULT_PROFILE,
    DeliveryMethod,
    PowerModel,
    builtin_profile,
    builtin_profile_names,
    load_profile,
    profile_from_dict,
)

MINIMAL: dict[str, Any] = {
    "name": "t",
    "empty_mass_kg": 2.0,
    "battery_wh": 100.0,
    "usable_fraction": 0.9,
    "reserve_fraction": 0.2,
    "max_payload_kg": 1.0,
    "cruise_speed_ms": 10.0,
    "climb_speed_ms": 2.0,
    "descent_speed_ms": 1.5,
    "cruise_alt_agl_m": 40.0,
    "ceiling_agl_m": 120.0,
}


def _with(**changes: Any) -> dict[str, Any]:
    data = dict(MINIMAL)
    data.update(changes)
    return data


def test_shipped_profiles_are_listed_and_load_under_their_file_name() -> None:
    names = builtin_profile_names()
    assert {"delivery-quad", "winch-quad", "sitl-quad"} <= set(names)
    for name in names:
        profile = builtin_profile(name)
        assert profile.name == name
        assert profile.description, f"{name} must say where its numbers come from"


def test_default_profile_matches_published_delivery_drones() -> None:
    profile = builtin_profile()
    assert profile.name == DEFAULT_PROFILE == "delivery-quad"
    assert profile.max_payload_kg == pytest.approx(2.3)
    assert profile.cruise_speed_ms == pytest.approx(22.0, abs=0.5)  # about 80 km/h
    assert profile.cruise_alt_agl_m <= profile.ceiling_agl_m <= 122.0  # 400 ft
    assert profile.power_model is PowerModel.MOMENTUM
    assert profile.delivery_method is DeliveryMethod.DESCEND_RELEASE


def test_winch_profile_lowers_on_a_line_no_longer_than_its_height() -> None:
    profile = builtin_profile("winch-quad")
    assert profile.delivery_method is DeliveryMethod.WINCH
    assert 0 < profile.release_alt_agl_m <= profile.cruise_alt_agl_m


def test_minimal_dict_gets_defaults_and_enums_from_their_values() -> None:
    profile = profile_from_dict(
        _with(delivery_method="winch", power_model="linear", rotor_count=6), "x.json"
    )
    assert profile.delivery_method is DeliveryMethod.WINCH
    assert profile.power_model is PowerModel.LINEAR
    assert profile.rotor_count == 6
    assert profile.usable_wh == pytest.approx(90.0)
    assert profile.reserve_wh == pytest.approx(18.0)
    assert isinstance(profile.empty_mass_kg, float)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"empty_mass_kg": "2"}, "empty_mass_kg"),
        ({"empty_mass_kg": True}, "empty_mass_kg"),
        ({"battery_wh": float("nan")}, "battery_wh"),
        ({"rotor_count": 4.0}, "rotor_count"),
        ({"rotor_count": 0}, "rotor_count"),
        ({"continue_after_land": 1}, "continue_after_land"),
        ({"delivery_method": "parachute"}, "delivery_method"),
        ({"power_model": 1}, "power_model"),
        ({"name": 7}, "name"),
        ({"name": ""}, "name"),
        ({"empty_mass_kg": 0.0}, "empty_mass_kg"),
        ({"max_payload_kg": -1.0}, "max_payload_kg"),
        ({"cruise_speed_ms": 0.0}, "cruise_speed_ms"),
        ({"descent_speed_ms": -2.0}, "descent_speed_ms"),
        ({"usable_fraction": 1.2}, "usable_fraction"),
        ({"usable_fraction": 0.0}, "usable_fraction"),
        ({"reserve_fraction": -0.1}, "reserve_fraction"),
        ({"figure_of_merit": 1.5}, "figure_of_merit"),
        ({"drag_area_m2": -0.1}, "drag_area_m2"),
        ({"cruise_alt_agl_m": 130.0}, "cruise_alt_agl_m"),
        ({"release_alt_agl_m": 50.0}, "release_alt_agl_m"),
        ({"delivery_method": "land"}, "continue_after_land"),
        (
            {"delivery_method": "land", "continue_after_land": True, "dropoff_hover_s": 10.0},
            "dropoff_hover_s",
        ),
    ],
)
def test_bad_field_is_named_with_its_source(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        profile_from_dict(_with(**changes), "fleet/x.json")
    assert info.value.field == field
    assert info.value.source == "fleet/x.json"
    assert "fleet/x.json" in str(info.value) and field in str(info.value)


def test_landing_delivery_needs_continue_and_a_short_ground_wait() -> None:
    profile = profile_from_dict(
        _with(delivery_method="land", continue_after_land=True, dropoff_hover_s=5.0), "x.json"
    )
    assert profile.delivery_method is DeliveryMethod.LAND
    assert profile.dropoff_hover_s < profile.disarm_delay_s


def test_missing_required_field_is_named() -> None:
    data = dict(MINIMAL)
    del data["battery_wh"]
    with pytest.raises(InvalidInput, match="battery_wh: missing"):
        profile_from_dict(data, "x.json")


def test_not_an_object_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        profile_from_dict([1, 2], "x.json")  # type: ignore[arg-type]


def test_load_profile_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_with(name="mine")), encoding="utf-8")
    assert load_profile(path).name == "mine"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("  \n", "is empty"), ('{"name": "x",\n  oops}', "line 2")],
)
def test_load_profile_rejects_unusable_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message) as info:
        load_profile(path)
    assert info.value.source == str(path)


def test_load_profile_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        load_profile(tmp_path / "nope.json")


def test_unknown_builtin_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="delivery-quad"):
        builtin_profile("jumbo-jet")
