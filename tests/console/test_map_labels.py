"""The map's label placer (a pure function over cells) and the canvas's view arithmetic."""

from __future__ import annotations

import doctest
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundcontrol.console.widgets import map_canvas, map_labels, map_layers
from groundcontrol.console.widgets.map_canvas import Projection, clip_segment
from groundcontrol.console.widgets.map_labels import (
    LabelRequest,
    PlacedLabel,
    label_cells,
    place_labels,
)
from planner.model import LatLon


def _where(placed: list[PlacedLabel]) -> dict[str, tuple[str, int, int]]:
    return {p.key: (p.text, p.col, p.row) for p in placed}


@pytest.mark.parametrize("module", [map_labels, map_canvas, map_layers])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


def test_a_marker_label_goes_right_of_its_marker() -> None:
    placed = place_labels([LabelRequest("N1", 5, 2, ("N1",))], 20, 5, blocked={(5, 2)})
    assert _where(placed) == {"N1": ("N1", 6, 2)}


def test_an_overlapping_label_moves_to_a_free_neighbouring_position() -> None:
    reqs = [LabelRequest("a", 5, 2, ("a-long",)), LabelRequest("b", 5, 2, ("b-long",))]
    placed = place_labels(reqs, 20, 5, blocked={(5, 2)})
    assert _where(placed) == {"a": ("a-long", 6, 2), "b": ("b-long", 6, 1)}


def test_lower_rank_wins_the_room_whatever_the_order_given() -> None:
    zone = LabelRequest("zone:Z", 6, 0, ("Zone",), rank=3, centred=True, spread=0)
    drone = LabelRequest("D", 3, 0, ("D1",), rank=1)
    placed = place_labels([zone, drone], 10, 1, blocked={(3, 0)})
    assert _where(placed) == {"D": ("D1", 4, 0)}, "the zone has no room left on one row"


def test_labels_on_one_row_keep_a_blank_between_them() -> None:
    reqs = [LabelRequest("a", 0, 0, ("aaaa",)), LabelRequest("b", 7, 0, ("bb",))]
    placed = place_labels(reqs, 9, 1, blocked={(0, 0), (7, 0)})
    assert _where(placed) == {"a": ("aaaa", 1, 0)}, "'bb' left of its marker would touch 'aaaa'"


def test_a_shorter_text_is_taken_when_the_long_one_fits_nowhere() -> None:
    reqs = [LabelRequest("zone:PARL", 4, 0, ("Parliament", "PARL"), centred=True, spread=0)]
    assert _where(place_labels(reqs, 9, 1)) == {"zone:PARL": ("PARL", 2, 0)}


def test_a_label_that_fits_nowhere_is_dropped_and_its_marker_kept() -> None:
    placed = place_labels([LabelRequest("N1", 0, 0, ("N1",))], 2, 1, blocked={(0, 0)})
    assert placed == []


def test_a_beside_label_keeps_clear_of_the_thing_it_names() -> None:
    zone = LabelRequest("zone:H", 5, 1, ("Hospital",), reach=2)
    assert _where(place_labels([zone], 20, 3)) == {"zone:H": ("Hospital", 8, 1)}


def test_a_label_never_touches_another_markers_cell() -> None:
    # Markers at columns 5 and 8: "a1" right of 5 (cols 6-7) would end against b's marker.
    markers = {(5, 2), (8, 2)}
    reqs = [LabelRequest("a", 5, 2, ("a1",)), LabelRequest("b", 8, 2, ("b1",))]
    placed = _where(place_labels(reqs, 20, 5, markers=markers))
    assert placed == {"a": ("a1", 3, 2), "b": ("b1", 9, 2)}
    for text, col, row in placed.values():
        assert not {(col - 1, row), (col + len(text), row)} & (markers - {(5, 2), (8, 2)})


def test_a_centred_label_moves_up_or_down_within_its_spread() -> None:
    reqs = [LabelRequest("zone:A", 5, 2, ("Airport",), centred=True, spread=2)]
    blocked = {(5, 2), (5, 1)}
    assert _where(place_labels(reqs, 12, 5, blocked)) == {"zone:A": ("Airport", 2, 3)}


_requests = st.lists(
    st.builds(
        LabelRequest,
        key=st.uuids().map(str),
        col=st.integers(-2, 30),
        row=st.integers(-2, 12),
        texts=st.lists(st.text("abcXYZ·", min_size=1, max_size=9), min_size=1, max_size=2)
        .map(tuple),
        rank=st.integers(0, 3),
        centred=st.booleans(),
        spread=st.integers(0, 3),
        reach=st.integers(0, 3),
    ),
    max_size=25,
)


@given(_requests, st.sets(st.tuples(st.integers(0, 29), st.integers(0, 9)), max_size=30))
def test_placed_labels_never_share_a_cell_nor_cover_a_marker(
    requests: list[LabelRequest], blocked: set[tuple[int, int]]
) -> None:
    placed = place_labels(requests, 30, 10, blocked)
    cells = label_cells(placed)
    assert not [c for c, n in Counter(cells).items() if n > 1]
    assert not set(cells) & blocked
    assert all(0 <= c < 30 and 0 <= r < 10 for c, r in cells)
    wanted = {q.key: q.texts for q in requests}
    assert all(p.text in wanted[p.key] for p in placed)


def test_zoom_keeps_the_centre_and_scales_the_cell() -> None:
    pts = [LatLon(-35.20, 149.02), LatLon(-35.39, 149.23)]
    fit = Projection.fit(pts, 100, 80)
    assert fit is not None
    middle = fit.to_latlon(49.5, 39.5)
    zoomed = fit.zoomed(4.0, middle, 100, 80)
    x, y = zoomed.to_dot(middle)
    assert (x, y) == pytest.approx((49.5, 39.5))
    assert zoomed.cell_width_m == pytest.approx(fit.cell_width_m / 4.0)
    back = zoomed.to_latlon(*zoomed.to_dot(pts[0]))
    assert (back.lat, back.lon) == pytest.approx((pts[0].lat, pts[0].lon))


def test_clipping_keeps_a_segment_that_crosses_the_canvas() -> None:
    assert clip_segment(-1e9, 4, 1e9, 4, 20, 10) == pytest.approx((-1, 4, 20, 4))
    assert clip_segment(5, 5, 6, 6, 20, 10) == (5, 5, 6, 6)
    assert clip_segment(5, 50, 6, 60, 20, 10) is None


def test_a_zone_label_stays_out_of_other_zones() -> None:
    other = frozenset((c, 1) for c in range(8, 14))
    zone = LabelRequest("zone:P", 5, 1, ("Parliament",), reach=1, avoid=other)
    assert _where(place_labels([zone], 30, 3)) == {"zone:P": ("Parliament", 7, 0)}
