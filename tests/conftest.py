"""Fixtures shared by every test folder: the ArduPilot SITL plugin (``sitl_fleet``)."""

pytest_plugins = ["sitl.pytest_plugin"]
