"""Simulators: the built-in ArduCopter-compatible vehicle and the ArduPilot SITL launcher."""
