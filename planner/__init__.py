"""Pure drone-delivery planning: orders, airspace, energy, safe routes and feasibility.

No I/O beyond the explicit ``load_*`` functions, no MAVLink link, no UI.
"""
