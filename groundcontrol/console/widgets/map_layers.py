"""What the map draws, layer by layer, into a ``BrailleCanvas`` through a ``Projection``.

The static layer (operating area, zones, routes, depot and drop-off markers) is drawn once per
map, size and view; the live layer (the selected route, the legs being flown, drone markers)
each frame. Labels are not drawn here: each layer says which labels it wants
(``LabelRequest``) and which cells its markers hold, and ``map_labels.place_labels`` decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from rich.style import Style

from groundcontrol.console.model import MapView, RouteView, VehicleState, VehicleView, ZoneView
from groundcontrol.console.widgets.format import STATE_STYLES
from groundcontrol.console.widgets.map_canvas import BrailleCanvas, Projection, heading_glyph
from groundcontrol.console.widgets.map_labels import Cell, LabelRequest

__all__ = [
    "LABEL_STYLES",
    "PARKED",
    "Layer",
    "draw_live",
    "draw_static",
    "flown_leg",
    "zone_texts",
]

_AREA = Style.parse("grey50")
_ZONE = Style.parse("red")
_ZONE_BG = Style.parse("on #3a1010")
_ROUTE_PLANNED = Style.parse("#8a7f3a")
_ROUTE_ACTIVE = Style.parse("bright_cyan")
_ROUTE_SELECTED = Style.parse("bold bright_white")
_LEG = Style.parse("bold bright_white")
_DEPOT = Style.parse("bold black on green")
_DROPOFF = Style.parse("bold yellow")
_SELECTED = Style.parse("bold reverse")
_ZONE_MIN_COLS = 2
"""A zone narrower than this (a dot of a blob) gets no label until zoomed in."""
_PLANNED_DASH = 2
"""Planned routes are drawn 2 dots on, 2 off; routes being flown are solid."""
LABEL_STYLES: dict[str, Style] = {
    "depot": Style.parse("green"),
    "zone": Style.parse("bold #ff7b7b"),
}
"""Label styles by kind (a vehicle's label takes its state's style)."""
PARKED = (
    VehicleState.IDLE,
    VehicleState.CHARGING,
    VehicleState.LANDED,
    VehicleState.PREFLIGHT,
    VehicleState.UPLOADING,
)
"""States of a drone on its pad: counted in its depot's label instead of drawn."""
_UNLABELLED = (VehicleState.IDLE, VehicleState.CHARGING)
_LEG_STATES = (VehicleState.EN_ROUTE, VehicleState.RETURNING, VehicleState.PAUSED)
_STATE_STYLES = {state: Style.parse(text) for state, text in STATE_STYLES.items()}
RANK_SELECTED, RANK_VEHICLE, RANK_DEPOT, RANK_ZONE = range(4)


@dataclass(slots=True)
class Layer:
    """What a layer leaves for the label placer: marker cells and wanted labels."""

    marks: set[Cell] = field(default_factory=set)
    """Cells holding a marker (no label may cover them)."""
    labels: list[LabelRequest] = field(default_factory=list)
    styles: dict[str, Style] = field(default_factory=dict)
    """Style per label key."""


def draw_static(canvas: BrailleCanvas, view: MapView, proj: Projection) -> Layer:
    """Zones, operating area, routes (planned dashed, flown solid) and depot/drop-off markers;
    returns their marker cells and the zones' labels."""
    layer = Layer()
    inside: dict[str, set[Cell]] = {}
    for zone in view.zones:
        inside[zone.id] = set()
        for ring in zone.outline():
            pts = [proj.to_dot(p) for p in ring]
            inside[zone.id] |= canvas.shade_polygon(pts, _ZONE_BG)
            canvas.polyline(pts, _ZONE, prio=1, closed=True)
    everywhere = set().union(*inside.values())
    for zone in view.zones:
        request = _zone_label(zone, proj, canvas.width)
        if request is not None:
            others = frozenset(everywhere - inside[zone.id])
            layer.labels.append(replace(request, avoid=others))
            layer.styles[request.key] = LABEL_STYLES["zone"]
    if view.operating_area:
        area = [proj.to_dot(p) for p in view.operating_area]
        canvas.polyline(area, _AREA, prio=0, closed=True)
    for route in sorted(view.routes, key=lambda r: r.active):
        pts = [proj.to_dot(p) for p in route.points]
        if route.active:
            canvas.polyline(pts, _ROUTE_ACTIVE, prio=3)
        else:
            canvas.polyline(pts, _ROUTE_PLANNED, prio=2, dash=_PLANNED_DASH)
    for route in view.routes:
        if len(route.points) >= 2:
            cell = proj.to_cell(route.dropoff)
            if canvas.text(*cell, "×", _DROPOFF, prio=1):
                layer.marks.add(cell)
    for depot in view.depots:
        cell = proj.to_cell(depot.position)
        canvas.text(*cell, "⌂", _DEPOT, prio=5)
        layer.marks.add(cell)
    return layer


