"""JSON text for the dispatcher's values: events, decisions, sorties and the plans inside them.

The store keeps the dispatcher's input events so a restart can replay them, and its decisions
and plans for people and tools to read; both go through here. Only the value types listed in
``_TYPES`` are written or read, so a stored document cannot make the reader build anything else.

>>> from planner.dispatch_model import LinkLost
>>> decode(encode(LinkLost("d1")))
LinkLost(drone_id='d1')
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

from planner import dispatch_model as dm
from planner.errors import InvalidInput
from planner.model import Depot, FlightPlan, Infeasibility, LatLon, Order, PhaseEnergy, Rule

__all__ = ["decode", "encode", "from_jsonable", "to_jsonable"]

_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        LatLon, Depot, Order, FlightPlan, PhaseEnergy, Infeasibility, dm.Sortie, dm.DepotModel,
        dm.SeparationWait,
        dm.OrderPlaced, dm.OrderCancelled, dm.DroneLanded, dm.DroneFault, dm.DroneRecovered,
        dm.LinkLost, dm.LinkRestored, dm.SortieProgress, dm.Tick,
        dm.Assign, dm.Unassign, dm.Reject, dm.SwapBattery, dm.Fail, dm.CancelAnswer,
    )
}
_ENUMS: dict[str, type[Enum]] = {cls.__name__: cls for cls in (Rule, dm.BatteryAction)}


def to_jsonable(value: Any) -> Any:
    """Plain JSON data for a value: dataclasses tagged with ``"type"``, enums with ``"enum"``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if name not in _TYPES:
            raise InvalidInput("value", f"cannot encode a {name}")
        fields = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": name, **fields}
    if isinstance(value, Enum):
        return {"enum": type(value).__name__, "value": value.value}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidInput("value", f"cannot encode {type(value).__name__}")


def from_jsonable(data: Any, where: str = "$") -> Any:
    """The value ``to_jsonable`` made; lists come back as tuples (every sequence field is one).

    Raises:
        InvalidInput: an unknown type or enum tag, or fields the type does not have.
    """
    if isinstance(data, list):
        return tuple(from_jsonable(v, f"{where}[{i}]") for i, v in enumerate(data))
    if not isinstance(data, dict):
        return data
    if "enum" in data:
        enum = _ENUMS.get(data["enum"])
        if enum is None:
            raise InvalidInput(where, f"unknown enum {data['enum']!r}")
        return enum(data["value"])
    cls = _TYPES.get(data.get("type", ""))
    if cls is None:
        raise InvalidInput(where, f"unknown type {data.get('type')!r}")
    fields = {k: from_jsonable(v, f"{where}.{k}") for k, v in data.items() if k != "type"}
    try:
        return cls(**fields)
    except TypeError as exc:
        raise InvalidInput(where, f"bad fields for {cls.__name__}: {exc}") from None


def encode(value: Any) -> str:
    """Compact JSON text of a value (keys sorted, so equal values give equal text)."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"))


def decode(text: str, where: str = "$") -> Any:
    """The value of ``encode``'s text.

    Raises:
        InvalidInput: text that is not JSON or not one of the known values.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(where, f"not JSON: {exc}") from None
    return from_jsonable(data, where)
