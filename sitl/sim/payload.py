"""Gripper (AP_Gripper, servo type) and winch (AP_Winch, PWM type) as the recordings show them.

Both exist only when enabled at the last boot (GRIP_ENABLE / WINCH_TYPE): before a reboot the
commands are refused (winch) or accepted without effect (gripper as a MAVLink command).
"""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .state import VehicleCore

__all__ = ["Gripper", "Winch"]

M = mavlink
INFO = M.MAV_SEVERITY_INFO
GRIPPER_ACTION_S = 0.5


class Gripper:
    """Servo gripper on the output whose SERVOn_FUNCTION is 28."""

    def __init__(self, vehicle: VehicleCore) -> None:
        self.v = vehicle
        self.pwm = 0
        self.released = False

    @property
    def present(self) -> bool:
        return bool(self.v.params.boot("GRIP_ENABLE")) and int(self.v.params.boot("GRIP_TYPE")) == 1

    def on_boot(self) -> None:
        """AP_Gripper grabs at start-up."""
        self.pwm = 0
        if self.present:
            self.v.schedule(3.5, lambda: self.grab())

    def grab(self) -> None:
        if not self.present:
            return
        self.v.text(INFO, "Gripper load grabbing")
        self.pwm = int(self.v.params.get("GRIP_GRAB"))
        self.released = False
        self.v.schedule(GRIPPER_ACTION_S, lambda: self.v.text(INFO, "Gripper load grabbed"))

    def release(self, from_mission: bool) -> None:
        if not self.present:
            return
        self.v.text(INFO, "Gripper load releasing")
        if from_mission:
            self.v.text(INFO, "Gripper Released")
        self.pwm = int(self.v.params.get("GRIP_RELEASE"))
        self.released = True
        self.v.payload_kg = 0.0  # the parcel is gone: the power model gets lighter
        self.v.schedule(GRIPPER_ACTION_S, lambda: self.v.text(INFO, "Gripper load released"))


class Winch:
    """PWM winch: line length follows the commanded length or rate, WINCH_RATE_MAX limited."""

    def __init__(self, vehicle: VehicleCore) -> None:
        self.v = vehicle
        self.line_length_m = 0.0
        self.speed_ms = 0.0
        self.target_length_m: float | None = None
        self.rate_ms = 0.0
        self.relaxed = True

    @property
    def present(self) -> bool:
        return int(self.v.params.boot("WINCH_TYPE")) != 0

    def command(self, action: int, length_m: float, rate_ms: float) -> bool:
        """DO_WINCH; False when refused (no winch at boot, unknown action)."""
        if not self.present or action not in (0, 1, 2):
            return False
        if action == 0:
            self.relaxed = True
            self.target_length_m = None
            return True
        self.relaxed = False
        if action == 1:
            target = self.line_length_m + length_m
            self.v.text(INFO, f"Winch: lowering {length_m:4.1f}m to {target:4.1f}m")
            self.target_length_m = target
            self.rate_ms = abs(rate_ms) or float(self.v.params.get("WINCH_RATE_MAX"))
        else:
            self.target_length_m = None
            self.rate_ms = rate_ms
        return True

    def step(self, dt: float) -> None:
        if self.relaxed or not self.present:
            return
        max_rate = float(self.v.params.get("WINCH_RATE_MAX"))
        if self.target_length_m is not None:
            err = self.target_length_m - self.line_length_m
            gain = float(self.v.params.get("WINCH_POS_P"))
            speed = max(-self.rate_ms, min(self.rate_ms, err * gain))
        else:
            speed = self.rate_ms
        self.speed_ms = max(-max_rate, min(max_rate, speed))
        self.line_length_m = max(0.0, self.line_length_m + self.speed_ms * dt)

    @property
    def pwm(self) -> int:
        if self.relaxed or not self.present:
            return 0
        rate_max = max(0.1, float(self.v.params.get("WINCH_RATE_MAX")))
        return 1500 + round(400 * self.speed_ms / rate_max)

    def status_message(self) -> object | None:
        if not self.present:
            return None
        nan = float("nan")
        return M.MAVLink_winch_status_message(
            self.v.time_boot_ms() * 1000, self.line_length_m, self.speed_ms, nan, nan, nan,
            32767, 1)
