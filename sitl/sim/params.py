"""Vehicle parameters as ArduCopter 4.7 exposes them over MAVLink.

Only the parameters that matter for delivery flights exist here, with ArduCopter's MAVLink types
and the defaults of the SITL ``copter.parm`` recording. The PARAM_* quirks of the recordings
live in the vehicle (index 65535 on reads by name, no reply for unknown names); this module
owns the table, the values, hidden groups (GRIP_*, WINCH_* appear in the list only when
enabled) and ``.parm`` files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["DEFAULT_PARAMS", "ParamSpec", "ParamStore", "load_parm_file"]

U8 = mavlink.MAV_PARAM_TYPE_UINT8
I8 = mavlink.MAV_PARAM_TYPE_INT8
I16 = mavlink.MAV_PARAM_TYPE_INT16
I32 = mavlink.MAV_PARAM_TYPE_INT32
F32 = mavlink.MAV_PARAM_TYPE_REAL32


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: name, default value, MAVLink type and the group that hides it."""

    name: str
    default: float
    ptype: int
    hidden_unless: str | None = None
    """Name of the enable parameter that must be non-zero for the
    parameter to appear in PARAM_REQUEST_LIST and param_count (it stays readable by name)."""


def _p(name: str, default: float, ptype: int, hidden_unless: str | None = None) -> ParamSpec:
    return ParamSpec(name, float(default), ptype, hidden_unless)


DEFAULT_PARAMS: tuple[ParamSpec, ...] = (
    _p("FORMAT_VERSION", 120, I16),
    _p("RTL_ALT", 1500, I32),
    _p("RTL_CONE_SLOPE", 3, F32),
    _p("RTL_SPEED", 0, I16),
    _p("RTL_ALT_FINAL", 0, I16),
    _p("RTL_CLIMB_MIN", 0, I16),
    _p("RTL_LOIT_TIME", 5000, I32),
    _p("RTL_ALT_TYPE", 0, I8),
    _p("FS_GCS_ENABLE", 0, I8),
    _p("WP_YAW_BEHAVIOR", 2, I8),
    _p("LAND_SPEED", 50, I16),
    _p("LAND_SPEED_HIGH", 0, I16),
    _p("LAND_ALT_LOW", 1000, I16),
    _p("PILOT_SPEED_UP", 250, I16),
    _p("PILOT_ACCEL_Z", 250, I16),
    _p("FS_GCS_TIMEOUT", 5, F32),
    _p("FS_OPTIONS", 16, I32),
    _p("FS_EKF_ACTION", 1, I8),
    _p("FS_EKF_THRESH", 0.8, F32),
    _p("SRTL_ACCURACY", 2, F32),
    _p("SRTL_POINTS", 300, I16),
    _p("SRTL_OPTIONS", 0, I32),
    _p("SIM_GPS1_ENABLE", 1, I8),
    _p("DISARM_DELAY", 10, I8),
    _p("ANGLE_MAX", 3000, I16),
    _p("ARMING_CHECK", 1, I32),
    _p("AUTO_OPTIONS", 0, I32),
    _p("GUID_OPTIONS", 0, I32),
    _p("MAV_SYSID", 1, I16),
    _p("MAV_GCS_SYSID", 255, I16),
    _p("MAV_OPTIONS", 0, I16),
    _p("MIS_TOTAL", 0, I16),
    _p("MIS_RESTART", 0, I8),
    _p("MIS_OPTIONS", 0, I16),
    _p("WPNAV_SPEED", 1000, F32),
    _p("WPNAV_RADIUS", 200, F32),
    _p("WPNAV_SPEED_UP", 250, F32),
    _p("WPNAV_SPEED_DN", 150, F32),
    _p("WPNAV_ACCEL", 250, F32),
    _p("WPNAV_ACCEL_Z", 100, F32),
    _p("LOIT_SPEED", 1250, F32),
    _p("MOT_THST_HOVER", 0.39, F32),
    _p("MOT_BAT_VOLT_MAX", 12.8, F32),
    _p("MOT_BAT_VOLT_MIN", 9.6, F32),
    _p("BATT_MONITOR", 4, I8),
    _p("BATT_CAPACITY", 3300, I32),
    _p("BATT_VOLT_MULT", 10.1, F32),
    _p("BATT_AMP_PERVLT", 17, F32),
    _p("BATT_AMP_OFFSET", 0, F32),
    _p("BATT_LOW_TIMER", 10, I8),
    _p("BATT_FS_VOLTSRC", 0, I8),
    _p("BATT_LOW_VOLT", 10.5, F32),
    _p("BATT_LOW_MAH", 0, F32),
    _p("BATT_CRT_VOLT", 0, F32),
    _p("BATT_CRT_MAH", 0, F32),
    _p("BATT_FS_LOW_ACT", 0, I8),
    _p("BATT_FS_CRT_ACT", 0, I8),
    _p("BATT_ARM_VOLT", 0, F32),
    _p("BATT_ARM_MAH", 0, I32),
    _p("FENCE_ENABLE", 0, I8),
    _p("FENCE_TYPE", 7, I8),
    _p("FENCE_ACTION", 1, I8),
    _p("FENCE_ALT_MAX", 100, F32),
    _p("FENCE_RADIUS", 150, F32),
    _p("FENCE_MARGIN", 2, F32),
    _p("FENCE_TOTAL", 0, I8),
    _p("FENCE_ALT_MIN", -10, F32),
    _p("FENCE_RET_RALLY", 0, I8),
    _p("FENCE_RET_ALT", 0, I16),
    _p("FENCE_AUTOENABLE", 0, I8),
    _p("FENCE_OPTIONS", 0, I16),
    _p("RALLY_TOTAL", 0, I8),
    _p("RALLY_LIMIT_KM", 0.3, F32),
    _p("RALLY_INCL_HOME", 1, I8),
    _p("AVOID_ENABLE", 3, I8),
    _p("GRIP_ENABLE", 0, U8),
    _p("GRIP_TYPE", 0, I8, "GRIP_ENABLE"),
    _p("GRIP_GRAB", 1900, I16, "GRIP_ENABLE"),
    _p("GRIP_RELEASE", 1100, I16, "GRIP_ENABLE"),
    _p("GRIP_NEUTRAL", 1500, I16, "GRIP_ENABLE"),
    _p("GRIP_REGRAB", 0, I8, "GRIP_ENABLE"),
    _p("GRIP_CAN_ID", 0, I16, "GRIP_ENABLE"),
    _p("GRIP_AUTOCLOSE", 0, F32, "GRIP_ENABLE"),
    _p("WINCH_TYPE", 0, I8),
    _p("WINCH_RATE_MAX", 1, F32, "WINCH_TYPE"),
    _p("WINCH_POS_P", 1, F32, "WINCH_TYPE"),
    _p("WINCH_OPTIONS", 7, I16, "WINCH_TYPE"),
    _p("PLDP_THRESH", 0.9, F32),
    _p("PLDP_RNG_MAX", 0, F32),
    _p("PLDP_DELAY", 0, F32),
    _p("PLDP_SPEED_DN", 0, F32),
    # Outputs 1-4 drive the quad's motors (Motor1..4 = 33..36), as SITL assigns them.
    *(_p(f"SERVO{n}_FUNCTION", 32 + n if n <= 4 else 0, I16) for n in range(1, 17)),
    _p("SIM_BATT_VOLTAGE", 12.6, F32),
    _p("SIM_BATT_CAP_AH", 0, F32),
    _p("SIM_WIND_SPD", 0, F32),
    _p("SIM_WIND_DIR", 180, F32),
    _p("STAT_RUNTIME", 0, I32),
    _p("STAT_FLTTIME", 0, I32),
    _p("MAV3_OPTIONS", 0, I16),
)


