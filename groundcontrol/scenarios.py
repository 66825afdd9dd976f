"""Finding scenarios: a folder path, or the name of an example under missions/scenarios/."""

from __future__ import annotations

from pathlib import Path

import missions

__all__ = ["DEFAULT_SCENARIO", "example_names", "resolve_scenario"]

DEFAULT_SCENARIO = "canberra"
EXAMPLES = Path(missions.__file__).resolve().parent / "scenarios"


def example_names() -> list[str]:
    """Names of the example scenarios shipped with the project."""
    return sorted(p.parent.name for p in EXAMPLES.glob("*/scenario.json"))


def resolve_scenario(name_or_path: str | None) -> Path:
    """The scenario folder for a path or an example name.

    Raises:
        ValueError: neither a folder with scenario.json nor a known example.
    """
    text = name_or_path or DEFAULT_SCENARIO
    path = Path(text).expanduser()
    if path.is_dir() and (path / "scenario.json").is_file():
        return path
    if path.is_file() and path.name == "scenario.json":
        return path.parent
    example = EXAMPLES / text
    if (example / "scenario.json").is_file():
        return example
    known = ", ".join(example_names()) or "none"
    raise ValueError(f"scenario {text!r}: no such folder with a scenario.json, and no example "
                     f"of that name (examples: {known})")
