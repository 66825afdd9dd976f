"""Exact shortest routes around inflated no-fly zones: a visibility graph and Dijkstra.

The shortest path between two points among polygonal obstacles is a polyline that bends only
at obstacle corners that poke into free space, and each of its legs is tangent to the obstacles
at both ends. ``VisibilityGraph`` therefore keeps only convex corners as vertices and only
bitangent, unobstructed legs as edges; it is built once per selection of active zones. A query
joins the start and the goal to the corners they see: shortest distances from each start are
cached, since every order leaves from one of a few depots, so answering a query is a scan of the
corners the goal sees, nearest first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point, Polygon

from planner.airspace import Obstacles, PreparedAirspace, ZoneHit
from planner.corners import relieve_corners
from planner.errors import InvalidInput
from planner.geo import LocalFrame, path_length_m
from planner.model import Airspace, Infeasibility, LatLon, Rule

__all__ = ["Route", "RouteFailure", "Router", "VisibilityGraph"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_ROW_BLOCK = 256
"""Corners processed per block when finding bitangents (bounds memory to a few MB)."""
_GOAL_BATCH = 24
"""Goal-side candidates tested for blocking per batch, cheapest first."""
_SOURCE_CACHE = 64
"""Start points whose shortest-path trees are kept per graph."""
_ZERO_LENGTH_M = 1e-9
"""Stand-in weight for a zero-length leg: scipy's sparse graphs cannot hold a 0 edge."""


@dataclass(frozen=True)
class Route:
    """A safe route: start and goal included, turning points between."""

    points: tuple[LatLon, ...]
    length_m: float
    """Geodesic length along the points, metres."""


@dataclass(frozen=True)
class RouteFailure:
    """Why no route could be planned: every reason that applies."""

    reasons: tuple[Infeasibility, ...]


class _Fans:
    """Each corner's two ring edges, for tangency tests of many lines at once."""

    def __init__(self, obstacles: Obstacles) -> None:
        v = obstacles.corners
        self.x, self.y = v[:, 0], v[:, 1]
        e1 = obstacles.prev - v
        e2 = obstacles.next - v
        self.e1x, self.e1y, self.e2x, self.e2y = e1[:, 0], e1[:, 1], e2[:, 0], e2[:, 1]
        # Neighbours within rounding of a line count as on either side of it. One length
        # bound for all lines (the corners' extent) keeps the test free of square roots; a
        # looser test only lets through extra legs, which the blocking test still checks.
        extent = float(np.ptp(v, axis=0).max()) + 1.0 if len(v) else 1.0
        self.tol1 = 1e-9 * extent * np.hypot(self.e1x, self.e1y)
        self.tol2 = 1e-9 * extent * np.hypot(self.e2x, self.e2y)

    def tangent(self, dx: FloatArray, dy: FloatArray, sel: Any) -> npt.NDArray[np.bool_]:
        """True where the line along (dx, dy) through corner ``sel`` keeps both of the
        corner's neighbours on one side: a leg there only touches the obstacle, and a
        shortest path can bend around it."""
        c1 = dx * self.e1y[sel] - dy * self.e1x[sel]
        c2 = dx * self.e2y[sel] - dy * self.e2x[sel]
        t1 = self.tol1[sel]
        t2 = self.tol2[sel]
        return ~(((c1 > t1) & (c2 < -t2)) | ((c1 < -t1) & (c2 > t2)))

    def towards(self, p: FloatArray) -> npt.NDArray[np.bool_]:
        """Per corner: is the line from ``p`` to the corner tangent there?"""
        return self.tangent(self.x - p[0], self.y - p[1], slice(None))


@dataclass(frozen=True)
class _Source:
    """Shortest distances and predecessors from one start point over the graph."""

    xy: FloatArray
    dist: FloatArray
    """Per corner, then the start itself last."""
    pred: IntArray


