"""Find and launch ArduPilot SITL (`arducopter`), several instances at once.

Instance ``i`` is started with ``-I i`` so it listens on TCP ``5760 + 10*i`` (ArduPilot's own
layout), each in a working directory of its own (SITL writes ``eeprom.bin`` and logs there), with
a distinct ``--sysid``, ``--home`` at its depot, ``--speedup`` and ``--defaults``. Output goes to
``<log_dir>/arducopter-<i>.log``, kept after the instances stop.

Readiness ("ready to arm": the EKF uses GPS) needs a MAVLink client, which lives in
``groundcontrol``; the launcher takes it as a callable so this module stays a process manager
(``groundcontrol.flight.ready.ekf_ready_check`` is the real one; callers pass it in).

Defaults: ArduCopter SITL only arms with the autotest ``copter.parm`` (frame class, calibrated
INS, RC ranges). ``sitl_defaults`` finds it (``--defaults``, ``$ARDUPILOT_DEFAULTS``, or
``Tools/autotest/default_params/copter.parm`` of the ArduPilot tree the binary was built in) and
appends ``params_ardupilot/delivery-overlay.parm``: parameters that ArduCopter only acts on after
a reboot (GRIP_ENABLE) must be in the defaults to work from the first boot.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sitl.airframe import Airframe

__all__ = [
    "DELIVERY_OVERLAY",
    "MAX_INSTANCE",
    "ArduPilotSitl",
    "Home",
    "SitlError",
    "SitlNotFound",
    "autotest_copter_parm",
    "check_instances",
    "find_arducopter",
    "find_defaults",
    "free_instance",
    "launch_fleet",
    "sitl_defaults",
    "sitl_port",
]

BASE_PORT = 5760
INSTANCE_PORTS = (0, 2, 3)
MAX_INSTANCE = 255
"""``-I`` is 8 bits in ArduPilot: ``-I 2361`` listens on 5760 + 10 x (2361 mod 256)."""
"""Offsets from ``sitl_port(i)`` of the TCP ports an instance listens on (SERIAL0..2)."""
RC_IN_BASE_PORT = 5501
"""SITL also binds UDP ``5501 + 10*i`` for RC input."""
DELIVERY_OVERLAY = Path(__file__).resolve().parent / "params_ardupilot" / "delivery-overlay.parm"

ReadyCheck = Callable[[str, float], None]
"""``ready(endpoint, timeout_s)`` returns when the vehicle there is ready to arm, else raises."""


class SitlError(RuntimeError):
    """A SITL instance failed to start, died, or did not become ready; carries its log tail."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        self.log_path = log_path
        tail = ""
        if log_path is not None and log_path.exists():
            lines = log_path.read_text(errors="replace").splitlines()[-20:]
            tail = "\n  | " + "\n  | ".join(lines) if lines else ""
        super().__init__(f"{message}{tail}")


class SitlNotFound(SitlError):
    """No ``arducopter`` binary (or no defaults file) where we were told to look."""


@dataclass(frozen=True, slots=True)
class Home:
    """A SITL home: WGS84 degrees, altitude AMSL in metres, heading in degrees."""

    lat: float
    lon: float
    alt_amsl_m: float = 0.0
    heading_deg: float = 0.0

    def arg(self) -> str:
        return f"{self.lat:.7f},{self.lon:.7f},{self.alt_amsl_m:.2f},{self.heading_deg:g}"

    @classmethod
    def parse(cls, text: str) -> Home:
        """Parse ``LAT,LON[,ALT[,HDG]]``.

        >>> Home.parse("-35.363261,149.165230,584,353")
        Home(lat=-35.363261, lon=149.16523, alt_amsl_m=584.0, heading_deg=353.0)
        """
        parts = text.split(",")
        if not 2 <= len(parts) <= 4:
            raise ValueError(f"home {text!r}: expected LAT,LON[,ALT[,HDG]]")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"home {text!r}: every part must be a number") from None
        if abs(values[0]) > 90 or abs(values[1]) > 180:
            raise ValueError(f"home {text!r}: latitude/longitude out of range")
        return cls(*values)


