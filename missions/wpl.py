"""QGC WPL 110 ``.waypoints`` files: the plain-text mission format of QGroundControl,
Mission Planner, MAVProxy and pymavlink's ``mavwp``.

One header line ``QGC WPL 110``, then one tab-separated line per item::

    seq  current  frame  command  param1  param2  param3  param4  x/lat  y/lon  z/alt  autocontinue

Numbers are written in their shortest exact decimal form (never an exponent), so
``load_wpl(dump_wpl(items)) == items`` and ``dump_wpl(load_wpl(text)) == text`` for any text
this module wrote. The format has no mission type: fence and rally files use the same columns
and the caller says which type it is reading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from os import PathLike
from pathlib import Path

from missions.errors import MissionFormatError
from missions.items import GLOBAL_FRAMES, MissionItem, MissionType
from missions.validate import validate_items

__all__ = ["COLUMNS", "HEADER", "dump_wpl", "format_number", "load_wpl", "read_wpl", "write_wpl"]

HEADER = "QGC WPL 110"
COLUMNS = (
    "seq",
    "current",
    "frame",
    "command",
    "param1",
    "param2",
    "param3",
    "param4",
    "x",
    "y",
    "z",
    "autocontinue",
)
_INT_LIMITS = {
    "seq": 65535,
    "current": 1,
    "frame": 255,
    "command": 65535,
    "autocontinue": 1,
}


def format_number(value: float) -> str:
    """The shortest decimal text that reads back as exactly ``value``, without an exponent.

    >>> format_number(40.0), format_number(-35.3632610), format_number(1e-07)
    ('40.0', '-35.363261', '0.0000001')
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(float(value))
    if "e" not in text and "E" not in text:
        return text
    plain = format(Decimal(text), "f")
    return plain if "." in plain else plain + ".0"


def dump_wpl(items: Sequence[MissionItem]) -> str:
    """The ``.waypoints`` text of ``items`` (header line, one line per item, final newline)."""
    lines = [HEADER]
    for item in items:
        fields = [
            str(item.seq),
            str(item.current),
            str(int(item.frame)),
            str(int(item.command)),
            *(format_number(v) for v in (item.param1, item.param2, item.param3, item.param4)),
            *(format_number(v) for v in (item.x, item.y, item.z)),
            str(item.autocontinue),
        ]
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf)", re.I)
"""ASCII decimals: Python's int() and float() also take "1_0" (10) and other scripts' digits,
which no other ground station reads as the same number."""


def _parse_int(text: str, column: str, line_no: int, source: str | None) -> int:
    if not _INT.fullmatch(text):
        raise MissionFormatError(
            f"expected an integer, got {text[:40]!r}", source=source, line=line_no, field=column
        )
    value = int(text, 10)
    limit = _INT_LIMITS[column]
    if not 0 <= value <= limit:
        raise MissionFormatError(
            f"{value} is outside 0..{limit}", source=source, line=line_no, field=column
        )
    return value


def _parse_float(text: str, column: str, line_no: int, source: str | None) -> float:
    if not _FLOAT.fullmatch(text):
        raise MissionFormatError(
            f"expected a number, got {text[:40]!r}", source=source, line=line_no, field=column
        )
    return float(text)


def _check_position(
    values: list[str], floats: dict[str, float], line_no: int, source: str | None
) -> None:
    for name, what, limit in (("x", "latitude", 90.0), ("y", "longitude", 180.0)):
        if not math.isfinite(floats[name]) or abs(floats[name]) > limit:
            raise MissionFormatError(
                f"{values[COLUMNS.index(name)]} is not a {what}",
                source=source,
                line=line_no,
                field=name,
            )


def _typed_columns(
    line: str, line_no: int, source: str | None
) -> tuple[list[str], dict[str, int], dict[str, float]]:
    """The line's cells, and its whole-number and decimal columns by name."""
    values = line.split()
    if len(values) != len(COLUMNS):
        raise MissionFormatError(
            f"expected {len(COLUMNS)} tab-separated columns "
            f"({' '.join(COLUMNS)}), found {len(values)}",
            source=source,
            line=line_no,
        )
    ints = {
        name: _parse_int(text, name, line_no, source)
        for name, text in zip(COLUMNS, values, strict=True)
        if name in _INT_LIMITS
    }
    floats = {
        name: _parse_float(text, name, line_no, source)
        for name, text in zip(COLUMNS, values, strict=True)
        if name not in _INT_LIMITS
    }
    return values, ints, floats


