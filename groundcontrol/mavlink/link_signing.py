"""MAVLink 2 signing on a link, as ArduPilot does it: the key, judging what vehicles send, and
giving a vehicle its key (SETUP_SIGNING) or taking it back.

``Link`` owns one ``SignatureJudge`` and takes its signing methods from ``LinkSigning``;
everything here reaches the connection only through what it is handed (the link's condition, a
connection object with pymavlink's signing methods, the ``SigningLink`` protocol, the link's
attributes ``LinkSigning`` declares), so ``link.py`` stays the only module that imports
``mavutil``.

While the link holds a key, each vehicle message is judged: correctly signed messages and
unsigned ones (a vehicle that does not sign yet, or any more) are passed on; messages with a
signature that fails the check are dropped and counted per vehicle, and waits on that vehicle
raise ``SigningKeyMismatch`` once a few failed while none passed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from groundcontrol.errors import ResponseTimeout, SigningError, SigningKeyMismatch
from groundcontrol.mavlink.messages import MavMessage, Tap

__all__ = [
    "BAD_SIGNATURES_FOR_MISMATCH",
    "SIGNING_EPOCH_UNIX_S",
    "UNSIGNED_FOR_NOT_SIGNING",
    "LinkSigning",
    "SignatureJudge",
    "SigningConfig",
    "SigningCounts",
    "SigningLink",
    "clear_vehicle_signing",
    "setup_vehicle_signing",
    "signing_timestamp",
]

SIGNING_EPOCH_UNIX_S = 1420070400
"""MAVLink signing timestamps count from 2015-01-01 00:00 UTC."""
BAD_SIGNATURES_FOR_MISMATCH = 3
"""Failed signatures (with none passing) that prove a wrong key rather than line noise."""
UNSIGNED_FOR_NOT_SIGNING = 3
"""Unsigned messages (with none signed) that show a vehicle does not sign."""

_GOOD, _BAD, _STALE, _UNSIGNED = range(4)


@dataclass(frozen=True, slots=True)
class SigningCounts:
    """What one vehicle's messages showed since the link's key was last set."""

    good: int
    """Signed, and the signature checked out with our key."""
    bad: int
    """Signed with another key: dropped."""
    stale: int
    """Signed with our key but refused for its timestamp (a replay, or a clock more than a
    minute behind ours): dropped."""
    unsigned: int
    """Not signed: passed on (the vehicle has no key)."""


@dataclass(frozen=True, slots=True)
class SigningConfig:
    """The key a link signs with."""

    key: bytes
    key_source: str
    """Where the key is kept, for error messages (the key file)."""
    link_id: int | None
    """The signature's link id; None lets pymavlink number its links."""


def signing_timestamp(unix_s: float | None = None) -> int:
    """A MAVLink signing timestamp: 10 us units since 2015-01-01 UTC (now when None).

    >>> signing_timestamp(1420070400 + 1.5)
    150000
    """
    now = time.time() if unix_s is None else unix_s
    return int(max(0.0, now - SIGNING_EPOCH_UNIX_S) * 100_000)


