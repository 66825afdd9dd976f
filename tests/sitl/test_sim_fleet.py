"""The TCP side: several vehicles, ports, one client at a time, reconnects, reboots, fault
hooks, the CLI, and a whole delivery flown over TCP faster than real time."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink
from test_sim_support import CMAC, SimClient, item, offset

from groundcontrol.cli.main import main
from sitl.sim import Home, SimFleet, SimulatorError

M = mavlink
pytestmark = pytest.mark.sim


def _homes(n: int) -> list[Home]:
    return [Home(CMAC.lat + 0.001 * i, CMAC.lon, CMAC.alt_m, 0.0) for i in range(n)]


def test_three_vehicles_have_their_own_ports_and_sysids() -> None:
    with SimFleet(_homes(3), speedup=50.0, base_port=0) as fleet:
        assert len(set(fleet.ports)) == 3
        assert all(url.startswith("tcp:127.0.0.1:") for url in fleet.endpoints)
        clients = [SimClient(fleet, i) for i in range(3)]
        try:
            for i, gcs in enumerate(clients):
                hb = gcs.wait_type("HEARTBEAT", since=0)
                assert hb.get_srcSystem() == i + 1 and hb.get_srcComponent() == 1
        finally:
            for gcs in clients:
                gcs.close()


def _free_base_port() -> int:
    for base in range(47000, 60000, 137):
        socks = []
        try:
            for i in range(2):
                s = socket.socket()
                s.bind(("127.0.0.1", base + 10 * i))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port pair")


def test_sitl_port_layout_base_plus_ten_per_instance() -> None:
    base = _free_base_port()
    with SimFleet(_homes(2), speedup=20.0, base_port=base) as fleet:
        assert fleet.ports == [base, base + 10]
        assert fleet.endpoints[1] == f"tcp:127.0.0.1:{base + 10}"


def test_one_client_at_a_time_and_reconnect_keeps_the_vehicle_running() -> None:
    with SimFleet([CMAC], speedup=50.0, base_port=0) as fleet:
        first = SimClient(fleet)
        first.wait_type("HEARTBEAT", since=0)
        second = SimClient(fleet, heartbeat=False)
        fleet.wait_sim(3.0)
        assert second.messages == []  # waits in the listen backlog, like SITL's serial0
        boot_time = fleet.vehicle(0).sim_time_s
        first.close()
        second.wait_type("HEARTBEAT", since=0, sim_timeout_s=5.0)
        assert not bytes(second.raw_prefix).startswith(b"\n\nInit")  # no second boot
        assert fleet.vehicle(0).sim_time_s > boot_time
        second.close()


def test_reboot_drops_the_client_and_boots_again_on_the_next_connection() -> None:
    with SimFleet([CMAC], speedup=50.0, base_port=0) as fleet:
        gcs = SimClient(fleet)
        gcs.wait_type("HEARTBEAT", since=0)
        gcs.set_param("GRIP_ENABLE", 1)
        assert gcs.command(M.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN, 1) == 0
        deadline = time.monotonic() + 5.0
        while not gcs.closed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gcs.closed
        again = SimClient(fleet)
        again.wait_type("HEARTBEAT", since=0)
        assert bytes(again.raw_prefix).startswith(b"\n\nInit ArduCopter")
        assert fleet.vehicle(0).params.get("GRIP_ENABLE") == 1
        again.close()


def test_kill_link_and_blackout_hooks() -> None:
    with SimFleet([CMAC], speedup=50.0, base_port=0) as fleet:
        gcs = SimClient(fleet)
        gcs.wait_type("HEARTBEAT", since=0)
        fleet.blackout(0, 5.0)
        fleet.wait_sim(0.5)
        mark = gcs.mark()
        fleet.wait_sim(3.0)
        assert gcs.mark() == mark
        gcs.wait_type("HEARTBEAT", since=mark, sim_timeout_s=6.0)
        fleet.kill_link(0)
        deadline = time.monotonic() + 5.0
        while not gcs.closed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gcs.closed


def test_delivery_over_tcp_faster_than_real_time() -> None:
    drop = offset(CMAC, 300.0, 100.0)
    items = [item(0, 16, frame=0), item(1, 22, z=30), item(2, 16, *drop, 30),
             item(3, 21, *drop, 0), item(4, 211, frame=2, p1=1, p2=0), item(5, 93, frame=2, p1=3),
             item(6, 22, z=30), item(7, 16, CMAC.lat, CMAC.lon, 30), item(8, 21, CMAC.lat,
                                                                            CMAC.lon, 0)]
    params = {"GRIP_ENABLE": 1, "GRIP_TYPE": 1, "SERVO9_FUNCTION": 28, "MIS_OPTIONS": 4}
    started = time.monotonic()
    with SimFleet([CMAC], speedup=100.0, base_port=0, params=params) as fleet:
        gcs = SimClient(fleet)
        gcs.request_streams(2)
        assert gcs.upload(items) == M.MAV_MISSION_ACCEPTED
        gcs.wait_ready()
        assert gcs.command(M.MAV_CMD_DO_SET_MODE, 1, 4) == 0
        assert gcs.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == 0
        assert gcs.command(M.MAV_CMD_MISSION_START) == 0
        gcs.wait(lambda m: m.get_type() == "STATUSTEXT" and m.text == "Gripper Released",
                 since=0, sim_timeout_s=200.0)
        gcs.wait(lambda m: m.get_type() == "HEARTBEAT" and not m.base_mode & 0x80
                 and m.custom_mode == 3, since=gcs.mark(), sim_timeout_s=200.0)
        flight_sim_s = fleet.sim_time_s
        reached = [m.seq for m in gcs.of_type("MISSION_ITEM_REACHED")]
        assert reached == [1, 2, 3, 5, 6, 7]
        gcs.close()
    assert time.monotonic() - started < flight_sim_s / 10


def test_cli_prints_endpoints_and_rejects_bad_homes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--count", "2", "--home=-35.363261,149.165230,584,353",
                 "--home=-35.35,149.17,580", "--speedup", "20", "--base-port", "0",
                 "--duration", "0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("vehicle 0 sysid 1 at -35.3632610,149.1652300")
    assert out[1].startswith("vehicle 1 sysid 2 at -35.3500000,149.1700000")
    assert main(["sim", "--home=-35.3,149.1"]) == 2
    assert main(["sim", "--defaults", "no/such.parm", "--duration", "0.1"]) == 2


def test_cli_subprocess_serves_a_gcs() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundcontrol.cli.main", "sim", "--speedup", "20",
         "--base-port", "0", "--duration", "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        sock.settimeout(5.0)
        parser = M.MAVLink(None)
        parser.robust_parsing = True
        kinds: set[str] = set()
        deadline = time.monotonic() + 10.0
        while "HEARTBEAT" not in kinds and time.monotonic() < deadline:
            kinds |= {m.get_type() for m in parser.parse_buffer(sock.recv(4096)) or []}
        sock.close()
        assert "HEARTBEAT" in kinds
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_busy_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(SimulatorError, match=f"cannot listen on 127.0.0.1:{port}"):
            SimFleet([CMAC], base_port=port)
        assert main(["sim", "--base-port", str(port), "--duration", "0.1"]) == 1
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_homes_file_and_wind_arguments(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    homes = tmp_path / "depots.txt"
    homes.write_text("# depots\n-35.30,149.10,580,90\n-35.31,149.11,575\n")
    assert main(["sim", "--count", "3", "--homes", str(homes), "--wind", "4,270",
                 "--base-port", "0", "--duration", "0.3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" at ")[1].split(":")[0].split(" ")[0] for line in out[:3]] == [
        "-35.3000000,149.1000000", "-35.3100000,149.1100000", "-35.3000000,149.1000000"]
    bad = tmp_path / "bad.txt"
    bad.write_text("-35.30,149.10,580\nnot,a,home\n")
    assert main(["sim", "--homes", str(bad), "--duration", "0.1"]) == 2
    assert "bad.txt:2" in capsys.readouterr().err
    assert main(["sim", "--wind", "fast", "--duration", "0.1"]) == 2
