"""Drawing the map into terminal cells: an equirectangular projection and a braille canvas.

A terminal cell is about twice as tall as it is wide; a braille character splits it into 2x4
dots, so each dot is roughly square and a projection onto dots keeps the map's true shape.
Lines are drawn dot by dot (Bresenham), areas are shaded by cell background, and text (depot
and drone glyphs, labels) is laid over the dots. Nothing here knows about Textual widgets.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style

from planner.model import LatLon

__all__ = ["BrailleCanvas", "Projection", "clip_segment", "heading_glyph", "scale_text"]

_BRAILLE_BASE = 0x2800
# Dot bit for (x, y) inside a 2x4 braille cell, per the Unicode braille layout.
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_ARROWS = "↑↗→↘↓↙←↖"
_M_PER_DEG_LAT = 111_320.0


def heading_glyph(heading_deg: float | None) -> str:
    """An arrow pointing along ``heading_deg`` (clockwise from north), or a dot when unknown.

    >>> heading_glyph(0), heading_glyph(90), heading_glyph(224), heading_glyph(None)
    ('↑', '→', '↙', '●')
    """
    if heading_deg is None or not math.isfinite(heading_deg):
        return "●"
    return _ARROWS[round((heading_deg % 360.0) / 45.0) % 8]


def scale_text(metres: float) -> str:
    """A distance rounded for a scale note: two significant figures, in m or km.

    >>> scale_text(118.4), scale_text(1234.0), scale_text(7.26), scale_text(25_400.0)
    ('120 m', '1.2 km', '7.3 m', '25 km')
    """
    if metres >= 1000.0:
        km = float(f"{metres / 1000.0:.2g}")
        return f"{km:g} km"
    return f"{float(f'{metres:.2g}'):g} m"


def clip_segment(
    x0: float, y0: float, x1: float, y1: float, width: float, height: float
) -> tuple[float, float, float, float] | None:
    """The part of a segment inside [-1, width] x [-1, height] (Liang-Barsky), or None.

    Zoomed in, a route's legs reach far beyond the canvas; clipping first keeps drawing them
    as cheap as their visible part.

    >>> clip_segment(-10, 5, 30, 5, 20, 10)
    (-1.0, 5.0, 20.0, 5.0)
    >>> clip_segment(-10, -5, -2, -5, 20, 10) is None
    True
    """
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 + 1), (dx, width - x0), (-dy, y0 + 1), (dy, height - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy


@dataclass(frozen=True, slots=True)
class Projection:
    """Equirectangular projection of a lat/lon box onto a grid of square dots.

    ``to_dot`` returns dot coordinates (x right, y down); the box is centred and scaled to fit,
    keeping the ground's aspect (longitude shrunk by cos(latitude)).
    """

    west: float
    north: float
    scale: float
    """Dots per degree of latitude."""
    coslat: float
    offset_x: float
    offset_y: float

    @classmethod
    def fit(
        cls, points: Iterable[LatLon], width_dots: int, height_dots: int, margin: float = 0.06
    ) -> Projection | None:
        """Fit the points into the grid; None when there are no points or no room."""
        pts = list(points)
        if not pts or width_dots < 2 or height_dots < 2:
            return None
        south, north = min(p.lat for p in pts), max(p.lat for p in pts)
        west, east = min(p.lon for p in pts), max(p.lon for p in pts)
        coslat = max(math.cos(math.radians((south + north) / 2.0)), 1e-6)
        span_x = max((east - west) * coslat, 1e-6)
        span_y = max(north - south, 1e-6)
        usable_w = (width_dots - 1) * (1.0 - 2 * margin)
        usable_h = (height_dots - 1) * (1.0 - 2 * margin)
        scale = min(usable_w / span_x, usable_h / span_y)
        offset_x = ((width_dots - 1) - span_x * scale) / 2.0
        offset_y = ((height_dots - 1) - span_y * scale) / 2.0
        return cls(west, north, scale, coslat, offset_x, offset_y)

    def zoomed(
        self, factor: float, center: LatLon, width_dots: int, height_dots: int
    ) -> Projection:
        """This projection ``factor`` times larger, with ``center`` in the middle of the grid."""
        scale = self.scale * factor
        offset_x = (width_dots - 1) / 2.0 - (center.lon - self.west) * self.coslat * scale
        offset_y = (height_dots - 1) / 2.0 - (self.north - center.lat) * scale
        return Projection(self.west, self.north, scale, self.coslat, offset_x, offset_y)

    def to_latlon(self, x: float, y: float) -> LatLon:
        """The point at dot position (x, y): the inverse of ``to_dot``."""
        lon = self.west + (x - self.offset_x) / (self.coslat * self.scale)
        return LatLon(self.north - (y - self.offset_y) / self.scale, lon)

    @property
    def cell_width_m(self) -> float:
        """Ground metres across one terminal cell (two dots; a cell is four dots tall)."""
        return 2.0 * _M_PER_DEG_LAT / self.scale

    def to_dot(self, p: LatLon) -> tuple[float, float]:
        x = self.offset_x + (p.lon - self.west) * self.coslat * self.scale
        y = self.offset_y + (self.north - p.lat) * self.scale
        return x, y

    def to_cell(self, p: LatLon) -> tuple[int, int]:
        """The terminal cell (column, row) holding the point's dot (rounded as lines are)."""
        x, y = self.to_dot(p)
        return math.floor(round(x) / 2.0), math.floor(round(y) / 4.0)


