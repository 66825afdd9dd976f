"""MAVLink benchmark: mission upload times (ours vs MAVProxy) and telemetry throughput.

1. Upload of 100- and 500-item missions to the built-in simulator at speedup 1 (real time:
   timing is the point) with ``groundcontrol.mavlink.transfer``: upload alone (MISSION_COUNT to the
   vehicle's MISSION_ACK ACCEPTED) and upload + read-back + compare (``upload_verified``). Then
   the same ``.waypoints`` file by MAVProxy (``wp load``) against the same simulated vehicle in
   the same run, driven through its stdin, timed from the command to MAVProxy's "Sent all N
   waypoints" line and to its "Got MISSION_ACK: TYPE_MISSION: ACCEPTED" line (the figure
   comparable with ours, which also ends at the ACK). Both ground stations request the vehicle's
   telemetry at 4 Hz first, as MAVProxy does on connecting.
2. Telemetry: 20 simulated vehicles each asked for every stream at 10 Hz
   (REQUEST_DATA_STREAM ALL), received by one ``LinkManager`` (one TCP link per vehicle) with a
   ``VehicleTracker`` per vehicle. Messages per second handled, and the CPU the ground station
   process used (process CPU time / wall time; 100 % = one core).

The simulator runs in a child process (``multiprocessing``, which also reports the child's
CPU time over its pipe), so the CPU figures of the ground station do not include it; the
child's own CPU is printed too. Prints figures, asserts nothing.
Run: ``python -m bench mavlink [--help]``.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from bench.sim_child import HOME, SimChild
from groundcontrol.mavlink.commands import send_stream_request
from groundcontrol.mavlink.link import LinkManager
from groundcontrol.mavlink.messages import MavMessage
from groundcontrol.mavlink.transfer import upload, upload_verified
from groundcontrol.mavlink.vehicle import VehicleTracker
from missions.items import Cmd, Frame, MissionItem
from missions.wpl import write_wpl

__all__ = ["SimChild", "main", "mavproxy_upload_s", "mission_of"]

MAVPROXY = Path(sys.executable).parent / "mavproxy.py"


# -- missions --------------------------------------------------------------------------------

def mission_of(count: int) -> tuple[MissionItem, ...]:
    """``count`` items: home, takeoff, waypoints on a 20 m grid around home, land."""
    if count < 3:
        raise ValueError(f"count must be >= 3, got {count}")
    lat, lon, alt, _ = HOME
    items = [MissionItem(0, Cmd.NAV_WAYPOINT, Frame.GLOBAL, x=lat, y=lon, z=alt),
             MissionItem(1, Cmd.NAV_TAKEOFF, Frame.GLOBAL_RELATIVE_ALT_INT, x=lat, y=lon, z=30)]
    for seq in range(2, count - 1):
        row, col = divmod(seq, 25)
        items.append(MissionItem(seq, Cmd.NAV_WAYPOINT, Frame.GLOBAL_RELATIVE_ALT_INT,
                                 x=round(lat + row * 0.00018, 7), y=round(lon + col * 0.00022, 7),
                                 z=30.0 + seq % 7))
    items.append(MissionItem(count - 1, Cmd.NAV_LAND, Frame.GLOBAL_RELATIVE_ALT_INT,
                             x=lat, y=lon, z=0.0))
    return tuple(items)


# -- our uploads -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UploadTimes:
    count: int
    upload_s: list[float]
    verified_s: list[float]


def ours(endpoint: str, sizes: Sequence[int], repeats: int) -> list[UploadTimes]:
    """Time ``upload`` and ``upload_verified`` of each size, ``repeats`` times each."""
    results = []
    with LinkManager() as links:
        channel = links.vehicle(endpoint, sysid=1, timeout_s=30.0)
        send_stream_request(channel, 4)
        time.sleep(1.0)
        for count in sizes:
            items = mission_of(count)
            up, verified = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                upload(channel, items)
                up.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                upload_verified(channel, items)
                verified.append(time.perf_counter() - t0)
            results.append(UploadTimes(count, up, verified))
    return results


# -- MAVProxy --------------------------------------------------------------------------------

class _Lines:
    """MAVProxy's stdout, line by line, each stamped with ``perf_counter`` when read."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[tuple[float, str]] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self.queue.put((time.perf_counter(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout_s: float) -> float:
        """``perf_counter`` of the first line from now on containing ``text``."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                stamp, line = self.queue.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return stamp
        tail = "\n  ".join(self.seen[-15:])  # what it said instead
        raise TimeoutError(
            f"MAVProxy did not print {text!r} within {timeout_s:g} s; last:\n  {tail}")

    def wait_seconds(self, prefix: str, timeout_s: float) -> float:
        """The number of seconds in the next line ``... PREFIX 0.27s``."""
        self.wait_for(prefix, timeout_s)
        return float(self.seen[-1].split(prefix, 1)[1].removesuffix("s"))


@dataclass(frozen=True, slots=True)
class MavproxyTimes:
    count: int
    sent_s: list[float]
    """``wp load`` to "Sent all N waypoints" (the last item sent; no ACK yet)."""
    acked_s: list[float]
    """``wp load`` to MAVProxy's "Got MISSION_ACK: TYPE_MISSION: ACCEPTED"."""
    own_s: list[float]
    """MAVProxy's own "Loaded N waypoints in X s" (its MISSION_COUNT to the last item sent)."""


