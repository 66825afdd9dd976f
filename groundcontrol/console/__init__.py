"""The dispatcher console (Textual).

``model.py`` is the boundary a fleet backend implements (views, ``ConsoleSink``,
``ConsoleBackend``; its docstring states the threading contract). ``app.ConsoleApp(backend)``
runs the console on any backend: ``drone-delivery console`` and ``demo`` on the real fleet
(``fleet_backend``), the tests also on a scripted double (``tests/console/scripted``).

Keys: a add order · p plan · l launch (from the fleet panel: the selected order on that
vehicle) · s pause · r resume · t RTL · d land · x abort · c cancel order · enter/i details ·
1-4 focus fleet/orders/events/map · z zoom the focused panel · ctrl+p command palette.
RTL, land, abort and cancel ask for confirmation.
"""
