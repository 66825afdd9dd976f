"""Replay in the console: a flight's ``.tlog`` or a dispatch day's store, played back."""

from groundcontrol.console.replay.playback import (
    DEFAULT_SPEED,
    NOTHING_TO_COMMAND,
    Frame,
    PlaybackClock,
    ReplayBackend,
    ReplaySource,
    check_speed,
)
from groundcontrol.console.replay.tlog_source import TlogSource, load_tlog

__all__ = [
    "DEFAULT_SPEED",
    "NOTHING_TO_COMMAND",
    "Frame",
    "PlaybackClock",
    "ReplayBackend",
    "ReplaySource",
    "TlogSource",
    "check_speed",
    "load_tlog",
]
