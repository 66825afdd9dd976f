"""The dispatcher's actions, in one table shared by key bindings, the palette and the app."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["ACTIONS", "ActionSpec", "Target", "action_spec"]


class Target(Enum):
    """What an action applies to."""

    NONE = "none"
    VEHICLE = "vehicle"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    """Backend method name (``ConsoleBackend.<name>``) and action id."""
    key: str
    label: str
    """Short footer label."""
    title: str
    """Longer palette text."""
    target: Target
    dangerous: bool = False
    """Asks for confirmation first."""
    help: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("add_order", "a", "Add", "Add an order", Target.NONE, help="Open the order form"),
    ActionSpec(
        "plan",
        "p",
        "Plan",
        "Plan order",
        Target.ORDER,
        help="Plan the selected order: route, energy, reserve",
    ),
    ActionSpec(
        "launch",
        "l",
        "Launch",
        "Launch order",
        Target.ORDER,
        help="Assign and fly the selected order (from the fleet panel: on that vehicle)",
    ),
    ActionSpec(
        "pause",
        "s",
        "Pause",
        "Pause vehicle",
        Target.VEHICLE,
        help="Hold position (the mission resumes with Resume)",
    ),
    ActionSpec(
        "resume",
        "r",
        "Resume",
        "Resume vehicle",
        Target.VEHICLE,
        help="Continue the paused mission",
    ),
    ActionSpec(
        "rtl",
        "t",
        "RTL",
        "Return to launch",
        Target.VEHICLE,
        dangerous=True,
        help="Fly home the way it came (SmartRTL, clear of zones; else land); the order fails",
    ),
    ActionSpec(
        "land",
        "d",
        "Land",
        "Land here",
        Target.VEHICLE,
        dangerous=True,
        help="Land the vehicle where it is",
    ),
    ActionSpec(
        "abort",
        "x",
        "Abort",
        "Abort flight",
        Target.VEHICLE,
        dangerous=True,
        help="Abandon the mission and the order, return the way it came (SmartRTL)",
    ),
    ActionSpec(
        "cancel_order",
        "c",
        "Cancel",
        "Cancel order",
        Target.ORDER,
        dangerous=True,
        help="Cancel the selected order (in flight: offers to abort its drone instead)",
    ),
    ActionSpec(
        "retry_order",
        "e",
        "Retry",
        "Retry refused order",
        Target.ORDER,
        help="Place the selected refused or failed order again, as a new order (its due time "
        "if still ahead, else the promise; a later promise is offered if need be)",
    ),
)


def action_spec(name: str) -> ActionSpec:
    """The spec of an action by name; ValueError naming the action when unknown."""
    for spec in ACTIONS:
        if spec.name == name:
            return spec
    raise ValueError(f"action: unknown action {name!r}")
