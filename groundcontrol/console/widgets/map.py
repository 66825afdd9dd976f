"""The live map: operating area, no-fly zones, depots, routes and drones, scaled to the scenario.

The view fits everything at zoom x1; ``+``/``-`` zoom by two about the middle of the view,
the arrow keys (shift+arrows from any panel, through the app) pan by a quarter of it and ``0``
fits everything again. Each frame places the labels so that none covers another
(``map_labels``) and notes the scale and zoom in the bottom-left corner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widget import Widget

from groundcontrol.console.model import MapView, VehicleView
from groundcontrol.console.widgets.map_canvas import BrailleCanvas, Projection, scale_text
from groundcontrol.console.widgets.map_labels import Cell, PlacedLabel, place_labels
from groundcontrol.console.widgets.map_layers import Layer, draw_live, draw_static
from planner.model import LatLon

__all__ = ["MAP_KEYS", "MAX_ZOOM", "FleetMap"]

MAX_ZOOM = 64.0
"""The deepest zoom, relative to the fit (x64 of a 20 km scenario: a few metres a cell)."""
PAN_STEP = 0.25
"""One pan moves the view by this fraction of its width or height."""
MAP_KEYS = "+/- zoom · ←↑↓→ pan · 0 fit"
"""The map panel's subtitle while the map has focus."""
_STATUS = Style.parse("grey70")
_LABEL_PRIO = 4