def mavproxy_upload_s(endpoint: str, files: dict[int, Path], repeats: int) -> list[MavproxyTimes]:
    """Run MAVProxy once against ``endpoint`` and time ``wp load`` of each file."""
    port = endpoint.rsplit(":", 1)[1]
    workdir = Path(tempfile.mkdtemp(prefix="bench-mavproxy-"))
    process = subprocess.Popen(
        [sys.executable, str(MAVPROXY), f"--master=tcp:127.0.0.1:{port}", "--no-state",
         "--default-modules=wp", "--target-system=1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=workdir, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = _Lines(process)
    results = []
    try:
        lines.wait_for("Detected vehicle", 30.0)
        time.sleep(3.0)  # let its connect-time stream requests settle
        for count, path in files.items():
            sent, acked, own = [], [], []
            for _ in range(repeats):
                assert process.stdin is not None
                t0 = time.perf_counter()
                process.stdin.write(f"wp load {path}\n")
                process.stdin.flush()
                own.append(lines.wait_seconds(f"Loaded {count} waypoints in ", 60.0))
                sent.append(lines.wait_for(f"Sent all {count} waypoints", 10.0) - t0)
                acked.append(lines.wait_for("Got MISSION_ACK: TYPE_MISSION: ACCEPTED", 10.0) - t0)
                time.sleep(0.5)
            results.append(MavproxyTimes(count, sent, acked, own))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5.0)
    return results


# -- telemetry -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Throughput:
    vehicles: int
    rate_hz: int
    wall_s: float
    messages: int
    gcs_cpu_s: float
    sim_cpu_s: float
    types_per_s: dict[str, float]
    """Vehicle 1's messages per second by type over the window."""
    silent: int
    """Vehicles never heard (should be 0)."""

    @property
    def per_s(self) -> float:
        return self.messages / self.wall_s


def telemetry(vehicles: int, rate_hz: int, window_s: float) -> Throughput:
    """Messages/s one LinkManager handles from ``vehicles`` vehicles streaming at ``rate_hz``."""
    by_type: Counter[str] = Counter()
    counting = threading.Event()

    def count(msg: MavMessage) -> None:
        if counting.is_set():
            by_type[msg.get_type()] += 1

    with SimChild(vehicles, speedup=1.0) as sim, LinkManager() as links:
        trackers = []
        for i, url in enumerate(sim.endpoints):
            channel = links.vehicle(url, sysid=i + 1, timeout_s=30.0)
            tracker = VehicleTracker(channel.sysid)
            channel.subscribe(tracker.update)
            if i == 0:
                channel.subscribe(count)
            trackers.append(tracker)
            # Only REQUEST_DATA_STREAM: the GCS's usual per-message intervals would slow some.
            channel.send(mavlink.MAVLink_request_data_stream_message(
                channel.sysid, channel.compid, mavlink.MAV_DATA_STREAM_ALL, rate_hz, 1))
        time.sleep(3.0)  # streams up to rate
        received0 = sum(link.stats().received for link in links.links())
        cpu0, sim0, t0 = time.process_time(), sim.cpu_s(), time.perf_counter()
        counting.set()
        time.sleep(window_s)
        counting.clear()
        received1 = sum(link.stats().received for link in links.links())
        cpu1, sim1, t1 = time.process_time(), sim.cpu_s(), time.perf_counter()
        silent = sum(t.snapshot().heartbeats == 0 for t in trackers)
    wall = t1 - t0
    return Throughput(vehicles, rate_hz, wall, received1 - received0, cpu1 - cpu0, sim1 - sim0,
                      {k: v / wall for k, v in by_type.most_common()}, silent)


# -- report ----------------------------------------------------------------------------------

def _ms(values: Sequence[float]) -> str:
    return (f"median {statistics.median(values) * 1000:7.0f} ms  "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})")


