"""Exceptions of the planning core: bad input only (domain outcomes are values, see model.py)."""

from __future__ import annotations

__all__ = ["InvalidInput", "PlannerError"]


class PlannerError(Exception):
    """Root of the planner's exceptions."""


class InvalidInput(PlannerError, ValueError):
    """Input data that cannot be used: names the field (and source/line when known)."""

    def __init__(self, field: str, problem: str, source: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {problem}")
