"""Geodesy: the local metric frame and WGS84 geodesic helpers against published values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import centres, points_near

from planner.errors import InvalidInput
from planner.geo import LocalFrame, bearing_deg, destination, geodesic_m, path_length_m
from planner.model import LatLon


def _dms(deg: float, minutes: float, seconds: float) -> float:
    return deg + minutes / 60.0 + seconds / 3600.0


# Geoscience Australia's worked example of Vincenty's inverse formula (GRS80, whose flattening
# differs from WGS84's by 2e-11: far below a millimetre here).
FLINDERS_PEAK = LatLon(-_dms(37, 57, 3.72030), _dms(144, 25, 29.52440))
BUNINYONG = LatLon(-_dms(37, 39, 10.15610), _dms(143, 55, 35.38390))


def test_geodesic_matches_the_published_flinders_peak_buninyong_example() -> None:
    assert geodesic_m(FLINDERS_PEAK, BUNINYONG) == pytest.approx(54972.271, abs=1e-3)
    assert bearing_deg(FLINDERS_PEAK, BUNINYONG) == pytest.approx(_dms(306, 52, 5.37), abs=1e-5)
    assert bearing_deg(BUNINYONG, FLINDERS_PEAK) == pytest.approx(_dms(127, 10, 25.07), abs=1e-5)


def test_one_degree_along_the_equator_is_the_semi_major_axis_arc() -> None:
    # On the equator the geodesic is the equator itself: a * dlon (WGS84 a = 6378137 m).
    expected = 6378137.0 * math.radians(1.0)
    assert geodesic_m(LatLon(0.0, 10.0), LatLon(0.0, 11.0)) == pytest.approx(expected, abs=1e-6)


def test_path_length_sums_the_legs() -> None:
    a, b, c = LatLon(-35.3, 149.1), LatLon(-35.31, 149.12), LatLon(-35.29, 149.15)
    assert path_length_m([a, b, c]) == pytest.approx(geodesic_m(a, b) + geodesic_m(b, c))
    assert path_length_m([a]) == 0.0
    assert path_length_m([]) == 0.0


@settings(max_examples=100, deadline=None)
@given(st.data(), centres())
def test_destination_inverts_distance_and_bearing(data: st.DataObject, start: LatLon) -> None:
    bearing = data.draw(st.floats(0.0, 359.9))
    distance = data.draw(st.floats(1.0, 50_000.0))
    end = destination(start, bearing, distance)
    assert geodesic_m(start, end) == pytest.approx(distance, rel=1e-9, abs=1e-6)
    assert math.remainder(bearing_deg(start, end) - bearing, 360.0) == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.data(), centres())
def test_local_frame_round_trips_and_keeps_distances(data: st.DataObject, origin: LatLon) -> None:
    frame = LocalFrame(origin)
    a = data.draw(points_near(origin, 30_000.0))
    b = data.draw(points_near(origin, 30_000.0))
    # PROJ snaps points within ~0.1 mm of the origin onto it: millimetres are the resolution.
    back = frame.to_latlon(*frame.to_xy(a))
    assert geodesic_m(back, a) < 1e-3
    planar = math.dist(frame.to_xy(a), frame.to_xy(b))
    # Azimuthal equidistant: exact from the origin, ~(r/R)^2 / 6 relative error elsewhere.
    assert planar == pytest.approx(geodesic_m(a, b), rel=1e-4, abs=1e-3)
    assert math.hypot(*frame.to_xy(a)) == pytest.approx(geodesic_m(origin, a), rel=1e-9, abs=1e-3)


def test_array_projection_agrees_with_the_point_projection() -> None:
    frame = LocalFrame(LatLon(51.5, -0.12))
    lats = np.array([51.4, 51.5, 51.6])
    lons = np.array([-0.2, -0.12, 0.0])
    xs, ys = frame.to_xy_array(lats, lons)
    for lat, lon, x, y in zip(lats, lons, xs, ys, strict=True):
        assert (x, y) == pytest.approx(frame.to_xy(LatLon(float(lat), float(lon))))
    back_lats, back_lons = frame.to_latlon_array(xs, ys)
    assert np.allclose(back_lats, lats, atol=1e-12) and np.allclose(back_lons, lons, atol=1e-12)
    one_x, _ = frame.to_xy_array([51.6], [0.0])
    assert one_x.shape == (1,) and one_x[0] == pytest.approx(xs[2])


def test_frame_for_points_is_centred_on_their_bounding_box() -> None:
    frame = LocalFrame.for_points(
        [LatLon(-35.0, 149.0), LatLon(-35.4, 149.2), LatLon(-35.1, 149.1)]
    )
    assert frame.origin == LatLon(-35.2, 149.1)
    across = LocalFrame.for_points([LatLon(0.0, 179.0), LatLon(0.0, -179.0)])
    assert abs(across.origin.lon) == pytest.approx(180.0)


def test_bad_input_is_rejected_with_the_field_named() -> None:
    frame = LocalFrame(LatLon(0.0, 0.0))
    with pytest.raises(InvalidInput, match="x/y"):
        frame.to_latlon(float("nan"), 0.0)
    with pytest.raises(InvalidInput, match="distance_m"):
        destination(LatLon(0.0, 0.0), 90.0, float("inf"))
    with pytest.raises(InvalidInput, match="points"):
        LocalFrame.for_points([])
