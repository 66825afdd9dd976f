"""The store against hostile files and faults (issue 11): an empty, random, foreign, truncated
or corrupted file, a read-only one, a missing one, a database failing under a call, and two
processes driving one store. Each is a named one-line error; nothing is changed or created
by the refusal; the owner lock dies with its process (SIGKILL included)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from groundcontrol.cli.main import main
from groundcontrol.fleet.store.owner import StoreBusy, own_store, owner_lock_path
from groundcontrol.fleet.store.sqlite import Store, StoreError, StoreFault
from planner.model import LatLon, Order

ROOT = Path(__file__).resolve().parents[2]
PAGE = 4096


def order(oid: str, t: float = 0.0) -> Order:
    return Order(oid, "hume", LatLon(-35.37, 149.1), 1.0, t)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drone-delivery "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def a_store(path: Path, count: int = 3) -> Path:
    with Store.open(path) as s:
        s.add_orders([order(f"o{i}", float(i)) for i in range(count)], 0.0)
    return path


# --- files that are not (or no longer) a store ------------------------------------------------


def hostile_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the error says)."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.db"
    noise.write_bytes(bytes(range(256)) * 20)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    blank_sqlite = tmp_path / "blank.db"
    with sqlite3.connect(blank_sqlite) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("DROP TABLE t")
    conn.close()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(a_store(tmp_path / "whole.db").read_bytes()[: 3 * PAGE + 100])
    return {
        "empty": (empty, "empty file (0 bytes)"),
        "noise": (noise, "not a database"),
        "foreign": (foreign, "not a drone-delivery store (it holds other tables: 'photos')"),
        "blank sqlite": (blank_sqlite, "not a drone-delivery store"),
        "truncated": (truncated, "malformed"),
    }


@pytest.mark.parametrize("name", ["empty", "noise", "foreign", "blank sqlite", "truncated"])
def test_a_file_that_is_no_store_is_refused_and_left_as_it_was(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    path, says = hostile_files(tmp_path)[name]
    before = digest(path)
    with pytest.raises(StoreError, match=re.escape(says)):
        Store.open(path)
    for argv in (["order", "list"], ["order", "cancel", "o1"],
                 ["order", "add", "--depot", "hume", "--to", "-35.37,149.1", "--payload", "1",
                  "--at", "5"]):
        code, _, err = cli(capsys, *argv, "--store", str(path))
        assert code == 2
        assert_one_line_error(err, str(path), says)
    assert digest(path) == before, "a refused file must not be touched"
    assert not Path(f"{path}-wal").exists() or name == "truncated"


def test_a_missing_store_is_created_only_by_add_and_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "typo.db"
    for argv in (["order", "list"], ["order", "cancel", "x"]):
        code, _, err = cli(capsys, *argv, "--store", str(path))
        assert code == 2
        assert_one_line_error(err, str(path), "no such dispatch store")
        assert not path.exists()
    code, out, _ = cli(capsys, "order", "add", "--store", str(path), "--depot", "hume", "--to",
                       "-35.37,149.1", "--payload", "1", "--at", "5", "--id", "first")
    assert code == 0 and "stored order first" in out
    assert cli(capsys, "order", "list", "--store", str(path))[1].count("first") == 1


def test_the_help_says_which_verbs_create_the_store(capsys: pytest.CaptureFixture[str]) -> None:
    for verb, says in (("add", "created if the path does not exist"),
                       ("import", "created if the path does not exist"),
                       ("list", "which must exist"), ("cancel", "which must exist")):
        with pytest.raises(SystemExit):
            main(["order", verb, "--help"])
        assert says in " ".join(capsys.readouterr().out.split()), verb


def test_a_new_store_appears_whole_and_racing_creators_share_it(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    errors: list[BaseException] = []

    def create(k: int) -> None:
        try:
            with Store.open(path) as s:
                s.add_orders([order(f"t{k}")], 0.0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(path, create=False) as s:
        assert sorted(o.order.id for o in s.orders()) == [f"t{k}" for k in range(6)]
        assert s.journal_mode == "wal"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("new.db")) == [], \
        "no temporary file is left behind"


# --- faults under a call ----------------------------------------------------------------------


def test_a_store_corrupted_under_its_pages_fails_each_verb_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = a_store(tmp_path / "c.db", 300)
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'orders'"
                            ).fetchone()[0]
    conn.close()
    with path.open("r+b") as f:  # the orders table's root page: opening still works
        f.seek((root - 1) * PAGE)
        f.write(b"\xa5" * PAGE)
    with Store.open(path) as s, pytest.raises(StoreFault, match="malformed"):
        s.orders()
    for argv in (["order", "list"], ["order", "cancel", "o1"],
                 ["order", "add", "--depot", "hume", "--to", "-35.37,149.1", "--payload", "1",
                  "--at", "5"]):
        code, _, err = cli(capsys, *argv, "--store", str(path))
        assert code == 2
        assert_one_line_error(err, str(path), "the dispatch store failed to", "corrupted")


class FailingConnection:
    """A connection whose statements fail as SQLite does on a read-only or full disk."""

    def __init__(self, real: sqlite3.Connection, error: sqlite3.Error) -> None:
        self.real, self.error = real, error

    @property
    def in_transaction(self) -> bool:
        return self.real.in_transaction

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith(("ROLLBACK", "PRAGMA")):
            return self.real.execute(sql, *args)
        raise self.error

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize(("error", "hint"), [
    (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
    (sqlite3.OperationalError("database or disk is full"), "free some space"),
    (sqlite3.DatabaseError("database disk image is malformed"), "corrupted"),
    (sqlite3.OperationalError("database is locked"), "another process holds it"),
    (sqlite3.OperationalError("disk I/O error"), "disk"),
])
def test_every_sqlite_error_under_a_call_is_a_named_store_fault(
        tmp_path: Path, error: sqlite3.Error, hint: str) -> None:
    path = a_store(tmp_path / "f.db")
    store = Store.open(path)
    store._conn = FailingConnection(store._conn, error)  # type: ignore[assignment]
    calls = (lambda: store.add_orders([order("new")], 1.0), store.orders,
             lambda: store.order("o1"), lambda: store.request_cancel("o1", 1.0),
             store.undispatched, store.load_state, store.events,
             lambda: store.setting("scenario"))
    for call in calls:
        with pytest.raises(StoreFault) as caught:
            call()
        assert str(path) in str(caught.value) and hint in str(caught.value)
        assert not isinstance(caught.value, StoreError)  # not "a refusal": must stop a driver
    store.close()
    with Store.open(path) as s:
        assert [o.order.id for o in s.orders()] == ["o0", "o1", "o2"]


def test_a_value_the_database_cannot_hold_or_a_refused_constraint_is_a_store_error(
        store_location: str | Path) -> None:
    with Store.open(store_location) as s:
        with pytest.raises(StoreError, match="too large for the database"):
            s.add_orders([Order("big", "hume", LatLon(0, 0), 1.0, priority=2**63)], 0.0)
        s.add_orders([order("o")], 0.0)
        with pytest.raises(StoreError, match="illegal order state transition"), s._tx() as db:
            db.execute("UPDATE orders SET state = 'delivered' WHERE id = 'o'")
        assert [o.order.id for o in s.orders()] == ["o"]


MANY = """
import contextlib, io, json, sys
from groundcontrol.cli.main import main
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        results.append((main(argv), err.getvalue()))
print(json.dumps(results))
"""
"""Runs several CLI calls in one process (one interpreter start instead of four)."""


def unprivileged() -> list[str] | None:
    """A command prefix that runs as a user file modes apply to, or None if there is none."""
    if not hasattr(os, "geteuid"):
        return None
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if setpriv else None


@pytest.mark.skipif(unprivileged() is None,
                    reason="running as root without setpriv: read-only modes do not apply "
                           "(the injected read-only error above covers the mapping)")
def test_a_read_only_store_or_folder_is_one_line() -> None:
    prefix = unprivileged()
    assert prefix is not None
    folder = Path(tempfile.mkdtemp(prefix="dd-readonly-"))  # tmp_path is private to root
    try:
        path = a_store(folder / "r.db")
        path.chmod(0o444)
        folder.chmod(0o555)
        before = digest(path)

        add = ["--depot", "hume", "--to", "-35.37,149.1", "--payload", "1", "--at", "5"]
        calls = [["order", "list", "--store", str(path)],
                 ["order", "cancel", "o1", "--store", str(path)],
                 ["order", "add", *add, "--store", str(path)],
                 ["order", "add", *add, "--store", str(folder / "new.db")]]
        done = subprocess.run([*prefix, sys.executable, "-c", MANY, json.dumps(calls)],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
        results = json.loads(done.stdout)
        for code, err in results[:3]:
            assert code == 2
            assert_one_line_error(err, str(path), "read-only file or folder?")
        code, err = results[3]
        assert code == 2
        assert_one_line_error(err, "cannot create the dispatch store", "read-only folder")
        assert digest(path) == before
        assert sorted(p.name for p in folder.iterdir()) == ["r.db"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


# --- one owner per store ----------------------------------------------------------------------


HOLDER = """
import sys, time
from groundcontrol.fleet.store.owner import own_store
with own_store(sys.argv[1]):
    print("owner", flush=True)
    time.sleep(120)
