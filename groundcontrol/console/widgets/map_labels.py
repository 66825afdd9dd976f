"""Placing the map's labels so that none overwrites another.

A pure function over terminal cells: each request names the cell of the thing it labels, the
texts it may show (the preferred one first, shorter ones after) and a rank; the placer takes
the requests in rank order and puts each at the first free position near its thing, or drops
it. Markers (drone arrows, depot glyphs) are cells no label may cover, so a drone whose label
finds no room keeps its marker; nor may a label touch another thing's marker on its row
(``N2`` written just left of N1's arrow reads as N1's name). Nothing here knows about Textual
or the canvas.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Cell", "LabelRequest", "PlacedLabel", "label_cells", "place_labels"]

Cell = tuple[int, int]
"""(column, row) of a terminal cell."""


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """A label the map would like to show."""

    key: str
    """What is labelled (a vehicle name, ``depot:ID``, ``zone:ID``); unique per request."""
    col: int
    row: int
    """The cell of the thing labelled: a marker's cell, or an area's middle."""
    texts: tuple[str, ...]
    """Texts to try, preferred first (e.g. a zone's name, then its id)."""
    rank: int = 0
    """Lower ranks are placed first and so win the room (vehicles, then depots, then zones)."""
    centred: bool = False
    """Centre the text on the cell (areas) instead of putting it beside the cell (markers)."""
    spread: int = 1
    """Rows above and below the cell a label may move to (an area's half height, plus one)."""
    reach: int = 0
    """Cells the thing spans either side of its cell: a beside-label keeps clear of them."""
    avoid: frozenset[Cell] = frozenset()
    """Cells this label may not cover (a zone's label stays out of other zones)."""


@dataclass(frozen=True, slots=True)
class PlacedLabel:
    """A label where it was put: ``text`` starts at (``col``, ``row``)."""

    key: str
    text: str
    col: int
    row: int

    def cells(self) -> Iterator[Cell]:
        """Every cell the text covers."""
        return ((self.col + k, self.row) for k in range(len(self.text)))


def label_cells(labels: Sequence[PlacedLabel]) -> list[Cell]:
    """Every cell covered by the labels, with repeats when two share one (tests count them)."""
    return [cell for label in labels for cell in label.cells()]


def _candidates(request: LabelRequest, length: int) -> Iterator[Cell]:
    """Positions (start cells) to try for a text of ``length``, most wanted first."""
    c, r = request.col, request.row
    if request.centred:
        start = c - length // 2
        yield start, r
        for d in range(1, request.spread + 1):
            yield start, r - d
            yield start, r + d
        return
    right, left, middle = c + request.reach + 1, c - request.reach - length, c - length // 2
    yield right, r
    yield left, r
    for dr in (-1, 1):
        yield right, r + dr
        yield left, r + dr
        yield middle, r + dr * request.spread


def _fits(
    col: int, row: int, length: int, size: Cell, taken: set[Cell], apart: set[Cell]
) -> bool:
    """Inside the map, over no taken cell, and a blank cell from ``apart`` cells (other
    labels, other things' markers) on its row."""
    width, height = size
    if row < 0 or row >= height or col < 0 or col + length > width:
        return False
    if any((col + k, row) in taken for k in range(length)):
        return False
    return (col - 1, row) not in apart and (col + length, row) not in apart


def _own_cells(request: LabelRequest) -> set[Cell]:
    """The cells of the thing a label names (its marker, and ``reach`` either side)."""
    return {(request.col + k, request.row) for k in range(-request.reach, request.reach + 1)}


def place_labels(
    requests: Sequence[LabelRequest], width: int, height: int, blocked: Collection[Cell] = (),
    markers: Collection[Cell] = (),
) -> list[PlacedLabel]:
    """Place labels in rank order (stable), each at its first free candidate, else drop it.

    A beside-label tries right of its cell (past ``reach``), left of it, the same a row above
    and below, then centred ``spread`` rows above and below; a centred label tries its row,
    then rows further up and down up to ``spread``. Every text of a request is tried at every
    position before the next, shorter text. No label covers a ``blocked`` cell or another
    label; labels on one row keep a blank cell between them, and from every one of the
    ``markers`` (blocked too) but their own thing's.

    >>> reqs = [LabelRequest("a", 0, 1, ("alpha",)), LabelRequest("b", 3, 1, ("beta",))]
    >>> [(p.key, p.text, p.col, p.row) for p in place_labels(reqs, 12, 3, {(0, 1), (3, 1)})]
    [('a', 'alpha', 1, 0), ('b', 'beta', 4, 1)]
    """
    taken: set[Cell] = set(blocked) | set(markers)
    texts: set[Cell] = set()
    marks = set(markers)
    placed: list[PlacedLabel] = []
    for request in sorted(requests, key=lambda q: q.rank):
        apart = texts | (marks - _own_cells(request)) if marks else texts
        spot = _first_fit(request, (width, height), taken, apart)
        if spot is None:
            continue
        placed.append(spot)
        cells = list(spot.cells())
        taken.update(cells)
        texts.update(cells)
    return placed


def _first_fit(
    request: LabelRequest, size: Cell, taken: set[Cell], apart: set[Cell]
) -> PlacedLabel | None:
    for text in request.texts:
        if not text:
            continue
        for col, row in _candidates(request, len(text)):
            if request.avoid and any((col + k, row) in request.avoid for k in range(len(text))):
                continue
            if _fits(col, row, len(text), size, taken, apart):
                return PlacedLabel(request.key, text, col, row)
    return None