class SignatureJudge:
    """The link's key and what each vehicle's signatures showed.

    Args:
        seen: the link's condition (its lock guards the counts; it is notified when a
            signature fails, so waits on the vehicle can raise).
    """

    def __init__(self, seen: threading.Condition) -> None:
        self._seen = seen
        self._config: SigningConfig | None = None
        self._counts: dict[int, list[int]] = {}
        """Per vehicle sysid: [good, bad, stale, unsigned] since the key was set."""

    @property
    def config(self) -> SigningConfig | None:
        return self._config

    def set_config(self, config: SigningConfig | None) -> None:
        """Sign with ``config`` from now on (None: unsigned) and forget what was counted."""
        with self._seen:
            self._config = config
            self._counts.clear()

    def counts(self, sysid: int) -> SigningCounts:
        with self._seen:
            return self._counts_locked(sysid)

    def forget(self, sysid: int) -> None:
        """Judge only what vehicle ``sysid`` sends from now on."""
        with self._seen:
            self._counts.pop(sysid, None)

    def _counts_locked(self, sysid: int) -> SigningCounts:
        return SigningCounts(*self._counts.get(sysid, [0, 0, 0, 0]))

    def apply(self, conn: Any, timestamp: int) -> None:
        """Set up pymavlink's signing on the connection ``conn`` (a ``mavutil.mavfile``)."""
        config = self._config
        if config is None:
            conn.disable_signing()
            return
        # Accept everything at the parser; judge() decides per message, so an unsigned
        # vehicle still works and a wrong key is told apart from a stale clock.
        conn.setup_signing(config.key, sign_outgoing=True,
                           allow_unsigned_callback=lambda _mav, _msgid: True,
                           initial_timestamp=max(timestamp, signing_timestamp()),
                           link_id=config.link_id)

    def judge(self, sysid: int, msg: MavMessage) -> bool:
        """Count ``msg`` for its vehicle; False when it must be dropped (bad signature)."""
        config = self._config
        if config is None:
            return True
        signed = bool(msg.get_header().incompat_flags & mavlink.MAVLINK_IFLAG_SIGNED)
        if not signed:
            kind = _UNSIGNED
        elif msg.get_signed():
            kind = _GOOD
        else:
            # pymavlink refuses a correct signature with an old timestamp too; only a hash
            # that fails with our key means another key.
            buf = bytes(msg.get_msgbuf())
            ours = hashlib.sha256(config.key + buf[:-6]).digest()[:6] == buf[-6:]
            kind = _STALE if ours else _BAD
        with self._seen:
            self._counts.setdefault(sysid, [0, 0, 0, 0])[kind] += 1
            if kind in (_BAD, _STALE):
                self._seen.notify_all()
                return False
        return True

    def raise_if_mismatched(self, sysid: int | None) -> None:
        """Raise SigningKeyMismatch for a vehicle whose signatures all failed (``sysid``, or
        any when None). The caller holds the link's condition."""
        config = self._config
        if config is None:
            return
        for sid, (good, bad, _stale, _unsigned) in sorted(self._counts.items()):
            if (sysid is None or sid == sysid) and good == 0 \
                    and bad >= BAD_SIGNATURES_FOR_MISMATCH:
                raise SigningKeyMismatch(sid, config.key_source, bad)

    def confirm(self, sysid: int, timeout_s: float, require_signed: bool) -> bool:
        """``Link.confirm_signing``: wait until vehicle ``sysid`` shows whether it signs."""
        if self._config is None:
            raise SigningError("confirm_signing: the link holds no key (enable_signing first)")
        deadline = time.monotonic() + timeout_s
        with self._seen:
            while True:
                counts = self._counts_locked(sysid)
                if counts.good:
                    return True
                self.raise_if_mismatched(sysid)
                if not require_signed and counts.unsigned >= UNSIGNED_FOR_NOT_SIGNING:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._seen.wait(min(remaining, 0.2))
        if counts.stale:
            raise SigningError(
                f"vehicle {sysid} signs with our key but with timestamps more than a minute "
                "behind ours (replayed messages, or its clock was set back): refused"
            )
        raise ResponseTimeout("message signed with our key", timeout_s, sysid)

    def check_mismatch(self, sysid: int) -> None:
        """``raise_if_mismatched`` taking the link's condition itself."""
        with self._seen:
            self.raise_if_mismatched(sysid)


class SigningLink(Protocol):
    """What giving a vehicle its key needs from a link (``Link``)."""

    @property
    def signature_judge(self) -> SignatureJudge: ...

    def send(self, msg: MavMessage, sysid: int = 0) -> None: ...

    def add_tap(self, tap: Tap) -> Callable[[], None]: ...

    def enable_signing(self, key: bytes, *, key_source: str = ...,
                       link_id: int | None = None) -> None: ...

    def disable_signing(self) -> None: ...

    def signing_stamp(self) -> int | None: ...