class VisibilityGraph:
    """Convex obstacle corners joined by unobstructed bitangent legs, in metres.

    Args:
        obstacles: the obstacle set of one selection of active zones.
    """

    def __init__(self, obstacles: Obstacles) -> None:
        self.obstacles = obstacles
        self.vertices = obstacles.corners
        self._fans = _Fans(obstacles)
        i, j = self._bitangent_pairs()
        free = ~obstacles.blocked(self.vertices[i], self.vertices[j])
        i, j = i[free], j[free]
        w = np.maximum(np.hypot(*(self.vertices[j] - self.vertices[i]).T), _ZERO_LENGTH_M)
        # Both directions stored, so a start's edges can be appended as a directed fan.
        self._rows = np.concatenate([i, j])
        self._cols = np.concatenate([j, i])
        self._weights = np.concatenate([w, w])
        self._sources: OrderedDict[tuple[float, float], _Source] = OrderedDict()

    @property
    def edge_count(self) -> int:
        """Undirected edges between corners."""
        return len(self._rows) // 2

    def _bitangent_pairs(self) -> tuple[IntArray, IntArray]:
        fans = self._fans
        n = len(self.vertices)
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        for r0 in range(0, n - 1, _ROW_BLOCK):
            r1 = min(n, r0 + _ROW_BLOCK)
            # Pairs (i, j) with i in this block and j > i: columns start after r0.
            dx = fans.x[None, r0 + 1 :] - fans.x[r0:r1, None]
            dy = fans.y[None, r0 + 1 :] - fans.y[r0:r1, None]
            ok = fans.tangent(dx, dy, np.s_[r0:r1, None])
            ok &= np.arange(r0 + 1, n)[None, :] > np.arange(r0, r1)[:, None]
            # Few lines are tangent at the row's corner: test the column's end on those only.
            a, b = np.nonzero(ok)
            b = b + r0 + 1
            keep = fans.tangent(-dx[a, b - r0 - 1], -dy[a, b - r0 - 1], b)
            rows.append(a[keep] + r0)
            cols.append(b[keep])
        if not rows:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        return np.concatenate(rows), np.concatenate(cols)

    def visible(self, p: FloatArray) -> IntArray:
        """Corners that ``p`` sees along a leg tangent to the corner's obstacle."""
        v = self.vertices
        cand = np.nonzero(self._fans.towards(p))[0]
        if len(cand) == 0:
            return cand
        free = ~self.obstacles.blocked(np.broadcast_to(p, (len(cand), 2)), v[cand])
        return cand[free]

    def has_source(self, p: FloatArray) -> bool:
        """True when shortest distances from ``p`` are cached."""
        return (float(p[0]), float(p[1])) in self._sources

    def _source(self, p: FloatArray) -> _Source:
        key = (float(p[0]), float(p[1]))
        cached = self._sources.get(key)
        if cached is not None:
            self._sources.move_to_end(key)
            return cached
        n = len(self.vertices)
        seen = self.visible(p)
        w = np.maximum(np.hypot(*(self.vertices[seen] - p).T), _ZERO_LENGTH_M)
        matrix = scipy.sparse.csr_matrix(
            (
                np.concatenate([self._weights, w]),
                (
                    np.concatenate([self._rows, np.full(len(seen), n)]),
                    np.concatenate([self._cols, seen]),
                ),
            ),
            shape=(n + 1, n + 1),
        )
        dist, pred = dijkstra(matrix, directed=True, indices=n, return_predecessors=True)
        source = _Source(np.array(p, dtype=np.float64), dist, pred)
        self._sources[key] = source
        if len(self._sources) > _SOURCE_CACHE:
            self._sources.popitem(last=False)
        return source

    def shortest_path(self, start: FloatArray, goal: FloatArray) -> FloatArray | None:
        """The shortest obstacle-free polyline from ``start`` to ``goal`` ((k, 2) metres).

        Both points must be outside every obstacle. Returns None when no path exists.
        """
        start = np.asarray(start, dtype=np.float64)
        goal = np.asarray(goal, dtype=np.float64)
        if not self.obstacles.blocked(start[None, :], goal[None, :])[0]:
            return np.stack([start, goal])
        src = self._source(start)
        v = self.vertices
        cand = np.nonzero(self._fans.towards(goal))[0]
        cand = cand[np.isfinite(src.dist[cand])]
        total = src.dist[cand] + np.hypot(*(v[cand] - goal).T)
        order = cand[np.argsort(total, kind="stable")]
        for b0 in range(0, len(order), _GOAL_BATCH):
            batch = order[b0 : b0 + _GOAL_BATCH]
            blocked = self.obstacles.blocked(np.broadcast_to(goal, (len(batch), 2)), v[batch])
            free = np.nonzero(~blocked)[0]
            if len(free):
                return self._unwind(src, int(batch[free[0]]), goal)
        return None

    def _unwind(self, src: _Source, last: int, goal: FloatArray) -> FloatArray:
        n = len(self.vertices)
        chain = [goal]
        node = last
        while node != n:
            chain.append(self.vertices[node])
            node = int(src.pred[node])
        chain.append(src.xy)
        return np.array(chain[::-1])


