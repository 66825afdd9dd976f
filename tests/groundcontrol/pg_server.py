"""A throwaway PostgreSQL server for the store's tests and the store benchmark.

``PgServer.start()`` makes a cluster in a fresh temporary folder (``initdb``), starts it on
a free port of 127.0.0.1 with its socket in that folder, and ``stop()`` removes it all;
nothing is installed or changed system-wide. ``initdb`` is looked for on PATH, then in
``/usr/lib/postgresql/*/bin``. PostgreSQL refuses to run as root: as root the server runs as
``nobody`` (through ``runuser`` or ``setpriv``), with the folder handed to it.

``why_not()`` says why no server can be started here (the tests skip with that reason).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PgServer", "find_bin", "why_not"]

UNPRIVILEGED = "nobody"


def find_bin(name: str = "initdb") -> Path | None:
    """A PostgreSQL program on PATH, else in the newest ``/usr/lib/postgresql/*/bin``."""
    found = shutil.which(name)
    if found:
        return Path(found).resolve()
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: [int(x) for x in Path(p).parts[-3].split(".") if x.isdigit()])
    return Path(versions[-1]) if versions else None


def _as_user() -> list[str] | None:
    """The prefix that runs a command as the unprivileged user when we are root ([] when we
    are not root; None when there is no way)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        return None
    if shutil.which("runuser"):
        return ["runuser", "-u", UNPRIVILEGED, "--"]
    if shutil.which("setpriv"):
        entry = pwd.getpwnam(UNPRIVILEGED)
        return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                "--clear-groups"]
    return None


def why_not() -> str | None:
    """Why a test server cannot be started on this machine, or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    if find_bin("initdb") is None:
        return "no PostgreSQL here (initdb not on PATH nor in /usr/lib/postgresql/*/bin)"
    if _as_user() is None:
        return (f"running as root and PostgreSQL refuses root: no user {UNPRIVILEGED!r} or no "
                "runuser/setpriv to run the server as")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One running throwaway cluster; ``url(db)`` connects as the trusted user ``postgres``."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        """Keep fsync on (the benchmark); the tests run without it, as nothing outlives them."""
        self.port = 0
        self.folder = Path(tempfile.mkdtemp(prefix="dd-pg-"))
        self._names = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        prefix = _as_user()
        assert prefix is not None, why_not()
        proc = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=120,
                              cwd=self.folder)
        if proc.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()}\n{tail}")

    def start(self) -> PgServer:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError(why_not() or "no pg_ctl beside initdb")
        if os.geteuid() == 0:
            entry = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        data = self.folder / "data"
        self._run(str(initdb), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        speed = [] if self.durable else ["-c fsync=off", "-c synchronous_commit=off",
                                         "-c full_page_writes=off"]
        for attempt in range(3):  # a free port can be taken between asking and binding
            self.port = _free_port()
            options = " ".join([f"-p {self.port}", f"-k {self.folder}",
                                "-c listen_addresses=127.0.0.1", "-c max_connections=60",
                                *speed])
            try:
                self._run(str(pg_ctl), "-D", str(data), "-o", options, "-l",
                          str(self.folder / "server.log"), "-w", "-t", "60", "start")
                return self
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        pg_ctl = find_bin("pg_ctl")
        try:
            if pg_ctl is not None and (self.folder / "data" / "postmaster.pid").exists():
                self._run(str(pg_ctl), "-D", str(self.folder / "data"), "-m", "immediate",
                          "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
