"""The vehicle side of the MAVLink mission protocol, with ArduPilot 4.7's semantics.

Mirrors MissionItemProtocol.cpp as recorded on the wire: uploads are answered with the legacy
MISSION_REQUEST; mission and rally items are written as they arrive (no rollback, the stored
list is truncated to the new count at MISSION_COUNT); fence items are buffered and validated
at the end (the old fence stays if validation fails); a wrong seq gets MISSION_ACK
INVALID_SEQUENCE without ending the transfer; the missing item is re-requested every second
and the upload is cancelled 8 s after the last item; one uploader (sysid/compid) at a time.
Mission seq 0 is home.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = ["LOCATION_COMMANDS", "MissionServer", "StoredItem"]

UPLOAD_TIMEOUT_S = 8.0
REREQUEST_S = 1.0
MAX_ITEMS = {0: 650, 1: 70, 2: 46}
"""Items per list, as SITL 4.7 answers MISSION_COUNT one over: NO_SPACE and "Only 650 | 70 |
46 items are supported" for mission, fence and rally (probed 2026-12-06)."""

M = mavlink
LOCATION_COMMANDS = frozenset({
    M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_LOITER_UNLIM, M.MAV_CMD_NAV_LOITER_TURNS,
    M.MAV_CMD_NAV_LOITER_TIME, M.MAV_CMD_NAV_RETURN_TO_LAUNCH, M.MAV_CMD_NAV_LAND,
    M.MAV_CMD_NAV_TAKEOFF, M.MAV_CMD_NAV_SPLINE_WAYPOINT, M.MAV_CMD_NAV_LOITER_TO_ALT,
    M.MAV_CMD_NAV_PAYLOAD_PLACE, M.MAV_CMD_DO_SET_HOME, M.MAV_CMD_DO_LAND_START,
    M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    M.MAV_CMD_NAV_FENCE_RETURN_POINT, M.MAV_CMD_NAV_RALLY_POINT,
})
_RELATIVE_FRAMES = frozenset({M.MAV_FRAME_GLOBAL_RELATIVE_ALT, M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT})
_TERRAIN_FRAMES = frozenset({M.MAV_FRAME_GLOBAL_TERRAIN_ALT, M.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT})


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as the vehicle stores it (and returns it on download)."""

    command: int
    frame: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    """Latitude * 1e7 (or a plain integer for non-positional commands)."""
    y: int = 0
    z: float = 0.0
    autocontinue: int = 1

    @property
    def lat(self) -> float:
        return self.x / 1e7

    @property
    def lon(self) -> float:
        return self.y / 1e7


def normalise(msg: object) -> StoredItem:
    """Convert an uploaded MISSION_ITEM(_INT) into what ArduPilot stores and sends back."""
    command = int(msg.command)  # type: ignore[attr-defined]
    frame = int(msg.frame)  # type: ignore[attr-defined]
    if msg.get_type() == "MISSION_ITEM":  # type: ignore[attr-defined]
        # Degrees become 1e7 integers; other commands' x/y are plain numbers.
        scale = 1e7 if command in LOCATION_COMMANDS else 1.0
        x, y = round(msg.x * scale), round(msg.y * scale)  # type: ignore[attr-defined]
    else:
        x, y = int(msg.x), int(msg.y)  # type: ignore[attr-defined]
    p = [float(msg.param1), float(msg.param2), float(msg.param3), float(msg.param4)]  # type: ignore[attr-defined]
    z = float(msg.z)  # type: ignore[attr-defined]
    if command in LOCATION_COMMANDS:
        if frame in _RELATIVE_FRAMES:
            frame = M.MAV_FRAME_GLOBAL_RELATIVE_ALT
        elif frame in _TERRAIN_FRAMES:
            frame = M.MAV_FRAME_GLOBAL_TERRAIN_ALT
        else:
            frame = M.MAV_FRAME_GLOBAL
        z = round(z * 100.0) / 100.0  # stored in centimetres
    else:
        frame = M.MAV_FRAME_GLOBAL
    if command == M.MAV_CMD_NAV_LAND and p[3] == 0.0:
        p[3] = 1.0  # as recorded: NAV_LAND comes back with param4 = 1
    return StoredItem(command, frame, p[0], p[1], p[2], p[3], x, y, z,
                      int(msg.autocontinue))  # type: ignore[attr-defined]


@dataclass
class _Upload:
    mission_type: int
    count: int
    next_seq: int
    sysid: int
    compid: int
    last_receive_s: float
    last_request_s: float
    buffer: list[StoredItem]


Sender = Callable[[object], None]
ItemCheck = Callable[[object, int, bool], "int | None"]
"""(item message, mission type, its x/y/z are a location) -> MAV_MISSION error or None."""


class MissionServer:
    """Stored mission/fence/rally lists and the transfer state machines.

    Args:
        send: queues a MAVLink message to the GCS.
        text: sends a STATUSTEXT (severity, text).
        on_change: called with the mission type whenever a stored list changes.
        home: returns the current home as StoredItem (seq 0) or None before a GPS fix.
        validate_fence: returns an error text list for a fence item list (empty when valid).
        check_item: the MAV_MISSION_* error for an uploaded item (``validation``), which ends
            the upload; None when the item is stored.
    """

    def __init__(self, send: Sender, text: Callable[[int, str], None],
                 on_change: Callable[[int], None],
                 home: Callable[[], StoredItem | None],
                 validate_fence: Callable[[list[StoredItem]], list[str]],
                 check_item: ItemCheck) -> None:
        self._send = send
        self._text = text
        self._on_change = on_change
        self._home = home
        self._validate_fence = validate_fence
        self._check_item = check_item
        self.items: dict[int, list[StoredItem]] = {0: [], 1: [], 2: []}
        self._uploads: dict[int, _Upload] = {}
        self.mavlink1_link = False

    # ---- storage -------------------------------------------------------------------
    def mission(self) -> list[StoredItem]:
        """The stored mission, seq 0 (home) included when written."""
        return self.items[0]

    def write_home(self, home: StoredItem) -> None:
        """ArduPilot writes home into mission slot 0 whenever home is set."""
        lst = self.items[0]
        if lst:
            lst[0] = home
        else:
            lst.append(home)
        self._on_change(0)

    def _item_for_download(self, mission_type: int, seq: int) -> StoredItem | None:
        lst = self.items[mission_type]
        if seq >= len(lst):
            return None
        if mission_type == 0 and seq == 0:
            home = self._home()
            return home if home is not None else StoredItem(M.MAV_CMD_NAV_WAYPOINT, 0)
        return lst[seq]

    # ---- message handling ---------------------------------------------------------
    def _ack(self, msg: object, result: int, mission_type: int) -> None:
        self._send(M.MAVLink_mission_ack_message(
            msg.get_srcSystem(), msg.get_srcComponent(), result, mission_type))  # type: ignore[attr-defined]

    def _mavlink2_ok(self, msg: object, mission_type: int) -> bool:
        if mission_type == 0 or not self.mavlink1_link:
            return True
        self._text(M.MAV_SEVERITY_WARNING, "Need mavlink2 for item transfer")
        self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mission_type)
        return False

    def handle(self, msg: object, now_s: float) -> bool:
        """Handle a mission-protocol message; False when it is not one."""
        kind = msg.get_type()  # type: ignore[attr-defined]
        if kind == "MISSION_ACK":
            return True  # the GCS closing a download: nothing to do
        handlers: dict[str, Callable[[object, float], None]] = {
            "MISSION_COUNT": self._on_count,
            "MISSION_ITEM_INT": self._on_item,
            "MISSION_ITEM": self._on_item,
            "MISSION_REQUEST_LIST": self._on_request_list,
            "MISSION_REQUEST_INT": self._on_request,
            "MISSION_REQUEST": self._on_request,
            "MISSION_CLEAR_ALL": self._on_clear_all,
        }
        handler = handlers.get(kind)
        if handler is None:
            return False
        mtype = self._mission_type(msg)
        if mtype not in self.items and not (kind == "MISSION_CLEAR_ALL" and mtype == 255):
            # GCS_MAVLINK::handle_common_mission_message: no protocol for that type.
            self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mtype)
            return True
        handler(msg, now_s)
        return True

    def _mission_type(self, msg: object) -> int:
        return int(getattr(msg, "mission_type", 0) or 0)

    def _on_count(self, msg: object, now_s: float) -> None:
        mtype = self._mission_type(msg)
        if not self._mavlink2_ok(msg, mtype):
            return
        src = (msg.get_srcSystem(), msg.get_srcComponent())  # type: ignore[attr-defined]
        current = self._uploads.get(mtype)
        if current is not None and (current.sysid, current.compid) != src:
            self._ack(msg, M.MAV_MISSION_DENIED, mtype)
            return
        count = int(msg.count)  # type: ignore[attr-defined]
        if count > MAX_ITEMS[mtype]:
            self._ack(msg, M.MAV_MISSION_NO_SPACE, mtype)
            self._text(M.MAV_SEVERITY_WARNING, f"Only {MAX_ITEMS[mtype]} items are supported")
            return
        self._uploads.pop(mtype, None)
        if mtype != 1 and len(self.items[mtype]) > count:
            del self.items[mtype][count:]
            self._on_change(mtype)
        if count == 0:
            self._complete(msg, mtype, [])
            return
        up = _Upload(mtype, count, 0, src[0], src[1], now_s, now_s, [])
        self._uploads[mtype] = up
        self._request_next(up)

    def _request_next(self, up: _Upload) -> None:
        self._send(M.MAVLink_mission_request_message(up.sysid, up.compid, up.next_seq,
                                                     up.mission_type))

    def _on_item(self, msg: object, now_s: float) -> None:
        mtype = self._mission_type(msg)
        up = self._uploads.get(mtype)
        if up is None:
            return
        seq = int(msg.seq)  # type: ignore[attr-defined]
        if seq != up.next_seq:
            self._ack(msg, M.MAV_MISSION_INVALID_SEQUENCE, mtype)
            return
        if (msg.get_srcSystem(), msg.get_srcComponent()) != (up.sysid, up.compid):  # type: ignore[attr-defined]
            self._ack(msg, M.MAV_MISSION_DENIED, mtype)
            return
        command = int(msg.command)  # type: ignore[attr-defined]
        error = self._check_item(msg, mtype, command in LOCATION_COMMANDS)
        if error is None and mtype == 0 and command == M.MAV_CMD_DO_JUMP \
                and not 0 < msg.param1 < up.count:  # type: ignore[attr-defined]
            error = M.MAV_MISSION_ERROR  # a jump to item 0 or past the upload (0: measured)
        if error is not None:
            # MissionItemProtocol: a refused item ends the upload (items stored so far stay).
            del self._uploads[mtype]
            self._ack(msg, error, mtype)
            return
        item = normalise(msg)
        if mtype != 0:
            item = replace(item, autocontinue=0)  # fence and rally storage has no such flag
        if mtype == 1:
            up.buffer.append(item)
        else:
            self._store(mtype, seq, item)
        up.last_receive_s = now_s
        up.next_seq += 1
        if up.next_seq >= up.count:
            del self._uploads[mtype]
            self._complete(msg, mtype, up.buffer)
            return
        up.last_request_s = now_s
        self._request_next(up)

    def _store(self, mtype: int, seq: int, item: StoredItem) -> None:
        lst = self.items[mtype]
        if mtype == 0 and seq == 0:
            # Uploaded home is ignored: slot 0 keeps the vehicle's home.
            home = self._home()
            item = home if home is not None else item
        if seq < len(lst):
            lst[seq] = item
        else:
            lst.append(item)
        self._on_change(mtype)

    def _complete(self, msg: object, mtype: int, fence_items: list[StoredItem]) -> None:
        if mtype == 1:
            errors = self._validate_fence(fence_items)
            if errors:
                self._ack(msg, M.MAV_MISSION_ERROR, mtype)
                for err in errors:
                    self._text(M.MAV_SEVERITY_WARNING, err)
                return
            self.items[1] = list(fence_items)
            self._ack(msg, M.MAV_MISSION_ACCEPTED, mtype)
            self._on_change(1)
            if fence_items:
                self._text(M.MAV_SEVERITY_DEBUG, "Fence Indexed OK")
            return
        self._ack(msg, M.MAV_MISSION_ACCEPTED, mtype)
        if mtype == 0:
            self._text(M.MAV_SEVERITY_INFO, "Flight plan received")
        self._on_change(mtype)

    def _on_request_list(self, msg: object, now_s: float) -> None:
        mtype = self._mission_type(msg)
        if not self._mavlink2_ok(msg, mtype):
            return
        if mtype in self._uploads:
            self._ack(msg, M.MAV_MISSION_DENIED, mtype)
            return
        self._send(M.MAVLink_mission_count_message(
            msg.get_srcSystem(), msg.get_srcComponent(), len(self.items[mtype]), mtype))  # type: ignore[attr-defined]

    def _on_request(self, msg: object, now_s: float) -> None:
        mtype = self._mission_type(msg)
        if not self._mavlink2_ok(msg, mtype):
            return
        if mtype in self._uploads:
            self._ack(msg, M.MAV_MISSION_DENIED, mtype)
            return
        seq = int(msg.seq)  # type: ignore[attr-defined]
        item = self._item_for_download(mtype, seq)
        if item is None:
            self._ack(msg, M.MAV_MISSION_INVALID_SEQUENCE, mtype)
            return
        dst = (msg.get_srcSystem(), msg.get_srcComponent())  # type: ignore[attr-defined]
        if msg.get_type() == "MISSION_REQUEST":  # type: ignore[attr-defined]
            self._send(M.MAVLink_mission_item_message(
                dst[0], dst[1], seq, item.frame, item.command, 0, item.autocontinue,
                item.param1, item.param2, item.param3, item.param4,
                item.x / 1e7 if item.command in LOCATION_COMMANDS else float(item.x),
                item.y / 1e7 if item.command in LOCATION_COMMANDS else float(item.y),
                item.z, mtype))
            self._text(M.MAV_SEVERITY_WARNING, "got MISSION_REQUEST; use MISSION_REQUEST_INT!")
            return
        self._send(M.MAVLink_mission_item_int_message(
            dst[0], dst[1], seq, item.frame, item.command, 0, item.autocontinue,
            item.param1, item.param2, item.param3, item.param4, item.x, item.y, item.z, mtype))

    def _on_clear_all(self, msg: object, now_s: float) -> None:
        mtype = self._mission_type(msg)
        if mtype == 255:
            types = [0, 1, 2]
        elif mtype in self.items:
            types = [mtype]
        else:
            return
        if any(t in self._uploads for t in types):
            self._ack(msg, M.MAV_MISSION_ERROR, mtype)
            return
        for t in types:
            self.items[t] = []
            self._on_change(t)
        self._ack(msg, M.MAV_MISSION_ACCEPTED, mtype)

    @property
    def transferring(self) -> bool:
        """An upload is under way (``update`` has timers to run)."""
        return bool(self._uploads)

    def update(self, now_s: float) -> None:
        """Re-request the missing item every second; cancel 8 s after the last item."""
        for mtype, up in list(self._uploads.items()):
            if now_s - up.last_receive_s >= UPLOAD_TIMEOUT_S - 1e-6:
                del self._uploads[mtype]
                self._send(M.MAVLink_mission_ack_message(
                    up.sysid, up.compid, M.MAV_MISSION_OPERATION_CANCELLED, mtype))
                # ArduPilot's MissionItemProtocol: "<Mission|Fence|Rally> upload timeout".
                name = {0: "Mission", 1: "Fence", 2: "Rally"}.get(mtype, "Mission")
                self._text(M.MAV_SEVERITY_WARNING, f"{name} upload timeout")
                continue
            if now_s - up.last_request_s >= REREQUEST_S - 1e-6:
                up.last_request_s = now_s
                self._request_next(up)

    def reboot(self) -> None:
        """Transfers live in RAM: a reboot ends them (the stored lists stay). Their timers run
        on the boot's clock, so one left over would wait the whole last boot's length."""
        self._uploads.clear()

    def replace_item(self, mtype: int, seq: int, item: StoredItem) -> None:
        """Test hook: overwrite a stored item."""
        self.items[mtype][seq] = replace(item)