class Router:
    """Plans safe shortest routes over one airspace, reusing its graphs across orders.

    Args:
        airspace: the no-fly zones and optional operating area.
        margin_m: safety margin kept from every zone and from the operating area's edge.
        frame: the metric frame to plan in; by default one centred on the airspace.
        corner_cut_m: how far inside a turn the autopilot flies; turning points are moved out
            by that much (``planner.corners``) so the flown corner keeps the margin; the
            default 0 gives the exact shortest polyline. ``Planner`` uses ``CORNER_CUT_M``.

    Raises:
        InvalidInput: for a bad margin or an unusable zone or area shape.
    """

    def __init__(
        self,
        airspace: Airspace,
        *,
        margin_m: float = 30.0,
        frame: LocalFrame | None = None,
        corner_cut_m: float = 0.0,
    ) -> None:
        self.prepared = PreparedAirspace(airspace, margin_m, frame)
        self.corner_cut_m = corner_cut_m
        self._graphs: dict[tuple[int, ...], VisibilityGraph] = {}
        self._selections: dict[float, tuple[int, ...]] = {}

    @property
    def frame(self) -> LocalFrame:
        """The metric frame routes are planned in."""
        return self.prepared.frame

    @property
    def margin_m(self) -> float:
        """The safety margin around zones and inside the operating area, metres."""
        return self.prepared.margin_m

    def active_indices(self, cruise_alt_agl_m: float) -> tuple[int, ...]:
        """Zones that constrain a flight climbing from the ground to ``cruise_alt_agl_m``."""
        _check_alt(cruise_alt_agl_m)
        return self.prepared.active_indices(0.0, cruise_alt_agl_m)

    def graph_for(self, cruise_alt_agl_m: float) -> VisibilityGraph:
        """The visibility graph for a flight at ``cruise_alt_agl_m`` (cached per zone set)."""
        key = self._selections.get(cruise_alt_agl_m)
        if key is None:
            key = self.active_indices(cruise_alt_agl_m)
            self._selections[cruise_alt_agl_m] = key
        graph = self._graphs.get(key)
        if graph is None:
            graph = VisibilityGraph(self.prepared.obstacles(key))
            self._graphs[key] = graph
        return graph

    def route(self, start: LatLon, goal: LatLon, cruise_alt_agl_m: float) -> Route | RouteFailure:
        """The shortest safe route from ``start`` to ``goal`` for a flight at that altitude.

        The flight occupies every altitude from the ground to ``cruise_alt_agl_m`` (it climbs
        at the start and descends at the goal), so every zone whose band overlaps that range
        constrains it.

        Returns:
            A ``Route``, or a ``RouteFailure`` listing every reason that applies:
            DEPOT_IN_NO_FLY_ZONE / DROPOFF_IN_NO_FLY_ZONE and OUTSIDE_OPERATING_AREA with the
            signed clearance measured (metres from the drawn edge, positive on the allowed
            side) against the margin as limit, or NO_PATH.

        Raises:
            InvalidInput: for a start or goal that is not a valid LatLon or a bad altitude.
        """
        _check_point("start", start)
        _check_point("goal", goal)
        graph = self.graph_for(cruise_alt_agl_m)
        frame = self.prepared.frame
        a = np.array(frame.to_xy(start))
        b = np.array(frame.to_xy(goal))
        reasons = [
            *self._endpoint_reasons(a, "depot", Rule.DEPOT_IN_NO_FLY_ZONE, graph),
            *self._endpoint_reasons(b, "drop-off", Rule.DROPOFF_IN_NO_FLY_ZONE, graph),
        ]
        if reasons:
            return RouteFailure(tuple(reasons))
        # The graph is undirected: reuse a cached tree from the goal rather than grow one
        # from every drop-off when callers plan the return leg as its own query.
        if not graph.has_source(a) and graph.has_source(b):
            path = graph.shortest_path(b, a)
            path = None if path is None else path[::-1]
        else:
            path = graph.shortest_path(a, b)
        if path is None:
            return RouteFailure((self._no_path(a, b, graph),))
        path = relieve_corners(path, self.corner_cut_m, graph.obstacles.blocked)
        return self._to_route(path, start, goal)

    def _to_route(self, path: FloatArray, start: LatLon, goal: LatLon) -> Route:
        inner: list[LatLon] = []
        if len(path) > 2:
            lats, lons = self.prepared.frame.to_latlon_array(path[1:-1, 0], path[1:-1, 1])
            inner = [LatLon(float(la), float(lo)) for la, lo in zip(lats, lons, strict=True)]
        points = (start, *inner, goal)
        return Route(points, path_length_m(points))

    def _endpoint_reasons(
        self, xy: FloatArray, role: str, zone_rule: Rule, graph: VisibilityGraph
    ) -> list[Infeasibility]:
        x, y = float(xy[0]), float(xy[1])
        reasons: list[Infeasibility] = []
        margin = self.prepared.margin_m
        if not self.prepared.in_area(x, y):
            clearance = self.prepared.area_clearance_m(x, y)
            assert clearance is not None
            where = (
                f"{-clearance:.1f} m outside the operating area"
                if clearance < 0
                else f"only {clearance:.1f} m inside the operating area's edge"
            )
            reasons.append(
                Infeasibility(
                    Rule.OUTSIDE_OPERATING_AREA,
                    clearance,
                    margin,
                    "m",
                    f"{role} is {where}; routes keep {margin:g} m inside it "
                    "(measured: signed distance inside the edge)",
                )
            )
        hits = self.prepared.zones_containing(x, y, graph.obstacles.zone_indices)
        reasons.extend(_zone_reason(hit, role, zone_rule, margin) for hit in hits)
        return reasons

    def _no_path(self, a: FloatArray, b: FloatArray, graph: VisibilityGraph) -> Infeasibility:
        pockets = {
            role: _pocket(graph.obstacles, xy) for role, xy in (("depot", a), ("drop-off", b))
        }
        parts = []
        for role, other in (("depot", b), ("drop-off", a)):
            pocket = pockets[role]
            if pocket is not None and not pocket.covers(Point(float(other[0]), float(other[1]))):
                names = _bounding_names(self.prepared, graph.obstacles, pocket)
                parts.append(f"the {role} is in a region enclosed by {names}")
        why = "; ".join(parts) if parts else "the active zones cut the depot off from the drop-off"
        return Infeasibility(
            Rule.NO_PATH,
            "no path",
            "a connected path",
            "",
            f"{why} (zones inflated by {self.prepared.margin_m:g} m)",
        )