"""


def start_holder(store: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "owner"
    return proc


def test_the_owner_lock_refuses_a_second_owner_and_dies_with_a_killed_one(
        tmp_path: Path) -> None:
    store = tmp_path / "day.db"
    holder = start_holder(store)
    try:
        busy = rf"{re.escape(str(store))}.*\(pid {holder.pid}\)"
        with pytest.raises(StoreBusy, match=busy) as caught, own_store(store):
            pass
        assert caught.value.pid == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait(10.0)
        with own_store(store) as lock:  # the kernel freed it with the process
            assert lock == owner_lock_path(store)
            assert lock.read_text().strip() == str(os.getpid())
            with pytest.raises(StoreBusy), own_store(store):  # one owner within a process too
                pass
        assert lock.read_text() == ""
    finally:
        holder.kill()
        holder.wait()


def run_command(store: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "groundcontrol.cli.main", "run", "canberra", "--connect",
            f"udpin:127.0.0.1:{port}", "--store", str(store), "--timeout", "60"]


def started(proc: subprocess.Popen[str], deadline_s: float = 60.0) -> str:
    """The run's first line (printed once it owns and opened the store)."""
    assert proc.stdout is not None
    end = time.monotonic() + deadline_s
    line = proc.stdout.readline()
    assert time.monotonic() < end and line, "run printed nothing"
    return line


