"""The imperative shell: MAVLink link, vehicle state, mission protocol, flights, CLI and console."""
