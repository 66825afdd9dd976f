"""Geodesy: a local metric frame to plan in, and WGS84 geodesic distances to report.

Planning (visibility graphs, buffers, intersections) happens in a local azimuthal equidistant
projection centred on the airspace, where straight lines and metres behave as on a plane. The
distances the planner reports are geodesic (WGS84 ellipsoid), computed with pyproj's ``Geod``.
Over a delivery area (tens of kilometres) the projection's scale error stays below 1e-5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from pyproj import Geod, Transformer
from pyproj.enums import TransformDirection

from planner.errors import InvalidInput
from planner.model import LatLon

__all__ = [
    "WGS84",
    "LocalFrame",
    "ardupilot_distance_m",
    "bearing_deg",
    "destination",
    "geodesic_m",
    "path_length_m",
]

WGS84 = Geod(ellps="WGS84")
"""The WGS84 ellipsoid, for geodesic distances, bearings and destinations."""

FloatArray = npt.NDArray[np.float64]


def _finite(field: str, *values: float) -> None:
    for value in values:
        if not math.isfinite(value):
            raise InvalidInput(field, f"must be a finite number, got {value!r}")


class LocalFrame:
    """A metric plane around an origin: azimuthal equidistant projection on WGS84.

    ``x`` points east and ``y`` north, in metres; distances from the origin are exact and
    other distances are good to about 1e-5 within 50 km of it.

    >>> frame = LocalFrame(LatLon(-35.3, 149.1))
    >>> [round(v, 6) for v in frame.to_xy(LatLon(-35.3, 149.1))]
    [0.0, 0.0]
    """

    def __init__(self, origin: LatLon) -> None:
        self.origin = origin
        # The same operation as Transformer.from_crs("EPSG:4326", "+proj=aeqd ...
        # +datum=WGS84", always_xy=True), written as a pipeline: both sides are WGS84, so no
        # datum step is involved, and building it takes ~1 ms instead of ~45 ms of CRS
        # operation search (frames are built per airspace and in every property test).
        pipeline = (
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
            f"+step +proj=aeqd +lat_0={origin.lat!r} +lon_0={origin.lon!r} +ellps=WGS84"
        )
        self._transformer = Transformer.from_pipeline(pipeline)

    def __repr__(self) -> str:
        return f"LocalFrame(origin={self.origin!r})"

    @classmethod
    def for_points(cls, points: Iterable[LatLon]) -> LocalFrame:
        """A frame centred on the bounding box of ``points``.

        Raises:
            InvalidInput: when ``points`` is empty.
        """
        pts = list(points)
        if not pts:
            raise InvalidInput("points", "need at least one point to centre a frame on")
        lats = [p.lat for p in pts]
        lons = [p.lon for p in pts]
        # Longitudes near the antimeridian would average to the wrong side of the globe.
        if max(lons) - min(lons) > 180.0:
            lons = [lon + 360.0 if lon < 0 else lon for lon in lons]
        lon = (min(lons) + max(lons)) / 2.0
        lon = lon - 360.0 if lon > 180.0 else lon
        return cls(LatLon((min(lats) + max(lats)) / 2.0, lon))

    def to_xy(self, p: LatLon) -> tuple[float, float]:
        """Project a position to (x east, y north) metres.

        Raises:
            InvalidInput: the projection has no finite answer for ``p``.
        """
        x, y = self._transformer.transform(p.lon, p.lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidInput("position", f"{p} cannot be projected around {self.origin}")
        return float(x), float(y)

    def to_latlon(self, x: float, y: float) -> LatLon:
        """Unproject (x, y) metres to a position.

        Raises:
            InvalidInput: when x or y is not finite.
        """
        _finite("x/y", x, y)
        lon, lat = self._transformer.transform(x, y, direction=TransformDirection.INVERSE)
        return LatLon(float(lat), float(lon))

    def to_xy_array(
        self, lats: npt.ArrayLike, lons: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Vectorised ``to_xy``: arrays of latitudes and longitudes to arrays of x and y."""
        x, y = self._transform_arrays(lons, lats, TransformDirection.FORWARD)
        return x, y

    def to_latlon_array(
        self, xs: npt.ArrayLike, ys: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Vectorised ``to_latlon``: arrays of x and y to arrays of (latitudes, longitudes)."""
        lon, lat = self._transform_arrays(xs, ys, TransformDirection.INVERSE)
        return lat, lon

    def _transform_arrays(
        self, a: npt.ArrayLike, b: npt.ArrayLike, direction: TransformDirection
    ) -> tuple[FloatArray, FloatArray]:
        a_arr = np.array(a, dtype=np.float64)
        b_arr = np.array(b, dtype=np.float64)
        if a_arr.shape != b_arr.shape:
            raise InvalidInput("arrays", f"shapes differ: {a_arr.shape} and {b_arr.shape}")
        if a_arr.size == 0:
            return a_arr, b_arr
        if a_arr.size == 1:
            # pyproj takes a one-element array for a scalar and converts it with a call
            # that numpy deprecates; hand it the scalar itself.
            u, v = self._transformer.transform(
                float(a_arr.item()), float(b_arr.item()), direction=direction
            )
            return np.full(a_arr.shape, u), np.full(b_arr.shape, v)
        self._transformer.transform(a_arr, b_arr, direction=direction, inplace=True)
        return a_arr, b_arr

    def points_to_xy(self, points: Sequence[LatLon]) -> FloatArray:
        """Project a sequence of positions to an (n, 2) array of metres.

        Raises:
            InvalidInput: the projection has no finite answer for one of them.
        """
        if not points:
            return np.zeros((0, 2))
        x, y = self.to_xy_array([p.lat for p in points], [p.lon for p in points])
        xy = np.column_stack([x, y])
        if not np.isfinite(xy).all():
            bad = points[int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])]
            raise InvalidInput("position", f"{bad} cannot be projected around {self.origin}")
        return xy


def geodesic_m(a: LatLon, b: LatLon) -> float:
    """Geodesic distance on the WGS84 ellipsoid, metres.

    >>> round(geodesic_m(LatLon(0.0, 0.0), LatLon(0.0, 1.0)), 3)
    111319.491
    """
    _, _, dist = WGS84.inv(a.lon, a.lat, b.lon, b.lat)
    return float(dist)


ARDUPILOT_M_PER_1E7_DEG = 0.011131884502145034
"""ArduPilot's LOCATION_SCALING_FACTOR: metres per 1e-7 degree on its 6,378,100 m sphere."""


def ardupilot_distance_m(a: LatLon, b: LatLon) -> float:
    """The distance ArduPilot itself measures (``Location::get_distance``: a flat earth on its
    equatorial sphere, longitude scaled at the mean latitude), e.g. for the circle fence.

    It differs from the ellipsoid: 0.34 % more north-south at Canberra's latitude, so a
    fence sized on geodesic distances is breached short of its radius.

    >>> a, b = LatLon(-35.2, 149.1), LatLon(-35.32, 149.1)
    >>> round(ardupilot_distance_m(a, b) - geodesic_m(a, b))
    45
    """
    dlat = (b.lat - a.lat) * 1e7
    dlon = (b.lon - a.lon) * 1e7 * max(0.01, math.cos(math.radians((a.lat + b.lat) / 2)))
    return math.hypot(dlat, dlon) * ARDUPILOT_M_PER_1E7_DEG


def path_length_m(points: Sequence[LatLon]) -> float:
    """Geodesic length of a polyline (sum of its legs), metres; 0 for fewer than 2 points."""
    if len(points) < 2:
        return 0.0
    return float(WGS84.line_length([p.lon for p in points], [p.lat for p in points]))


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Initial geodesic bearing from ``a`` to ``b``, degrees clockwise from north in [0, 360).

    >>> round(bearing_deg(LatLon(0.0, 0.0), LatLon(0.0, 1.0)), 6)
    90.0
    """
    az, _, _ = WGS84.inv(a.lon, a.lat, b.lon, b.lat)
    return float(az) % 360.0


def destination(p: LatLon, bearing_deg: float, distance_m: float) -> LatLon:
    """The point ``distance_m`` from ``p`` along the geodesic with initial ``bearing_deg``.

    Raises:
        InvalidInput: when the bearing or distance is not finite.
    """
    _finite("bearing_deg", bearing_deg)
    _finite("distance_m", distance_m)
    lon, lat, _ = WGS84.fwd(p.lon, p.lat, bearing_deg, distance_m)
    lon = (float(lon) + 180.0) % 360.0 - 180.0
    return LatLon(float(lat), lon)