class LinkSigning:
    """``Link``'s signing methods, kept here with the rest of signing.

    A mixin rather than an object the link holds: these methods are ``Link``'s public API, and
    their state is already the link's ``SignatureJudge``, so a held object would only leave a
    forwarding method per name in ``link.py``.
    """

    _signing: SignatureJudge
    _send_lock: threading.Lock
    """Held while the connection is used or replaced."""
    _conn: Any
    """The link's ``mavutil.mavfile``, None while the link is down."""

    @property
    def signing_enabled(self) -> bool:
        """True while everything sent is signed."""
        return self._signing.config is not None

    @property
    def signature_judge(self) -> SignatureJudge:
        return self._signing

    def enable_signing(self, key: bytes, *, key_source: str = "the key given to the link",
                       link_id: int | None = None) -> None:
        """Sign every message sent from now on with ``key`` (32 bytes), and judge the
        signatures of every message received (see ``link_signing``).

        Args:
            key: the vehicle's secret key.
            key_source: where the key is kept, for error messages (the key file).
            link_id: the signature's link id; None lets pymavlink number its links.
        """
        if len(key) != 32:
            raise ValueError(f"a MAVLink signing key is 32 bytes, got {len(key)}")
        with self._send_lock:
            self._signing.set_config(SigningConfig(bytes(key), key_source, link_id))
            if self._conn is not None:
                self._signing.apply(self._conn, self._conn.mav.signing.timestamp)

    def disable_signing(self) -> None:
        """Send unsigned and stop checking signatures."""
        with self._send_lock:
            self._signing.set_config(None)
            if self._conn is not None:
                self._conn.disable_signing()

    def signing_stamp(self) -> int | None:
        """The signing timestamp of the connection now (None while it is down)."""
        with self._send_lock:
            return self._conn.mav.signing.timestamp if self._conn is not None else None

    def signing_counts(self, sysid: int) -> SigningCounts:
        """What vehicle ``sysid``'s messages showed since the key was last set."""
        return self._signing.counts(sysid)

    def confirm_signing(self, sysid: int, timeout_s: float = 10.0,
                        require_signed: bool = False) -> bool:
        """Wait until vehicle ``sysid``'s messages show whether it signs with our key.

        Returns:
            True when one of its messages passed our signature check; False when it sends
            unsigned messages (it has no key) and ``require_signed`` is False.

        Raises:
            SigningKeyMismatch: its signed messages fail our check.
            SigningError: its signatures use our key but timestamps we refuse.
            ResponseTimeout: it sent nothing telling within ``timeout_s``.
        """
        return self._signing.confirm(sysid, timeout_s, require_signed)

    def setup_vehicle_signing(self: SigningLink, sysid: int, key: bytes, *, key_source: str,
                              compid: int = 1, timeout_s: float = 10.0) -> None:
        """Give vehicle ``sysid`` its signing key with SETUP_SIGNING, then sign with it.

        SETUP_SIGNING carries the key in clear: send it only over a link you trust. ArduPilot
        stores the key, signs from then on and ignores unsigned messages except on SERIAL0; it
        sends no acknowledgement, so success is its next messages passing our check.

        Raises:
            SigningError: the vehicle refused (ArduPilot will not while armed).
            SigningKeyMismatch: it ignored the key because it already signs with another one
                and this is not a port that accepts unsigned messages.
            ResponseTimeout: no message signed with the new key within ``timeout_s``.
        """
        setup_vehicle_signing(self, sysid, key, key_source=key_source, compid=compid,
                              timeout_s=timeout_s)

    def clear_vehicle_signing(self: SigningLink, sysid: int, compid: int = 1,
                              timeout_s: float = 10.0) -> None:
        """Turn signing off on vehicle ``sysid`` (an all-zero key with timestamp 0), then here.

        The request goes out signed when the link holds the vehicle's key, which a signing
        vehicle needs on any port but SERIAL0.

        Raises:
            ResponseTimeout: the vehicle still signs after ``timeout_s``.
        """
        clear_vehicle_signing(self, sysid, compid, timeout_s)


def setup_vehicle_signing(link: SigningLink, sysid: int, key: bytes, *, key_source: str,
                          compid: int = 1, timeout_s: float = 10.0) -> None:
    """``Link.setup_vehicle_signing`` (see there)."""
    # Our side signs first: a vehicle already using this key only accepts it signed.
    link.enable_signing(key, key_source=key_source)
    stamp = link.signing_stamp()
    judge = link.signature_judge
    refusals: list[str] = []
    remove = link.add_tap(_refusal_listener(sysid, refusals))
    try:
        link.send(mavlink.MAVLink_setup_signing_message(
            sysid, compid, list(key), stamp or signing_timestamp()), sysid)
        judge.forget(sysid)
        # Messages already on their way carry the old signature (or none): judge only
        # at the end, unless the vehicle answered with our key or refused.
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if refusals:
                raise SigningError(f"vehicle {sysid} refused the signing key: {refusals[0]}")
            if judge.counts(sysid).good:
                return
            time.sleep(0.05)
        judge.check_mismatch(sysid)
        raise ResponseTimeout("message signed with the new key (SETUP_SIGNING ignored?)",
                              timeout_s, sysid)
    finally:
        remove()


def clear_vehicle_signing(link: SigningLink, sysid: int, compid: int = 1,
                          timeout_s: float = 10.0) -> None:
    """``Link.clear_vehicle_signing`` (see there)."""
    unsigned = threading.Event()
    sent_at = [float("inf")]

    def tap(direction: str, source: int, msg: MavMessage, _raw: bytes) -> None:
        flags = msg.get_header().incompat_flags
        if direction == "in" and source == sysid and time.monotonic() > sent_at[0] \
                and not flags & mavlink.MAVLINK_IFLAG_SIGNED:
            unsigned.set()

    remove = link.add_tap(tap)
    try:
        link.send(mavlink.MAVLink_setup_signing_message(sysid, compid, [0] * 32, 0), sysid)
        sent_at[0] = time.monotonic()
        if not unsigned.wait(timeout_s):
            raise ResponseTimeout("unsigned message after clearing its key", timeout_s, sysid)
    finally:
        remove()
    link.disable_signing()


def _refusal_listener(sysid: int, into: list[str]) -> Tap:
    """A tap collecting vehicle ``sysid``'s refusal to take a key ("Won't setup signing")."""

    def tap(direction: str, source: int, msg: MavMessage, _raw: bytes) -> None:
        if direction == "in" and source == sysid and msg.get_type() == "STATUSTEXT":
            text = str(msg.text)
            if "signing" in text.lower():
                into.append(text)

    return tap