def zone_texts(zone: ZoneView, inside: int, limit: int) -> tuple[str, ...]:
    """A zone's label texts, best first: its full name when it fits ``inside`` the zone, else
    the shortest telling forms no longer than ``limit``: the name before any bracket, the id,
    the name's first words (two at least: 'Canberra' alone names nothing).

    >>> zone = ZoneView("yscb", name="Canberra Airport (YSCB) 5.5 km zone")
    >>> zone_texts(zone, 40, 12)
    ('Canberra Airport (YSCB) 5.5 km zone', 'yscb')
    >>> zone_texts(zone, 5, 19)
    ('Canberra Airport', 'yscb')
    >>> zone_texts(ZoneView("canberra-hospital-hls", name="Canberra Hospital helipad"), 5, 19)
    ('Canberra Hospital',)
    """
    name = zone.name.strip()
    whole = (name,) if name and len(name) <= inside else ()
    words = name.split("(")[0].split()
    prefix = ""
    for word in words:
        if len(f"{prefix} {word}".strip()) > limit:
            break
        prefix = f"{prefix} {word}".strip()
    forms = (" ".join(words), zone.id, prefix if " " in prefix else "")
    return tuple(dict.fromkeys((*whole, *(t for t in forms if t and len(t) <= limit))))


def _zone_label(zone: ZoneView, proj: Projection, canvas_width: int) -> LabelRequest | None:
    """A label centred in the zone when its name fits inside, else beside it; free to move
    up or down to just outside it. None for a zone too small to see as one."""
    rings = zone.outline(16)
    if not rings or not rings[0]:
        return None
    cells = [proj.to_cell(p) for p in rings[0]]
    left, right = min(c for c, _ in cells), max(c for c, _ in cells)
    if right - left < _ZONE_MIN_COLS - 1:
        return None
    top, bottom = min(r for _, r in cells), max(r for _, r in cells)
    inside_width = right - left - 1
    texts = zone_texts(zone, inside_width, max(10, canvas_width // 3))
    if not texts:
        return None
    inside = len(texts[0]) <= inside_width
    return LabelRequest(f"zone:{zone.id}", (left + right) // 2, (top + bottom) // 2, texts,
                        RANK_ZONE, centred=inside, spread=(bottom - top) // 2 + 1,
                        reach=(right - left + 1) // 2)  # fmt: skip


def flown_leg(
    route: RouteView, vehicle: VehicleView, proj: Projection
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The leg a drone is flying, in dots: from the drone to the end of the route leg nearest
    it (outbound legs before the drop-off, inbound ones after it); None on the ground."""
    pts = route.points
    if vehicle.position is None or vehicle.state not in _LEG_STATES or len(pts) < 2:
        return None
    drop = route.dropoff_index if route.dropoff_index is not None else len(pts) // 2
    legs = range(drop, len(pts) - 1) if vehicle.state is VehicleState.RETURNING else range(drop)
    if not legs:
        return None
    here = proj.to_dot(vehicle.position)
    dots = [proj.to_dot(p) for p in pts]
    nearest = min(legs, key=lambda i: _distance_to_segment(here, dots[i], dots[i + 1]))
    return here, dots[nearest + 1]


def _distance_to_segment(
    p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> float:
    """Distance from p to the segment ab (planar)."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def draw_live(
    canvas: BrailleCanvas,
    view: MapView,
    vehicles: Mapping[str, VehicleView],
    selected: str | None,
    proj: Projection,
    depot_cells: Sequence[Cell],
) -> Layer:
    """The selected drone's route, the legs being flown and the drone markers; returns the
    markers' cells and the drones' and depots' labels."""
    chosen = vehicles.get(selected or "")
    for route in view.routes:
        # The selected vehicle's route stands out from the rest of the traffic.
        if chosen is not None and route.order_id == chosen.order_id:
            canvas.polyline([proj.to_dot(p) for p in route.points], _ROUTE_SELECTED, prio=4)
        flyer = vehicles.get(route.vehicle or "")
        leg = flown_leg(route, flyer, proj) if route.active and flyer is not None else None
        if leg is not None:
            canvas.polyline(leg, _LEG, prio=5)
    layer = Layer()
    parked = _draw_vehicles(canvas, vehicles, selected, proj, set(depot_cells), layer)
    for depot in view.depots:
        cell = proj.to_cell(depot.position)
        count = parked.get(cell, 0)
        name = depot.id[:8]
        texts = (f"{name}·{count}", name) if count else (name,)
        layer.labels.append(LabelRequest(f"depot:{depot.id}", *cell, texts, RANK_DEPOT))
        layer.styles[f"depot:{depot.id}"] = LABEL_STYLES["depot"]
    return layer


def _draw_vehicles(
    canvas: BrailleCanvas,
    vehicles: Mapping[str, VehicleView],
    selected: str | None,
    proj: Projection,
    depot_cells: set[Cell],
    layer: Layer,
) -> dict[Cell, int]:
    """Drone markers (the selected one last, on top) and label requests; returns how many
    drones are parked on each depot cell (drawn as the depot's count, not as markers)."""
    parked: dict[Cell, int] = {}
    named = canvas.width >= 30
    for v in sorted(vehicles.values(), key=lambda v: v.name == selected):
        if v.position is None:
            continue
        col, row = proj.to_cell(v.position)
        if (col, row) in depot_cells:
            if v.state in PARKED:
                parked[(col, row)] = parked.get((col, row), 0) + 1
                continue
            col -= 1  # beside the depot, which stays visible
        style = _STATE_STYLES.get(v.state, Style())
        if v.name == selected:
            style = style + _SELECTED
        prio = 7 if v.name == selected else 6  # the selected drone wins a shared cell
        if not canvas.text(col, row, heading_glyph(v.heading_deg), style, prio=prio):
            continue
        layer.marks.add((col, row))
        if named and v.state not in _UNLABELLED:
            rank = RANK_SELECTED if v.name == selected else RANK_VEHICLE
            layer.labels.append(LabelRequest(v.name, col, row, (v.name[:10],), rank))
            layer.styles[v.name] = style
    return parked
