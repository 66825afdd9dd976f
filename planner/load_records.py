"""Strict JSON reading and typed access to one record's fields, shared by the loaders.

``planner.load`` (depots, orders, fleet, scenarios) and ``planner.load_airspace`` (GeoJSON)
read files and check fields with these helpers, so every loader reports bad input the same
way: ``InvalidInput`` naming the file, the line or item, and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from planner.errors import InvalidInput
from planner.model import LatLon

__all__ = [
    "Record",
    "check_unique",
    "json_list",
    "json_record",
    "kind_of",
    "load_json",
    "parse_json",
    "read_text",
]


# --- reading files -------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """The file's text; a missing, unreadable or empty file is bad input naming the file."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets save a BOM
    except UnicodeDecodeError as exc:
        raise InvalidInput("file", f"is not UTF-8 text (byte {exc.start})", source) from exc
    except OSError as exc:
        raise InvalidInput("file", f"cannot read: {exc.strerror or exc}", source) from exc
    if not text.strip():
        raise InvalidInput("file", "is empty", source)
    return text


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number in JSON")


def parse_json(text: str, source: str) -> Any:
    """Parse JSON strictly: no duplicate keys, no NaN or Infinity.

    Raises:
        InvalidInput: naming the line and column of the syntax error.

    >>> parse_json('{"a": 1}', "example.json")
    {'a': 1}
    """
    if not text.strip():
        raise InvalidInput("file", "is empty", source)
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"line {exc.lineno} column {exc.colno}", exc.msg, source) from exc
    except ValueError as exc:  # from the hooks above
        raise InvalidInput("json", str(exc), source) from exc


def load_json(path: Path) -> Any:
    """Read and strictly parse a JSON file (see ``read_text`` and ``parse_json``)."""
    return parse_json(read_text(path), str(path))


# --- one record's fields, from JSON values or CSV text --------------------------------------


def kind_of(value: Any) -> str:
    """How an error message names a JSON value's type.

    >>> kind_of([1]), kind_of(None), kind_of(2.5)
    ('a list', 'null', 'float')
    """
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


class Record:
    """Typed access to one record's fields; errors name the source and ``prefix.field``.

    JSON records hold typed values (a number must be a JSON number); CSV records hold text
    that is converted. An absent key, a JSON null and an empty CSV cell all mean "not given".
    """

    def __init__(self, values: Mapping[str, Any], source: str, prefix: str, *, text: bool) -> None:
        self.values = values
        self.source = source
        self.prefix = prefix
        self.text = text

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise ``InvalidInput`` for ``key`` of this record."""
        raise InvalidInput(f"{self.prefix}{key}", problem, self.source)

    def _raw(self, key: str, required: bool) -> Any:
        value = self.values.get(key)
        if isinstance(value, str) and self.text:
            value = value.strip()
        if value is None or value == "":
            if required:
                self.fail(key, "missing required field")
            return None
        return value

    def string(self, key: str, *, required: bool = True) -> str:
        """The field as stripped text; ``""`` when optional and not given."""
        value = self._raw(key, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {kind_of(value)} {value!r}")
        return value.strip()

    def number(self, key: str, *, required: bool = True) -> float | None:
        """The field as a finite float; ``None`` when optional and not given."""
        value = self._raw(key, required)
        if value is None:
            return None
        if self.text:
            try:
                value = float(value)
            except ValueError:
                self.fail(key, f"must be a number, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"must be a number, got {kind_of(value)} {value!r}")
        if not math.isfinite(value):
            self.fail(key, f"must be finite, got {value!r}")
        return float(value)

    def integer(self, key: str, *, required: bool = True) -> int | None:
        """The field as a whole number; ``None`` when optional and not given."""
        value = self._raw(key, required)
        if value is None:
            return None
        if self.text:
            try:
                return int(value)
            except ValueError:
                self.fail(key, f"must be a whole number, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, got {kind_of(value)} {value!r}")
        return value

    def position(self) -> LatLon:
        """The required ``lat``/``lon`` fields, range-checked."""
        lat, lon = self.number("lat"), self.number("lon")
        assert lat is not None and lon is not None  # required
        if abs(lat) > 90.0:
            self.fail("lat", f"{lat:g} is outside -90..90 degrees")
        if abs(lon) > 180.0:
            self.fail("lon", f"{lon:g} is outside -180..180 degrees")
        return LatLon(lat, lon)


def json_record(item: Any, source: str, where: str, allowed: Iterable[str]) -> Record:
    """A JSON object as a record, rejecting keys we do not know (our own formats only)."""
    if not isinstance(item, dict):
        raise InvalidInput(where or "top level", f"must be an object, got {kind_of(item)}", source)
    allowed = tuple(allowed)
    prefix = f"{where}." if where else ""
    for key in item:
        if key not in allowed:
            raise InvalidInput(
                f"{prefix}{key}", f"unknown field (allowed: {', '.join(allowed)})", source
            )
    return Record(item, source, prefix, text=False)


def json_list(obj: Any, source: str, what: str) -> list[Any]:
    """``obj`` as a non-empty JSON list of ``what``; anything else is bad input."""
    if not isinstance(obj, list):
        raise InvalidInput(what, f"must be a JSON list, got {kind_of(obj)}", source)
    if not obj:
        raise InvalidInput(what, f"no {what}: the list is empty", source)
    return obj


def check_unique(keys: Iterable[tuple[Any, str, str]], what: str, source: str) -> None:
    """Reject a repeated key; ``keys`` are (key, field, where) with ``where`` the file or line."""
    seen: dict[Any, str] = {}
    for key, field, where in keys:
        if key in seen:
            first = seen[key]
            raise InvalidInput(field, f"duplicate {what} {key!r} (first at {first})", where)
        seen[key] = field if where == source else where.removeprefix(source).strip()
