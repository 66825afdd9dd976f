"""Turning points moved out for the corner ArduCopter flies (planner.corners), and the
clearance of a flown track (planner.clearance)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.airspace import PreparedAirspace
from planner.clearance import smallest_clearance, track_clearances
from planner.corners import CORNER_CUT_M, relieve_corners
from planner.load import load_scenario
from planner.model import Airspace, LatLon, NoFlyZone
from planner.plan import Planner
from planner.scenario import Scenario


def _free(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.zeros(len(a), dtype=bool)


def _line_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    d = b - a
    return float(abs(d[0] * (p[1] - a[1]) - d[1] * (p[0] - a[0])) / np.hypot(*d))


def test_a_right_angle_corner_moves_out_so_both_legs_shift_by_the_cut() -> None:
    path = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]])
    out = relieve_corners(path, 2.0, _free)
    # A left turn: the outside is to the right of the first leg (y < 0) and beyond x = 100.
    assert out[1, 0] == pytest.approx(102.0) and out[1, 1] == pytest.approx(-2.0)
    assert (out[0] == path[0]).all() and (out[2] == path[2]).all()
    # The original corner is now 2 m inside both new legs' lines... on the inner side.
    assert _line_distance(path[1], out[0], out[1]) > 1.9
    assert _line_distance(path[1], out[1], out[2]) > 1.9


def test_straight_paths_and_a_zero_cut_are_left_alone() -> None:
    straight = np.array([[0.0, 0.0], [50.0, 0.0], [100.0, 0.0]])
    assert (relieve_corners(straight, 2.0, _free) == straight).all()
    bent = np.array([[0.0, 0.0], [100.0, 0.0], [150.0, 80.0]])
    assert (relieve_corners(bent, 0.0, _free) == bent).all()


def test_a_route_and_its_reverse_get_the_same_points() -> None:
    path = np.array([[0.0, 0.0], [100.0, 10.0], [180.0, 90.0], [300.0, 100.0]])
    there = relieve_corners(path, 2.0, _free)
    back = relieve_corners(path[::-1], 2.0, _free)
    assert np.allclose(there, back[::-1])


def test_a_push_that_would_cross_an_obstacle_is_halved_then_dropped() -> None:
    path = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]])
    calls: list[float] = []

    def never(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        calls.append(float(np.hypot(*(a[1] - path[1]))) if len(a) > 1 else 0.0)
        return np.ones(len(a), dtype=bool)

    out = relieve_corners(path, 2.0, never)
    assert (out == path).all() and len(calls) > 2


def _canberra() -> Scenario:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "missions" / "scenarios" / "canberra"
    return load_scenario(root)


def _inner_corners(
    prepared: PreparedAirspace, route: tuple[LatLon, ...], cut_m: float
) -> list[LatLon]:
    """Each turning point moved ``cut_m`` into its turn: where ArduCopter flies the corner."""
    xy = prepared.frame.points_to_xy(list(route))
    out = []
    for i in range(1, len(xy) - 1):
        u = (xy[i] - xy[i - 1]) / np.hypot(*(xy[i] - xy[i - 1]))
        w = (xy[i + 1] - xy[i]) / np.hypot(*(xy[i + 1] - xy[i]))
        if math.acos(max(-1.0, min(1.0, float(u @ w)))) < 1e-3:
            continue
        inward = (w - u) / np.hypot(*(w - u))
        p = xy[i] + cut_m * inward
        out.append(prepared.frame.to_latlon(float(p[0]), float(p[1])))
    return out


@pytest.mark.parametrize(("cut_m", "keeps"), [(CORNER_CUT_M, True), (0.0, False)])
def test_the_corners_flown_keep_the_margin_only_with_the_turning_points_moved_out(
    cut_m: float, keeps: bool
) -> None:
    scenario = _canberra()
    margin = 30.0
    planner = Planner(scenario.airspace, scenario.depots, margin_m=margin, corner_cut_m=cut_m)
    prepared = PreparedAirspace(scenario.airspace, margin)
    profile = next(iter(scenario.profiles.values()))
    worst = math.inf
    for order in scenario.orders:
        result = planner.plan(order, profile)
        if result.plan is None:
            continue
        corners = _inner_corners(prepared, result.plan.outbound, CORNER_CUT_M)
        alt = result.plan.cruise_alt_agl_m
        found = smallest_clearance(track_clearances(prepared, corners, [alt] * len(corners)))
        if found is not None:
            worst = min(worst, found.clearance_m)
    assert (worst >= margin - 1e-6) is keeps, worst


def test_track_clearance_is_negative_inside_a_zone_and_ignores_it_outside_its_band() -> None:
    square = (LatLon(0.0, 0.0), LatLon(0.0, 0.01), LatLon(0.01, 0.01), LatLon(0.01, 0.0))
    zone = NoFlyZone("z", "Z", polygons=(square,), kind="stadium", floor_m=0.0, ceiling_m=150.0)
    high = NoFlyZone("h", "H", polygons=(square,), kind="approach", floor_m=150.0, ceiling_m=500.0)
    prepared = PreparedAirspace(Airspace(zones=(zone, high)), 0.0)
    track = [LatLon(0.005, -0.001), LatLon(0.005, 0.005), LatLon(0.005, 0.012)]
    got = {c.zone_id: c for c in track_clearances(prepared, track, [100.0, 100.0, 100.0])}
    assert set(got) == {"z"}  # the approach zone starts at 150 m
    assert got["z"].incursion and got["z"].clearance_m == pytest.approx(-555, abs=5)
    outside = track_clearances(prepared, [LatLon(0.005, -0.001)], [100.0])
    assert outside[0].clearance_m == pytest.approx(111, abs=2)
