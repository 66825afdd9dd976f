"""A scripted, deterministic in-memory fleet behind the console's backend protocol.

A test double: straight-line "flights" and a linear energy model, so Pilot and snapshot tests
of the console run in milliseconds and draw the same picture every time. The product's console
runs on the real fleet (``groundcontrol.console.fleet_backend``).
"""