def free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_runs_on_one_store_the_second_is_refused_and_a_killed_owner_is_taken_over(
        tmp_path: Path) -> None:
    store = tmp_path / "run.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    popen = {"cwd": ROOT, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True,
             "env": env}
    first = subprocess.Popen(run_command(store, free_udp_port()), **popen)  # type: ignore[call-overload]
    third = None
    try:
        assert "starting" in started(first)
        second = subprocess.run(run_command(store, free_udp_port()), capture_output=True,
                                text=True, timeout=60, cwd=ROOT, env=env)
        assert second.returncode == 2, second.stderr
        assert second.stdout == ""
        assert second.stderr.strip() == (
            f"drone-delivery run: error: {store}: the store is in use by another "
            f"drone-delivery process (pid {first.pid}); one owner per store: stop that one, or "
            "give another --store")
        first.send_signal(signal.SIGKILL)
        first.wait(10.0)
        third = subprocess.Popen(run_command(store, free_udp_port()), **popen)  # type: ignore[call-overload]
        assert re.search(r"(starting|resuming) at t=", started(third))
        assert owner_lock_path(store).read_text().strip() == str(third.pid)
    finally:
        for proc in (first, third):
            if proc is not None:
                proc.kill()
                proc.wait()
    with Store.open(store, create=False) as s:
        canberra = ROOT / "missions" / "scenarios" / "canberra"
        assert s.setting("scenario") == str(canberra.resolve())


@pytest.mark.parametrize("command", ["demo", "console"])
def test_the_demo_and_console_take_the_owner_lock_before_starting_anything(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "shift.db"
    Store.open(store).close()
    with own_store(store):
        argv = [command, "--store", str(store)] + (["--headless"] if command == "demo" else [])
        assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "in use by another drone-delivery process" in err[0]
    assert f"pid {os.getpid()}" in err[0]
