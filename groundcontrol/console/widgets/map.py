"""The live map: operating area, no-fly zones, depots, routes and drones, scaled to the scenario."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from groundcontrol.console.model import MapView, VehicleState, VehicleView
from groundcontrol.console.widgets.format import STATE_STYLES
from groundcontrol.console.widgets.map_canvas import BrailleCanvas, Projection, heading_glyph
from planner.model import LatLon

__all__ = ["FleetMap"]


_AREA = Style.parse("grey50")
_ZONE = Style.parse("red")
_ZONE_BG = Style.parse("on #3a1010")
_ROUTE_PLANNED = Style.parse("#8a7f3a")
_ROUTE_ACTIVE = Style.parse("bright_cyan")
_ROUTE_SELECTED = Style.parse("bold bright_white")
_DEPOT = Style.parse("bold black on green")
_DEPOT_LABEL = Style.parse("green")
_DROPOFF = Style.parse("bold yellow")
_SELECTED = Style.parse("bold reverse")
_PARKED = (
    VehicleState.IDLE,
    VehicleState.CHARGING,
    VehicleState.LANDED,
    VehicleState.PREFLIGHT,
    VehicleState.UPLOADING,
)
_STATE_STYLES = {state: Style.parse(text) for state, text in STATE_STYLES.items()}


class FleetMap(Widget):
    """Draws a ``MapView`` and the vehicles on it; redraws only when told something changed."""

    DEFAULT_CSS = """
    FleetMap { width: 1fr; height: 1fr; }
    """
    ALLOW_MAXIMIZE = True
    can_focus = True

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.map_view: MapView = MapView()
        self.vehicles: dict[str, VehicleView] = {}
        self.selected: str | None = None
        self._base: BrailleCanvas | None = None
        self._base_key: tuple[int, int, int] | None = None
        self._projection: Projection | None = None
        self._frame: BrailleCanvas | None = None
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
        key = (width, height, id(self.map_view))
        if self._base is None or self._base_key != key:
            self._base, self._projection = self._draw_base(width, height)
            self._base_key = key
            self._frame = None
        if self._frame is None:
            self._frame = self._draw_vehicles(self._base.copy())
            self.frames_drawn += 1
        return self._frame

    def _all_points(self) -> Iterable[LatLon]:
        yield from self.map_view.points()
        if not self.map_view.depots:
            yield from (v.position for v in self.vehicles.values() if v.position is not None)

    def _draw_base(self, width: int, height: int) -> tuple[BrailleCanvas, Projection | None]:
        canvas = BrailleCanvas(width, height)
        proj = Projection.fit(self._all_points(), width * 2, height * 4)
        if proj is None:
            return canvas, None
        view = self.map_view
        for zone in view.zones:
            for ring in zone.outline():
                pts = [proj.to_dot(p) for p in ring]
                canvas.shade_polygon(pts, _ZONE_BG)
                canvas.polyline(pts, _ZONE, prio=1, closed=True)
        if view.operating_area:
            area = [proj.to_dot(p) for p in view.operating_area]
            canvas.polyline(area, _AREA, prio=0, closed=True)
        for route in sorted(view.routes, key=lambda r: r.active):
            style, prio = (_ROUTE_ACTIVE, 3) if route.active else (_ROUTE_PLANNED, 2)
            canvas.polyline([proj.to_dot(p) for p in route.points], style, prio)
        self._draw_markers(canvas, proj)
        return canvas, proj

    def _draw_markers(self, canvas: BrailleCanvas, proj: Projection) -> None:
        for route in self.map_view.routes:
            if len(route.points) >= 2:
                col, row = proj.to_cell(route.dropoff)
                canvas.text(col, row, "×", _DROPOFF, prio=1)
        for depot in self.map_view.depots:
            col, row = proj.to_cell(depot.position)
            canvas.text(col, row, "⌂", _DEPOT, prio=5)

    def _draw_depot_labels(self, canvas: BrailleCanvas, proj: Projection) -> set[tuple[int, int]]:
        """Label each depot with how many vehicles are parked on it; returns the depot cells."""
        cells = {proj.to_cell(d.position): d for d in self.map_view.depots}
        parked: dict[tuple[int, int], int] = dict.fromkeys(cells, 0)
        for v in self.vehicles.values():
            if v.position is not None and v.state in _PARKED:
                cell = proj.to_cell(v.position)
                if cell in parked:
                    parked[cell] += 1
        for (col, row), depot in cells.items():
            count = f"·{parked[(col, row)]}" if parked[(col, row)] else ""
            canvas.text(col + 1, row, depot.id[:8] + count, _DEPOT_LABEL, prio=5)
        return set(cells)

    def _draw_vehicles(self, canvas: BrailleCanvas) -> BrailleCanvas:
        proj = self._projection
        if proj is None:
            return canvas
        selected = self.vehicles.get(self.selected or "")
        for route in self.map_view.routes:
            # The selected vehicle's route stands out from the rest of the traffic.
            if selected is not None and route.order_id == selected.order_id:
                canvas.polyline([proj.to_dot(p) for p in route.points], _ROUTE_SELECTED, prio=4)
        depot_cells = self._draw_depot_labels(canvas, proj)
        ordered = sorted(self.vehicles.values(), key=lambda v: v.name == self.selected)
        labels = canvas.width >= 30
        for v in ordered:
            if v.position is None:
                continue
            col, row = proj.to_cell(v.position)
            if (col, row) in depot_cells:
                if v.state in _PARKED:
                    continue  # counted in the depot's label
                col -= 1  # beside the depot, which stays visible
            style = _STATE_STYLES.get(v.state, Style())
            if v.name == self.selected:
                style = style + _SELECTED
            canvas.text(col, row, heading_glyph(v.heading_deg), style, prio=6)
            if labels and v.state not in (VehicleState.IDLE, VehicleState.CHARGING):
                label = v.name[:10]
                if canvas.free(col + 1, row, len(label)):
                    canvas.text(col + 1, row, label, style, prio=4)
        return canvas
