"""Flown records made by the planner's own model of a known aircraft (for calibration tests)."""

from __future__ import annotations

from typing import Any

from planner.energy import flight_energy, group_phases
from planner.vehicle import VehicleProfile


def flown_record(profile: VehicleProfile, out_m: float, back_m: float,
                 payload_kg: float) -> dict[str, Any]:
    """A ``fly --json``-shaped record of ``profile`` flying exactly as the planner models it."""
    groups = group_phases(flight_energy(profile, out_m, back_m, payload_kg))
    return {
        "flown_s": sum(s for s, _ in groups.values()),
        "used_wh": sum(wh for _, wh in groups.values()),
        "flown_phases_s": {g: s for g, (s, _) in groups.items()},
        "flown_phases_wh": {g: wh for g, (_, wh) in groups.items()},
        "inputs": {"profile": profile.name, "payload_kg": payload_kg, "out_m": out_m,
                   "back_m": back_m},
    }
