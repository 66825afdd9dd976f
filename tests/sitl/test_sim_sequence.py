"""The simulator numbers its frames as ArduPilot does: each MAVLink channel counts its own
sequence up by one per message sent (``current_tx_seq``), wrapping after 255, whichever
encoder packed the frame; the ground station's link-loss counts read those gaps."""

from __future__ import annotations

import itertools

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sitl.sim.channels import Channels
from sitl.sim.state import Home
from sitl.sim.vehicle import SimVehicle
from sitl.sim.wire import FrameEncoder

M = mavlink
STEP_S = 0.02
HOME = Home(-35.363261, 149.165230, 584.0, 353.0)


def _frames(data: bytes) -> list[object]:
    parser = M.MAVLink(None)
    parser.robust_parsing = True
    return [m for m in parser.parse_buffer(data) or [] if m.get_type() != "BAD_DATA"]


def _run(v: SimVehicle, seconds: float) -> dict[int, list[object]]:
    out: dict[int, list[object]] = {0: [], 1: []}
    for _ in range(round(seconds / STEP_S)):
        v.step(STEP_S)
        for channel in out:
            out[channel] += _frames(v.take_output(channel))
    return out


@pytest.mark.parametrize("fast", [True, False])
def test_each_channel_counts_its_own_sequence(fast: bool, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.setattr(Channels, "fast_encode", fast)
    v = SimVehicle(HOME)
    v.boot()
    v.open_channel(1)
    v.receive(M.MAVLink_request_data_stream_message(1, 1, M.MAV_DATA_STREAM_ALL, 10, 1), 0)
    # A reply on SERIAL0 only: SERIAL1's numbering must not see it.
    v.receive(M.MAVLink_param_request_read_message(1, 1, b"ANGLE_MAX", -1), 0)
    out = _run(v, 30.0)
    for channel, msgs in out.items():
        seqs = [m.get_seq() for m in msgs]  # type: ignore[attr-defined]
        assert len(seqs) > 600, f"channel {channel}: enough frames to wrap"
        assert seqs[0] == 0
        assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs)), \
            f"channel {channel}: a gap or a repeat in {seqs[:20]}..."
    assert len(out[0]) > len(out[1])  # the PARAM_VALUE went to SERIAL0 alone


@pytest.mark.parametrize("msg", [
    M.MAVLink_global_position_int_message(1, -353632610, 1491652300, 584000, 0, -3, 4, 0, 0),
    M.MAVLink_system_time_message(0, 0),
    M.MAVLink_heartbeat_message(2, 3, 0x51, 0, 3, 3),
])
def test_a_reused_frame_gets_each_sequence_number_and_its_crc(msg: object) -> None:
    packer = M.MAVLink(None, srcSystem=7, srcComponent=1)
    encoder = FrameEncoder(packer)
    for seq in (*range(256), 0, 255, 1):
        packer.seq = seq
        assert encoder.encode(msg) == msg.pack(packer), f"seq {seq}"  # type: ignore[attr-defined]