class FleetMap(Widget):
    """Draws a ``MapView`` and the vehicles on it; redraws only when told something changed."""

    DEFAULT_CSS = """
    FleetMap { width: 1fr; height: 1fr; }
    """
    ALLOW_MAXIMIZE = True
    can_focus = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "zoom_in", "Zoom in", show=False,
                tooltip="zoom the map in (twice as close)"),
        Binding("minus", "zoom_out", "Zoom out", show=False,
                tooltip="zoom the map out (never further than everything)"),
        Binding("0", "fit", "Fit", show=False, tooltip="fit the whole scenario in the map"),
        Binding("left,shift+left", "pan(-1, 0)", "Pan left", show=False,
                tooltip="pan the map west (shift+arrows from any panel)"),
        Binding("right,shift+right", "pan(1, 0)", "Pan right", show=False,
                tooltip="pan the map east"),
        Binding("up,shift+up", "pan(0, -1)", "Pan up", show=False,
                tooltip="pan the map north"),
        Binding("down,shift+down", "pan(0, 1)", "Pan down", show=False,
                tooltip="pan the map south"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.map_view: MapView = MapView()
        self.vehicles: dict[str, VehicleView] = {}
        self.selected: str | None = None
        self.zoom = 1.0
        """Times the fit's scale (1: everything fits)."""
        self.center: LatLon | None = None
        """The middle of the view; None: the middle of the fit."""
        self.labels: list[PlacedLabel] = []
        """The labels of the last frame, where the placer put them."""
        self._base: BrailleCanvas | None = None
        self._base_key: tuple[object, ...] | None = None
        self._static = Layer()
        self._projection: Projection | None = None
        self._frame: BrailleCanvas | None = None
        self._legend: str | None = None
        self.frames_drawn = 0

    @property
    def projection(self) -> Projection | None:
        """The projection of the last drawn frame (tests use it to find a drone's cell)."""
        return self._projection

    def set_map(self, view: MapView) -> None:
        self.map_view = view
        self._invalidate(base=True)

    def set_vehicles(self, vehicles: Mapping[str, VehicleView]) -> None:
        self.vehicles = dict(vehicles)
        self._invalidate(base=not self.map_view.depots and not self.map_view.zones)

    def select(self, name: str | None) -> None:
        if name != self.selected:
            self.selected = name
            self._invalidate(base=False)

    def on_resize(self) -> None:
        self._invalidate(base=True)

    # -- zoom and pan ----------------------------------------------------------------------------

    def action_zoom_in(self) -> None:
        """Twice as close, about the middle of the view."""
        self._set_view(min(MAX_ZOOM, self.zoom * 2.0), self.center)

    def action_zoom_out(self) -> None:
        """Half as close; never further out than the fit."""
        self._set_view(max(1.0, self.zoom / 2.0), self.center)

    def action_fit(self) -> None:
        """Everything in view again."""
        self._set_view(1.0, None)

    def action_pan(self, dx: int, dy: int) -> None:
        """Move the view by ``PAN_STEP`` of its size: ``dx`` right, ``dy`` down."""
        proj = self._projection
        if proj is None:
            return
        w, h = self.size.width * 2, self.size.height * 4
        x = (w - 1) / 2.0 + dx * w * PAN_STEP
        y = (h - 1) / 2.0 + dy * h * PAN_STEP
        self._set_view(self.zoom, proj.to_latlon(x, y))

    def _set_view(self, zoom: float, center: LatLon | None) -> None:
        if (zoom, center) != (self.zoom, self.center):
            self.zoom, self.center = zoom, center
            self._invalidate(base=True)

    def status_text(self) -> str:
        """The scale and zoom note, e.g. ``1 cell = 120 m · x2``; "" before anything is drawn."""
        proj = self._projection
        if proj is None:
            return ""
        scale = scale_text(proj.cell_width_m)
        wide = self.size.width >= 36
        return f"1 cell = {scale} · ×{self.zoom:g}" if wide else f"{scale} ×{self.zoom:g}"

    # -- focus: the panel's subtitle names the map's keys while it has focus -----------------

    def on_focus(self) -> None:
        panel = self.parent
        if isinstance(panel, Widget) and panel.border_subtitle != MAP_KEYS:
            self._legend = str(panel.border_subtitle or "")
            panel.border_subtitle = MAP_KEYS

    def on_blur(self) -> None:
        # Only if the keys are still there: the screen may have set its own subtitle since
        # (the map takes the focus at mount, before the screen's on_mount).
        panel = self.parent
        if isinstance(panel, Widget) and panel.border_subtitle == MAP_KEYS:
            panel.border_subtitle = self._legend or ""
        self._legend = None

    # -- drawing ---------------------------------------------------------------------------------

    def _invalidate(self, base: bool) -> None:
        if base:
            self._base_key = None
        self._frame = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        frame = self._frame_for_size()
        if frame is None or y >= frame.height:
            return Strip.blank(self.size.width, self.rich_style)
        return Strip(frame.row_segments(y, self.rich_style), frame.width)

    def frame_text(self) -> list[str]:
        """The current frame as plain text rows (for tests and debugging)."""
        frame = self._frame_for_size()
        if frame is None:
            return []
        rows = (frame.row_segments(r, Style()) for r in range(frame.height))
        return ["".join(s.text for s in segments) for segments in rows]

    def _frame_for_size(self) -> BrailleCanvas | None:
        width, height = self.size.width, self.size.height
        if width < 4 or height < 2:
            return None
        key = (width, height, id(self.map_view), self.zoom, self.center)
        if self._base is None or self._base_key != key:
            self._base = self._draw_base(width, height)
            self._base_key = key
            self._frame = None
        if self._frame is None:
            self._frame = self._draw_frame(self._base.copy())
            self.frames_drawn += 1
        return self._frame

    def _all_points(self) -> Iterable[LatLon]:
        yield from self.map_view.points()
        if not self.map_view.depots:
            yield from (v.position for v in self.vehicles.values() if v.position is not None)

    def _draw_base(self, width: int, height: int) -> BrailleCanvas:
        """The static layer, in the view's projection (kept for the frames that follow)."""
        canvas = BrailleCanvas(width, height)
        fit = Projection.fit(self._all_points(), width * 2, height * 4)
        self._static = Layer()
        self._projection = fit
        if fit is None:
            return canvas
        proj = fit
        if self.zoom != 1.0 or self.center is not None:
            middle = fit.to_latlon((width * 2 - 1) / 2.0, (height * 4 - 1) / 2.0)
            proj = fit.zoomed(self.zoom, self.center or middle, width * 2, height * 4)
            self._projection = proj
        self._static = draw_static(canvas, self.map_view, proj)
        return canvas

    def _draw_frame(self, canvas: BrailleCanvas) -> BrailleCanvas:
        """The live layer, the scale note and the labels over a copy of the static layer."""
        proj = self._projection
        self.labels = []
        if proj is None:
            return canvas
        depots = [proj.to_cell(d.position) for d in self.map_view.depots]
        live = draw_live(canvas, self.map_view, self.vehicles, self.selected, proj, depots)
        marks = self._static.marks | live.marks
        blocked = marks | self._draw_status(canvas, marks)
        styles = {**self._static.styles, **live.styles}
        requests = [*live.labels, *self._static.labels]
        self.labels = place_labels(requests, canvas.width, canvas.height, blocked, marks)
        for label in self.labels:
            canvas.text(label.col, label.row, label.text, styles[label.key], prio=_LABEL_PRIO)
        return canvas

    def _draw_status(self, canvas: BrailleCanvas, marks: set[Cell]) -> set[Cell]:
        """The scale note in the first corner free of markers (bottom-left, bottom-right,
        top-left, top-right); returns its cells and a blank after it (no label goes there)."""
        text = self.status_text()
        width, height, length = canvas.width, canvas.height, len(self.status_text()) + 1
        if not text or height < 6 or length > width:
            return set()
        right, bottom = width - length, height - 1
        for col, row in ((0, bottom), (right, bottom), (0, 0), (right, 0)):
            cells = {(col + k, row) for k in range(length)}
            if not cells & marks:
                at = col if col == 0 else col + 1
                canvas.text(at, row, text, _STATUS, prio=8)
                return cells
        return set()
