"""Mission, fence and rally transfer with ArduPilot's quirks, and a verified upload.

The MAVLink mission protocol as ArduCopter 4.7 speaks it (see the reference recordings):

* Upload: MISSION_COUNT (with mission_type); the vehicle asks for each item with
  MISSION_REQUEST (never _INT in practice) and we always answer with MISSION_ITEM_INT. A
  request for a lower seq than one already asked for is stale (a duplicate or reordered
  packet) and ignored. MISSION_ACK INVALID_SEQUENCE is *not* final: the vehicle re-requests
  the item a second later. ACCEPTED ends the upload only once the last item was sent; any
  other result raises ``MissionRejected``. When nothing comes, MISSION_COUNT is resent (a
  bounded number of times): ArduPilot restarts an upload from the same GCS.
* Download: MISSION_REQUEST_LIST -> MISSION_COUNT, then MISSION_REQUEST_INT per item with
  per-item retries, then our MISSION_ACK.
* ``upload_verified`` = upload, read back, compare with the tolerance of what ArduPilot
  rewrites (seq 0 of a mission becomes home; frames 6->3, 2->0; NAV_LAND param4 0->1;
  integer-stored params). Only a matching read-back is reported good: a cancelled upload is
  not rolled back by the vehicle, so an ACK alone can leave a mixed mission behind.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import MissionRejected, MissionTransferTimeout, MissionVerifyFailed
from groundcontrol.mavlink.messages import Inbox, MavMessage, Predicate, VehicleChannel
from missions.items import MissionItem, MissionType

__all__ = [
    "TransferConfig",
    "clear",
    "compare_items",
    "download",
    "item_from_message",
    "item_to_message",
    "upload",
    "upload_verified",
]

_ACCEPTED = mavlink.MAV_MISSION_ACCEPTED
_NOT_FINAL = {mavlink.MAV_MISSION_INVALID_SEQUENCE}
_RETRYABLE = {mavlink.MAV_MISSION_OPERATION_CANCELLED, mavlink.MAV_MISSION_DENIED}


@dataclass(frozen=True, slots=True)
class TransferConfig:
    """Timeouts (wall seconds) and retry bounds of the mission protocol."""

    request_timeout_s: float = 1.5
    """Wait for the first MISSION_REQUEST before resending MISSION_COUNT."""
    count_retries: int = 5
    """Resends of MISSION_COUNT (first request missing, stall, or vehicle-side cancel)."""
    stall_s: float = 2.5
    """No request or ACK for this long during an upload: restart it."""
    item_timeout_s: float = 0.6
    """Download: wait for one item before asking again."""
    item_retries: int = 8
    base_timeout_s: float = 10.0
    per_item_timeout_s: float = 0.5
    """Overall timeout = base + per_item * count."""
    attempts: int = 3
    """Whole upload + read-back attempts in ``upload_verified``."""
    text_wait_s: float = 0.3
    """How long to collect the STATUSTEXTs that explain a rejection (sent after the ACK)."""

    def overall_s(self, count: int) -> float:
        return self.base_timeout_s + self.per_item_timeout_s * count


def item_to_message(item: MissionItem, target: tuple[int, int]) -> MavMessage:
    """The MISSION_ITEM_INT that uploads ``item`` to vehicle ``target`` (sysid, compid)."""
    return mavlink.MAVLink_mission_item_int_message(
        target[0], target[1], item.seq, int(item.frame), int(item.command), item.current,
        item.autocontinue, item.param1, item.param2, item.param3, item.param4,
        item.x_int, item.y_int, item.z, int(item.mission_type),
    )


def item_from_message(msg: MavMessage) -> MissionItem:
    """A ``MissionItem`` from a MISSION_ITEM_INT (or the legacy float MISSION_ITEM)."""
    scale = 1e7 if msg.get_type() == "MISSION_ITEM_INT" else 1.0
    return MissionItem(
        seq=msg.seq, command=msg.command, frame=msg.frame, param1=msg.param1,
        param2=msg.param2, param3=msg.param3, param4=msg.param4, x=msg.x / scale,
        y=msg.y / scale, z=msg.z, current=msg.current, autocontinue=msg.autocontinue,
        mission_type=MissionType(getattr(msg, "mission_type", 0)),
    )


def _target(channel: VehicleChannel) -> tuple[int, int]:
    return channel.sysid, channel.compid


def _texts(box: Inbox, wait_s: float) -> list[str]:
    deadline = time.monotonic() + wait_s
    out = []
    while (remaining := deadline - time.monotonic()) > 0:
        msg = box.get(remaining)
        if msg is not None and msg.get_type() == "STATUSTEXT":
            out.append(msg.text)
    return out


_MAX_COUNT = 65535  # MISSION_COUNT.count and seq are uint16
_SCRATCH = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
"""Packs messages to check them; never sends (no file)."""


def _check_packable(items: Sequence[MissionItem], mission_type: int) -> None:
    """Every item packs into a MISSION_ITEM_INT: checked before MISSION_COUNT goes out, so a
    value beyond float32/int32 is a named error rather than struct.error mid-upload."""
    if len(items) > _MAX_COUNT:
        raise ValueError(f"{len(items)} items of mission type {mission_type}: MISSION_COUNT "
                         f"carries at most {_MAX_COUNT}")
    for i, item in enumerate(items):
        try:
            item_to_message(item, (1, 1)).pack(_SCRATCH)
        except (struct.error, OverflowError, ValueError) as exc:
            raise ValueError(f"items[{i}] (seq {item.seq}, command {item.command}): does not "
                             f"fit MISSION_ITEM_INT ({exc})") from None


def _check_sequence(items: Sequence[MissionItem], mission_type: int) -> None:
    _check_packable(items, mission_type)
    for i, item in enumerate(items):
        if item.seq != i:
            raise ValueError(f"items[{i}].seq: is {item.seq}, must be {i} (uploaded in order)")
        if int(item.mission_type) != mission_type:
            raise ValueError(
                f"items[{i}].mission_type: is {int(item.mission_type)}, not {mission_type}")


class _Upload:
    """State of one upload; ``step`` handles one message from the vehicle."""

    def __init__(self, channel: VehicleChannel, items: Sequence[MissionItem], mtype: int,
                 config: TransferConfig) -> None:
        self.channel, self.items, self.mtype, self.config = channel, items, mtype, config
        self.counts_sent = 0
        self.highest = -1
        self.last_event = 0.0

    def send_count(self) -> None:
        if self.counts_sent > self.config.count_retries:
            raise MissionTransferTimeout(
                f"upload progress after {self.counts_sent} MISSION_COUNT",
                self.config.overall_s(len(self.items)), self.mtype, self.channel.sysid)
        self.counts_sent += 1
        self.highest = -1
        self.last_event = time.monotonic()
        sysid, compid = _target(self.channel)
        self.channel.send(mavlink.MAVLink_mission_count_message(
            sysid, compid, len(self.items), self.mtype))

    def idle(self) -> None:
        """Nothing arrived: resend MISSION_COUNT when the vehicle seems to have given up."""
        quiet = time.monotonic() - self.last_event
        limit = self.config.request_timeout_s if self.highest < 0 else self.config.stall_s
        if quiet > limit:
            self.send_count()

    def step(self, msg: MavMessage, box: Inbox) -> bool:
        """Handle one message; True when the upload is complete."""
        if getattr(msg, "mission_type", 0) != self.mtype:
            return False
        if msg.get_type() in ("MISSION_REQUEST", "MISSION_REQUEST_INT"):
            if msg.seq < self.highest or msg.seq >= len(self.items):
                return False  # stale (reordered/duplicated) or nonsense request
            self.highest = msg.seq
            self.last_event = time.monotonic()
            self.channel.send(item_to_message(self.items[msg.seq], _target(self.channel)))
            return False
        result = msg.type
        if result == _ACCEPTED:
            return self.highest == len(self.items) - 1  # else a stale ACK of an earlier try
        if result in _NOT_FINAL:
            return False
        if result in _RETRYABLE:
            self.send_count()  # the vehicle cancelled (8 s silence) or is busy: start again
            return False
        raise MissionRejected(result, self.mtype, _texts(box, self.config.text_wait_s))


def upload(
    channel: VehicleChannel,
    items: Sequence[MissionItem],
    mission_type: int = MissionType.MISSION,
    config: TransferConfig = TransferConfig(),
) -> None:
    """Upload ``items`` (seq 0..n-1) as ``mission_type``; returns when the vehicle ACCEPTED.

    Raises:
        MissionRejected: the vehicle ended the upload with an error result.
        MissionTransferTimeout: no progress after the retries, or past the overall timeout.
        ValueError: the items are not numbered 0..n-1, are of another mission type, or hold a
            value MISSION_ITEM_INT cannot carry (checked before anything is sent).
    """
    mtype = int(mission_type)
    _check_sequence(items, mtype)
    overall = config.overall_s(len(items))
    deadline = time.monotonic() + overall
    types = ["MISSION_REQUEST", "MISSION_REQUEST_INT", "MISSION_ACK", "STATUSTEXT"]
    with channel.inbox(types) as box:
        state = _Upload(channel, items, mtype, config)
        state.send_count()
        while time.monotonic() < deadline:
            msg = box.get(0.05)
            if msg is None:
                state.idle()
            elif msg.get_type() != "STATUSTEXT" and state.step(msg, box):
                return
    raise MissionTransferTimeout("upload completion", overall, mtype, channel.sysid)


def _is_item(seq: int) -> Predicate:
    """Matches the MISSION_ITEM(_INT) that carries ``seq``."""
    return lambda m: bool(m.get_type().startswith("MISSION_ITEM") and m.seq == seq)


def _ask(channel: VehicleChannel, box: Inbox, request: MavMessage,
         match: Predicate, config: TransferConfig, what: str,
         mtype: int) -> MavMessage:
    for _ in range(config.item_retries):
        channel.send(request)
        deadline = time.monotonic() + config.item_timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            msg = box.get(remaining)
            if msg is None:
                break
            if getattr(msg, "mission_type", 0) != mtype:
                continue
            if msg.get_type() == "MISSION_ACK" and msg.type != _ACCEPTED:
                raise MissionRejected(msg.type, mtype)
            if match(msg):
                return msg
    raise MissionTransferTimeout(what, config.item_timeout_s * config.item_retries, mtype,
                                 channel.sysid)


def download(
    channel: VehicleChannel,
    mission_type: int = MissionType.MISSION,
    config: TransferConfig = TransferConfig(),
) -> tuple[MissionItem, ...]:
    """Read the vehicle's ``mission_type`` items (with seq 0 = home for a mission).

    Raises:
        MissionTransferTimeout: the count or an item did not come after its retries.
        MissionRejected: the vehicle refused (e.g. DENIED while an upload is in progress).
    """
    mtype = int(mission_type)
    sysid, compid = _target(channel)
    types = ["MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_ACK"]
    with channel.inbox(types) as box:
        count_msg = _ask(channel, box,
                         mavlink.MAVLink_mission_request_list_message(sysid, compid, mtype),
                         lambda m: m.get_type() == "MISSION_COUNT", config, "MISSION_COUNT",
                         mtype)
        items = []
        for seq in range(count_msg.count):
            msg = _ask(channel, box,
                       mavlink.MAVLink_mission_request_int_message(sysid, compid, seq, mtype),
                       _is_item(seq),
                       config, f"MISSION_ITEM_INT {seq}", mtype)
            items.append(item_from_message(msg))
        channel.send(mavlink.MAVLink_mission_ack_message(sysid, compid, _ACCEPTED, mtype))
    return tuple(items)


def clear(
    channel: VehicleChannel,
    mission_type: int = MissionType.MISSION,
    config: TransferConfig = TransferConfig(),
) -> None:
    """MISSION_CLEAR_ALL for ``mission_type``, retried until ACKed.

    Raises:
        MissionRejected: the vehicle answered with an error.
        MissionTransferTimeout: no MISSION_ACK after the retries.
    """
    mtype = int(mission_type)
    sysid, compid = _target(channel)
    with channel.inbox(["MISSION_ACK"]) as box:
        _ask(channel, box, mavlink.MAVLink_mission_clear_all_message(sysid, compid, mtype),
             lambda m: m.type == _ACCEPTED, config, "MISSION_ACK to MISSION_CLEAR_ALL", mtype)


# -- comparison -----------------------------------------------------------------------------

_FRAME_EQUIV = {
    mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT: mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT,
    mavlink.MAV_FRAME_GLOBAL_INT: mavlink.MAV_FRAME_GLOBAL,
    mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT: mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT,
    mavlink.MAV_FRAME_MISSION: mavlink.MAV_FRAME_GLOBAL,
}
# Per command, how ArduPilot's AP_Mission stores param1..4: "f" float, "i" an integer
# (truncated), "-" not stored or rewritten (compared loosely by skipping).
_PARAM_RULES: dict[int, str] = {
    mavlink.MAV_CMD_NAV_WAYPOINT: "ii--",
    mavlink.MAV_CMD_NAV_LOITER_UNLIM: "----",
    mavlink.MAV_CMD_NAV_LOITER_TIME: "i---",
    mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH: "----",
    mavlink.MAV_CMD_NAV_LAND: "----",
    mavlink.MAV_CMD_NAV_TAKEOFF: "----",
    mavlink.MAV_CMD_NAV_DELAY: "fiii",
    mavlink.MAV_CMD_NAV_PAYLOAD_PLACE: "f---",
    mavlink.MAV_CMD_DO_JUMP: "ii--",
    mavlink.MAV_CMD_DO_CHANGE_SPEED: "iff-",
    mavlink.MAV_CMD_DO_SET_HOME: "i---",
    mavlink.MAV_CMD_DO_GRIPPER: "ii--",
    mavlink.MAV_CMD_DO_WINCH: "iiff",
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION: "i---",
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION: "i---",
    mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION: "f---",
    mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION: "f---",
    mavlink.MAV_CMD_NAV_RALLY_POINT: "----",
}
_LOCATION_COMMANDS = {
    mavlink.MAV_CMD_NAV_WAYPOINT, mavlink.MAV_CMD_NAV_LOITER_UNLIM,
    mavlink.MAV_CMD_NAV_LOITER_TURNS, mavlink.MAV_CMD_NAV_LOITER_TIME, mavlink.MAV_CMD_NAV_LAND,
    mavlink.MAV_CMD_NAV_TAKEOFF, mavlink.MAV_CMD_NAV_LOITER_TO_ALT,
    mavlink.MAV_CMD_NAV_SPLINE_WAYPOINT, mavlink.MAV_CMD_NAV_PAYLOAD_PLACE,
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    mavlink.MAV_CMD_NAV_RALLY_POINT,
}
_DEG_TOL = 1.5e-7  # one unit of MISSION_ITEM_INT's 1e-7 degrees, plus rounding
_ALT_TOL_M = 0.01


def _f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _param_ok(rule: str, sent: float, got: float) -> bool:
    if rule == "-":
        return True
    if math.isnan(sent) or math.isnan(got):
        return math.isnan(sent) and math.isnan(got)
    if math.isclose(_f32(sent), _f32(got), rel_tol=1e-6, abs_tol=1e-6):
        return True
    return rule == "i" and int(sent) == int(got)


def _item_differences(sent: MissionItem, got: MissionItem) -> list[str]:
    where = f"seq {sent.seq}"
    if sent.command != got.command:
        return [f"{where}: command {sent.command} -> {got.command}"]
    out = []
    rules = _PARAM_RULES.get(sent.command, "ffff")
    for i, rule in enumerate(rules, start=1):
        a, b = getattr(sent, f"param{i}"), getattr(got, f"param{i}")
        if not _param_ok(rule, a, b):
            out.append(f"{where}: param{i} {a:g} -> {b:g}")
    if sent.command in _LOCATION_COMMANDS:
        fa, fb = _FRAME_EQUIV.get(sent.frame, sent.frame), _FRAME_EQUIV.get(got.frame, got.frame)
        if fa != fb:
            out.append(f"{where}: frame {sent.frame} -> {got.frame}")
        if abs(sent.x - got.x) > _DEG_TOL or abs(sent.y - got.y) > _DEG_TOL:
            out.append(f"{where}: position {sent.x:.7f},{sent.y:.7f} -> {got.x:.7f},{got.y:.7f}")
        if abs(sent.z - got.z) > _ALT_TOL_M:
            out.append(f"{where}: altitude {sent.z:g} -> {got.z:g}")
    # ArduPilot returns fence and rally items with autocontinue 0 (recorded): mission only.
    if sent.mission_type == MissionType.MISSION and sent.autocontinue != got.autocontinue:
        out.append(f"{where}: autocontinue {sent.autocontinue} -> {got.autocontinue}")
    return out


def compare_items(
    sent: Sequence[MissionItem], got: Sequence[MissionItem], mission_type: int
) -> list[str]:
    """Differences between an upload and its read-back that ArduPilot does not explain.

    Seq 0 of a mission is home, replaced by the vehicle: only its command is compared.

    >>> a = MissionItem(seq=0, command=16)
    >>> compare_items([a], [a], 0)
    []
    """
    if len(sent) != len(got):
        return [f"count {len(sent)} -> {len(got)}"]
    out = []
    for a, b in zip(sent, got, strict=True):
        if mission_type == MissionType.MISSION and a.seq == 0:
            if a.command != b.command:
                out.append(f"seq 0: command {a.command} -> {b.command}")
            continue
        out.extend(_item_differences(a, b))
    return out


def upload_verified(
    channel: VehicleChannel,
    items: Sequence[MissionItem],
    mission_type: int = MissionType.MISSION,
    config: TransferConfig = TransferConfig(),
) -> tuple[MissionItem, ...]:
    """Upload, read back and compare; retried (bounded) until the read-back matches.

    Returns the items as read back from the vehicle.

    Raises:
        MissionRejected: the vehicle refused the items (not retried: it would refuse again;
            a vehicle that only gave up waiting, "upload timeout", is retried).
        MissionVerifyFailed: the last read-back still differed (lists the differences).
        MissionTransferTimeout: the link never let a transfer and read-back finish.
    """
    mtype = int(mission_type)
    last: Exception | None = None
    for _ in range(config.attempts):
        try:
            upload(channel, items, mtype, config)
        except MissionTransferTimeout as exc:
            last = exc  # the final ACK may be what was lost: the read-back decides
        except MissionRejected as exc:
            if not exc.vehicle_timed_out:
                raise
            last = exc  # a slow link (or a simulator far faster than real time): again
            continue
        try:
            readback = download(channel, mtype, config)
        except (MissionTransferTimeout, MissionRejected) as exc:
            last = exc
            continue
        differences = compare_items(items, readback, mtype)
        if not differences:
            return readback
        last = MissionVerifyFailed(mtype, differences)
    assert last is not None
    raise last