def sitl_port(instance: int) -> int:
    """TCP port of SITL instance ``-I instance`` (its first serial port)."""
    return BASE_PORT + 10 * instance


def find_arducopter(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The ``arducopter`` binary: ``explicit``, else ``$ARDUPILOT_SITL``, else PATH.

    Raises:
        SitlNotFound: naming every place that was tried.
    """
    tried: list[str] = []
    candidates: list[tuple[str, str | None]] = [
        ("option", str(explicit) if explicit else None),
        ("ARDUPILOT_SITL", os.environ.get("ARDUPILOT_SITL")),
        ("PATH", shutil.which("arducopter")),
    ]
    for origin, value in candidates:
        if not value:
            continue
        path = Path(value).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            # Absolute: each instance runs in its own folder, where a relative path (the
            # README's ARDUPILOT_SITL=../shared/...) names nothing.
            return path.resolve()
        tried.append(f"{origin}={value} (not an executable file)")
    detail = "; ".join(tried) if tried else "no --sitl option, ARDUPILOT_SITL unset, not on PATH"
    raise SitlNotFound(f"ArduPilot SITL 'arducopter' not found: {detail}")


def find_defaults(explicit: str | None = None) -> list[Path]:
    """Defaults parameter files: ``explicit`` or ``$ARDUPILOT_DEFAULTS`` (comma-separated).

    Returns an empty list when neither is set. Raises SitlNotFound for a named file that is
    missing, since SITL would otherwise start with the wrong frame silently.
    """
    text = explicit if explicit else os.environ.get("ARDUPILOT_DEFAULTS", "")
    files = [Path(p.strip()).expanduser() for p in text.split(",") if p.strip()]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise SitlNotFound(f"defaults parameter file not found: {', '.join(missing)}")
    return [p.resolve() for p in files]  # absolute, as find_arducopter


def autotest_copter_parm(binary: Path) -> Path | None:
    """``copter.parm`` of the ArduPilot tree ``binary`` was built in (``build/sitl/bin/``)."""
    for parent in binary.resolve().parents:
        candidate = parent / "Tools" / "autotest" / "default_params" / "copter.parm"
        if candidate.is_file():
            return candidate
    return None


def sitl_defaults(binary: Path, explicit: str | None = None, overlay: bool = True,
                  airframe: Airframe | None = None,
                  operator: Sequence[Path] = ()) -> list[Path]:
    """The ``--defaults`` files for a delivery SITL, later files winning: the base defaults,
    the airframe's parameters, the delivery overlay, then the operator's own files (e.g. a
    scenario's ``vehicle.parm``).

    The base is ``explicit``, else ``$ARDUPILOT_DEFAULTS``, else the autotest ``copter.parm``
    next to ``binary``.

    Raises:
        SitlNotFound: no base defaults anywhere (SITL would boot but never arm).
    """
    base = find_defaults(explicit) or [p for p in [autotest_copter_parm(binary)] if p]
    if not base:
        raise SitlNotFound(
            "ArduPilot SITL defaults not found: pass --defaults or set ARDUPILOT_DEFAULTS to "
            "ardupilot/Tools/autotest/default_params/copter.parm (not found above "
            f"{binary})")
    frame = [airframe.parm_path] if airframe is not None else []
    return [*base, *frame, *([DELIVERY_OVERLAY] if overlay else []), *operator]


def check_instances(first: int, count: int) -> None:
    """Refuse ``-I`` numbers ArduPilot cannot take (it keeps 8 bits of them).

    >>> check_instances(250, 6)
    >>> check_instances(251, 6)
    Traceback (most recent call last):
    ...
    ValueError: SITL instances -I 251..256: ArduPilot's instance number is 0..255
    """
    if first < 0 or first + count - 1 > MAX_INSTANCE:
        raise ValueError(f"SITL instances -I {first}..{first + count - 1}: ArduPilot's "
                         f"instance number is 0..{MAX_INSTANCE}")


def free_instance(count: int, start: int = 0) -> int:
    """The first ``-I`` index from ``start`` (wrapping round to 0) where ``count`` instances
    find their ports free; every index is in ArduPilot's 0..255.

    Raises:
        SitlError: no such block of ``count`` instances in 0..255.
    """
    last_first = MAX_INSTANCE - count + 1
    if count < 1 or last_first < 0:
        raise SitlError(f"{count} SITL instances do not fit in -I 0..{MAX_INSTANCE}")
    start = min(max(start, 0), last_first)
    for first in [*range(start, last_first + 1), *range(0, start)]:
        indices = range(first, first + count)
        ports = [sitl_port(i) + off for i in indices for off in INSTANCE_PORTS]
        if not any(_port_open(p) for p in ports) and all(
                _udp_free(RC_IN_BASE_PORT + 10 * i) for i in indices):
            return first
    raise SitlError(f"no {count} consecutive free SITL instances in -I 0..{MAX_INSTANCE}")


@dataclass
class _Instance:
    index: int
    sysid: int
    home: Home
    workdir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"tcp:127.0.0.1:{sitl_port(self.index)}"


@dataclass
class ArduPilotSitl:
    """Several ``arducopter`` SITL processes, started together and stopped cleanly.

    Use as a context manager::

        with ArduPilotSitl(homes=[Home(-35.36, 149.17, 584)], log_dir=Path("logs")) as sitl:
            sitl.wait_ready(check, timeout_s=120)
            fly(sitl.endpoints[0])
    """

    homes: Sequence[Home]
    log_dir: Path
    binary: Path | None = None
    defaults: Sequence[Path] = ()
    speedup: float = 1.0
    first_instance: int = 0
    first_sysid: int = 1
    model: str = "quad"
    airframe: Airframe | None = None
    """A delivery airframe: each instance flies its frame model (``--model quad:FILE``)."""
    wipe: bool = True
    extra_args: Sequence[str] = ()
    ready: ReadyCheck | None = None
    """When set, ``__enter__`` also waits until every instance passes it."""
    ready_timeout_s: float = 180.0
    _instances: list[_Instance] = field(default_factory=list, init=False)

    def __enter__(self) -> ArduPilotSitl:
        self.start()
        if self.ready is not None:
            try:
                self.wait_ready(self.ready, self.ready_timeout_s)
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoints(self) -> list[str]:
        return [inst.endpoint for inst in self._instances]

    @property
    def log_paths(self) -> list[Path]:
        return [inst.log_path for inst in self._instances]

    @property
    def sysids(self) -> list[int]:
        return [inst.sysid for inst in self._instances]

    @property
    def pids(self) -> list[int]:
        return [inst.process.pid for inst in self._instances]

    def command(self, index: int, sysid: int, home: Home) -> list[str]:
        """The exact command line for one instance (public so tests and users can see it)."""
        binary = self.binary or find_arducopter()
        model = f"quad:{self.airframe.model_path.name}" if self.airframe else self.model
        cmd = [str(binary), "--model", model, "-I", str(index), "--home", home.arg(),
               "--speedup", f"{self.speedup:g}", "--sysid", str(sysid)]
        if self.wipe:
            cmd.append("-w")
        if self.defaults:
            cmd += ["--defaults", ",".join(str(Path(p).resolve()) for p in self.defaults)]
        return cmd + list(self.extra_args)

    def start(self) -> None:
        """Start one process per home; raise SitlError if any exits or never listens."""
        if self._instances:
            raise SitlError("already started")
        check_instances(self.first_instance, len(self.homes))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for offset, home in enumerate(self.homes):
                self._start_one(self.first_instance + offset, self.first_sysid + offset, home)
            for inst in self._instances:
                self._wait_listening(inst, timeout_s=30.0)
        except BaseException:
            self.stop()
            raise

    def _start_one(self, index: int, sysid: int, home: Home) -> None:
        port = sitl_port(index)
        if _port_open(port):
            raise SitlError(f"TCP port {port} for SITL instance {index} is already in use")
        workdir = self.log_dir / f"instance-{index}"
        workdir.mkdir(parents=True, exist_ok=True)
        if self.airframe is not None:
            self.airframe.install(workdir)
        log_path = self.log_dir / f"arducopter-{index}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                self.command(index, sysid, home), cwd=workdir, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self._instances.append(_Instance(index, sysid, home, workdir, log_path, process))

    def _wait_listening(self, inst: _Instance, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if inst.process.poll() is not None:
                raise SitlError(
                    f"arducopter instance {inst.index} exited with {inst.process.returncode}",
                    inst.log_path)
            if _port_open(sitl_port(inst.index)):
                return
            time.sleep(0.1)
        raise SitlError(f"arducopter instance {inst.index} did not listen on "
                        f"{sitl_port(inst.index)} within {timeout_s:.0f} s", inst.log_path)

    def wait_ready(self, ready: ReadyCheck, timeout_s: float = 180.0) -> None:
        """Block until every instance passes ``ready`` (e.g. EKF using GPS)."""
        for inst in self._instances:
            self.check_alive()
            try:
                ready(inst.endpoint, timeout_s)
            except Exception as exc:  # re-raised with the SITL log attached
                raise SitlError(f"instance {inst.index} not ready: {exc}", inst.log_path) from exc

    def check_alive(self) -> None:
        """Raise SitlError (with its log) for the first instance that has died."""
        for inst in self._instances:
            if inst.process.poll() is not None:
                raise SitlError(f"arducopter instance {inst.index} died "
                                f"(exit {inst.process.returncode})", inst.log_path)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left; logs stay."""
        for inst in self._instances:
            if inst.process.poll() is None:
                _signal_group(inst.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for inst in self._instances:
            try:
                inst.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(inst.process, signal.SIGKILL)
                inst.process.wait(timeout=5)
        self._instances.clear()


def launch_fleet(
    homes: Sequence[Home | Sequence[float]],
    speedup: float = 10.0,
    *,
    log_dir: Path | None = None,
    binary: str | os.PathLike[str] | None = None,
    defaults: str | None = None,
    overlay: bool = True,
    airframe: Airframe | None = None,
    operator_params: Sequence[Path] = (),
    ready: ReadyCheck | None = None,
    ready_timeout_s: float | None = None,
    first_instance: int | None = None,
) -> ArduPilotSitl:
    """An ``ArduPilotSitl`` for delivery flights, not yet started: use it with ``with``.

    Entering it starts one instance per home on free ports and, given ``ready`` (the ground
    station's probe, e.g. ``groundcontrol.flight.ready.ekf_ready_check(speedup)``), waits until
    each passes it. Logs go to ``log_dir`` (a new temporary folder by default) and stay.
    ``first_instance`` is the first ``-I``; by default the first block of free ports from 0.

    Raises:
        SitlNotFound: no ``arducopter`` or no base defaults (see ``sitl_defaults``).
    """
    path = find_arducopter(binary)
    parsed = [h if isinstance(h, Home) else Home(*[float(x) for x in h]) for h in homes]
    if log_dir is None:
        log_dir = Path(tempfile.mkdtemp(prefix="arducopter-"))
    # ~45 s of simulated boot to "EKF using GPS", plus process start-up in wall time.
    timeout = ready_timeout_s if ready_timeout_s is not None else 30.0 + 120.0 / speedup
    return ArduPilotSitl(
        homes=parsed, log_dir=log_dir, binary=path,
        defaults=sitl_defaults(path, defaults, overlay, airframe, operator_params),
        airframe=airframe, speedup=speedup,
        first_instance=free_instance(len(parsed)) if first_instance is None else first_instance,
        ready=ready,
        ready_timeout_s=timeout)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:  # already gone
        return


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
