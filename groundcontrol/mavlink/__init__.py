"""The MAVLink side of the ground station: the link (the one module that imports
``pymavlink.mavutil``), message helpers, the mission transfer protocol, commands with their
acknowledgements, vehicle state from telemetry, ``.tlog`` writing and the DroneKit adapter.

Nothing here knows about orders or fleets; ``flight`` builds on it.
"""
