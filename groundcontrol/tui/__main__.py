"""``python -m groundcontrol.tui``: the console on the scripted backend (see demo_fake)."""

from __future__ import annotations

from groundcontrol.tui.demo_fake import main

raise SystemExit(main())
