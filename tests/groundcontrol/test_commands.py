"""Commands and parameters against the fake vehicle answering with the recorded ArduCopter."""

from __future__ import annotations

import threading
import time

import pytest
import recordings
from conftest import needs_reference
from fake_links import LossyChannel, MemoryChannel
from fake_vehicle import FakeVehicle
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import CommandFailed, CommandTimeout, ModeChangeFailed, ParameterTimeout
from groundcontrol.mavlink.commands import CommandConfig, Commander, StreamKeeper

FAST = CommandConfig(ack_timeout_s=0.3, retries=2, text_wait_s=0.2, mode_confirm_s=0.8,
                     arm_confirm_s=0.8, param_timeout_s=0.2, param_retries=2)


@pytest.fixture
def boot_fake():
    records = recordings.load("boot_to_ready")
    fake = FakeVehicle(answers=recordings.recorded_answers(records), time_scale=10.0)
    ch = MemoryChannel(fake)
    yield fake, ch
    ch.close()


@needs_reference
def test_arm_refusals_carry_the_texts_sent_after_the_ack(boot_fake):
    fake, ch = boot_fake
    cmd = Commander(ch, FAST)
    with pytest.raises(CommandFailed) as first:
        cmd.arm()
    assert first.value.result == mavlink.MAV_RESULT_FAILED
    assert first.value.texts == ("Arm: Accels inconsistent", "Arm: EKF attitude is bad",
                                 "Arm: AHRS: not using configured AHRS type")
    assert "COMPONENT_ARM_DISARM refused with FAILED: Arm: Accels" in str(first.value)
    cmd.set_mode("GUIDED")  # accepted long before the EKF is ready, as recorded
    with pytest.raises(CommandFailed, match="waiting for home"):
        cmd.arm()
    cmd.arm()  # the third recorded ARM was accepted
    assert fake.armed


@needs_reference
def test_parameters_as_recorded():
    records = recordings.load("param_protocol")
    fake = FakeVehicle(params=recordings.recorded_params(records), time_scale=10.0)
    ch = MemoryChannel(fake)
    try:
        cmd = Commander(ch, FAST)
        assert cmd.get_param("RTL_ALT") == recordings.recorded_params(records)["RTL_ALT"][0]
        assert cmd.set_param("FENCE_ACTION", 99) == 99  # out of range, still accepted
        assert cmd.set_param("RTL_ALT", 2000.7) == 2000  # echoed in the vehicle's INT32 type
        with pytest.raises(ParameterTimeout, match="SYSID_THISMAV"):
            cmd.get_param("SYSID_THISMAV")  # the pre-4.7 name: no reply at all
        with pytest.raises(ParameterTimeout, match="NO_SUCH_PARAM"):
            cmd.set_param("NO_SUCH_PARAM", 1)
        sets = [m for m in fake.received if m.get_type() == "PARAM_SET"]
        assert sets[0].param_id == "FENCE_ACTION"
    finally:
        ch.close()


def test_lost_ack_is_retried_with_confirmation_incremented(channel, fake):
    class DropFirstAck(LossyChannel):
        acks = 0

        def _incoming(self, msg):
            if msg.get_type() == "COMMAND_ACK" and self.acks == 0:
                self.acks += 1
                return
            self.hub.dispatch(msg)

    lossy = DropFirstAck(channel, drop=0, duplicate=0, reorder=0)
    Commander(lossy, FAST).command_long(mavlink.MAV_CMD_DO_SET_MODE, 1, 5)
    confirmations = [m.confirmation for m in fake.received if m.get_type() == "COMMAND_LONG"]
    assert confirmations == [0, 1]


def test_in_progress_extends_the_wait(channel, fake):
    def slow(msg):
        fake.emit(mavlink.MAVLink_command_ack_message(msg.command, _IP, 10, 0, 255, 190))
        done = mavlink.MAVLink_command_ack_message(msg.command, 0, 100, 0, 255, 190)
        threading.Timer(0.5, fake.emit, [done]).start()  # longer than the ACK timeout

    _IP = mavlink.MAV_RESULT_IN_PROGRESS
    fake._on_command_long = slow
    ack = Commander(channel, FAST).command_long(mavlink.MAV_CMD_PREFLIGHT_CALIBRATION, 1)
    assert ack.result == mavlink.MAV_RESULT_ACCEPTED and ack.progress == 100


def test_silent_vehicle_command_timeout(channel, fake):
    fake.silent_types = {"COMMAND_LONG"}
    with pytest.raises(CommandTimeout, match=r"MISSION_START \(3 attempts\)"):
        Commander(channel, FAST).mission_start()
    assert sum(m.get_type() == "COMMAND_LONG" for m in fake.received) == 3


def test_mode_change_must_show_in_heartbeat(channel, fake):
    fake._apply_command = lambda msg: None  # ACCEPTED but the mode never changes
    with pytest.raises(ModeChangeFailed, match="mode AUTO not confirmed"):
        Commander(channel, FAST).set_mode("AUTO")


def test_pause_falls_back_to_brake_when_refused(channel, fake):
    fake.answers[mavlink.MAV_CMD_DO_PAUSE_CONTINUE] = [
        recordings.RecordedAnswer(mavlink.MAV_RESULT_UNSUPPORTED)]
    cmd = Commander(channel, FAST)
    assert cmd.pause() == "brake" and fake.custom_mode == 17
    cmd.resume("brake")
    assert fake.custom_mode == 3


def test_pause_uses_pause_continue_when_accepted(channel, fake):
    cmd = Commander(channel, FAST)
    assert cmd.pause() == "pause"
    cmd.resume("pause")
    params = [m.param1 for m in fake.received if m.get_type() == "COMMAND_LONG"]
    assert params == [0, 1]


def test_stream_keeper_rerequests_when_only_heartbeats_arrive(channel, fake):
    keeper = StreamKeeper(channel, quiet_s=0.3)
    try:
        deadline = time.monotonic() + 3
        while keeper.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        assert keeper.requests >= 1
        assert any(m.get_type() == "REQUEST_DATA_STREAM" for m in fake.received)
        assert any(m.get_type() == "COMMAND_LONG" and m.command == 511 for m in fake.received)
    finally:
        keeper.close()


def test_request_streams_reports_refused_intervals(channel, fake):
    fake.answers[mavlink.MAV_CMD_SET_MESSAGE_INTERVAL] = [
        recordings.RecordedAnswer(mavlink.MAV_RESULT_DENIED)]
    assert Commander(channel, FAST).request_streams() == 10
    fake.answers.clear()
    assert Commander(channel, FAST).request_streams() == 0
