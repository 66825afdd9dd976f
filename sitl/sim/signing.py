"""MAVLink 2 message signing on the simulated vehicle, as ArduPilot's GCS_Signing.cpp does it.

The rules modelled (ArduPilot ``libraries/GCS_MAVLink/GCS_Signing.cpp``):

- SETUP_SIGNING stores the key and its ``initial_timestamp`` (ArduPilot: in its flash, so it
  survives reboots; here: on the vehicle object, like the parameters) and activates it on every
  channel at once. It is refused while armed ("ERROR: Won't setup signing when armed").
- An all-zero key WITH timestamp 0 turns signing off; a zero key with a timestamp does not.
- Loading a key (SETUP_SIGNING or boot) starts the channel's timestamp one minute past the stored
  one; a GPS fix moves it up to GPS time (here: once a second after the fix), and it is saved
  every 30 s, so a reboot never reuses a timestamp.
- Once signing is on, everything sent is signed (channel = link id) and incoming messages need
  a valid signature, with ArduPilot's ``accept_unsigned_callback`` exceptions: anything on
  channel 0 (SERIAL0, "assumed to be a secure channel (USB)") and RADIO_STATUS / RADIO (a
  radio modem's own messages) anywhere. Refused messages are dropped without a reply.
- Signed messages are accepted, unchecked, while signing is off.

The signature check itself (timestamps per stream, one minute of slack for a new stream,
SHA-256) is pymavlink's, which implements the same rules as the C library ArduPilot uses.
"""

from __future__ import annotations

import functools

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = [
    "ACCEPT_UNSIGNED_MSGIDS",
    "KEY_LOAD_AHEAD",
    "SECURE_CHANNEL",
    "VehicleSigning",
    "accept_unsigned",
]

SECURE_CHANNEL = 0
"""The channel ArduPilot always accepts unsigned messages on (SERIAL0)."""
ACCEPT_UNSIGNED_MSGIDS = (mavlink.MAVLINK_MSG_ID_RADIO_STATUS, mavlink.MAVLINK_MSG_ID_RADIO)
"""Messages accepted unsigned on any channel (GCS_Signing.cpp ``accept_list``)."""
KEY_LOAD_AHEAD = 60 * 100 * 1000
"""A loaded key's timestamp starts one minute (in 10 us units) past the stored one."""
SAVE_PERIOD_S = 30.0
SIGNING_EPOCH_UNIX_S = 1420070400
TIMESTAMP_MASK = 2 ** 48 - 1
"""The signature's timestamp field is 48 bits (10 us units since 2015)."""


def accept_unsigned(channel: int, _mav: object, msgid: int) -> bool:
    """ArduPilot's ``accept_unsigned_callback`` for a message arriving on ``channel``.

    >>> accept_unsigned(0, None, 76), accept_unsigned(1, None, 76), accept_unsigned(1, None, 109)
    (True, False, True)
    """
    return channel == SECURE_CHANNEL or msgid in ACCEPT_UNSIGNED_MSGIDS


class VehicleSigning:
    """One vehicle's stored key and the signing state of each of its channels.

    Each channel has its own ``MAVLinkSigning`` (own timestamp, link id = channel number),
    shared by that channel's packer and parser; the per-stream timestamps are shared by all
    channels, as ArduPilot's ``signing_streams``.
    """

    def __init__(self) -> None:
        self.key: bytes | None = None
        """The active key; None while signing is off."""
        self.stored_timestamp = 0
        """The timestamp kept with the key (10 us units since 2015)."""
        self._channels: dict[int, mavlink.MAVLinkSigning] = {}
        self._streams: dict[tuple[int, int, int], int] = {}
        self._next_save_s = 0.0

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def channel(self, channel: int) -> mavlink.MAVLinkSigning:
        """The signing state of ``channel`` (created with the stored key on first use)."""
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = mavlink.MAVLinkSigning()
            self._load(channel, state)
        return state

    def reboot(self) -> None:
        """Forget the channels and streams (RAM); the stored key is loaded again on use."""
        self.save_timestamp()
        self._channels.clear()
        self._streams.clear()

    def setup(self, secret_key: bytes, initial_timestamp: int) -> None:
        """SETUP_SIGNING: store the key and activate it on every channel."""
        all_zero = initial_timestamp == 0 and not any(secret_key)
        self.key = None if all_zero else bytes(secret_key)
        # SETUP_SIGNING carries 64 bits, the wire 48: a larger timestamp goes out as its low 48
        # bits anyway, and kept so it can count on without overflowing the packer's uint64.
        self.stored_timestamp = int(initial_timestamp) & TIMESTAMP_MASK
        for channel, state in self._channels.items():
            self._load(channel, state)

    def update_timestamp(self, unix_s: float) -> None:
        """A GPS time: move every channel's timestamp up to it (never back)."""
        stamp = int(max(0.0, unix_s - SIGNING_EPOCH_UNIX_S) * 100_000)
        for state in self._channels.values():
            if state.secret_key is not None and state.timestamp < stamp:
                state.timestamp = stamp

    def periodic(self, now_s: float) -> None:
        """Save the newest timestamp every 30 s, as ArduPilot does."""
        if now_s >= self._next_save_s:
            self._next_save_s = now_s + SAVE_PERIOD_S
            self.save_timestamp()

    def save_timestamp(self) -> None:
        if self.key is None:
            return
        for state in self._channels.values():
            self.stored_timestamp = max(self.stored_timestamp, state.timestamp)

    def _load(self, channel: int, state: mavlink.MAVLinkSigning) -> None:
        if self.key is None:
            state.secret_key = None
            state.sign_outgoing = False
            state.allow_unsigned_callback = None
            return
        state.secret_key = self.key
        state.link_id = channel
        state.timestamp = self.stored_timestamp + KEY_LOAD_AHEAD
        state.sign_outgoing = True
        state.allow_unsigned_callback = functools.partial(accept_unsigned, channel)
        state.stream_timestamps = self._streams
