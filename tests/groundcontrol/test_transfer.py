"""Mission transfer against the fake vehicle, checked first against the real recordings."""

from __future__ import annotations

import time

import pytest
import recordings
from conftest import needs_reference
from fake_links import LossyChannel, MemoryChannel
from fake_vehicle import FakeVehicle
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import (
    GroundControlError,
    MissionRejected,
    MissionTransferTimeout,
    MissionVerifyFailed,
)
from groundcontrol.mavlink.transfer import (
    TransferConfig,
    clear,
    compare_items,
    download,
    item_from_message,
    upload,
    upload_verified,
)
from missions.items import MissionItem, MissionType

FAST = TransferConfig(request_timeout_s=0.4, stall_s=0.6, item_timeout_s=0.2,
                      base_timeout_s=5.0, per_item_timeout_s=0.2)


def _recorded_items(name: str, direction: str, first_seq_block: int = 0) -> list[MissionItem]:
    """The n-th complete block of MISSION_ITEM_INT seq 0.. in one direction of a recording."""
    blocks: list[list[MissionItem]] = []
    for r in recordings.load(name):
        if r.dir == direction and r.type == "MISSION_ITEM_INT":
            item = item_from_message(recordings.build_message(r.type, r.fields))
            if item.seq == 0:
                blocks.append([])
            if blocks and item.seq == len(blocks[-1]):
                blocks[-1].append(item)
    return blocks[first_seq_block]


def _mission(n: int = 12) -> list[MissionItem]:
    items = [MissionItem(0, 16, frame=0, x=-35.363261, y=149.16523, z=584.0)]
    items.append(MissionItem(1, 22, z=40))
    for i in range(2, n - 1):
        items.append(MissionItem(i, 16, x=-35.3632 + 0.0001 * i, y=149.1652 + 0.00013 * i,
                                 z=40 + i * 0.37))
    items.append(MissionItem(n - 1, 21, x=-35.363261, y=149.16523, z=0))
    return items


@needs_reference
def test_recorded_round_trip_differences_are_all_tolerated():
    sent = _recorded_items("mission_transfer", "gcs>veh")
    got = _recorded_items("mission_transfer", "veh>gcs")
    assert len(sent) == len(got) == 12
    assert [a.frame for a in got[1:3]] == [3, 3] and got[5].param4 == 1  # what ArduPilot did
    assert compare_items(sent, got, MissionType.MISSION) == []
    # a real difference is still caught
    moved = [*got[:3], MissionItem(3, 16, frame=3, x=got[3].x + 1e-6, y=got[3].y, z=40), *got[4:]]
    assert compare_items(sent, moved, MissionType.MISSION) == [
        "seq 3: position -35.3614644,149.1668823 -> -35.3614634,149.1668823"]


@needs_reference
def test_recorded_fence_and_rally_round_trips_are_tolerated():
    records = recordings.load("fence_rally_transfer")
    for mtype in (1, 2):
        sent = [item_from_message(recordings.build_message(r.type, r.fields)) for r in records
                if r.dir == "gcs>veh" and r.type == "MISSION_ITEM_INT"
                and r.fields["mission_type"] == mtype]
        got = [item_from_message(recordings.build_message(r.type, r.fields)) for r in records
               if r.dir == "veh>gcs" and r.type == "MISSION_ITEM_INT"
               and r.fields["mission_type"] == mtype]
        n = next(i for i in range(1, len(sent)) if sent[i].seq == 0) if mtype == 1 else len(got)
        assert compare_items(sent[:n], got[:n], mtype) == []


@needs_reference
def test_fake_vehicle_answers_like_the_recorded_arducopter():
    """Feed the recorded GCS side of mission_transfer to the fake, compare what comes back."""
    records = recordings.load("mission_transfer")
    fake = FakeVehicle(has_home=False)
    now = [0.0]
    fake.clock = lambda: now[0]
    produced: list = []
    fake.out = produced.append
    keep = ("MISSION_REQUEST", "MISSION_ACK", "MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM")

    def key(mtype, f):
        if mtype == "MISSION_ACK":
            return (mtype, f["type"])
        if mtype == "MISSION_COUNT":
            return (mtype, f["count"])
        if mtype.startswith("MISSION_ITEM"):
            return (mtype, f["seq"], f["command"], f["frame"], round(f["param4"]))
        return (mtype, f["seq"])

    expected, got = [], []
    for r in records:
        while now[0] + 0.05 < r.t:  # let the vehicle's timers run between GCS messages
            now[0] += 0.05
            fake.tick()
        now[0] = r.t
        fake.tick()
        if r.t > 20.0:
            fake.home = recordings.HOME  # the GPS fix / home came at ~20 s in the recording
        if r.dir == "veh>gcs" and r.type in keep:
            expected.append(key(r.type, r.fields))
        elif r.dir == "gcs>veh" and r.type.startswith("MISSION"):
            fake.handle(recordings.build_message(r.type, r.fields))
    got = [key(m.get_type(), m.to_dict()) for m in produced if m.get_type() in keep]
    assert got == expected