class BrailleCanvas:
    """A grid of cells, each a braille dot pattern with a colour, a background and optional text.

    Layers have priorities: a dot drawn with a higher priority takes the cell's colour; text
    replaces the dots of its cell.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        n = width * height
        self._dots = [0] * n
        self._fg: list[Style | None] = [None] * n
        self._fg_prio = [-1] * n
        self._bg: list[Style | None] = [None] * n
        self._text: list[tuple[str, Style, int] | None] = [None] * n

    def copy(self) -> BrailleCanvas:
        other = BrailleCanvas(self.width, self.height)
        other._dots = self._dots.copy()
        other._fg = self._fg.copy()
        other._fg_prio = self._fg_prio.copy()
        other._bg = self._bg.copy()
        other._text = self._text.copy()
        return other

    def dot(self, x: int, y: int, style: Style, prio: int = 0) -> None:
        if x < 0 or y < 0:
            return
        cx, cy = x >> 1, y >> 2
        if cx >= self.width or cy >= self.height:
            return
        i = cy * self.width + cx
        self._dots[i] |= _DOT_BITS[x & 1][y & 3]
        if prio >= self._fg_prio[i]:
            self._fg[i] = style
            self._fg_prio[i] = prio

    def line(
        self, x0: float, y0: float, x1: float, y1: float, style: Style, prio: int = 0,
        dash: int = 0,
    ) -> None:
        """Bresenham's line between two dot positions, clipped to the canvas; ``dash`` > 0
        draws ``dash`` dots on, ``dash`` off."""
        clipped = clip_segment(x0, y0, x1, y1, self.width * 2.0, self.height * 4.0)
        if clipped is None:
            return
        ax, ay, bx, by = (round(v) for v in clipped)
        dx, dy = abs(bx - ax), -abs(by - ay)
        sx, sy = (1 if ax < bx else -1), (1 if ay < by else -1)
        err = dx + dy
        step = 0
        while True:
            if not dash or (step // dash) % 2 == 0:
                self.dot(ax, ay, style, prio)
            step += 1
            if ax == bx and ay == by:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                ax += sx
            if e2 <= dx:
                err += dx
                ay += sy

    def polyline(
        self, pts: Sequence[tuple[float, float]], style: Style, prio: int = 0,
        closed: bool = False, dash: int = 0,
    ) -> None:
        pairs = list(itertools.pairwise(pts))
        if closed and len(pts) > 2:
            pairs.append((pts[-1], pts[0]))
        for (x0, y0), (x1, y1) in pairs:
            self.line(x0, y0, x1, y1, style, prio, dash)

    def shade_polygon(self, ring: Sequence[tuple[float, float]], bg: Style) -> set[tuple[int, int]]:
        """Give every cell whose centre lies inside the ring the background ``bg`` (scanline);
        returns those cells."""
        shaded: set[tuple[int, int]] = set()
        if len(ring) < 3:
            return shaded
        edges = list(zip(ring, [*ring[1:], ring[0]], strict=True))
        for row in range(self.height):
            yc = row * 4 + 1.5
            xs = sorted(
                x0 + (yc - y0) * (x1 - x0) / (y1 - y0)
                for (x0, y0), (x1, y1) in edges
                if (y0 <= yc < y1) or (y1 <= yc < y0)
            )
            for left, right in zip(xs[::2], xs[1::2], strict=False):
                first = max(0, math.ceil((left - 0.5) / 2.0))
                last = min(self.width - 1, math.floor((right - 0.5) / 2.0))
                for col in range(first, last + 1):
                    self._bg[row * self.width + col] = bg
                    shaded.add((col, row))
        return shaded

    def text(self, col: int, row: int, text: str, style: Style, prio: int = 0) -> bool:
        """Write text at a cell unless a higher-priority text is there; False when it did not
        fit (off the canvas or over other text of higher or equal priority)."""
        if row < 0 or row >= self.height or col < 0 or col + len(text) > self.width:
            return False
        base = row * self.width + col
        for k in range(len(text)):
            held = self._text[base + k]
            if held is not None and held[2] >= prio:
                return False
        for k, ch in enumerate(text):
            self._text[base + k] = (ch, style, prio)
        return True

    def free(self, col: int, row: int, length: int) -> bool:
        """True when the cells hold no text."""
        if row < 0 or row >= self.height or col < 0 or col + length > self.width:
            return False
        base = row * self.width + col
        return all(self._text[base + k] is None for k in range(length))

    def row_segments(self, row: int, base_style: Style) -> list[Segment]:
        """The row as Rich segments, runs of equal style merged."""
        segments: list[Segment] = []
        run: list[str] = []
        run_style: Style | None = None
        start = row * self.width
        for i in range(start, start + self.width):
            held = self._text[i]
            if held is not None:
                ch, style = held[0], held[1]
            elif self._dots[i]:
                ch, style = chr(_BRAILLE_BASE + self._dots[i]), self._fg[i] or base_style
            else:
                ch, style = " ", base_style
            bg = self._bg[i]
            if bg is not None:
                style = style + bg
            if style is not run_style and style != run_style:
                if run:
                    segments.append(Segment("".join(run), run_style))
                run, run_style = [], style
            run.append(ch)
        if run:
            segments.append(Segment("".join(run), run_style))
        return segments
