"""Ground resources of a depot over time: pads and the spare-battery pool.

The dispatcher keeps one committed ``DepotResources`` per depot and builds tentative schedules
on copies, so a re-plan never disturbs what is already fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.dispatch_model import DepotModel

__all__ = ["Battery", "DepotResources", "charged_wh", "time_to_charge_s"]


@dataclass(frozen=True, slots=True)
class Battery:
    """A battery pack: its energy at ``since_s``, charging from then on when in the pool."""

    id: str
    capacity_wh: float
    energy_wh: float
    since_s: float = 0.0


def charged_wh(battery: Battery, at_s: float, rate_w: float) -> float:
    """Energy of a charging battery at ``at_s`` (full stops the charge).

    >>> charged_wh(Battery("b", 100.0, 50.0, 0.0), 1800.0, 50.0)
    75.0
    """
    gained = rate_w * max(0.0, at_s - battery.since_s) / 3600.0
    return min(battery.capacity_wh, battery.energy_wh + gained)


def time_to_charge_s(from_wh: float, to_wh: float, rate_w: float) -> float:
    """Seconds of charging at ``rate_w`` to go from ``from_wh`` to ``to_wh`` (0 if already there).

    >>> time_to_charge_s(10.0, 20.0, 36.0)
    1000.0
    """
    return max(0.0, to_wh - from_wh) * 3600.0 / rate_w


class DepotResources:
    """Pads (busy intervals) and pool batteries of one depot; cheap to copy."""

    def __init__(self, model: DepotModel, pads: list[list[tuple[float, float]]],
                 pool: dict[str, Battery]) -> None:
        self.model = model
        self.pads = pads
        self.pool = pool

    @classmethod
    def fresh(cls, model: DepotModel, spare_capacity_wh: float, start_s: float) -> DepotResources:
        """A depot at the start of the day: free pads, every spare full."""
        pool = {
            f"{model.depot_id}/spare{i + 1}": Battery(
                f"{model.depot_id}/spare{i + 1}", spare_capacity_wh, spare_capacity_wh, start_s
            )
            for i in range(model.spare_batteries)
        }
        return cls(model, [[] for _ in range(model.pads)], pool)

    def copy(self) -> DepotResources:
        return DepotResources(self.model, [list(p) for p in self.pads], dict(self.pool))

    def prune(self, before_s: float) -> None:
        """Forget pad work that ended before ``before_s`` (it can no longer conflict)."""
        self.pads = [[iv for iv in pad if iv[1] > before_s] for pad in self.pads]

    def earliest_pad(self, from_s: float, duration_s: float) -> tuple[int, float]:
        """The pad and start time of the earliest free slot of ``duration_s`` from ``from_s``."""
        best = (0, float("inf"))
        for index, busy in enumerate(self.pads):
            start = from_s
            for begin, end in busy:  # sorted by begin
                if end <= start:
                    continue
                if begin >= start + duration_s:
                    break
                start = end
            if start < best[1]:
                best = (index, start)
        return best

    def book_pad(self, pad: int, start_s: float, end_s: float) -> None:
        busy = self.pads[pad]
        busy.append((start_s, end_s))
        busy.sort()

    def best_spare(self, capacity_wh: float, need_wh: float, from_s: float
                   ) -> tuple[Battery, float] | None:
        """The compatible spare that holds ``need_wh`` soonest: (battery, time it does)."""
        rate = self.model.charge_rate_w
        best: tuple[Battery, float] | None = None
        for battery in self.pool.values():
            if battery.capacity_wh != capacity_wh or need_wh > capacity_wh:
                continue
            # when it holds need_wh, from its own state only: the same answer whatever from_s
            holds_s = battery.since_s + time_to_charge_s(battery.energy_wh, need_wh, rate)
            ready = max(from_s, holds_s)
            # ties go to the fuller battery, then the id, so the choice is reproducible
            key = (ready, -charged_wh(battery, ready, rate), battery.id)
            if best is None or key < (best[1], -charged_wh(best[0], best[1], rate), best[0].id):
                best = (battery, ready)
        return best

    def take_spare(self, battery_id: str) -> Battery:
        return self.pool.pop(battery_id)

    def put_spare(self, battery: Battery) -> None:
        self.pool[battery.id] = battery