def test_upload_and_download_round_trip(channel, fake):
    items = _mission(12)
    upload(channel, items, MissionType.MISSION, FAST)
    assert [m.seq for m in fake.stored[0]] == list(range(12))
    assert {m.get_type() for m in fake.received} >= {"MISSION_COUNT", "MISSION_ITEM_INT"}
    back = download(channel, MissionType.MISSION, FAST)
    assert back[0].x == pytest.approx(recordings.HOME[0]) and back[3].frame == 3
    assert compare_items(items, back, MissionType.MISSION) == []


def test_upload_answers_mission_request_int_too(channel, fake):
    fake.request_int = True
    items = _mission(6)
    assert upload_verified(channel, items, MissionType.MISSION, FAST)[5].command == 21


def test_out_of_order_item_invalid_sequence_is_not_final(fake):
    """The GCS's answer to seq 3 arrives as seq 4 once: ACK INVALID_SEQUENCE, then a retry."""

    class SwapOnce(MemoryChannel):
        swapped = False

        def send(self, msg):
            if msg.get_type() == "MISSION_ITEM_INT" and msg.seq == 3 and not self.swapped:
                self.swapped = True
                msg.seq, msg.x, msg.y = 4, msg.x + 100, msg.y + 100
            super().send(msg)

    ch = SwapOnce(fake)
    seen = []
    ch.subscribe(lambda m: seen.append((m.get_type(), getattr(m, "type", None))))
    try:
        items = _mission(12)
        upload(ch, items, MissionType.MISSION, FAST)
        assert ("MISSION_ACK", mavlink.MAV_MISSION_INVALID_SEQUENCE) in seen
        assert compare_items(items, download(ch, 0, FAST), 0) == []
    finally:
        ch.close()


def test_rejected_fence_names_the_result_and_the_vehicle_texts(channel, fake):
    fake.reject_mission_type[1] = mavlink.MAV_MISSION_ERROR
    fake.reject_texts = ["Invalid vertex count (2)", "Fence validation failed"]
    fence = [MissionItem(i, 5001, frame=0, param1=2, x=-35.36 + i * 1e-3, y=149.16,
                         mission_type=MissionType.FENCE) for i in range(2)]
    with pytest.raises(MissionRejected) as err:
        upload_verified(channel, fence, MissionType.FENCE, FAST)
    assert err.value.result == mavlink.MAV_MISSION_ERROR and err.value.mission_type == 1
    assert "Fence validation failed" in err.value.texts
    assert "FENCE upload rejected with MAV_MISSION_ERROR" in str(err.value)


