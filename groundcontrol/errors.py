"""Exceptions of the ground-control shell: broken links, refused commands, failed transfers.

Every wait on a vehicle ends either in its answer or in one of these named errors, with the
fields a caller needs to report it (the command, the MAVLink result, the vehicle's own texts).
Domain outcomes of a flight (delivered or not, why) are values (``flight.FlightOutcome``), not
exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymavlink.dialects.v20 import ardupilotmega as mavlink

__all__ = [
    "CommandFailed",
    "CommandTimeout",
    "GroundControlError",
    "LinkClosed",
    "LinkError",
    "MissionRejected",
    "MissionTransferTimeout",
    "MissionVerifyFailed",
    "ModeChangeFailed",
    "ParameterTimeout",
    "PreflightFailed",
    "ResponseTimeout",
    "SigningError",
    "SigningKeyMismatch",
    "SigningKeyStoreError",
    "command_name",
    "mission_result_name",
    "mission_type_name",
]


def _enum_name(enum: str, value: int) -> str:
    entry = mavlink.enums.get(enum, {}).get(int(value))
    return entry.name if entry is not None else f"{enum}({value})"


def command_name(command: int) -> str:
    """The MAV_CMD name of a command number, without the prefix.

    >>> command_name(400)
    'COMPONENT_ARM_DISARM'
    """
    return _enum_name("MAV_CMD", command).removeprefix("MAV_CMD_")


def mission_result_name(result: int) -> str:
    """The MAV_MISSION_RESULT name of a MISSION_ACK type.

    >>> mission_result_name(13)
    'MAV_MISSION_INVALID_SEQUENCE'
    """
    return _enum_name("MAV_MISSION_RESULT", result)


def mission_type_name(mission_type: int) -> str:
    """Short name of a MAV_MISSION_TYPE ("MISSION", "FENCE", "RALLY").

    >>> mission_type_name(1)
    'FENCE'
    """
    return _enum_name("MAV_MISSION_TYPE", mission_type).removeprefix("MAV_MISSION_TYPE_")


def _result_name(result: int) -> str:
    return _enum_name("MAV_RESULT", result).removeprefix("MAV_RESULT_")


class GroundControlError(Exception):
    """Root of the ground-control exceptions."""


class LinkError(GroundControlError):
    """The MAVLink connection cannot be opened or used."""


class LinkClosed(LinkError):
    """The link was closed while something was still waiting on it."""


class ResponseTimeout(GroundControlError):
    """A vehicle did not answer (or reach a state) within the time allowed."""

    def __init__(self, what: str, timeout_s: float, sysid: int | None = None) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.sysid = sysid
        who = f"vehicle {sysid}: " if sysid is not None else ""
        super().__init__(f"{who}no {what} within {timeout_s:.1f} s")


class CommandTimeout(ResponseTimeout):
    """No COMMAND_ACK for a command after every retry."""

    def __init__(self, command: int, timeout_s: float, attempts: int, sysid: int | None = None):
        self.command = command
        self.attempts = attempts
        super().__init__(
            f"COMMAND_ACK for {command_name(command)} ({attempts} attempts)", timeout_s, sysid
        )


class ParameterTimeout(ResponseTimeout):
    """No PARAM_VALUE for a parameter: ArduPilot does not answer unknown names at all."""

    def __init__(self, name: str, timeout_s: float, sysid: int | None = None) -> None:
        self.name = name
        super().__init__(f"PARAM_VALUE for {name} (unknown parameter?)", timeout_s, sysid)


class CommandFailed(GroundControlError):
    """A command was answered with a result other than ACCEPTED.

    ``texts`` are the STATUSTEXTs the vehicle sent right after the ACK (ArduPilot explains a
    refusal after acknowledging it: "Arm: Battery failsafe").
    """

    def __init__(self, command: int, result: int, texts: Sequence[str] = ()) -> None:
        self.command = command
        self.result = result
        self.texts = tuple(texts)
        why = f": {'; '.join(self.texts)}" if self.texts else ""
        super().__init__(f"{command_name(command)} refused with {_result_name(result)}{why}")


class ModeChangeFailed(GroundControlError):
    """The vehicle accepted a mode change but its HEARTBEAT never showed the new mode."""

    def __init__(self, wanted: str, actual: str, timeout_s: float) -> None:
        self.wanted = wanted
        self.actual = actual
        super().__init__(f"mode {wanted} not confirmed within {timeout_s:.1f} s (still {actual})")


class MissionRejected(GroundControlError):
    """The vehicle ended a mission transfer with a MISSION_ACK other than ACCEPTED."""

    def __init__(self, result: int, mission_type: int, texts: Sequence[str] = ()) -> None:
        self.result = result
        self.mission_type = mission_type
        self.texts = tuple(texts)
        why = f": {'; '.join(self.texts)}" if self.texts else ""
        super().__init__(
            f"{mission_type_name(mission_type)} upload rejected with "
            f"{mission_result_name(result)}{why}"
        )

    @property
    def vehicle_timed_out(self) -> bool:
        """The vehicle gave up waiting for our items ("Fence upload timeout": ArduCopter
        acks the items still arriving with MAV_MISSION_ERROR), not a refusal of them."""
        return any("upload timeout" in text.lower() for text in self.texts)


class MissionTransferTimeout(ResponseTimeout):
    """A mission upload or download stalled past its retries or its overall timeout."""

    def __init__(self, what: str, timeout_s: float, mission_type: int, sysid: int | None = None):
        self.mission_type = mission_type
        super().__init__(f"{what} ({mission_type_name(mission_type)})", timeout_s, sysid)


class MissionVerifyFailed(GroundControlError):
    """The mission read back from the vehicle differs from the one uploaded."""

    def __init__(self, mission_type: int, differences: Sequence[str]) -> None:
        self.mission_type = mission_type
        self.differences = tuple(differences)
        shown = "; ".join(self.differences[:5])
        more = f" (+{len(self.differences) - 5} more)" if len(self.differences) > 5 else ""
        super().__init__(
            f"{mission_type_name(mission_type)} read-back differs: {shown}{more}"
        )


class PreflightFailed(GroundControlError):
    """One or more pre-flight checks failed; ``problems`` names each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("pre-flight checks failed: " + "; ".join(self.problems))


class SigningError(GroundControlError):
    """MAVLink 2 message signing could not be set up or used on a vehicle."""


class SigningKeyMismatch(SigningError):
    """The vehicle signs its messages, but not with the key kept for it.

    Raised once ``bad_count`` of its signed messages failed our signature check while none
    passed: a wrong or stale key file, or the vehicle was given another key by another
    ground station.
    """

    def __init__(self, sysid: int, key_source: str, bad_count: int) -> None:
        self.sysid = sysid
        self.key_source = key_source
        self.bad_count = bad_count
        super().__init__(
            f"vehicle {sysid} signs its messages with a different key than the one kept for it "
            f"in {key_source} ({bad_count} signed messages failed the check, none passed): "
            "give it our key again over a trusted link it accepts unsigned messages on "
            "(ArduPilot: SERIAL0/USB), e.g. `drone-delivery sign --connect URL --reset`"
        )


class SigningKeyStoreError(SigningError, ValueError):
    """The ground station's signing-key file cannot be read or written.

    Also a ``ValueError``, so the CLI reports it as bad input in one line naming the file.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"signing key file {path}: {problem}")
