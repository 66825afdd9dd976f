"""Small builders shared by the loader tests: files, GeoJSON features, and the error a
call raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planner.errors import InvalidInput

__all__ = ["error", "feature", "feature_collection", "square", "write"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def square(lon: float = 149.10, lat: float = -35.30, size: float = 0.02) -> list[list[float]]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size]]
    return [*ring, ring[0]]


def feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def feature_collection(*features: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features), **members}


def error(call: Any, *args: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        call(*args)
    return info.value