def _print_uploads(mine: list[UploadTimes], theirs: list[MavproxyTimes] | None) -> None:
    print("mission upload to the built-in simulator, speedup 1 (real time), TCP loopback")
    for m in mine:
        print(f"  {m.count:4d} items  groundcontrol upload           {_ms(m.upload_s)}")
        print(f"  {m.count:4d} items  groundcontrol upload + verify  {_ms(m.verified_s)}")
        other = next((t for t in theirs or [] if t.count == m.count), None)
        if other is None:
            continue
        print(f"  {m.count:4d} items  MAVProxy wp load (to ACK)      {_ms(other.acked_s)}")
        print(f"  {m.count:4d} items  MAVProxy wp load (last sent)   {_ms(other.sent_s)}")
        print(f"  {m.count:4d} items  MAVProxy's own 'Loaded N in'   {_ms(other.own_s)}")
        ratio = statistics.median(m.upload_s) / statistics.median(other.acked_s)
        print(f"  {m.count:4d} items  ratio groundcontrol / MAVProxy (upload to ACK): "
              f"{ratio:.2f}")


def _print_throughput(t: Throughput) -> None:
    print(f"telemetry: {t.vehicles} vehicles, every stream at {t.rate_hz} Hz, speedup 1, "
          f"{t.wall_s:.1f} s window")
    print(f"  messages handled  {t.per_s:8.0f} /s total, {t.per_s / t.vehicles:6.0f} /s per "
          "vehicle")
    print(f"  ground station CPU {100 * t.gcs_cpu_s / t.wall_s:6.1f} % of one core "
          f"({1e6 * t.gcs_cpu_s / max(1, t.messages):.0f} us per message)")
    print(f"  simulator child CPU {100 * t.sim_cpu_s / t.wall_s:5.1f} % of one core")
    speed = t.types_per_s.get("HEARTBEAT", 0.0)  # 1 Hz in simulated time
    if speed:
        print(f"  the simulator ran at {speed:.2f}x real time (vehicle 1's HEARTBEAT rate); at "
              f"1.00x this load is ~{t.per_s / speed:.0f} messages/s")
    rates = ", ".join(f"{k} {v:.1f}" for k, v in t.types_per_s.items())
    print(f"  vehicle 1: {len(t.types_per_s)} message types, per second: {rates}")
    if t.silent:
        print(f"  WARNING: {t.silent} vehicles were never heard")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench mavlink", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500", help="mission sizes (default 100,500)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--rate", type=int, default=10, help="stream rate, Hz (default 10)")
    parser.add_argument("--window", type=float, default=10.0, help="telemetry window, s")
    parser.add_argument("--no-mavproxy", action="store_true")
    parser.add_argument("--only", choices=("upload", "telemetry"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.only != "telemetry":
        with SimChild(1, speedup=1.0) as sim:
            mine = ours(sim.endpoints[0], sizes, args.repeats)
            theirs = None
            if not args.no_mavproxy and MAVPROXY.is_file():
                folder = Path(tempfile.mkdtemp(prefix="bench-wp-"))
                files = {n: folder / f"mission-{n}.waypoints" for n in sizes}
                for n, path in files.items():
                    write_wpl(path, mission_of(n))
                theirs = mavproxy_upload_s(sim.endpoints[0], files, args.repeats)
            elif not args.no_mavproxy:
                print(f"MAVProxy not found at {MAVPROXY}: pip install '.[bench]'")
        _print_uploads(mine, theirs)
    if args.only != "upload":
        _print_throughput(telemetry(args.vehicles, args.rate, args.window))


if __name__ == "__main__":
    main()
