"""The reference recordings of real ArduCopter 4.7 SITL, loaded and decoded.

``load(name)`` reads ``/work/shared/reference/ardupilot-copter/NAME.jsonl`` (or
``$DRONE_REFERENCE_DIR``), ``build_message`` turns a record back into a pymavlink message and
``encode`` packs one; ``recorded_answers`` and ``recorded_params`` take the command answers and
parameter values out of a recording; ``play`` feeds its vehicle messages to a callback. The
fakes built on them are in ``fake_vehicle.py`` and ``fake_links.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.mavlink.messages import MavMessage


def _reference_dir() -> Path:
    """$DRONE_REFERENCE_DIR, else shared/ beside the checkout (as CI lays it out), else /work."""
    if "DRONE_REFERENCE_DIR" in os.environ:
        return Path(os.environ["DRONE_REFERENCE_DIR"])
    beside = Path(__file__).resolve().parents[3] / "shared" / "reference" / "ardupilot-copter"
    return beside if beside.is_dir() else Path("/work/shared/reference/ardupilot-copter")


REFERENCE_DIR = _reference_dir()
BOOT_TEXT = b"\n\nInit ArduCopter V4.7.0-dev (90700977)\n\nFree RAM: 524288\nBooting 0/0\n"
HOME = (-35.363261, 149.165230, 584.09)


@dataclass(frozen=True, slots=True)
class Record:
    t: float
    wall: float
    dir: str
    type: str
    sysid: int
    compid: int
    fields: dict[str, Any]


def load(name: str) -> list[Record]:
    """The records of one recording (notes included, ``dir == "note"``)."""
    path = REFERENCE_DIR / f"{name}.jsonl"
    out = []
    with path.open() as fh:
        for line in fh:
            d = json.loads(line)
            fields = d.get("fields", {"text": d.get("text", "")})  # notes carry only text
            out.append(Record(d["t"], d["wall"], d["dir"], d["type"], d.get("sysid", 0),
                              d.get("compid", 0), fields))
    return out


def _number(value: Any) -> Any:
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return value


def build_message(mtype: str, fields: dict[str, Any]) -> MavMessage:
    """A pymavlink message of type ``mtype`` from recorded ``fields`` (missing -> zero)."""
    cls = getattr(mavlink, f"MAVLink_{mtype.lower()}_message")
    lengths = dict(zip(cls.ordered_fieldnames, cls.array_lengths, strict=True))
    args = []
    for name, ftype in zip(cls.fieldnames, cls.fieldtypes, strict=True):
        value = _number(fields.get(name))
        if isinstance(value, list):
            value = [_number(v) for v in value]
        if ftype == "char":
            value = (value or "").encode() if not isinstance(value, bytes) else value
        elif value is None:
            value = [0] * lengths[name] if lengths.get(name) else 0
        args.append(value)
    return cls(*args)


def encode(msg: MavMessage, sysid: int, compid: int) -> bytes:
    return bytes(msg.pack(mavlink.MAVLink(None, srcSystem=sysid, srcComponent=compid)))


# -- command answers taken from the recordings ---------------------------------------------

@dataclass
class RecordedAnswer:
    ack_result: int
    texts: list[tuple[int, str]] = field(default_factory=list)
    extra: list[Record] = field(default_factory=list)


def recorded_answers(records: Iterable[Record]) -> dict[int, list[RecordedAnswer]]:
    """Per command id, the recorded COMMAND_ACK result and the STATUSTEXTs that followed it."""
    answers: dict[int, list[RecordedAnswer]] = {}
    current: RecordedAnswer | None = None
    pending: dict[int, int] = {}
    for r in records:
        if r.dir == "gcs>veh" and r.type == "COMMAND_LONG":
            pending[r.fields["command"]] = pending.get(r.fields["command"], 0) + 1
            current = None
        elif r.dir == "gcs>veh":
            current = None
        elif r.dir == "veh>gcs" and r.type == "COMMAND_ACK" and pending.get(r.fields["command"]):
            pending[r.fields["command"]] -= 1
            current = RecordedAnswer(r.fields["result"])
            answers.setdefault(r.fields["command"], []).append(current)
        elif (r.dir == "veh>gcs" and r.type == "STATUSTEXT" and current is not None
              and (r.fields["severity"] <= mavlink.MAV_SEVERITY_CRITICAL or current.texts)):
            current.texts.append((r.fields["severity"], r.fields["text"]))
    return answers


def recorded_params(records: Iterable[Record]) -> dict[str, tuple[float, int]]:
    """Every parameter value seen in a recording: name -> (value, MAV_PARAM_TYPE)."""
    out = {}
    for r in records:
        if r.dir == "veh>gcs" and r.type == "PARAM_VALUE":
            out[r.fields["param_id"]] = (r.fields["param_value"], r.fields["param_type"])
    return out


def play(records: Iterable[Record], out: Callable[[MavMessage], None],
         types: Collection[str] | None = None) -> int:
    """Feed every recorded vehicle message (optionally only ``types``) to ``out``."""
    n = 0
    for r in records:
        if r.dir != "veh>gcs" or r.type == "BAD_DATA" or (types and r.type not in types):
            continue
        msg = build_message(r.type, r.fields)
        msg._header = mavlink.MAVLink_header(msg.id, srcSystem=r.sysid, srcComponent=r.compid)
        out(msg)
        n += 1
    return n


__all__ = [
    "BOOT_TEXT", "HOME", "REFERENCE_DIR", "Record", "RecordedAnswer", "build_message", "encode",
    "load", "play", "recorded_answers", "recorded_params",
]
