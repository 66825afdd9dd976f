"""The recorded boot of ArduCopter 4.7 SITL: banner bytes before MAVLink, boot texts, GPS fix,
EKF origin (home) and "EKF3 IMU0 is using GPS", at the recorded times after boot."""

from __future__ import annotations

import functools

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from .state import VehicleCore

__all__ = ["BOOT_BANNER", "FIRMWARE_TEXT", "schedule_boot"]

M = mavlink
INFO = M.MAV_SEVERITY_INFO
BOOT_BANNER = (b"\n\nInit ArduCopter V4.7.0-dev (90700977)\n\nFree RAM: 524288\n"
               b"Board: SITL\n")
FIRMWARE_TEXT = "ArduCopter V4.7.0-dev (90700977)"


def schedule_boot(v: VehicleCore) -> None:
    """Write the banner now and schedule the rest of the boot timeline."""
    v.raw(BOOT_BANNER)
    t = v.timeline
    for at, text, sev in (
        (0.11, "RCInput: decoding UDP (Pulses)", M.MAV_SEVERITY_DEBUG),
        (0.22, "Calibrating barometer", INFO),
        (1.83, "Barometer 1 calibration complete", INFO),
        (1.83, "Barometer 2 calibration complete", INFO),
        (t.ready_s, "ArduPilot Ready", INFO), (t.ready_s, "AHRS: DCM active", INFO),
        (t.ready_s + 0.3, "RC7: SaveWaypoint LOW", INFO),
        (t.ekf_init_s, "EKF3 IMU0 initialised", INFO),
        (t.ekf_init_s, "EKF3 IMU1 initialised", INFO),
        (t.ekf_init_s, "AHRS: EKF3 active", INFO),
        (t.tilt_s, "EKF3 IMU0 tilt alignment complete", INFO),
        (t.tilt_s, "EKF3 IMU1 tilt alignment complete", INFO),
        (t.tilt_s + 0.1, "EKF3 IMU0 MAG0 initial yaw alignment complete", INFO),
        (t.tilt_s + 0.1, "EKF3 IMU1 MAG0 initial yaw alignment complete", INFO),
        (t.gps_detect_s, "GPS 1: probing for u-blox at 230400 baud", INFO),
        (t.gps_detect_s + 0.02, "GPS 1: detected u-blox", INFO),
        (t.ekf_gps_s, "EKF3 IMU0 is using GPS", INFO),
        (t.ekf_gps_s, "EKF3 IMU1 is using GPS", INFO),
    ):
        v.schedule_at(at, functools.partial(v.text, sev, text))
    v.schedule_at(1.83, functools.partial(v.raw, b"Init Gyro"))
    v.schedule_at(1.85, functools.partial(v.raw, b"*"))
    v.schedule_at(t.ready_s, functools.partial(v.raw, b"\n"))
    v.schedule_at(t.origin_s, functools.partial(_origin_set, v))


def _origin_set(v: VehicleCore) -> None:
    """EKF origin: home is set where the copter stands (written to mission slot 0)."""
    v.set_home(v.current_home(), announce=True)
    v.text(INFO, "EKF3 IMU0 origin set")
    v.text(INFO, f"Field Elevation Set: {round(v.start.alt_m)}m")
    v.schedule(0.19, functools.partial(v.text, INFO, "EKF3 IMU1 origin set"))
