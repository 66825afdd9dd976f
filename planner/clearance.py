"""How close a flown track came to each no-fly zone: the judge of the contingency sweep.

A track is positions with altitudes above home. A zone only counts where the copter was inside
its altitude band; there the clearance is the signed distance from the zone's drawn edge
(negative inside: an incursion). The margin the planner keeps is a separate question: a track
whose smallest clearance is at least the margin kept it in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from planner.airspace import PreparedAirspace
from planner.model import LatLon

__all__ = ["ZoneClearance", "smallest_clearance", "track_clearances"]


@dataclass(frozen=True, slots=True)
class ZoneClearance:
    """The closest a track came to one zone, within the zone's altitude band."""

    zone_id: str
    kind: str
    clearance_m: float
    """Signed metres from the drawn edge: negative inside (an incursion)."""
    index: int
    """Position in the track of the closest point."""

    @property
    def incursion(self) -> bool:
        return self.clearance_m < 0.0


def track_clearances(
    prepared: PreparedAirspace, points: Sequence[LatLon], alts_m: Sequence[float]
) -> tuple[ZoneClearance, ...]:
    """Per zone the track passed within the band of, its smallest signed clearance.

    Args:
        prepared: the airspace in a metric frame (its margin plays no part here).
        points: the track's positions.
        alts_m: the altitude of each position above home (taken as above ground).
    """
    if not points:
        return ()
    xy = prepared.frame.points_to_xy(points)
    alt = np.asarray(alts_m, dtype=float)
    out: list[ZoneClearance] = []
    for zone in prepared.zones:
        band = (alt > zone.zone.floor_m) & (alt < zone.zone.ceiling_m)
        if not band.any():
            continue
        idx = np.flatnonzero(band)
        clearance = _signed(zone.raw, xy[idx], zone.circle_xy, zone.zone.circle_radius_m)
        k = int(np.argmin(clearance))
        out.append(ZoneClearance(zone.zone.id, zone.zone.kind, float(clearance[k]), int(idx[k])))
    return tuple(out)


def _signed(
    raw: shapely.Geometry,
    xy: np.ndarray,
    circle_xy: tuple[float, float] | None,
    radius_m: float | None,
) -> np.ndarray:
    if circle_xy is not None and radius_m is not None:
        return np.hypot(xy[:, 0] - circle_xy[0], xy[:, 1] - circle_xy[1]) - radius_m
    pts = shapely.points(xy)
    inside = shapely.contains(raw, pts)
    outside_d = shapely.distance(raw, pts)
    inside_d = shapely.distance(raw.boundary, pts)
    return np.where(inside, -inside_d, outside_d)


def smallest_clearance(clearances: Sequence[ZoneClearance]) -> ZoneClearance | None:
    """The zone the track came closest to, or None when it was never within a zone's band."""
    return min(clearances, key=lambda c: c.clearance_m, default=None)
