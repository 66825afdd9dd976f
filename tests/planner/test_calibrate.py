"""Calibration: a profile fitted to flown records predicts them; bad records are named."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from flown_records import flown_record

from planner.calibrate import calibrate, errors, sample_from_record
from planner.energy import PHASE_GROUPS
from planner.errors import InvalidInput
from planner.vehicle import builtin_profile, profile_from_dict, profile_to_dict

BASE = replace(builtin_profile("delivery-quad"), cruise_speed_ms=22.0, cruise_accel_ms2=0.0,
               climb_speed_ms=3.0, descent_speed_ms=2.0, figure_of_merit=0.65,
               drag_area_m2=0.06)
"""The profile as first written down (no leg acceleration: the fit starts from 2.5 m/s^2)."""
TRUE = replace(BASE, cruise_speed_ms=20.5, cruise_accel_ms2=2.0, climb_speed_ms=2.5,
               descent_speed_ms=1.7, figure_of_merit=0.55, drag_area_m2=0.09)
"""The aircraft as it really flies: slower everywhere, thirstier, draggier."""


FLOWN = [flown_record(TRUE, d, d * 1.1, p) for d in (800.0, 2500.0, 6000.0, 11000.0)
         for p in (0.0, 1.2, 2.3)]


def test_fit_recovers_the_aircraft_that_flew() -> None:
    samples = [sample_from_record(r, f"r{i}") for i, r in enumerate(FLOWN)]
    fit = calibrate(BASE, [s for s in samples if s])
    assert fit.samples == len(FLOWN)
    for name in ("cruise_speed_ms", "climb_speed_ms", "descent_speed_ms", "figure_of_merit",
                 "drag_area_m2"):
        assert getattr(fit.after, name) == pytest.approx(getattr(TRUE, name), rel=0.03), name
    # A few seconds per leg: the weak pull towards the start (2.5 m/s^2) shows here most.
    assert fit.after.cruise_accel_ms2 == pytest.approx(TRUE.cruise_accel_ms2, rel=0.12)
    assert fit.time_error_before[1] > 0.05 and fit.time_error_after[1] < 0.005
    assert fit.energy_error_before is not None and fit.energy_error_before[1] > 0.10
    assert fit.energy_error_after is not None and fit.energy_error_after[1] < 0.005
    # The result is a valid profile, named as before, that says it was calibrated.
    assert profile_from_dict(profile_to_dict(fit.after), "t") == fit.after
    assert fit.after.name == BASE.name
    assert "Refitted by drone-delivery calibrate on 12 flown records" in fit.after.description
    assert set(fit.changed()) >= {"cruise_speed_ms", "figure_of_merit"}


def test_a_second_calibration_replaces_the_first_note() -> None:
    samples = [s for r in FLOWN if (s := sample_from_record(r))]
    once = calibrate(BASE, samples).after
    twice = calibrate(once, samples).after
    assert twice.description.count("Refitted by") == 1
    assert twice.description.startswith(BASE.description)


def test_one_flight_moves_little_it_cannot_tell_apart() -> None:
    # One flight cannot separate cruise speed from acceleration: the prior keeps them sane.
    sample = sample_from_record(flown_record(TRUE, 3000.0, 3000.0, 1.0))
    assert sample is not None
    fit = calibrate(BASE, [sample]).after
    assert 18.0 < fit.cruise_speed_ms < 23.0 and 0.5 < fit.cruise_accel_ms2 < 10.0
    assert errors(fit, [sample])[0][0] < errors(BASE, [sample])[0][0]


def test_flights_of_other_profiles_are_not_used() -> None:
    sample = sample_from_record(flown_record(replace(TRUE, name="winch-quad"), 2000, 2000, 1.0))
    with pytest.raises(InvalidInput, match="no completed flight of profile 'delivery-quad'"):
        calibrate(BASE, [sample])


def test_incomplete_or_old_records_are_skipped() -> None:
    record = flown_record(TRUE, 2000.0, 2000.0, 1.0)
    partial = {**record, "flown_phases_s": {g: 10.0 for g in PHASE_GROUPS[:2]}}
    assert sample_from_record(partial) is None
    assert sample_from_record({k: v for k, v in record.items() if k != "inputs"}) is None
    assert sample_from_record({**record, "flown_s": None}) is None


@pytest.mark.parametrize("field, value", [
    ("flown_s", math.nan), ("used_wh", -1.0), ("flown_s", "300"),
])
def test_bad_numbers_are_named(field: str, value: object) -> None:
    record = {**flown_record(TRUE, 2000.0, 2000.0, 1.0), field: value}
    with pytest.raises(InvalidInput, match=f"f1.{field}"):
        sample_from_record(record, "f1")


def test_bad_inputs_are_named() -> None:
    record = flown_record(TRUE, 2000.0, 2000.0, 1.0)
    record["inputs"] = {**record["inputs"], "out_m": math.inf}
    with pytest.raises(InvalidInput, match=r"f2.inputs.out_m"):
        sample_from_record(record, "f2")