def _parse_line(
    line: str, line_no: int, expected_seq: int, mission_type: MissionType, source: str | None
) -> MissionItem:
    values, ints, floats = _typed_columns(line, line_no, source)
    if ints["seq"] != expected_seq:
        raise MissionFormatError(
            f"items must be numbered 0, 1, 2 ... in order: expected {expected_seq}, "
            f"got {ints['seq']}",
            source=source,
            line=line_no,
            field="seq",
        )
    if ints["frame"] in GLOBAL_FRAMES:
        _check_position(values, floats, line_no, source)
    return MissionItem(
        seq=ints["seq"],
        command=ints["command"],
        frame=ints["frame"],
        param1=floats["param1"],
        param2=floats["param2"],
        param3=floats["param3"],
        param4=floats["param4"],
        x=floats["x"],
        y=floats["y"],
        z=floats["z"],
        current=ints["current"],
        autocontinue=ints["autocontinue"],
        mission_type=mission_type,
    )


def load_wpl(
    text: str, *, mission_type: MissionType = MissionType.MISSION, source: str | None = None
) -> tuple[MissionItem, ...]:
    """Parse ``.waypoints`` text exactly (any number the format can write comes back).

    Blank lines and ``#`` comment lines (written by MAVProxy) are skipped. Whether the items
    can be sent to a vehicle is ``missions.validate``'s to say (``read_wpl`` asks it).

    Args:
        text: the file content.
        mission_type: the type the items belong to (the format does not record it).
        source: a file name to put in error messages.

    Raises:
        MissionFormatError: empty text, a wrong header, a line with the wrong number of
            columns, a field that is not a number (naming the line and column), or items out
            of order.
    """
    return _parse(text, mission_type, source)[0]


def _parse(
    text: str, mission_type: MissionType, source: str | None
) -> tuple[tuple[MissionItem, ...], tuple[int, ...]]:
    """The items and the line each came from."""
    lines = text.splitlines()
    if not lines or not text.strip():
        raise MissionFormatError(f"empty file: expected the header {HEADER!r}", source=source)
    header = lines[0].lstrip("\ufeff").strip()
    if header != HEADER:
        raise MissionFormatError(
            f"expected the header {HEADER!r}, got {header[:40]!r}", source=source, line=1
        )
    items: list[MissionItem] = []
    numbers: list[int] = []
    for line_no, raw in enumerate(lines[1:], start=2):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        items.append(_parse_line(stripped, line_no, len(items), mission_type, source))
        numbers.append(line_no)
    return tuple(items), tuple(numbers)


def write_wpl(path: str | PathLike[str], items: Sequence[MissionItem]) -> None:
    """Write ``items`` to a ``.waypoints`` file (UTF-8, ``\\n`` line ends)."""
    Path(path).write_text(dump_wpl(items), encoding="utf-8", newline="\n")


def read_wpl(
    path: str | PathLike[str], *, mission_type: MissionType = MissionType.MISSION
) -> tuple[MissionItem, ...]:
    """Read a ``.waypoints`` file (see ``load_wpl``) whose items can be sent to a vehicle.

    Raises:
        MissionFormatError: as ``load_wpl``, or an item ``missions.validate.validate_items``
            refuses (a NaN or infinite parameter, a value beyond what MAVLink carries, a
            self-intersecting fence polygon ...), with the file name and line in the message.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MissionFormatError(f"not UTF-8 text ({exc.reason})", source=str(p)) from None
    items, numbers = _parse(text, mission_type, str(p))

    def locate(part: str, index: int, field: str) -> tuple[str, int | None]:
        return field or f"{part} item {index}", numbers[index]

    validate_items(items, mission_type, source=str(p), locate=locate)
    return items