_INT_RANGES = {U8: (0, 255), I8: (-128, 127), I16: (-32768, 32767),
               I32: (-2 ** 31, 2 ** 31 - 1)}


def _coerce(value: float, ptype: int) -> float:
    """Store a value the way the vehicle's type holds it: integers truncate like C casts and
    are held within their type (AP_Param::set_float: PARAM_SET ANGLE_MAX 70000 or 1e38 is
    32767, -1e38 is -32768 on SITL)."""
    if ptype == F32:
        return float(value)
    if not math.isfinite(value):
        raise ValueError(f"parameter value {value!r} is not finite")
    low, high = _INT_RANGES[ptype]
    return float(min(high, max(low, int(value))))


def load_parm_file(path: str | Path) -> dict[str, float]:
    """Read an ArduPilot ``.parm`` defaults file (``NAME VALUE`` or ``NAME,VALUE`` per line).

    Args:
        path: the file; ``#`` starts a comment.

    Returns:
        Parameter values by name, in file order.

    Raises:
        ValueError: a line that is not ``NAME VALUE``, naming the file and line number.
    """
    values: dict[str, float] = {}
    text = Path(path).read_text(encoding="utf-8")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        if len(parts) != 2:
            raise ValueError(f"{path}:{lineno}: expected 'NAME VALUE', got {raw!r}")
        try:
            values[parts[0].upper()] = float(parts[1])
        except ValueError:
            raise ValueError(f"{path}:{lineno}: value {parts[1]!r} is not a number") from None
    return values


class ParamStore:
    """Parameter values with ArduPilot's types; unknown names are simply absent.

    ``boot_values`` holds what enable parameters were at the last boot: features such as the
    gripper and winch only start at boot, and the hidden groups follow them.
    """

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self._specs = {spec.name: spec for spec in DEFAULT_PARAMS}
        self._values = {spec.name: _coerce(spec.default, spec.ptype) for spec in DEFAULT_PARAMS}
        for name, value in (overrides or {}).items():
            # Names from a defaults file the simulator does not model are ignored, as
            # ArduPilot ignores unknown names in --defaults.
            if name in self._specs:
                self._values[name] = _coerce(value, self._specs[name].ptype)
        self.boot_values: dict[str, float] = {}
        self.version = 0
        """Counts ``set`` calls: what was derived from the values holds while it is unchanged."""
        self.snapshot_boot()

    def snapshot_boot(self) -> None:
        """Record the values features read once at boot (call at every (re)boot)."""
        self.boot_values = dict(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> float:
        """The current value of ``name`` (KeyError when the vehicle has no such parameter)."""
        return self._values[name]

    def boot(self, name: str) -> float:
        """The value ``name`` had at the last boot."""
        return self.boot_values.get(name, self._values[name])

    def ptype(self, name: str) -> int:
        return self._specs[name].ptype

    def set(self, name: str, value: float) -> float:
        """Set ``name`` (no range check, like ArduPilot) and return the stored value."""
        spec = self._specs[name]
        self._values[name] = _coerce(value, spec.ptype)
        self.version += 1
        return self._values[name]

    def visible_names(self) -> list[str]:
        """Names in PARAM_REQUEST_LIST order (hidden groups left out)."""
        names = []
        for spec in DEFAULT_PARAMS:
            # Groups appear as soon as their enable parameter is set (no reboot needed).
            if spec.hidden_unless and not self._values[spec.hidden_unless]:
                continue
            names.append(spec.name)
        return names

    def count(self) -> int:
        """param_count as reported in PARAM_VALUE."""
        return len(self.visible_names())

    def index_of(self, name: str) -> int:
        """Index in the list (65535 when hidden)."""
        names = self.visible_names()
        return names.index(name) if name in names else 65535
