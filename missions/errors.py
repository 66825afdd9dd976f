"""Exceptions of the mission core: a mission that cannot be built, a file that cannot be read.

Both carry structured fields so a caller (the CLI, the TUI) can point at the exact cause.
"""

from __future__ import annotations

__all__ = ["MissionBuildError", "MissionError", "MissionFormatError"]


class MissionError(Exception):
    """Root of the mission core's exceptions."""


class MissionBuildError(MissionError, ValueError):
    """A plan, profile or airspace that cannot become a mission ArduCopter flies as intended.

    Attributes:
        field: what was wrong (``profile.delivery_method``, ``airspace.zones[2].polygons[0]``).
        problem: why, in words a vehicle operator understands.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class MissionFormatError(MissionError, ValueError):
    """A mission file (``.waypoints``, ``.plan``, GeoJSON) that cannot be read.

    Attributes:
        problem: what is wrong.
        source: the file name, when reading from a path.
        line: 1-based line number for line-oriented formats.
        field: the column name or JSON path (``mission.items[3].params``).
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.line = line
        self.field = field
        where = [part for part in (source, f"line {line}" if line is not None else None) if part]
        prefix = ", ".join(where)
        text = f"{field}: {problem}" if field else problem
        super().__init__(f"{prefix}: {text}" if prefix else text)
