"""The ground station's MAVLink 2 signing keys: one random 32-byte secret per vehicle.

ArduPilot keeps ONE signing key (set over the link with SETUP_SIGNING, stored in its own
flash) and, once it has one, ignores unsigned or wrongly signed messages on every port but
SERIAL0. The ground station must therefore keep each vehicle's key across its own restarts;
this module is that store.

Where: ``$DRONE_DELIVERY_KEYS`` if set, else ``$XDG_DATA_HOME/drone-delivery/signing-keys.json``
(``~/.local/share/...`` without XDG), or the path a caller passes. The file is JSON, mode 0600,
rewritten atomically (a temporary file in the same folder, then ``os.replace``), so a crash
never leaves half a key file::

    {"version": 1,
     "vehicles": {"sysid=1": {"key": "<64 hex digits>", "sysid": 1, "name": "",
                              "created": "2025-01-01T00:00:00+00:00"}}}

Identity: a vehicle is its MAVLink system id plus an optional name (``VehicleId``). The sysid is
what the wire shows (it survives reboots and ground-station restarts; ArduPilot keeps
MAV_SYSID in its parameters); the name tells apart fleets that reuse sysids (SITL and the
built-in simulator number from 1), e.g. ``VehicleId(1, "canberra")``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundcontrol.errors import SigningKeyStoreError

if TYPE_CHECKING:
    from groundcontrol.mavlink.link import Link

__all__ = [
    "ENV_KEYS",
    "KEY_BYTES",
    "KeyStore",
    "VehicleId",
    "default_key_path",
    "use_stored_key",
]

ENV_KEYS = "DRONE_DELIVERY_KEYS"
"""Environment variable naming the key file (overrides the XDG default)."""
KEY_BYTES = 32
"""MAVLink 2 signing keys are 32 bytes (SETUP_SIGNING.secret_key)."""
_VERSION = 1


@dataclass(frozen=True, slots=True)
class VehicleId:
    """Who a key belongs to: MAVLink system id plus an optional fleet/vehicle name.

    >>> VehicleId(1).label, VehicleId(3, "canberra").label
    ('sysid=1', 'canberra/sysid=3')
    """

    sysid: int
    name: str = ""
    """Empty for "the vehicle with this sysid"; set it when several fleets reuse sysids."""

    def __post_init__(self) -> None:
        if not 1 <= self.sysid <= 255:
            raise ValueError(f"MAVLink system id must be 1..255, got {self.sysid}")
        if "/" in self.name:
            raise ValueError(f"vehicle name must not contain '/', got {self.name!r}")

    @property
    def label(self) -> str:
        """The key of this vehicle's entry in the file."""
        return f"{self.name}/sysid={self.sysid}" if self.name else f"sysid={self.sysid}"


def default_key_path() -> Path:
    """``$DRONE_DELIVERY_KEYS``, else the user's data folder (XDG)."""
    explicit = os.environ.get(ENV_KEYS)
    if explicit:
        return Path(explicit).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "drone-delivery" / "signing-keys.json"


class KeyStore:
    """The signing keys this ground station keeps, one per vehicle, in one JSON file.

    Every call reads the file afresh, so two processes (``sign`` and a running ``fly``) see
    each other's keys; writes replace the file atomically.

    Args:
        path: the key file; None for ``default_key_path()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_key_path()

    def __repr__(self) -> str:
        return f"KeyStore({str(self.path)!r})"

    # -- reading ---------------------------------------------------------------------------
    def get(self, vehicle: VehicleId) -> bytes | None:
        """The key kept for ``vehicle``, None if there is none."""
        entry = self._load().get(vehicle.label)
        return None if entry is None else self._key_of(vehicle.label, entry)

    def vehicles(self) -> list[VehicleId]:
        """Every vehicle with a key, in file order."""
        return [VehicleId(int(e["sysid"]), str(e.get("name", ""))) for e in self._load().values()]

    # -- writing ---------------------------------------------------------------------------
    def get_or_create(self, vehicle: VehicleId) -> bytes:
        """The key kept for ``vehicle``, creating (and saving) a random one if there is none."""
        return self.get(vehicle) or self.new_key(vehicle)

    def new_key(self, vehicle: VehicleId) -> bytes:
        """Replace ``vehicle``'s key by a fresh random one (``os.urandom``) and save it."""
        key = os.urandom(KEY_BYTES)
        entries = self._load()
        entries[vehicle.label] = {
            "key": key.hex(),
            "sysid": vehicle.sysid,
            "name": vehicle.name,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._save(entries)
        return key

    def forget(self, vehicle: VehicleId) -> bool:
        """Remove ``vehicle``'s key; False if there was none."""
        entries = self._load()
        if entries.pop(vehicle.label, None) is None:
            return False
        self._save(entries)
        return True

    # -- the file ----------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SigningKeyStoreError(str(self.path), f"cannot read it ({exc.strerror})") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SigningKeyStoreError(
                str(self.path), f"not valid JSON (line {exc.lineno}): fix or move it away"
            ) from exc
        vehicles = data.get("vehicles") if isinstance(data, dict) else None
        if not isinstance(vehicles, dict) or data.get("version") != _VERSION:
            raise SigningKeyStoreError(
                str(self.path), f"not a version {_VERSION} key file (no 'vehicles' table)"
            )
        for label, entry in vehicles.items():
            self._key_of(label, entry)  # every entry checked, not just the one asked for
        return vehicles

    def _key_of(self, label: str, entry: object) -> bytes:
        raw = entry.get("key") if isinstance(entry, dict) else None
        try:
            key = bytes.fromhex(raw) if isinstance(raw, str) else b""
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES or not isinstance(entry, dict) or "sysid" not in entry:
            raise SigningKeyStoreError(
                str(self.path), f"entry {label!r} has no valid {KEY_BYTES}-byte hex key and sysid"
            )
        return key

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        text = json.dumps({"version": _VERSION, "vehicles": entries}, indent=2) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".signing-keys.", dir=self.path.parent)
        except OSError as exc:
            raise SigningKeyStoreError(str(self.path), f"cannot write it ({exc})") from exc
        try:
            # mkstemp already creates the file 0600: the secret is never readable by others,
            # not even between the write and the rename.
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise SigningKeyStoreError(str(self.path), f"cannot write it ({exc})") from exc


def use_stored_key(
    link: Link, sysid: int, store: KeyStore | None = None, name: str = "", timeout_s: float = 10.0
) -> bool:
    """Sign everything ``link`` sends if ``store`` keeps a key for vehicle ``sysid``.

    Then waits until the vehicle's own messages show which key it uses (see
    ``Link.confirm_signing``).

    Returns:
        True when a key was found and is now in use, False when none is kept.

    Raises:
        SigningKeyMismatch: the vehicle signs with another key.
        SigningKeyStoreError: the key file is unreadable.
    """
    store = store or KeyStore()
    key = store.get(VehicleId(sysid, name))
    if key is None:
        return False
    link.enable_signing(key, key_source=str(store.path))
    link.confirm_signing(sysid, timeout_s=timeout_s)
    return True
