"""One vehicle operated as a ground station does, outside a delivery: the ``VehicleOp`` values
carried out over a ``VehicleChannel``.

Used by ``drone-delivery vehicle|upload|download`` on a link of its own, and by the fleet (the
console's vehicle screen) on the channel the fleet already holds. Uploads are verified as
``fly`` verifies them (each list read back and compared); a download is written, read back from
the file and compared with what the vehicle sent. Refusals and silence from the vehicle raise
``GroundControlError``s naming what failed; bad files raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import MissionVerifyFailed, ResponseTimeout
from groundcontrol.flight.mission_file import load_mission
from groundcontrol.flight.vehicle_ops import (
    Arm,
    Disarm,
    DownloadPlan,
    FindParams,
    GoTo,
    Land,
    ReadParam,
    ReturnHome,
    SetMode,
    SetParam,
    UploadPlan,
    VehicleOp,
)
from groundcontrol.mavlink.commands import Commander
from groundcontrol.mavlink.messages import Inbox, VehicleChannel
from groundcontrol.mavlink.transfer import clear, compare_items, download, upload_verified
from missions.items import Mission, MissionItem, MissionType
from missions.qgc_plan import read_plan, write_plan
from missions.wpl import read_wpl, write_wpl

__all__ = ["OpDone", "ParamListConfig", "download_lists", "perform", "read_params",
           "upload_lists"]


@dataclass(frozen=True, slots=True)
class OpDone:
    """What a done operation reports."""

    message: str
    """One line for a person: ``mode GUIDED``, ``WPNAV_SPEED = 1234 (echoed)``."""
    fields: tuple[tuple[str, object], ...] = ()
    """Named results for scripts (``--json``): ``("name", "WPNAV_SPEED"), ("value", 1234.0)``."""
    lines: tuple[str, ...] = ()
    """Further lines (the parameters a search found, ``NAME value`` each)."""


@dataclass(frozen=True, slots=True)
class ParamListConfig:
    """Bounds of a whole-list read (PARAM_REQUEST_LIST), wall seconds."""

    first_s: float = 3.0
    """Wait for the first PARAM_VALUE."""
    quiet_s: float = 0.5
    """The list is over (or stalled) once nothing came for this long."""
    retries: int = 3
    """Rounds of asking for the missing indices one by one."""


def perform(channel: VehicleChannel, op: VehicleOp, commander: Commander | None = None
            ) -> OpDone:
    """Carry out ``op`` on the vehicle behind ``channel`` and report it.

    Raises:
        GroundControlError: the vehicle refused (``CommandFailed`` with its texts,
            ``MissionRejected``) or did not answer (``ResponseTimeout``s).
        ValueError: an upload's file cannot be read or fails validation.
    """
    cmd = commander or Commander(channel)
    if isinstance(op, Arm | Disarm):
        (cmd.arm if isinstance(op, Arm) else cmd.disarm)(force=op.force)
        armed = isinstance(op, Arm)
        return OpDone(("armed" if armed else "disarmed") + (" (forced)" if op.force else ""),
                      (("armed", armed),))
    if isinstance(op, SetMode):
        cmd.set_mode(op.mode)
        return OpDone(f"mode {op.mode}", (("mode", op.mode),))
    if isinstance(op, GoTo):
        cmd.set_mode("GUIDED")
        cmd.goto(op.lat_deg, op.lon_deg, op.alt_m)
        return OpDone(f"GUIDED, going to {op.lat_deg:.6f}, {op.lon_deg:.6f} at {op.alt_m:g} m")
    if isinstance(op, ReturnHome):
        mode = cmd.safe_return()
        return OpDone(f"returning in {mode}", (("mode", mode),))
    if isinstance(op, Land):
        cmd.land()
        return OpDone("landing where it is", (("mode", "LAND"),))
    return _perform_data(channel, op, cmd)


def _perform_data(channel: VehicleChannel, op: VehicleOp, cmd: Commander) -> OpDone:
    """Parameters and mission lists."""
    if isinstance(op, ReadParam):
        value = cmd.get_param(op.name)
        return OpDone(f"{op.name} = {value:g}", (("name", op.name), ("value", value)))
    if isinstance(op, SetParam):
        echoed = cmd.set_param(op.name, op.value)
        note = "" if _same(echoed, op.value) else f" (asked {op.value:g}: the vehicle keeps it " \
                                                  "in its own type)"
        return OpDone(f"{op.name} = {echoed:g} (echoed){note}",
                      (("name", op.name), ("value", echoed)))
    if isinstance(op, FindParams):
        return _find(channel, op)
    if isinstance(op, UploadPlan):
        return OpDone(f"{op.path.name}: " + "; ".join(upload_lists(channel, op)))
    if isinstance(op, DownloadPlan):
        return OpDone(f"to {op.path}: " + download_lists(channel, op))
    raise TypeError(f"not a vehicle operation: {op!r}")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _find(channel: VehicleChannel, op: FindParams) -> OpDone:
    params = read_params(channel)
    text = op.text.strip().upper()
    found = sorted((n, v) for n, v in params.items() if text in n)
    shown = found[:op.limit]
    more = f" (first {len(shown)} shown)" if len(found) > len(shown) else ""
    return OpDone(f"{len(found)} of {len(params)} parameters match {text!r}{more}",
                  (("count", len(found)),), tuple(f"{n} {v:g}" for n, v in shown))


def read_params(channel: VehicleChannel, config: ParamListConfig = ParamListConfig()
                ) -> dict[str, float]:
    """Every parameter the vehicle lists (PARAM_REQUEST_LIST), missing indices asked again.

    Raises:
        ResponseTimeout: no PARAM_VALUE at all, or indices still missing after the retries.
    """
    sysid, compid = channel.sysid, channel.compid
    got: dict[int, tuple[str, float]] = {}
    count = [0]
    with channel.inbox(["PARAM_VALUE"], lambda m: m.param_index != 65535) as box:
        channel.send(mavlink.MAVLink_param_request_list_message(sysid, compid))
        _collect(box, got, count, config.first_s, config.quiet_s)
        for _ in range(config.retries):
            missing = [i for i in range(count[0]) if i not in got]
            if count[0] and not missing:
                break
            for index in missing[:50]:  # a burst the link can take; the rest next round
                channel.send(mavlink.MAVLink_param_request_read_message(sysid, compid, b"",
                                                                        index))
            _collect(box, got, count, config.quiet_s * 2, config.quiet_s)
    if not count[0] or len(got) < count[0]:
        raise ResponseTimeout(f"the parameter list ({len(got)} of {count[0] or '?'} received)",
                              config.first_s, sysid)
    return dict(got.values())


def _collect(box: Inbox, got: dict[int, tuple[str, float]], count: list[int],
             first_s: float, quiet_s: float) -> None:
    """Queue PARAM_VALUEs into ``got`` until ``quiet_s`` passes without one."""
    wait = first_s
    while (msg := box.get(wait)) is not None:
        name = msg.param_id if isinstance(msg.param_id, str) else msg.param_id.decode()
        got[msg.param_index] = (name.split("\x00", 1)[0], float(msg.param_value))
        count[0] = max(count[0], int(msg.param_count))
        wait = quiet_s
        if len(got) >= count[0]:
            wait = min(quiet_s, 0.05)


def upload_lists(channel: VehicleChannel, op: UploadPlan) -> list[str]:
    """Upload a file's lists, each verified; one phrase per list (``mission 9 items verified``).

    A ``.plan`` sends the mission, the fence and the rally points (an empty fence or rally
    clears the vehicle's, as QGroundControl does); a ``.waypoints`` only the mission.
    """
    mission = load_mission(op.path)  # validated before anything is sent
    lines = [_send(channel, mission.items, MissionType.MISSION, "mission")]
    if op.path.suffix.lower() == ".plan":
        lines.append(_send(channel, mission.fence, MissionType.FENCE, "fence"))
        lines.append(_send(channel, mission.rally, MissionType.RALLY, "rally"))
    return lines


def _send(channel: VehicleChannel, items: tuple[MissionItem, ...], kind: MissionType,
          name: str) -> str:
    if not items:
        clear(channel, kind)
        return f"{name} cleared"
    upload_verified(channel, items, kind)
    return f"{name} {len(items)} items verified"


def download_lists(channel: VehicleChannel, op: DownloadPlan) -> str:
    """Read the vehicle's lists, write them, read the file back and compare.

    Returns what was saved (``mission 9 items (home included), fence 12, rally 1``).

    Raises:
        MissionVerifyFailed: the written file does not read back as what the vehicle sent.
    """
    whole = op.path.suffix.lower() == ".plan"
    items = download(channel, MissionType.MISSION)
    fence = download(channel, MissionType.FENCE) if whole else ()
    rally = download(channel, MissionType.RALLY) if whole else ()
    if whole:
        write_plan(op.path, Mission(op.path.stem, items, fence=fence, rally=rally))
        back = read_plan(op.path)
        _check_file(items, back.items, MissionType.MISSION)
        _check_counts(fence, back.fence, MissionType.FENCE)
        _check_counts(rally, back.rally, MissionType.RALLY)
    else:
        write_wpl(op.path, items)
        _check_file(items, tuple(read_wpl(op.path)), MissionType.MISSION)
    return f"mission {len(items)} items (home included)" + (
        f", fence {len(fence)}, rally {len(rally)}" if whole else "")


def _check_file(sent: Sequence[MissionItem], back: Sequence[MissionItem], kind: int) -> None:
    differences = compare_items(sent, back, kind)
    if differences:
        raise MissionVerifyFailed(kind, differences)


def _check_counts(sent: Sequence[MissionItem], back: Sequence[MissionItem], kind: int) -> None:
    # A .plan keeps a fence as polygons and circles, not items: the count must survive.
    if len(sent) != len(back):
        raise MissionVerifyFailed(kind, [f"count {len(sent)} -> {len(back)} in the file"])
