"""Detail screens for one order (its plan and mission) and one vehicle (live progress)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label

from groundcontrol.console.actions import ACTIONS, Target
from groundcontrol.console.model import OrderView, VehicleView
from groundcontrol.console.widgets.details import OrderDetail, VehicleDetail

__all__ = ["OrderDetailScreen", "VehicleDetailScreen"]

_CLOSE = Binding("escape,q,i", "dismiss", "Close")


def _bindings(target: Target) -> list[Binding]:
    return [Binding(s.key, f"act('{s.name}')", s.label) for s in ACTIONS if s.target is target]


class _DetailScreen(ModalScreen[None]):
    """Actions pressed here apply to the shown vehicle or order."""

    @property
    def target(self) -> str:
        raise NotImplementedError

    def action_act(self, name: str) -> None:
        self.app.request_action(name, self.target)  # type: ignore[attr-defined]


class OrderDetailScreen(_DetailScreen):
    """An order's plan: distance, energy, reserve, flight time and the mission items."""

    BINDINGS: ClassVar[list[BindingType]] = [_CLOSE, *_bindings(Target.ORDER)]

    def __init__(self, order: OrderView) -> None:
        super().__init__()
        self.order = order

    @property
    def target(self) -> str:
        return self.order.id

    def compose(self) -> ComposeResult:
        with Vertical(classes="detail-box"):
            yield Label(f"Order {self.order.id}", classes="detail-title")
            yield OrderDetail(self.order)
        yield Footer()

    def update_views(self, vehicles: dict[str, VehicleView], orders: dict[str, OrderView]) -> None:
        order = orders.get(self.order.id)
        if order is not None and order != self.order:
            self.order = order
            # Not composed yet (pushed in this same tick): compose will use self.order.
            for detail in self.query(OrderDetail):
                detail.update_order(order)


class VehicleDetailScreen(_DetailScreen):
    """A vehicle's live state and mission progress, with the vehicle actions on its keys."""

    BINDINGS: ClassVar[list[BindingType]] = [_CLOSE, *_bindings(Target.VEHICLE)]

    def __init__(self, vehicle: VehicleView, order: OrderView | None = None) -> None:
        super().__init__()
        self.vehicle = vehicle
        self.order = order

    @property
    def target(self) -> str:
        return self.vehicle.name

    def compose(self) -> ComposeResult:
        with Vertical(classes="detail-box"):
            yield Label(f"Vehicle {self.vehicle.name}", classes="detail-title")
            yield VehicleDetail(self.vehicle, self.order)
        yield Footer()

    def update_views(self, vehicles: dict[str, VehicleView], orders: dict[str, OrderView]) -> None:
        vehicle = vehicles.get(self.vehicle.name, self.vehicle)
        order = orders.get(vehicle.order_id or "")
        if vehicle != self.vehicle or order != self.order:
            self.vehicle, self.order = vehicle, order
            for detail in self.query(VehicleDetail):  # none yet if pushed in this same tick
                detail.update_vehicle(vehicle, order)