def test_a_vehicle_that_gave_up_waiting_gets_the_upload_again(channel, fake):
    # ArduCopter SITL at speedup 40 on a busy machine: "Fence upload timeout", then
    # MAV_MISSION_ERROR for the items still arriving. A transfer problem, not a refusal.
    fake.reject_mission_type[1] = mavlink.MAV_MISSION_ERROR
    fake.reject_texts = ["Fence upload timeout"]
    original = fake._complete

    def once(mtype: int) -> None:
        original(mtype)
        fake.reject_mission_type.clear()

    fake._complete = once
    fence = [MissionItem(i, 5001, frame=0, param1=4, x=-35.36 + (i % 2) * 1e-2,
                         y=149.16 + (i // 2) * 1e-2, mission_type=MissionType.FENCE)
             for i in range(4)]
    assert len(upload_verified(channel, fence, MissionType.FENCE, FAST)) == 4


def test_fence_and_rally_round_trip(channel):
    fence = [MissionItem(i, 5001, frame=0, param1=4, x=-35.36 + (i % 2) * 1e-2,
                         y=149.16 + (i // 2) * 1e-2, mission_type=MissionType.FENCE)
             for i in range(4)]
    fence.append(MissionItem(4, 5004, frame=0, param1=150, x=-35.363, y=149.165,
                             mission_type=MissionType.FENCE))
    rally = [MissionItem(0, 5100, x=-35.362, y=149.166, z=30, mission_type=MissionType.RALLY)]
    assert len(upload_verified(channel, fence, MissionType.FENCE, FAST)) == 5
    assert upload_verified(channel, rally, MissionType.RALLY, FAST)[0].frame == 3


def test_silent_vehicle_ends_in_a_named_timeout(channel, fake):
    fake.silent_types = {"MISSION_COUNT"}
    t0 = time.monotonic()
    with pytest.raises(MissionTransferTimeout, match="MISSION_COUNT"):
        upload(channel, _mission(5), MissionType.MISSION, FAST)
    assert time.monotonic() - t0 < 5.0
    assert sum(m.get_type() == "MISSION_COUNT" for m in fake.received) == FAST.count_retries + 1


def test_clear_and_empty_download(channel, fake):
    upload(channel, _mission(5), 0, FAST)
    clear(channel, 0, FAST)
    assert download(channel, 0, FAST) == ()


def test_bad_sequence_numbers_are_rejected_before_sending(channel):
    with pytest.raises(ValueError, match=r"items\[1\].seq"):
        upload(channel, [MissionItem(0, 16), MissionItem(5, 16)], 0, FAST)


def test_compare_tolerances():
    a = MissionItem(1, 16, frame=6, x=-35.0, y=149.0, z=40.0)
    assert compare_items([MissionItem(0, 16), a],
                         [MissionItem(0, 16, x=1, y=1), MissionItem(1, 16, frame=3, x=-35.0,
                                                                    y=149.0, z=40.004)], 0) == []
    worse = MissionItem(1, 16, frame=0, x=-35.0, y=149.0, z=40.02)
    diffs = compare_items([MissionItem(0, 16), a], [MissionItem(0, 16), worse], 0)
    assert diffs == ["seq 1: frame 6 -> 0", "seq 1: altitude 40 -> 40.02"]
    grip = MissionItem(2, 211, frame=2, param1=1, param2=0)
    assert compare_items([grip], [MissionItem(2, 211, frame=0, param1=1, param2=1)], 1) == [
        "seq 2: param2 0 -> 1"]
    assert compare_items([grip], [], 1) == ["count 1 -> 0"]


LOSSY = TransferConfig(request_timeout_s=0.3, stall_s=0.4, item_timeout_s=0.1,
                       base_timeout_s=5.0, per_item_timeout_s=0.2)


@pytest.mark.parametrize("seed", range(4))
def test_lossy_link_upload_verifies_or_fails_cleanly(fake, seed):
    """20 % loss, duplicates and reordering both ways: never a partial mission reported good."""
    inner = MemoryChannel(fake)
    lossy = LossyChannel(inner, drop=0.2, duplicate=0.1, reorder=0.1, seed=seed)
    items = _mission(20)
    try:
        try:
            back = upload_verified(lossy, items, MissionType.MISSION, LOSSY)
        except GroundControlError as exc:
            assert isinstance(exc, (MissionTransferTimeout, MissionVerifyFailed, MissionRejected))
            return
        assert compare_items(items, back, 0) == []
        stored = [item_from_message(m) for m in fake.stored[0]]
        assert compare_items(items, stored, 0) == []  # the vehicle really holds the mission
        assert lossy.dropped > 0
    finally:
        inner.close()


def test_partial_mission_is_never_reported_good(fake):
    """Items after seq 5 never get through: the vehicle keeps a mixed mission; we must fail."""
    old = _mission(10)

    class Blocking(MemoryChannel):
        def send(self, msg):
            if msg.get_type() == "MISSION_ITEM_INT" and msg.seq > 5 and msg.x > 0:
                return
            super().send(msg)

    ch = Blocking(fake)
    try:
        upload(ch, [MissionItem(i, it.command, it.frame, x=it.x, y=it.y, z=it.z)
                    for i, it in enumerate(old)], 0, FAST)
        new = [MissionItem(i, 16, x=10.0 + i * 1e-3, y=20.0, z=50) for i in range(10)]
        with pytest.raises((MissionTransferTimeout, MissionVerifyFailed)):
            upload_verified(ch, new, 0, TransferConfig(
                request_timeout_s=0.3, stall_s=0.4, item_timeout_s=0.2, base_timeout_s=1.5,
                per_item_timeout_s=0.1, count_retries=2, attempts=2))
        stored = [item_from_message(m) for m in fake.stored[0]]
        assert compare_items(new, stored, 0) != []  # the vehicle indeed holds a mix
    finally:
        ch.close()
