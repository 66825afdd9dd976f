"""Hand-made plans, profiles and airspaces for the mission tests, and Hypothesis strategies.

The depot is CMAC, the home of ArduPilot SITL and of the reference recordings
(-35.363261, 149.165230, 584 m AMSL); the drop-off is about 1.3 km north-east.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import assume
from hypothesis import strategies as st

from missions.fence import FenceShape, ShapeKind, fence_shapes, is_clockwise, items_from_shapes
from missions.items import Cmd, Frame, Mission, MissionItem, MissionType, ParamRequirement
from planner.model import Airspace, Depot, FlightPlan, LatLon, NoFlyZone, Order
from planner.vehicle import DeliveryMethod, VehicleProfile

DEPOT = Depot("cmac", LatLon(-35.363261, 149.165230), 584.0, "CMAC")
SECOND_DEPOT = Depot("north", LatLon(-35.3450, 149.1700), 590.5, "North")
DROPOFF = LatLon(-35.3540, 149.1760)
TURN_OUT = LatLon(-35.3600, 149.1700)
TURN_BACK = LatLon(-35.3575, 149.1690)
ORDER = Order("o-1001", "cmac", DROPOFF, 1.2)

PROFILE = VehicleProfile(
    name="test-quad",
    empty_mass_kg=9.0,
    battery_wh=505.0,
    usable_fraction=0.9,
    reserve_fraction=0.2,
    max_payload_kg=2.3,
    cruise_speed_ms=22.0,
    climb_speed_ms=3.0,
    descent_speed_ms=2.0,
    cruise_alt_agl_m=100.0,
    ceiling_agl_m=120.0,
    release_alt_agl_m=10.0,
    dropoff_hover_s=5.0,
)


def profile(**changes: object) -> VehicleProfile:
    """The test profile with some fields changed."""
    return replace(PROFILE, **changes)  # type: ignore[arg-type]


def plan(cruise_alt_m: float = 60.0) -> FlightPlan:
    """A delivery with one turning point each way."""
    return FlightPlan(
        order=ORDER,
        depot=DEPOT,
        profile_name="test-quad",
        outbound=(DEPOT.position, TURN_OUT, DROPOFF),
        inbound=(DROPOFF, TURN_BACK, DEPOT.position),
        cruise_alt_agl_m=cruise_alt_m,
        distance_m=2700.0,
        flight_time_s=320.0,
        energy_wh=80.0,
        reserve_left_wh=200.0,
    )


def _square(centre: LatLon, half_deg: float, ccw: bool = True) -> tuple[LatLon, ...]:
    c, h = centre, half_deg
    ring = (
        LatLon(c.lat - h, c.lon - h),
        LatLon(c.lat - h, c.lon + h),
        LatLon(c.lat + h, c.lon + h),
        LatLon(c.lat + h, c.lon - h),
    )
    return ring if ccw else ring[::-1]


HELIPAD = NoFlyZone(
    "helipad",
    name="Hospital helipad",
    circle_center=LatLon(-35.3590, 149.1600),
    circle_radius_m=150.0,
    kind="hospital",
)
PRISON = NoFlyZone(
    "prison", name="Prison", polygons=(_square(LatLon(-35.3650, 149.1780), 0.002),), kind="prison"
)
AIRPORT = NoFlyZone(
    "airport",
    name="Airport control zone",
    polygons=(
        _square(LatLon(-35.3700, 149.1500), 0.003),
        _square(LatLon(-35.3750, 149.1600), 0.002, ccw=False),
    ),
    kind="airport",
)
STADIUM = NoFlyZone(
    "stadium",
    name="Stadium (high band)",
    polygons=(_square(LatLon(-35.3500, 149.1600), 0.002),),
    floor_m=150.0,
    ceiling_m=300.0,
    kind="stadium",
)
FAR_ZONE = NoFlyZone("far", name="Far away", polygons=(_square(LatLon(-35.2000, 149.0000), 0.01),))
AREA = _square(LatLon(-35.3600, 149.1650), 0.03)  # counter-clockwise on purpose
AIRSPACE = Airspace(zones=(HELIPAD, PRISON, AIRPORT, STADIUM, FAR_ZONE), operating_area=AREA)


# ---- Hypothesis strategies -----------------------------------------------------------------

_FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
_PARAM = st.floats(allow_nan=False, allow_infinity=True) | st.sampled_from([0.0, -1.0, 1.0])
_LAT = st.floats(-90.0, 90.0, allow_nan=False)
_LON = st.floats(-180.0, 180.0, allow_nan=False)
_COMMANDS = st.sampled_from(list(Cmd)) | st.integers(0, 65535)
_FRAMES = st.sampled_from(list(Frame)) | st.integers(0, 255)


@st.composite
def mission_items(
    draw: st.DrawFn,
    *,
    min_size: int = 0,
    max_size: int = 12,
    finite: bool = False,
    plan_file: bool = False,
    mission_type: MissionType = MissionType.MISSION,
) -> tuple[MissionItem, ...]:
    """Items numbered 0..n-1 with any command, frame and parameters.

    ``finite`` keeps infinities out (JSON has none); ``plan_file`` keeps what a ``.plan`` has
    no place for at its default (``current`` 0, home a plain NAV_WAYPOINT in frame GLOBAL).
    """
    count = draw(st.integers(min_size, max_size))
    param = _FINITE if finite else _PARAM
    items = []
    for seq in range(count):
        if plan_file and seq == 0:
            items.append(
                MissionItem(
                    0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=draw(_LAT), y=draw(_LON), z=draw(_FINITE)
                )
            )
            continue
        items.append(
            MissionItem(
                seq=seq,
                command=draw(_COMMANDS),
                frame=draw(_FRAMES),
                param1=draw(param),
                param2=draw(param),
                param3=draw(param),
                param4=draw(param),
                x=draw(_LAT),
                y=draw(_LON),
                z=draw(param),
                current=0 if plan_file else draw(st.integers(0, 1)),
                autocontinue=draw(st.integers(0, 1)),
                mission_type=mission_type,
            )
        )
    return tuple(items)


@st.composite
def fence_shape(draw: st.DrawFn) -> FenceShape:
    """A simple polygon (vertices sorted by angle around a centre, clockwise) or a circle."""
    lat = draw(st.floats(-60.0, 60.0))
    lon = draw(st.floats(-170.0, 170.0))
    inclusion = draw(st.booleans())
    if draw(st.booleans()):
        radius = draw(st.floats(1.0, 50_000.0))
        return FenceShape(ShapeKind.CIRCLE, inclusion, center=LatLon(lat, lon), radius_m=radius)
    n = draw(st.integers(3, 12))
    angles = sorted(
        draw(
            st.lists(
                st.floats(0.0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True
            )
        )
    )
    radii = draw(st.lists(st.floats(0.001, 0.05), min_size=n, max_size=n))
    # Sorted by angle around the centre: a simple polygon; orientation is fixed in missions().
    vertices = tuple(
        LatLon(lat + r * math.cos(a), lon + r * math.sin(a))
        for a, r in zip(angles, radii, strict=True)
    )
    return FenceShape(ShapeKind.POLYGON, inclusion, vertices=vertices)


_REQUIREMENTS = st.builds(
    ParamRequirement,
    name=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=16),
    value=_FINITE,
    check=st.sampled_from(["eq", "ge", "gt", "le", "bits"]),
    why=st.text(max_size=40),
)


@st.composite
def missions(draw: st.DrawFn) -> Mission:
    """Missions a ``.plan`` file can hold exactly."""
    items = draw(mission_items(min_size=1, finite=True, plan_file=True))
    shapes = draw(st.lists(fence_shape(), max_size=4))
    # Orientation is judged on the coordinates as stored (rounded to 1e-7 degrees).
    stored = fence_shapes(items_from_shapes(shapes))
    polygons = []
    for shape in stored:
        if shape.kind is ShapeKind.POLYGON:
            ring = shape.vertices if is_clockwise(shape.vertices) else shape.vertices[::-1]
            assume(is_clockwise(ring))  # not degenerate
            polygons.append(replace(shape, vertices=ring))
    circles = [s for s in stored if s.kind is ShapeKind.CIRCLE]
    rally = tuple(
        MissionItem(
            i,
            Cmd.RALLY_POINT,
            Frame.GLOBAL_RELATIVE_ALT_INT,
            x=lat,
            y=lon,
            z=alt,
            mission_type=MissionType.RALLY,
        )
        for i, (lat, lon, alt) in enumerate(
            draw(st.lists(st.tuples(_LAT, _LON, _FINITE), max_size=3))
        )
    )
    # The delivery metadata a reader accepts: a release item, a drop-off item no later.
    releases = [i for i, it in enumerate(items) if i >= 1 and it.command in (
        Cmd.DO_GRIPPER, Cmd.DO_WINCH, Cmd.NAV_PAYLOAD_PLACE)]
    delivery = draw(st.none() | st.sampled_from(releases)) if releases else None
    dropoffs = [i for i, it in enumerate(items) if i >= 1 and it.command in (
        Cmd.NAV_WAYPOINT, Cmd.NAV_LAND, Cmd.NAV_PAYLOAD_PLACE)
        and (delivery is None or i <= delivery)]
    dropoff = draw(st.none() | st.sampled_from(dropoffs)) if dropoffs else None
    return Mission(
        name=draw(st.text(max_size=20)),
        items=items,
        fence=items_from_shapes([*polygons, *circles]),
        rally=rally,
        required_params=tuple(draw(st.lists(_REQUIREMENTS, max_size=4))),
        delivery_seq=delivery,
        dropoff_seq=dropoff,
        order_id=draw(st.none() | st.text(max_size=12)),
        cruise_speed_ms=draw(st.none() | st.floats(0.5, 40.0)),
        meta=draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)),
    )


DELIVERY_METHODS = tuple(DeliveryMethod)