def _zone_reason(hit: ZoneHit, role: str, rule: Rule, margin_m: float) -> Infeasibility:
    c = hit.clearance_m
    if c < 0:
        where = f"{-c:.1f} m inside no-fly zone {hit.zone.label}"
    elif c < margin_m:
        where = f"{c:.1f} m outside no-fly zone {hit.zone.label}, within its {margin_m:g} m margin"
    else:
        # Inflating with mitred corners (and circles as polygons) adds a little past the margin.
        where = (
            f"{c:.1f} m outside no-fly zone {hit.zone.label}, in a squared-off corner of its "
            f"{margin_m:g} m safety buffer"
        )
    return Infeasibility(
        rule,
        c,
        margin_m,
        "m",
        f"{role} is {where} (measured: signed distance from the zone's edge, negative inside; "
        f"limit: the clearance needed)",
    )


def _pocket(obstacles: Obstacles, xy: FloatArray) -> Polygon | None:
    """The smallest hole of the obstacles around ``xy``: the free region it can reach."""
    point = Point(float(xy[0]), float(xy[1]))
    geoms = getattr(obstacles.geometry, "geoms", [obstacles.geometry])
    holes = [Polygon(ring) for g in geoms for ring in g.interiors]
    around = [h for h in holes if h.contains(point)]
    return min(around, key=lambda h: h.area) if around else None


def _bounding_names(prepared: PreparedAirspace, obstacles: Obstacles, pocket: Polygon) -> str:
    edge = pocket.exterior
    names = [
        prepared.zones[i].label
        for i in obstacles.zone_indices
        if prepared.zones[i].inflated.intersects(edge)
    ]
    if prepared.area is not None and prepared.area.boundary.intersects(edge.buffer(1e-3)):
        names.append("the operating area's edge")
    return ", ".join(names) if names else "obstacles"


def _check_point(name: str, p: object) -> None:
    if not isinstance(p, LatLon):
        raise InvalidInput(name, f"must be a LatLon, got {type(p).__name__}")
    if not (math.isfinite(p.lat) and math.isfinite(p.lon)):
        raise InvalidInput(name, f"coordinates must be finite, got {p!r}")


def _check_alt(alt: float) -> None:
    if not isinstance(alt, (int, float)) or isinstance(alt, bool) or not math.isfinite(alt):
        raise InvalidInput("cruise_alt_agl_m", f"must be a finite number, got {alt!r}")
    if alt < 0:
        raise InvalidInput("cruise_alt_agl_m", f"must be >= 0, got {alt!r}")
