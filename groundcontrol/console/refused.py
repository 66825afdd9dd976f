"""The console's commands refused, for backends that only show a day (a replay, a watch of
the shared book): every vehicle and order action answers with the backend's one reason."""

from __future__ import annotations

from typing import ClassVar

from groundcontrol.console.model import ActionResult

__all__ = ["RefusesCommands"]


class RefusesCommands:
    """Mixin: the ``ConsoleBackend`` actions, each refused with ``refusal``. A backend may
    still give a key its own meaning (a replay's pause and resume drive the playback)."""

    refusal: ClassVar[str]

    def add_order(self, depot_id: str, lat: float, lon: float, payload_kg: float,
                  due_s: float | None = None, priority: int = 0) -> ActionResult:
        return ActionResult.refused(self.refusal)

    def plan(self, order_id: str) -> ActionResult:
        return ActionResult.refused(self.refusal, order_id=order_id)

    def launch(self, order_id: str | None = None, vehicle: str | None = None) -> ActionResult:
        return ActionResult.refused(self.refusal, order_id=order_id)

    def pause(self, vehicle: str) -> ActionResult:
        return ActionResult.refused(self.refusal)

    def resume(self, vehicle: str) -> ActionResult:
        return ActionResult.refused(self.refusal)

    def rtl(self, vehicle: str) -> ActionResult:
        return ActionResult.refused(self.refusal)

    def land(self, vehicle: str) -> ActionResult:
        return ActionResult.refused(self.refusal)

    def abort(self, vehicle: str) -> ActionResult:
        return ActionResult.refused(self.refusal)

    def cancel_order(self, order_id: str) -> ActionResult:
        return ActionResult.refused(self.refusal, order_id=order_id)
