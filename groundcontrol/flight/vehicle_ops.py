"""What an operator can ask of one vehicle outside a delivery, as values.

The CLI (``drone-delivery vehicle|upload|download``) and the console's vehicle screen build
these from text with the ``parse_*`` functions, which refuse bad input with one line naming the
field, before anything is sent; ``groundcontrol.flight.operate.perform`` carries them out.
No link and no I/O here: the console's model imports these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from groundcontrol.mavlink.vehicle import COPTER_MODES
from planner.load import parse_decimal

__all__ = [
    "OPERATOR_MODES",
    "Arm",
    "Disarm",
    "DownloadPlan",
    "FindParams",
    "GoTo",
    "Land",
    "ReadParam",
    "ReturnHome",
    "SetMode",
    "SetParam",
    "UploadPlan",
    "VehicleOp",
    "parse_download_path",
    "parse_goto",
    "parse_mode",
    "parse_number",
    "parse_param_name",
    "parse_upload_path",
]

OPERATOR_MODES = ("STABILIZE", "ALT_HOLD", "LOITER", "POSHOLD", "BRAKE", "GUIDED", "AUTO",
                  "SMART_RTL", "RTL", "LAND")
"""The ArduCopter modes a ground station offers first (every mode in ``COPTER_MODES`` parses)."""
PARAM_NAME_MAX = 16
"""MAVLink's param_id is 16 characters."""


@dataclass(frozen=True, slots=True)
class Arm:
    """Arm (ArduCopter's pre-arm checks apply unless ``force``)."""

    force: bool = False
    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return "force arm" if self.force else "arm"


@dataclass(frozen=True, slots=True)
class Disarm:
    """Disarm (ArduCopter refuses in the air unless ``force``: the motors stop)."""

    force: bool = False
    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return "force disarm" if self.force else "disarm"


@dataclass(frozen=True, slots=True)
class SetMode:
    """Switch to an ArduCopter mode (confirmed by HEARTBEAT)."""

    mode: str
    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return f"mode {self.mode}"


@dataclass(frozen=True, slots=True)
class GoTo:
    """GUIDED, then fly to a position; ``alt_m`` above home."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return f"go to {self.lat_deg:.6f}, {self.lon_deg:.6f} at {self.alt_m:g} m"


@dataclass(frozen=True, slots=True)
class ReturnHome:
    """SMART_RTL, else LAND where it is (never a straight RTL through zones)."""

    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return "return (SmartRTL, else land)"


@dataclass(frozen=True, slots=True)
class Land:
    """LAND where it is."""

    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return "land"


@dataclass(frozen=True, slots=True)
class ReadParam:
    """Read one parameter by its exact name."""

    name: str
    reads_only: ClassVar[bool] = True

    def describe(self) -> str:
        return f"read {self.name}"


@dataclass(frozen=True, slots=True)
class SetParam:
    """Set one parameter; the result is the value the vehicle echoes (in its own type)."""

    name: str
    value: float
    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return f"set {self.name} to {self.value:g}"


@dataclass(frozen=True, slots=True)
class FindParams:
    """The vehicle's parameters whose name contains ``text`` (the whole list is read)."""

    text: str
    limit: int = 40
    """At most this many matches are returned (the count says how many there were)."""
    reads_only: ClassVar[bool] = True

    def describe(self) -> str:
        return f"find parameters {self.text!r}"


@dataclass(frozen=True, slots=True)
class UploadPlan:
    """Upload a ``.plan`` (mission, fence, rally; an empty list clears the vehicle's) or a
    ``.waypoints`` (mission), each list read back and compared."""

    path: Path
    reads_only: ClassVar[bool] = False

    def describe(self) -> str:
        return f"upload {self.path}"


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    """Save the vehicle's mission, fence and rally to a ``.plan`` (or the mission to a
    ``.waypoints``)."""

    path: Path
    reads_only: ClassVar[bool] = True

    def describe(self) -> str:
        return f"download to {self.path}"


VehicleOp = (Arm | Disarm | SetMode | GoTo | ReturnHome | Land | ReadParam | SetParam
             | FindParams | UploadPlan | DownloadPlan)
"""Anything ``perform`` carries out; ``op.reads_only`` ops never change the vehicle."""


def parse_number(text: str, name: str) -> float:
    """A plain finite decimal (``1_0`` and ``nan`` are refused).

    >>> parse_number("-35.5", "LAT")
    -35.5
    >>> parse_number("1_0", "VALUE")
    Traceback (most recent call last):
    ValueError: VALUE: not a number: '1_0'
    """
    number = parse_decimal(text)  # the rule order files and the command line follow
    if number is None:
        raise ValueError(f"{name}: not a number: {text!r}")
    return number


def parse_mode(text: str) -> SetMode:
    """An ArduCopter mode by name, any case.

    >>> parse_mode("guided")
    SetMode(mode='GUIDED')
    """
    mode = text.strip().upper()
    if mode not in COPTER_MODES.values():
        raise ValueError(f"mode: expected one of {', '.join(COPTER_MODES.values())}, "
                         f"got {text.strip() or 'nothing'}")
    return SetMode(mode)


def parse_goto(lat: str, lon: str, alt: str) -> GoTo:
    """A GUIDED target; southern and western positions are negative.

    >>> parse_goto("-35.3", "149.1", "50")
    GoTo(lat_deg=-35.3, lon_deg=149.1, alt_m=50.0)
    """
    lat_v, lon_v, alt_v = (parse_number(t.strip(), n)
                           for t, n in ((lat, "LAT"), (lon, "LON"), (alt, "ALT")))
    if not (-90 <= lat_v <= 90 and -180 <= lon_v <= 180 and 0 < alt_v <= 10_000):
        raise ValueError(f"goto: {lat_v:g} {lon_v:g} {alt_v:g} is not a position "
                         "(latitude -90..90, longitude -180..180, altitude 0..10,000 m)")
    return GoTo(lat_v, lon_v, alt_v)


def parse_param_name(text: str) -> str:
    """A parameter name as the vehicle spells it (upper case, at most 16 characters).

    >>> parse_param_name(" wpnav_speed ")
    'WPNAV_SPEED'
    """
    name = text.strip().upper()
    if not 1 <= len(name) <= PARAM_NAME_MAX or not name.replace("_", "").isalnum():
        raise ValueError(f"param: expected a name of 1..{PARAM_NAME_MAX} letters, digits and _, "
                         f"got {text.strip() or 'nothing'!r}")
    return name


def parse_upload_path(text: str) -> UploadPlan:
    """An existing ``.plan`` or ``.waypoints`` file (read and validated when uploaded)."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise ValueError("upload: a .plan or .waypoints file is required")
    if path.suffix.lower() not in (".plan", ".waypoints", ".txt"):
        raise ValueError(f"{path}: expected a .plan or .waypoints file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    return UploadPlan(path)


def parse_download_path(text: str) -> DownloadPlan:
    """Where to write the vehicle's lists: a ``.plan`` or ``.waypoints`` in an existing folder."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise ValueError("download: a .plan or .waypoints file name is required")
    if path.suffix.lower() not in (".plan", ".waypoints", ".txt"):
        raise ValueError(f"{path}: expected a .plan or .waypoints file name")
    if not path.parent.is_dir():
        raise ValueError(f"{path.parent}: no such folder")
    return DownloadPlan(path)
